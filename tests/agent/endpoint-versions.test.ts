// Each worker keeps the endpoints it parsed and re-reads an upstream's endpoints only when that
// upstream's version in the shared dict moves (a request reads a number, not the whole endpoint
// string). These tests hold what that cache must never do: serve endpoints that were replaced.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { unixRequest } from '../../src/agent/unix-http.ts';
import { startBackend, type Backend } from '../support/backend.ts';
import { request } from '../support/http.ts';
import { startTestAgent, backendOf, proxyFragment, type TestAgent } from './harness.ts';

let t: TestAgent;
let a: Backend;
let b: Backend;
let revision = 1;

before(async () => {
  [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
  // Two workers: each has its own cache, and a test must see both.
  t = await startTestAgent({ workerProcesses: 2 });
  for (const [name, config] of [
    ['app.example.com', proxyFragment('app.example.com', 'default-app-80')],
    ['legacy.example.com', proxyFragment('legacy.example.com', 'legacy-app-80')],
  ]) {
    const r = await t.api('PUT', `/v1/fragments/${name}?wait=1`, { revision: 1, config });
    assert.equal(r.json.status, 'applied', r.text);
  }
  await t.retired();
});
after(async () => {
  await t?.stop();
  await Promise.all([a?.close(), b?.close()]);
});

/** Backend name (or status) → count over `n` new connections, which NGINX spreads over workers. */
async function tally(n: number, host: string): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = await request({ port: t.httpPort, host });
    const key = r.status === 200 ? String(backendOf(r)) : String(r.status);
    seen[key] = (seen[key] ?? 0) + 1;
  }
  return seen;
}

test('endpoints deleted and put again are served from the new set in every worker, never the cached old one', async () => {
  for (let round = 0; round < 3; round++) {
    const r1 = await t.api('PUT', '/v1/endpoints/default-app-80', { revision: revision++, endpoints: [a.address] });
    assert.equal(r1.status, 200, r1.text);
    assert.deepEqual(await tally(20, 'app.example.com'), { a: 20 });
    const r2 = await t.api('DELETE', `/v1/endpoints/default-app-80?revision=${revision++}`);
    assert.equal(r2.status, 200, r2.text);
    // No request between the delete and the put: a cache keyed by a per-upstream counter that
    // restarts after a delete would now hold the same number for the old endpoints.
    const r3 = await t.api('PUT', '/v1/endpoints/default-app-80', { revision: revision++, endpoints: [b.address] });
    assert.equal(r3.status, 200, r3.text);
    assert.deepEqual(await tally(20, 'app.example.com'), { b: 20 }, `round ${round}`);
    const r4 = await t.api('DELETE', `/v1/endpoints/default-app-80?revision=${revision++}`);
    assert.equal(r4.status, 200, r4.text);
  }
});

test('endpoints an older agent stored without a version are served, and the next write replaces them', async () => {
  // What a dict kept across a reload into this code holds: the endpoints alone.
  const seed = await t.api('PUT', '/v1/fragments/seed-legacy?wait=1', {
    revision: 1,
    config: `init_worker_by_lua_block {\n    ngx.shared.wharf_endpoints:set("legacy-app-80", "${a.address}")\n}\n`,
  });
  assert.equal(seed.json.status, 'applied', seed.text);
  await t.retired();
  assert.deepEqual(await tally(10, 'legacy.example.com'), { a: 10 });
  const r = await t.api('PUT', '/v1/endpoints/legacy-app-80', { revision: revision++, endpoints: [b.address] });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(await tally(10, 'legacy.example.com'), { b: 10 });
});

test('the endpoint list a restarted agent keeps holds upstreams and their endpoints, not the versions beside them', async () => {
  const r = await t.api('PUT', '/v1/endpoints/default-app-80', { revision: revision++, endpoints: [a.address, b.address] });
  assert.equal(r.status, 200, r.text);
  // What src/agent/kept-config.ts reads after an agent restart.
  const listed = await unixRequest({ socketPath: join(t.prefix, 'private', 'endpoints.sock'), path: '/endpoints', timeoutMs: 2000 });
  assert.equal(listed.status, 200);
  const lines = listed.body.trim().split('\n').sort();
  assert.deepEqual(lines, [`default-app-80 ${a.address} ${b.address}`, `legacy-app-80 ${b.address}`]);
});
