// A Batch (POST /v1/batch, the handler tier's GET /snapshot) read as its JSON text arrives, one
// element of its lists at a time. The full snapshot of a large cluster is hundreds of megabytes
// (310 MB at 100,000 Ingresses): read whole, its text was one string, parsed into a second copy
// (about 1.2 GB of RSS in all), and a snapshot past V8's longest string (about 512 MB: some 50,000
// hosts with TLS and several Ingresses) could not be parsed at all, so a new agent would never be
// ready. Here only the element being read is text; each is parsed and checked with the schema of
// its list as soon as it is complete, and the text before it is dropped.
//
// The result is what `Batch.safeParse(JSON.parse(text))` gives for the same text: the same values,
// the same defaults, the same issues (with the element's place in their path), unknown keys left
// out; malformed JSON is refused with where it is.
import { constants } from 'node:buffer';
import type { z } from 'zod';
import { Batch, BatchCertificate, BatchEndpoints, BatchFragment } from '../protocol/agent-api.ts';

/** The lists read element by element, each with the schema of one element (a Map: no key of Object.prototype is one). */
const LISTS: ReadonlyMap<string, z.ZodType> = new Map<string, z.ZodType>([
  ['fragments', BatchFragment],
  ['endpoints', BatchEndpoints],
  ['certificates', BatchCertificate],
]);

export type BatchReading = { ok: true; batch: Batch } | { ok: false; malformed: string } | { ok: false; issues: z.core.$ZodIssue[] };

/** What the next text may be. */
type Expect = 'object' | 'key' | 'colon' | 'value' | 'afterValue' | 'element' | 'afterElement' | 'end';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
/** Where a number, `true`, `false` or `null` ends. */
const endsScalar = (c: number) => c === 0x2c || c === 0x5d || c === 0x7d || isSpace(c);

export class BatchReader {
  /** The longest value read as text (one element, one fragment's configuration). */
  readonly #maxValueChars: number;
  /** Text not consumed yet: the value being read, if any, and what follows. */
  #text = '';
  /** Where scanning goes on in #text. */
  #at = 0;
  /** Characters dropped before #text (for the places in messages). */
  #dropped = 0;
  #expect: Expect = 'object';
  /** Just after `{` or `[`: a closing bracket may follow, a comma may not. */
  #first = true;
  /** The value being read: its start in #text (-1: none), its nesting, whether in a string, whether a scalar. */
  #start = -1;
  #depth = 0;
  #inString = false;
  #scalar = false;
  #key = '';
  #index = 0;
  readonly #lists = new Map<string, unknown[]>();
  readonly #values = new Map<string, unknown>();
  /** Issues by top-level key (a key given twice counts once, the last, as in JSON.parse). */
  readonly #issues = new Map<string, z.core.$ZodIssue[]>();
  #malformed: string | null = null;
  /** For pushBytes: as Buffer's toString decodes (bad bytes replaced, a byte-order mark kept and refused). */
  readonly #decoder = new TextDecoder('utf-8', { ignoreBOM: true });

  /**
   * `maxValueChars`: the longest single value (by default V8's longest string, which a value must fit
   * in to be parsed; a batch limit raised past it must not let one value take the process down).
   * Checked a piece of text at a time: a value within one piece's length of the bound may be refused.
   */
  constructor(o: { maxValueChars?: number } = {}) {
    this.#maxValueChars = o.maxValueChars ?? constants.MAX_STRING_LENGTH;
  }

