// GET /snapshot written as it is read. At 100,000 Ingresses the snapshot is 310 MB of JSON: built
// whole (every fragment's text, then one string of all of it, then the response's copy) it took the
// handler's RSS from about 1 GB to 1.9 GB for the length of the request, and past the heap a 1 GiB
// container gives it. Streamed, a few hundred fragments are text at a time. The bytes are the
// same as JSON.stringify of DesiredConfig.snapshot() at the moment the request came (the held
// fragments are taken then; only their unpacking waits).
//
// The stream gives way to other work between chunks. A consumer that takes every chunk at once (a
// socket on loopback, an agent reading as fast as it can) would otherwise keep it in promise jobs
// from the first chunk to the last, and the handler would answer nothing else meanwhile (no
// /healthz, admission review or event for the whole transfer: 6–18 s at 100,000 Ingresses), and a
// second agent's push would wait for the first one's last byte.
import type { SnapshotParts } from './desired-config.ts';

/** Fragments turned into text per read. */
const CHUNK = 256;

/** A turn of the event loop: I/O and timers run before the next chunk is made. */
const giveWay = () => new Promise<void>((r) => setImmediate(r));

/** The snapshot's JSON text as a stream, in `snapshot()`'s key order. */
export function snapshotStream(parts: SnapshotParts): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const fragments = parts.fragments()[Symbol.iterator]();
  let started = false;
  let first = true;
  let done = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (done) return;
      let text = '';
      if (!started) {
        started = true;
        text += '{"fragments":[';
      } else await giveWay();
      for (let n = 0; n < CHUNK; n++) {
        const next = fragments.next();
        if (next.done) {
          done = true;
          break;
        }
        text += (first ? '' : ',') + JSON.stringify(next.value);
        first = false;
      }
      if (done) {
        const { count: _count, fragments: _fragments, ...rest } = parts;
        // The rest of snapshot(): endpoints, certificates, complete, revision, in that order.
        const tail = JSON.stringify(rest);
        text += tail === '{}' ? ']}' : `],${tail.slice(1)}`;
      }
      controller.enqueue(encoder.encode(text));
      if (done) controller.close();
    },
  });
}
