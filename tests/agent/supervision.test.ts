// The agent supervises its NGINX master: killed with SIGKILL, it is started again and serves the same
// fragments and endpoints within a few seconds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, type Backend } from '../support/backend.ts';
import { eventually } from '../support/http.ts';
import { startTestAgent, proxyFragment, backendOf, type TestAgent } from './harness.ts';
import { alive } from '../support/processes.ts';

let t: TestAgent;
let a: Backend;
let b: Backend;
before(async () => {
  [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
  t = await startTestAgent();
});
after(async () => {
  await t?.stop();
  await Promise.all([a?.close(), b?.close()]);
});

test('NGINX master killed with SIGKILL: restarted, serving the same config and endpoints within seconds', async () => {
  await t.api('PUT', '/v1/endpoints/default-app-80', { revision: 1, endpoints: [a.address] });
  // A complete batch, as a handler's first push: the agent is ready once NGINX serves it.
  await t.api('POST', '/v1/batch?wait=1', { complete: true, fragments: [{ name: 'app.example.com', revision: 1, config: proxyFragment('app.example.com', 'default-app-80') }], endpoints: [{ upstream: 'default-app-80', revision: 1, endpoints: [a.address] }] });
  assert.equal(backendOf(await t.get('app.example.com')), 'a');

  const oldPid = t.agent.nginxPid!;
  const killed = performance.now();
  process.kill(oldPid, 'SIGKILL');
  const back = await eventually(async () => {
    const pid = t.agent.nginxPid;
    return pid !== null && pid !== oldPid && backendOf(await t.get('app.example.com')) === 'a';
  }, 5000, 20);
  assert.ok(back, `NGINX serves app.example.com again (logs:\n${t.logs.slice(-10).join('')})`);
  const ms = performance.now() - killed;
  assert.ok(ms < 3000, `back after ${ms.toFixed(0)} ms`);
  assert.equal((await t.api('GET', '/nginx-ready', undefined, { token: null })).status, 200);
  assert.match((await t.api('GET', '/metrics')).text, /wharf_agent_nginx_restarts_total 1/);
  assert.ok(t.logs.some((l) => l.includes('NGINX master exited')));
  assert.ok(t.logs.some((l) => l.includes('endpoints written to the new NGINX master')));

  // Endpoint changes keep working on the new master.
  const r = await t.api('PUT', '/v1/endpoints/default-app-80', { revision: 2, endpoints: [b.address] });
  assert.equal(r.json.status, 'applied');
  assert.equal(backendOf(await t.get('app.example.com')), 'b');
});

test('changes sent while the master is down are applied when it is back', async () => {
  const oldPid = t.agent.nginxPid!;
  process.kill(oldPid, 'SIGKILL');
  // Sent at once: NGINX may or may not be back yet; either way the change must arrive.
  const ep = await t.api('PUT', '/v1/endpoints/default-app-80', { revision: 3, endpoints: [a.address] });
  assert.ok(['applied', 'pending'].includes(ep.json.status), JSON.stringify(ep.json));
  const frag = await t.api('PUT', '/v1/fragments/late.example.com?wait=1', { revision: 1, config: proxyFragment('late.example.com', 'default-app-80') });
  assert.equal(frag.json.status, 'applied');
  assert.notEqual(t.agent.nginxPid, oldPid);
  assert.ok(!alive(oldPid));
  const ok = await eventually(async () => backendOf(await t.get('late.example.com')) === 'a' && backendOf(await t.get('app.example.com')) === 'a', 5000);
  assert.ok(ok);
});
