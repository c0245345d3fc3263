// The full snapshot pushed to agents that are new or were away: one agent at a time (two at once
// took a handler with 100,000 Ingresses out of its heap), an agent that does not answer does not
// hold the others back while it waits to try again, and a push that takes longer than the client's
// timeout is not cut while the agent keeps reading it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpAgentClient } from '../../src/handlers/agent-client.ts';
import type { SnapshotParts } from '../../src/handlers/desired-config.ts';
import { AgentFanout } from '../../src/handlers/fanout.ts';
import { createHandlerMetrics } from '../../src/handlers/metrics.ts';
import { createLogger } from '../../src/log.ts';
import { freePort } from '../support/backend.ts';

const TOKEN = 'x'.repeat(32);
const quiet = createLogger({}, () => {});

/** `count` hosts of about 3 KB each, as DesiredConfig hands out a snapshot. */
const parts = (count: number) => (): SnapshotParts => ({
  count,
  *fragments() {
    for (let i = 0; i < count; i++) yield { name: `host-${i}.example.com`, revision: i + 1, config: `server { server_name host-${i}.example.com; }\n${'#'.repeat(3000)}`, files: {} };
  },
  endpoints: [],
  certificates: [],
  complete: true,
});

/** An agent that takes batches (reads each whole, answers after `answerAfterMs`) and records when its snapshots came. */
async function recordingAgent(answerAfterMs: number) {
  const snapshots: { started: number; answered: number; fragments: number }[] = [];
  const server = http.createServer((req, res) => {
    const started = performance.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const batch = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { complete?: boolean; fragments: unknown[] };
      setTimeout(() => {
        if (batch.complete) snapshots.push({ started, answered: performance.now(), fragments: batch.fragments.length });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"version":1,"fragments":[],"endpoints":[]}');
      }, answerAfterMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, snapshots, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function until(ok: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

test('two new agents get the full snapshot one after the other, never both at once', async (t) => {
  const a = await recordingAgent(150);
  const b = await recordingAgent(150);
  t.after(() => Promise.all([a.close(), b.close()]));
  const f = new AgentFanout({ clients: [a, b].map((x) => httpAgentClient({ url: x.url, token: TOKEN })), log: quiet, metrics: createHandlerMetrics() });
  t.after(() => f.close());
  f.start(parts(2000));
  assert.ok(await until(() => a.snapshots.length === 1 && b.snapshots.length === 1, 20_000), 'both agents got the snapshot');
  assert.equal(a.snapshots[0]!.fragments, 2000);
  assert.equal(b.snapshots[0]!.fragments, 2000);
  const [first, second] = [a.snapshots[0]!, b.snapshots[0]!].sort((x, y) => x.started - y.started);
  assert.ok(second!.started >= first!.answered, `the second snapshot started ${Math.round(second!.started - first!.started)} ms after the first, which was answered after ${Math.round(first!.answered - first!.started)} ms`);
  await f.idle();
  assert.deepEqual(f.status().map((s) => s.up), [true, true]);
});

test('an agent that does not answer waits for its next try without holding back another agent’s snapshot', async (t) => {
  const live = await recordingAgent(0);
  t.after(() => live.close());
  // Nothing listens there: its push fails at once, then waits 2.5–5 s to try again.
  const away = `http://127.0.0.1:${await freePort()}`;
  const f = new AgentFanout({ clients: [away, live.url].map((url) => httpAgentClient({ url, token: TOKEN })), log: quiet, metrics: createHandlerMetrics(), minBackoffMs: 5000, maxBackoffMs: 5000 });
  t.after(() => f.close());
  const started = performance.now();
  f.start(parts(300));
  assert.ok(await until(() => live.snapshots.length === 1, 10_000), 'the live agent got the snapshot');
  const ms = performance.now() - started;
  assert.ok(ms < 2000, `the live agent's snapshot came after ${Math.round(ms)} ms: it waited for the other agent's backoff`);
  assert.equal(f.status()[0]!.up, false, 'the other agent is marked away');
});

test('a snapshot that takes longer to write than the timeout arrives while the agent keeps reading; an agent that stops reading is given up', async (t) => {
  // Reads at most about 20 MB/s (a pause of 50 ms after each MB): 60 MB take some seconds, with
  // tens of ms between the client's chunks of 256 fragments, well under its timeout.
  let slowAnswered = 0;
  const slow = http.createServer((req, res) => {
    let bytes = 0;
    let sincePause = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      sincePause += c.length;
      if (sincePause < 1 << 20) return;
      sincePause = 0;
      req.pause();
      setTimeout(() => req.resume(), 50);
    });
    req.on('end', () => {
      slowAnswered = bytes;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  // Takes the request and reads nothing.
  const stuck = http.createServer((req) => req.pause());
  for (const s of [slow, stuck]) await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  t.after(() => {
    slow.closeAllConnections();
    stuck.closeAllConnections();
    return Promise.all([slow, stuck].map((s) => new Promise<void>((r) => s.close(() => r()))));
  });
  const url = (s: http.Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  const timeoutMs = 1000;

  const started = performance.now();
  const client = httpAgentClient({ url: url(slow), token: TOKEN, timeoutMs });
  t.after(() => client.close?.());
  await client.batch(parts(20_000)());
  const took = performance.now() - started;
  assert.ok(took > 2 * timeoutMs, `the slow agent read the snapshot in ${Math.round(took)} ms: the test needs longer than the timeout`);
  assert.ok(slowAnswered > 60_000_000, `it read ${slowAnswered} bytes`);

  const stuckClient = httpAgentClient({ url: url(stuck), token: TOKEN, timeoutMs });
  t.after(() => stuckClient.close?.());
  const t0 = performance.now();
  await assert.rejects(stuckClient.batch(parts(2000)()), (e: Error & { status?: number | null }) => e.message.includes('ETIMEDOUT') && e.status === null);
  const gaveUp = performance.now() - t0;
  assert.ok(gaveUp >= timeoutMs && gaveUp < timeoutMs * 5, `given up after ${Math.round(gaveUp)} ms`);
});

test('the agent’s answer to a full snapshot is not read beyond its status: a push is taken however long the list it answers', async (t) => {
  // A real agent answers a snapshot with a result per fragment (9 MB at 100,000 Ingresses) that the
  // handler has no use for; parsed, it took tens of MB of a heap the view nearly fills. Here the
  // answer is 20 MB and not even JSON: the push still counts as taken, and an error's text stays short.
  let refuse = false;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (refuse) return res.writeHead(400, { 'content-type': 'application/json' }).end(`{"error":"fragments[0].name: Invalid value"}${' '.repeat(20 << 20)}`);
      res.writeHead(202, { 'content-type': 'application/json' });
      res.end(`[${'{"name":"host.example.com","status":"applied"},'.repeat(450_000)}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const client = httpAgentClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: TOKEN });
  t.after(() => client.close?.());
  assert.deepEqual(await client.batch(parts(100)()), {});
  refuse = true;
  await assert.rejects(client.batch(parts(100)()), (e: Error) => /: 400 \{"error":"fragments\[0\]\.name: Invalid value"\}/.test(e.message) && e.message.length < 500);
});
