// The full snapshot as a stream (GET /snapshot, and the push to an agent that is new or was away):
// while it is written, even to a consumer that takes every chunk at once, the handler keeps
// answering other requests (probes, reviews, events, another agent's push).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { wholeBatch } from '../../src/handlers/agent-client.ts';
import type { SnapshotParts } from '../../src/handlers/desired-config.ts';
import { snapshotStream } from '../../src/handlers/snapshot-stream.ts';

/** `count` hosts of about 3 KB each (what a host of one Ingress takes), as DesiredConfig hands them out. */
function parts(count: number): SnapshotParts {
  return {
    count,
    *fragments() {
      for (let i = 0; i < count; i++) yield { name: `host-${i}.example.com`, revision: i + 1, config: `server { server_name host-${i}.example.com; }\n${'#'.repeat(3000)}`, files: {} };
    },
    endpoints: [{ upstream: 'default-web-80', revision: 7, endpoints: ['10.0.0.1:8080'] }],
    certificates: [],
    complete: true,
    revision: 4096,
  };
}

test('while a snapshot is read as fast as it can be, a request to the same process is answered before its last chunk', async (t) => {
  const server = http.createServer((_req, res) => res.end('ok\n'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const snapshot = parts(10_000);

  // A probe, sent as the snapshot starts: it needs the event loop to connect, be read and answered.
  let chunks = 0;
  let answeredAtChunk: number | null = null;
  const probe = new Promise<void>((resolve, reject) => {
    http.get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => {
        answeredAtChunk = chunks;
        resolve();
      });
    }).on('error', reject);
  });
  // The consumer a fast socket is: the next read as soon as a chunk is there, no I/O of its own.
  const reader = snapshotStream(snapshot).getReader();
  const decoder = new TextDecoder();
  let text = '';
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    chunks += 1;
    text += decoder.decode(r.value, { stream: true });
  }
  await probe;
  assert.ok(chunks >= 30, `the snapshot came in ${chunks} chunks`);
  assert.ok(answeredAtChunk !== null && answeredAtChunk < chunks, `the probe was answered after chunk ${answeredAtChunk} of ${chunks}: it waited for the whole snapshot`);
  // Still the snapshot as built whole.
  assert.deepEqual(JSON.parse(text), wholeBatch(snapshot));
});
