// The agent API's limits, as the handler tier has them: a client that sends its headers slowly is
// dropped after 10 s (Node's default kept it 60 s and more); a body that is not JSON gets 415; the
// batch limit is sized for a snapshot and set by --max-batch-size; the snapshot an agent GETs at start
// is not held to it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { eventually } from '../support/http.ts';
import { parseAgentArgs, UsageError } from '../../src/agent/main.ts';
import { startBackend } from '../support/backend.ts';
import { startTestAgent, proxyFragment, backendOf, type TestAgent } from './harness.ts';

let t: TestAgent;
before(async () => {
  t = await startTestAgent({ limits: { batchBytes: 1 << 20 } });
});
after(async () => {
  await t?.stop();
});

test('a client that never finishes its headers is dropped after about 10 s, not kept for a minute', async () => {
  const socket = connect(t.agent.apiPort, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  const opened = performance.now();
  let answer = '';
  socket.on('data', (d: Buffer) => (answer += d.toString()));
  socket.on('error', () => undefined); // the server may reset the connection it drops
  const closed = new Promise<number>((r) => socket.once('close', () => r(performance.now() - opened)));
  socket.write('PUT /v1/fragments/slow.example.com HTTP/1.1\r\nHost: agent\r\n');
  // One more header line every 2 s: never idle long enough for an idle timeout, never complete.
  const drip = setInterval(() => socket.write(`x-slow-${Date.now()}: 1\r\n`), 2000);
  try {
    const ms = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(Infinity), 20_000))]);
    assert.ok(ms >= 9000 && ms < 13_000, `the connection was closed after ${ms} ms`);
    // Node answers 408 before it closes, unless the reset of the unread headers overtakes it.
    assert.ok(answer === '' || /^HTTP\/1\.1 408 /.test(answer), answer);
  } finally {
    clearInterval(drip);
    socket.destroy();
  }
});

test('415 for a body that is not JSON, and nothing applied', async () => {
  const cases: [string, string, Record<string, string>][] = [
    ['PUT', '/v1/fragments/form.example.com', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['PUT', '/v1/fragments/none.example.com', {}],
    ['PUT', '/v1/endpoints/default-app-80', { 'content-type': 'text/plain' }],
    ['POST', '/v1/batch', { 'content-type': 'application/jsonx' }],
  ];
  for (const [method, path, headers] of cases) {
    const res = await fetch(`${t.agent.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${t.token}`, ...headers },
      body: JSON.stringify({ revision: 1, config: proxyFragment('form.example.com', 'default-app-80'), endpoints: ['127.0.0.1:1'], fragments: [] }),
    });
    const body = (await res.json()) as { error: string };
    assert.equal(res.status, 415, `${method} ${path}`);
    assert.match(body.error, /^Content-Type ".*": expected application\/json$/);
  }
  const ok = await fetch(`${t.agent.apiUrl}/v1/fragments/json.example.com`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify({ revision: 1, config: proxyFragment('json.example.com', 'default-app-80') }),
  });
  assert.equal(ok.status, 202, await ok.text());
  const state = (await t.api('GET', '/v1/state')).json;
  assert.deepEqual(state.fragments.map((f: { name: string }) => f.name), ['json.example.com']);
});

test('the batch limit: 413 past it naming the flag; --max-batch-size sets it (default 512Mi)', async () => {
  const big = { fragments: [{ name: 'big.example.com', revision: 1, config: `${proxyFragment('big.example.com', 'default-app-80')}# ${'x'.repeat(1100 * 1024)}\n` }], endpoints: [] };
  const r = await t.api('POST', '/v1/batch', big);
  assert.equal(r.status, 413);
  assert.equal(r.json.error, 'body: larger than 1048576 bytes, the limit for a batch (--max-batch-size)');

  const args = (extra: string[]) => parseAgentArgs(['--prefix', '/srv/nginx', '--token-file', 't', ...extra]);
  const limits = (extra: string[]) => {
    const a = args(extra);
    assert.notEqual(a, 'help');
    return a === 'help' ? undefined : a.options.limits;
  };
  assert.deepEqual(limits([]), { batchBytes: 512 << 20 });
  assert.deepEqual(limits(['--max-batch-size', '512Mi']), { batchBytes: 512 << 20 });
  assert.deepEqual(limits(['--max-batch-size', '2097152']), { batchBytes: 2 << 20 });
  for (const bad of ['12', '1.5Gi', '5Gi', '128MB', '']) {
    assert.throws(() => args(['--max-batch-size', bad]), (e: unknown) => e instanceof UsageError && /--max-batch-size: Invalid value: .*expected a size from 1Mi to 4Gi/.test(e.message), bad);
  }

});

