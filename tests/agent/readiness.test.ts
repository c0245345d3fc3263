// An agent without a snapshot source (a bare `wharf agent`, local mode) is ready only once NGINX
// serves a complete configuration, the handler tier's first complete batch; never on the empty
// configuration NGINX starts with (it used to report ready on that first confirmed version).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend } from '../support/backend.ts';
import { eventually } from '../support/http.ts';
import { startTestAgent, proxyFragment, backendOf } from './harness.ts';

test('without a snapshot source, the bootstrap configuration is not ready; a complete batch served is', async (t) => {
  const app = await startBackend('app');
  const agent = await startTestAgent();
  t.after(async () => {
    await agent.stop();
    await app.close();
  });
  const readiness = async () => (await agent.api('GET', '/nginx-ready', undefined, { token: null })).status;
  assert.equal((await agent.get('anything.example.com')).status, 404, 'NGINX runs, on the bootstrap configuration');
  assert.equal(await readiness(), 503);
  assert.match((await agent.api('GET', '/nginx-ready', undefined, { token: null })).text, /not ready: NGINX does not serve the complete configuration yet/);
  assert.equal((await agent.api('GET', '/v1/state')).json.ready, false);

  // One change is not the whole configuration.
  const one = await agent.api('PUT', '/v1/fragments/one.example.com?wait=1', { revision: 1, config: proxyFragment('one.example.com', 'default-app-80') });
  assert.equal(one.json.status, 'applied');
  assert.equal(await readiness(), 503, 'a single fragment does not make the agent ready');

  const complete = await agent.api('POST', '/v1/batch?wait=1', {
    complete: true,
    fragments: [{ name: 'one.example.com', revision: 2, config: proxyFragment('one.example.com', 'default-app-80') }],
    endpoints: [{ upstream: 'default-app-80', revision: 1, endpoints: [app.address] }],
  });
  assert.equal(complete.status, 200, complete.text);
  assert.ok(await eventually(async () => (await readiness()) === 200, 3000), 'ready once the complete batch is served');
  assert.equal(backendOf(await agent.get('one.example.com')), 'app');
  assert.ok(agent.logs.some((l) => l.includes('ready: NGINX serves the complete configuration')));
  assert.ok(!agent.logs.some((l) => l.includes('ready: NGINX serves the first configuration')));
});
