// The stream twin of reloads.test.ts: while a reload of 1500 TLS servers takes seconds, an endpoint
// change behind a TCP service reaches new connections at once (njs reads the agent's endpoint file),
// long before the reload ends, and an open connection to the removed endpoint keeps working.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually } from '../support/http.ts';
import { loadSlowReloadConfig, startSlowReload, startTestAgent, type TestAgent } from './harness.ts';
import { streamFragment, streamPort } from './stream-harness.ts';
import { startTcpEcho, tcpExchange, tcpSession, type StreamBackend } from '../support/stream-backends.ts';

let t: TestAgent;
let a: StreamBackend;
let b: StreamBackend;
let port: { declared: number; served: number };
before(async () => {
  [a, b] = await Promise.all([startTcpEcho('a'), startTcpEcho('b')]);
  t = await startTestAgent();
  port = await streamPort(t);
  await loadSlowReloadConfig(t, [{ name: `_stream-tcp-${port.declared}`, revision: 1, config: streamFragment('tcp', port.declared, 'default-db-5432'), files: {} }], [{ upstream: 'default-db-5432', revision: 1, endpoints: [a.address] }]);
});
after(async () => {
  await t?.stop();
  await Promise.all([a?.close(), b?.close()]);
});

test('an endpoint change behind a TCP service takes effect for new connections while a slow reload is in progress', async () => {
  assert.equal(await tcpExchange(port.served, 'hi'), 'a: hi');
  const open = await tcpSession(port.served);
  assert.equal(await open.say('one'), 'a: one');
  const version = await startSlowReload(t, 2);
  const reloadStarted = performance.now();
  await sleep(300); // NGINX's master now parses 1500 TLS servers
  const update = performance.now();
  const r = await t.api('PUT', '/v1/endpoints/default-db-5432', { revision: 2, endpoints: [b.address] });
  assert.equal(r.json.status, 'applied');
  const moved = await eventually(async () => (await tcpExchange(port.served, 'x').catch(() => '')) === 'b: x', 2000, 2);
  const movedMs = performance.now() - update;
  assert.ok(moved, 'new connections went to the new endpoint');
  const during = (await t.api('GET', '/v1/state')).json;
  assert.ok(during.appliedVersion < version, `the reload was still in progress when new connections moved (applied ${during.appliedVersion}, reloading to ${version})`);
  assert.ok(movedMs < 500, `new connections moved ${movedMs.toFixed(0)} ms after the update`);
  assert.equal(await open.say('two'), 'a: two', 'the open connection to the removed endpoint was not cut');

  assert.ok(await eventually(async () => (await t.api('GET', '/v1/state')).json.appliedVersion >= version, 20_000, 50));
  const reloadMs = performance.now() - reloadStarted;
  assert.ok(reloadMs > movedMs * 4, `the reload took ${reloadMs.toFixed(0)} ms, the endpoint change ${movedMs.toFixed(0)} ms`);
  await t.retired();
  for (let i = 0; i < 3; i++) assert.equal(await tcpExchange(port.served, `after ${i}`), `b: after ${i}`, 'the new set survives the reload');
  open.close();
});
