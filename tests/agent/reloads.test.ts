// Reloads that take seconds (1500 TLS servers, each with its own copy of one self-signed
// certificate): endpoint updates must not wait for them, and changes arriving meanwhile must be
// coalesced into at most one or two further reloads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBackend, type Backend } from '../support/backend.ts';
import { eventually } from '../support/http.ts';
import { startTestAgent, proxyFragment, backendOf, loadSlowReloadConfig, startSlowReload as changeSlowConfig, type TestAgent } from './harness.ts';
import { bare, makeCertificate, servedSerial } from '../support/certificates.ts';

let t: TestAgent;
let a: Backend;
let b: Backend;
before(async () => {
  [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
  t = await startTestAgent();
  await loadSlowReloadConfig(t, [{ name: 'app.example.com', revision: 1, config: proxyFragment('app.example.com', 'default-app-80'), files: {} }], [{ upstream: 'default-app-80', revision: 1, endpoints: [a.address] }]);
});
after(async () => {
  await t?.stop();
  await Promise.all([a?.close(), b?.close()]);
});

/** Starts a reload (a one-fragment change) of the slow configuration, with nothing queued before it. */
async function startSlowReload(revision: number): Promise<{ version: number; started: number }> {
  const before = (await t.api('GET', '/v1/state')).json;
  const version = await changeSlowConfig(t, revision);
  assert.equal(before.queueDepth, 0);
  return { version, started: performance.now() };
}

test('an endpoint update takes effect at once while a slow reload is in progress', async () => {
  assert.equal(backendOf(await t.get('app.example.com')), 'a');
  const reload = await startSlowReload(2);
  await sleep(300); // past the test of the one changed fragment: NGINX's master now parses 1500 TLS servers
  const update = performance.now();
  const r = await t.api('PUT', '/v1/endpoints/default-app-80', { revision: 2, endpoints: [b.address] });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { upstream: 'default-app-80', revision: 2, status: 'applied', via: 'lua' });
  const moved = await eventually(async () => backendOf(await t.get('app.example.com')) === 'b', 2000, 2);
  const movedMs = performance.now() - update;
  assert.ok(moved, 'traffic moved to the new endpoint');
  const during = (await t.api('GET', '/v1/state')).json;
  assert.ok(during.appliedVersion < reload.version, `the reload was still in progress when traffic moved (applied ${during.appliedVersion}, reloading to ${reload.version})`);
  assert.ok(movedMs < 500, `traffic moved ${movedMs.toFixed(0)} ms after the update`);

  const done = await eventually(async () => (await t.api('GET', '/v1/state')).json.appliedVersion >= reload.version, 20_000, 50);
  assert.ok(done);
  const reloadMs = performance.now() - reload.started;
  assert.ok(reloadMs > movedMs * 4, `the reload took ${reloadMs.toFixed(0)} ms, the endpoint update ${movedMs.toFixed(0)} ms`);
  assert.equal(backendOf(await t.get('app.example.com')), 'b', 'the endpoints survive the reload');
});

test('200 fragment changes sent while a reload runs need at most 2 further reloads, and all are served', async () => {
  await t.api('PUT', '/v1/endpoints/default-burst-80', { revision: 1, endpoints: [a.address] });
  const reloadsBefore = (await t.api('GET', '/v1/state')).json.reloads;
  const coalesced = async () => Number(/wharf_agent_coalesced_changes_total (\d+)/.exec((await t.api('GET', '/metrics')).text)![1]);
  const coalescedBefore = await coalesced();
  await startSlowReload(3);
  await sleep(50);
  const hosts = Array.from({ length: 200 }, (_, i) => `burst${i}.example.com`);
  let next = 0;
  const send = async () => {
    while (next < hosts.length) {
      const host = hosts[next++]!;
      const r = await t.api('PUT', `/v1/fragments/${host}`, { revision: 1, config: proxyFragment(host, 'default-burst-80') });
      assert.equal(r.status, 202);
    }
  };
  await Promise.all(Array.from({ length: 8 }, send));
  const sentWhileReloading = (await t.api('GET', '/v1/state')).json.queueDepth;
  assert.equal(sentWhileReloading, 2, 'all 200 were sent while the first reload was still running');

  const desired = (await t.api('GET', '/v1/state')).json.desiredVersion;
  const ok = await eventually(async () => (await t.api('GET', '/v1/state')).json.appliedVersion >= desired, 30_000, 50);
  assert.ok(ok, 'all changes applied');
  const state = (await t.api('GET', '/v1/state')).json;
  const further = state.reloads - reloadsBefore - 1;
  assert.ok(further >= 1 && further <= 2, `${further} further reloads for 200 changes`);
  assert.equal(state.fragments.filter((f: { name: string; status: string }) => f.name.startsWith('burst') && f.status === 'applied').length, 200);
  await t.retired();
  for (const host of hosts) assert.equal(backendOf(await t.get(host)), 'a', host);
  assert.equal((await coalesced()) - coalescedBefore, 200 - further, 'the metrics count the changes that shared a reload');
});

test('a new and a renewed certificate are served to new handshakes at once while a slow reload is in progress', async () => {
  const first = await makeCertificate(['renew.example.com']);
  assert.equal((await t.api('PUT', '/v1/certificates/renew.example.com', { revision: 1, ...first })).json.status, 'applied');
  const reloadsBefore = (await t.api('GET', '/v1/state')).json.reloads;
  const reload = await startSlowReload(4);
  await sleep(300); // NGINX's master now parses 1500 TLS servers
  const [renewed, added] = await Promise.all([makeCertificate(['renew.example.com']), makeCertificate(['added.example.com'])]);
  const update = performance.now();
  const r = await t.api('POST', '/v1/batch', { certificates: [{ name: 'renew.example.com', revision: 2, ...renewed }, { name: 'added.example.com', revision: 1, ...added }] });
  assert.equal(r.status, 200, r.text);
  assert.equal(await servedSerial(t.httpsPort, 'renew.example.com'), bare(renewed.serial));
  assert.equal(await servedSerial(t.httpsPort, 'added.example.com'), bare(added.serial));
  const servedMs = performance.now() - update;
  const during = (await t.api('GET', '/v1/state')).json;
  assert.ok(during.appliedVersion < reload.version, `the reload was still in progress (applied ${during.appliedVersion}, reloading to ${reload.version})`);
  assert.ok(servedMs < 500, `served ${servedMs.toFixed(0)} ms after the update`);
  assert.ok(await eventually(async () => (await t.api('GET', '/v1/state')).json.appliedVersion >= reload.version, 20_000, 50));
  assert.equal((await t.api('GET', '/v1/state')).json.reloads, reloadsBefore + 1, 'only the fragment change reloaded');
  await t.retired();
  assert.equal(await servedSerial(t.httpsPort, 'renew.example.com'), bare(renewed.serial), 'the new workers serve it too');
});
