// Start-up from the handler tier's snapshot: readiness waits for it (retrying while the handler tier
// is not there yet), and a complete batch replaces everything the agent had.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startBackend } from '../support/backend.ts';
import { eventually } from '../support/http.ts';
import { startTestAgent, proxyFragment, backendOf } from './harness.ts';

test('readiness waits for the snapshot, which is retried until the handler tier serves it', async (t) => {
  const a = await startBackend('a');
  t.after(() => a.close());
  let snapshot: object | null = null;
  const seen: string[] = [];
  const handler = http.createServer((req, res) => {
    seen.push(`${req.url} ${req.headers.authorization}`);
    if (!snapshot) {
      res.writeHead(503).end('starting');
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(snapshot));
  });
  await new Promise<void>((r) => handler.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => handler.close(() => r())));
  const url = `http://127.0.0.1:${(handler.address() as AddressInfo).port}/snapshot`;

  const agent = await startTestAgent({ snapshot: { url, token: 'handler-token' } });
  t.after(() => agent.stop());
  assert.equal((await agent.api('GET', '/nginx-ready', undefined, { token: null })).status, 503, 'not ready before the snapshot');
  assert.match((await agent.api('GET', '/nginx-ready', undefined, { token: null })).text, /not ready/);
  const retried = await eventually(() => seen.length >= 2, 3000);
  assert.ok(retried, 'the agent retries while the handler tier answers 503');
  assert.ok(seen.every((s) => s === '/snapshot Bearer handler-token'));

  snapshot = {
    fragments: [{ name: 'app.example.com', revision: 3, config: proxyFragment('app.example.com', 'default-app-80') }],
    endpoints: [{ upstream: 'default-app-80', revision: 2, endpoints: [a.address] }],
  };
  const ready = await eventually(async () => (await agent.api('GET', '/nginx-ready', undefined, { token: null })).status === 200, 10_000, 20);
  assert.ok(ready, 'ready once the snapshot is served');
  await agent.retired();
  assert.equal(backendOf(await agent.get('app.example.com')), 'a');
  const state = (await agent.api('GET', '/v1/state')).json;
  assert.deepEqual(state.fragments.map((f: { name: string; revision: number; status: string }) => [f.name, f.revision, f.status]), [['app.example.com', 3, 'applied']]);
  assert.ok(agent.logs.some((l) => l.includes('snapshot applied')));
});

test('a complete batch is the whole desired state: what it does not name is removed', async (t) => {
  const a = await startBackend('a');
  t.after(() => a.close());
  const agent = await startTestAgent();
  t.after(() => agent.stop());
  await agent.api('POST', '/v1/batch?wait=1', {
    fragments: [
      { name: 'one.example.com', revision: 1, config: proxyFragment('one.example.com', 'default-app-80') },
      { name: 'two.example.com', revision: 1, config: proxyFragment('two.example.com', 'default-app-80') },
    ],
    endpoints: [{ upstream: 'default-app-80', revision: 1, endpoints: [a.address] }],
  });
  assert.equal(backendOf(await agent.get('two.example.com')), 'a');
  const r = await agent.api('POST', '/v1/batch?wait=1', {
    complete: true,
    fragments: [{ name: 'one.example.com', revision: 1, config: proxyFragment('one.example.com', 'default-app-80') }],
    endpoints: [{ upstream: 'default-other-80', revision: 1, endpoints: [a.address] }],
  });
  assert.equal(r.status, 200);
  assert.equal((await agent.get('two.example.com')).status, 404, 'two.example.com removed');
  assert.equal((await agent.get('one.example.com')).status, 503, 'default-app-80 endpoints removed');
  const state = (await agent.api('GET', '/v1/state')).json;
  assert.equal(state.fragments.find((f: { name: string }) => f.name === 'two.example.com').deleted, true);
  assert.equal(state.endpoints.find((e: { upstream: string }) => e.upstream === 'default-app-80').endpoints, null);
});

test('a complete batch with a revision removes only what the agent holds below it', async (t) => {
  const a = await startBackend('a');
  t.after(() => a.close());
  const agent = await startTestAgent();
  t.after(() => agent.stop());
  // A replica whose view is complete as of resourceVersion 3 sends revision 3 × 4096; another one
  // already pushed content made from resourceVersion 5 (at or above it), and some from before.
  const snapshotRevision = 3 * 4096;
  await agent.api('POST', '/v1/batch?wait=1', {
    fragments: [
      { name: 'old.example.com', revision: 2 * 4096 + 7, config: proxyFragment('old.example.com', 'default-old-80') },
      { name: 'new.example.com', revision: 5 * 4096 + 1, config: proxyFragment('new.example.com', 'default-new-80') },
      { name: 'same.example.com', revision: snapshotRevision, config: proxyFragment('same.example.com', 'default-same-80') },
      { name: 'kept.example.com', revision: 1, config: proxyFragment('kept.example.com', 'default-old-80') },
    ],
    endpoints: [
      { upstream: 'default-old-80', revision: 2 * 4096, endpoints: [a.address] },
      { upstream: 'default-new-80', revision: 5 * 4096, endpoints: [a.address] },
      { upstream: 'default-same-80', revision: snapshotRevision, endpoints: [a.address] },
    ],
  });
  assert.equal(backendOf(await agent.get('new.example.com')), 'a');
  const r = await agent.api('POST', '/v1/batch?wait=1', {
    complete: true,
    revision: snapshotRevision,
    fragments: [{ name: 'kept.example.com', revision: snapshotRevision + 5, config: proxyFragment('kept.example.com', 'default-kept-80') }],
    endpoints: [{ upstream: 'default-kept-80', revision: snapshotRevision + 5, endpoints: [a.address] }],
  });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.fragments.map((f: { name: string; status: string }) => [f.name, f.status]).sort(), [['kept.example.com', 'applied'], ['old.example.com', 'applied']]);
  assert.equal((await agent.get('old.example.com')).status, 404, 'made from an older view: removed');
  assert.equal(backendOf(await agent.get('new.example.com')), 'a', 'made from a newer view than the snapshot: kept, with its endpoints');
  assert.equal(backendOf(await agent.get('same.example.com')), 'a', 'at the snapshot revision: kept, with its endpoints');
  assert.equal(backendOf(await agent.get('kept.example.com')), 'a');
  const state = (await agent.api('GET', '/v1/state')).json;
  const endpoints = Object.fromEntries(state.endpoints.map((e: { upstream: string; endpoints: number | null }) => [e.upstream, e.endpoints]));
  assert.deepEqual(endpoints, { 'default-kept-80': 1, 'default-new-80': 1, 'default-old-80': null, 'default-same-80': 1 });

  // Without a revision, a complete batch removes everything it does not name, as before.
  await agent.api('POST', '/v1/batch?wait=1', { complete: true, fragments: [], endpoints: [] });
  assert.equal((await agent.get('new.example.com')).status, 404);
  assert.equal((await agent.get('kept.example.com')).status, 404);

  // A malformed revision is refused whole.
  const bad = await agent.api('POST', '/v1/batch', { complete: true, revision: -1, fragments: [] });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error, /^revision: Invalid value: -1/);
});