  /** More of the text. */
  push(text: string): void {
    if (this.#malformed !== null || text === '') return;
    if (this.#text.length - (this.#start >= 0 ? this.#start : this.#at) + text.length > this.#maxValueChars) {
      const where = this.#start >= 0 ? this.#where() : '';
      return this.#fail(`${where}a value longer than ${this.#maxValueChars} characters, the longest this agent reads`, this.#start >= 0 ? this.#start : this.#at);
    }
    this.#text += text;
    this.#scan();
    // Drop what was read: the text kept is the value in progress and what follows it.
    const keep = this.#start >= 0 ? this.#start : this.#at;
    if (keep > 0) {
      this.#dropped += keep;
      this.#text = this.#text.slice(keep);
      this.#at -= keep;
      if (this.#start >= 0) this.#start = 0;
    }
  }

  /** More of the body as it came off the wire (UTF-8, cut anywhere). */
  pushBytes(chunk: Uint8Array): void {
    this.push(this.#decoder.decode(chunk, { stream: true }));
  }

  /** The batch, once all of the text was pushed. */
  end(): BatchReading {
    this.push(this.#decoder.decode());
    if (this.#malformed === null && (this.#expect !== 'end' || this.#start >= 0)) this.#fail('unexpected end of the body');
    if (this.#malformed !== null) return { ok: false, malformed: this.#malformed };
    const batch: Record<string, unknown> = {};
    for (const [key, schema] of Object.entries(Batch.shape) as [string, z.ZodType][]) {
      const list = this.#lists.get(key);
      if (list) {
        batch[key] = list;
        continue;
      }
      const r = schema.safeParse(this.#values.get(key), { reportInput: true });
      if (!r.success) this.#issues.set(key, r.error.issues.map((i) => ({ ...i, path: [key, ...i.path] })));
      else if (r.data !== undefined) batch[key] = r.data;
    }
    // In the schema's order of fields, as one parse of the whole object would give them.
    const issues = Object.keys(Batch.shape).flatMap((key) => this.#issues.get(key) ?? []);
    return issues.length > 0 ? { ok: false, issues } : { ok: true, batch: batch as Batch };
  }

  #fail(why: string, at = this.#at): void {
    this.#malformed ??= `${why} (at character ${this.#dropped + at})`;
  }

  #scan(): void {
    const s = this.#text;
    while (this.#malformed === null) {
      if (this.#start >= 0) {
        const end = this.#valueEnd(s);
        if (end < 0) return;
        const raw = s.slice(this.#start, end);
        const start = this.#start;
        this.#start = -1;
        this.#at = end;
        this.#take(raw, start);
        continue;
      }
      let i = this.#at;
      while (i < s.length && isSpace(s.charCodeAt(i))) i++;
      this.#at = i;
      if (i >= s.length) return;
      const c = s[i];
      switch (this.#expect) {
        case 'object':
          if (c !== '{') return this.#fail('expected a JSON object');
          this.#step('key', true);
          break;
        case 'key':
          if (c === '}' && this.#first) this.#step('end');
          else if (c === '"') this.#begin(i);
          else return this.#fail(this.#first ? 'expected a key or "}"' : 'expected a key');
          break;
        case 'colon':
          if (c !== ':') return this.#fail('expected ":"');
          this.#at++;
          this.#expect = 'value';
          break;
        case 'value':
          if (c === '[' && LISTS.has(this.#key)) {
            this.#lists.set(this.#key, []);
            this.#values.delete(this.#key);
            this.#issues.delete(this.#key);
            this.#index = 0;
            this.#step('element', true);
          } else this.#begin(i);
          break;
        case 'afterValue':
          this.#separator(c, '}', 'key', 'end');
          break;
        case 'element':
          if (c === ']' && this.#first) this.#step('afterValue');
          else this.#begin(i);
          break;
        case 'afterElement':
          this.#separator(c, ']', 'element', 'afterValue');
          break;
        case 'end':
          return this.#fail('unexpected text after the end of the object');
      }
    }
  }

  /** After an item of an object or list: a comma, then `next`; its closing bracket, then `closed`. */
  #separator(c: string | undefined, closing: '}' | ']', next: Expect, closed: Expect): void {
    if (c === ',') this.#step(next, false);
    else if (c === closing) this.#step(closed);
    else this.#fail(`expected "," or "${closing}"`);
  }

  /** Past the bracket or comma at #at; `first`: whether a container was just opened (a closing bracket only: unchanged). */
  #step(then: Expect, first = this.#first): void {
    this.#at++;
    this.#expect = then;
    this.#first = first;
  }

  /** A value starts at `i`: a string, an object or array, or a scalar. */
  #begin(i: number): void {
    const c = this.#text.charCodeAt(i);
    if (endsScalar(c) || c === 0x3a) return this.#fail(`${this.#where()}expected a value`);
    this.#start = i;
    this.#inString = c === QUOTE;
    this.#scalar = !this.#inString && c !== 0x7b && c !== 0x5b;
    this.#depth = this.#inString || this.#scalar ? 0 : 1;
    this.#at = this.#scalar ? i : i + 1;
  }

  /** Where the value being read ends in `s` (the index after it), or -1 when it goes on past `s`. */
  #valueEnd(s: string): number {
    let i = this.#at;
    while (i < s.length) {
      if (this.#inString) {
        const q = s.indexOf('"', i);
        if (q < 0) break;
        // Escaped when an odd number of backslashes precede it (all of them are in `s`: the value's
        // opening quote is).
        let n = 0;
        while (s.charCodeAt(q - 1 - n) === BACKSLASH) n++;
        i = q + 1;
        if (n % 2 === 1) continue;
        this.#inString = false;
        if (this.#depth === 0) return i;
        continue;
      }
      const c = s.charCodeAt(i);
      if (this.#scalar) {
        if (endsScalar(c)) return i;
      } else if (c === QUOTE) this.#inString = true;
      else if (c === 0x7b || c === 0x5b) this.#depth++;
      else if ((c === 0x7d || c === 0x5d) && --this.#depth === 0) return i + 1;
      i++;
    }
    this.#at = s.length;
    return -1;
  }

  /** The value being read, for messages: `fragments[3]: `, `complete: ` or nothing (a key). */
  #where(): string {
    return this.#expect === 'element' ? `${this.#key}[${this.#index}]: ` : this.#expect === 'value' ? `${this.#key}: ` : '';
  }

  /** A complete value: a key, a top-level value or an element of a list. */
  #take(raw: string, start: number): void {
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      return this.#fail(`${this.#where()}${(e as Error).message}`, start);
    }
    switch (this.#expect) {
      case 'key':
        if (typeof value !== 'string') return this.#fail('expected a key', start);
        this.#key = value;
        this.#expect = 'colon';
        break;
      case 'value':
        // Another key's value is parsed (the text must be JSON) but not kept: the schema drops it.
        if (Object.hasOwn(Batch.shape, this.#key)) this.#values.set(this.#key, value);
        this.#lists.delete(this.#key);
        this.#issues.delete(this.#key);
        this.#expect = 'afterValue';
        break;
      case 'element': {
        const r = LISTS.get(this.#key)!.safeParse(value, { reportInput: true });
        if (r.success) this.#lists.get(this.#key)!.push(r.data);
        else {
          const issues = this.#issues.get(this.#key) ?? [];
          for (const i of r.error.issues) issues.push({ ...i, path: [this.#key, this.#index, ...i.path] });
          this.#issues.set(this.#key, issues);
        }
        this.#index++;
        this.#expect = 'afterElement';
        break;
      }
    }
  }
}
