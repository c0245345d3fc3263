// The passthrough twin of stream-reloads.test.ts: while a reload of 1500 TLS servers takes seconds,
// an endpoint change behind a TLS passthrough host reaches new connections at once (njs reads the
// agent's endpoint file: the client sees the new backend's certificate), long before the reload
// ends, and an open connection to the removed endpoint keeps working.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually } from '../support/http.ts';
import { startHttpsBackend, type Backend } from '../support/backend.ts';
import { bare, makeCertificate, requestOver, servedSerial, tlsConnect } from '../support/certificates.ts';
import { loadSlowReloadConfig, startSlowReload, type TestAgent } from './harness.ts';
import { passthroughFragment, startPassthroughAgent } from './passthrough-harness.ts';

let t: TestAgent;
let a: Backend;
let b: Backend;
const serial = { a: '', b: '' };
before(async () => {
  const [certA, certB] = await Promise.all([makeCertificate(['pass.test']), makeCertificate(['pass.test'])]);
  [serial.a, serial.b] = [bare(certA.serial), bare(certB.serial)];
  [a, b] = await Promise.all([startHttpsBackend('a', certA), startHttpsBackend('b', certB)]);
  t = await startPassthroughAgent();
  await loadSlowReloadConfig(t, [passthroughFragment('pass.test', 'default-pass-443')], [{ upstream: 'default-pass-443', revision: 1, endpoints: [a.address] }]);
});
after(async () => {
  await t?.stop();
  await Promise.all([a?.close(), b?.close()]);
});

test('an endpoint change behind a TLS passthrough host takes effect for new connections while a slow reload is in progress', async () => {
  assert.equal(await servedSerial(t.httpsPort, 'pass.test'), serial.a);
  const open = await tlsConnect(t.httpsPort, 'pass.test');
  assert.equal(open.serial, serial.a);
  assert.equal(await requestOver(open.socket!, 'pass.test'), 200);
  const version = await startSlowReload(t, 2);
  const reloadStarted = performance.now();
  await sleep(300); // NGINX's master now parses 1500 TLS servers
  const update = performance.now();
  const r = await t.api('PUT', '/v1/endpoints/default-pass-443', { revision: 2, endpoints: [b.address] });
  assert.equal(r.json.status, 'applied');
  const moved = await eventually(async () => (await servedSerial(t.httpsPort, 'pass.test')) === serial.b, 2000, 2);
  const movedMs = performance.now() - update;
  assert.ok(moved, 'new connections went to the new endpoint');
  const during = (await t.api('GET', '/v1/state')).json;
  assert.ok(during.appliedVersion < version, `the reload was still in progress when new connections moved (applied ${during.appliedVersion}, reloading to ${version})`);
  assert.ok(movedMs < 500, `new connections moved ${movedMs.toFixed(0)} ms after the update`);
  assert.equal(await requestOver(open.socket!, 'pass.test'), 200, 'the open connection to the removed endpoint was not cut');

  assert.ok(await eventually(async () => (await t.api('GET', '/v1/state')).json.appliedVersion >= version, 20_000, 50));
  const reloadMs = performance.now() - reloadStarted;
  assert.ok(reloadMs > movedMs * 4, `the reload took ${reloadMs.toFixed(0)} ms, the endpoint change ${movedMs.toFixed(0)} ms`);
  await t.retired();
  for (let i = 0; i < 3; i++) assert.equal(await servedSerial(t.httpsPort, 'pass.test'), serial.b, 'the new set survives the reload');
  // (The open connection lives on in an old worker until worker_shutdown_timeout ends it.)
  open.socket!.destroy();
});
