// The rendered fragments a replica holds (for snapshots, reconnecting agents and anti-entropy),
// packed. A host's fragment is about 2.9 KB of text, nearly all of it the same directives as every
// other host's: with 100,000 Ingresses the held fragments were the largest part of the handler's
// heap (3.1 KB an Ingress of about 7.5). Raw deflate with a preset dictionary (the first large text
// packed: a fragment like the others) takes one to 120–160 bytes, for about 40 µs to pack (a host
// takes about 500 µs to render) and 10–40 µs to unpack. Packing is exact: what comes out is what
// went in, byte for byte, so snapshots and pushes carry the same text as before.
import { deflateRawSync, inflateRawSync } from 'node:zlib';

/** Text this short is kept as it is: deflate would save little. */
const SMALL = 256;
/** A text at least this long becomes the dictionary (deflate uses at most 32 KB of it). */
const DICTIONARY_MIN = 1024;
const DICTIONARY_MAX = 32 * 1024;

/** Packed text: the deflated bytes (as a one-byte string, the cheapest thing V8 holds) and the dictionary they need. */
export class Packed {
  readonly bytes: string;
  readonly dictionary: Buffer | null;
  constructor(bytes: string, dictionary: Buffer | null) {
    this.bytes = bytes;
    this.dictionary = dictionary;
  }
}

/** Text as held: small text as itself, the rest packed. */
export type HeldText = string | Packed;

/** Packs and unpacks texts that resemble each other; one per holder (its dictionary lives as long as it). */
export class TextPacker {
  #dictionary: Buffer | null = null;

  pack(text: string): HeldText {
    if (text.length < SMALL) return text;
    if (!this.#dictionary && text.length >= DICTIONARY_MIN) this.#dictionary = Buffer.from(text.slice(0, DICTIONARY_MAX));
    const dictionary = this.#dictionary;
    const bytes = deflateRawSync(text, dictionary ? { dictionary } : {});
    // Not worth it (random-looking text): kept as it is.
    if (bytes.length >= text.length) return text;
    return new Packed(bytes.toString('latin1'), dictionary);
  }

  unpack(held: HeldText): string {
    if (typeof held === 'string') return held;
    const bytes = Buffer.from(held.bytes, 'latin1');
    return inflateRawSync(bytes, held.dictionary ? { dictionary: held.dictionary } : {}).toString();
  }
}
