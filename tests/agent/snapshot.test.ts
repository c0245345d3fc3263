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