test('an agent started again loads a snapshot larger than --max-batch-size: the limit is for pushes, the snapshot is the whole desired state', async (t) => {
  const a = await startBackend('a');
  t.after(() => a.close());
  // 1.2 MB of configuration against a 1 MiB batch limit, as 310 MB at 100,000 Ingresses against the default.
  const snapshot = {
    fragments: [1, 2, 3].map((n) => ({ name: `big-${n}.example.com`, revision: 5, config: `${proxyFragment(`big-${n}.example.com`, 'default-app-80')}${`# ${'x'.repeat(62)}\n`.repeat(6400)}` })),
    endpoints: [{ upstream: 'default-app-80', revision: 2, endpoints: [a.address] }],
  };
  const served = http.createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(snapshot));
  });
  await new Promise<void>((done) => served.listen(0, '127.0.0.1', done));
  t.after(() => new Promise<void>((done) => served.close(() => done())));
  const agent = await startTestAgent({ limits: { batchBytes: 1 << 20 }, snapshot: { url: `http://127.0.0.1:${(served.address() as AddressInfo).port}/snapshot`, token: 'snapshot-token' } });
  t.after(() => agent.stop());
  const ready = await eventually(async () => (await agent.api('GET', '/nginx-ready', undefined, { token: null })).status === 200, 10_000, 20);
  assert.ok(ready, `ready on the snapshot; agent logs:\n${agent.logs.slice(-5).join('')}`);
  await agent.retired();
  const reply = await agent.get('big-3.example.com');
  assert.equal(backendOf(reply), 'a', `${reply.status} ${reply.body.slice(0, 200)}`);
  // The same state pushed to its API is still held to the limit.
  const pushed = await agent.api('POST', '/v1/batch', { ...snapshot, complete: true });
  assert.equal(pushed.status, 413);
});

test('a body that keeps coming is read however long it takes; one that stops for the stall limit loses its connection, and nothing of it is applied', async (t) => {
  // The full snapshot at 100,000 Ingresses (310 MB) takes a busy handler up to a minute to write:
  // no limit on the whole request, only on a pause (30 s by default; 400 ms here).
  const agent = await startTestAgent({ bodyStallMs: 400 });
  t.after(() => agent.stop());
  const body = JSON.stringify({ fragments: [{ name: 'slow.example.com', revision: 1, config: proxyFragment('slow.example.com', 'default-app-80') }], endpoints: [] });
  const head = (length: number) => `POST /v1/batch HTTP/1.1\r\nHost: agent\r\nAuthorization: Bearer ${agent.token}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
  const open = async () => {
    const socket = connect(agent.agent.apiPort, '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', () => r()));
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    return { socket, answer: () => answer, closed };
  };

  // Ten pieces 200 ms apart: 2 s in all, five times the stall limit, never a pause of it.
  const slow = await open();
  slow.socket.write(head(Buffer.byteLength(body)));
  const pieces = 10;
  const size = Math.ceil(body.length / pieces);
  for (let i = 0; i < pieces; i++) {
    await new Promise((r) => setTimeout(r, 200));
    slow.socket.write(body.slice(i * size, (i + 1) * size));
  }
  assert.ok(await eventually(async () => /^HTTP\/1\.1 202 /.test(slow.answer()), 5000, 20), `answer: ${slow.answer()}`);
  slow.socket.destroy();
  const state = (await agent.api('GET', '/v1/state')).json;
  assert.deepEqual(state.fragments.map((f: { name: string }) => f.name), ['slow.example.com']);

  // Half a body, then nothing: dropped after about the stall limit, the fragment never applied.
  const stalled = await open();
  const other = body.replace(/slow\.example\.com/g, 'stalled.example.com');
  const sent = performance.now();
  stalled.socket.write(head(Buffer.byteLength(other)) + other.slice(0, other.length / 2));
  const closed = await Promise.race([stalled.closed.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 5000))]);
  const ms = performance.now() - sent;
  stalled.socket.destroy();
  assert.ok(closed, 'the agent still holds the stalled connection after 5 s');
  assert.ok(ms >= 350 && ms < 3000, `closed after ${ms} ms`);
  const after = (await agent.api('GET', '/v1/state')).json;
  assert.deepEqual(after.fragments.map((f: { name: string }) => f.name), ['slow.example.com']);
});
