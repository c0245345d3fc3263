// The app's entry points besides HTTP (what a watch of the API server feeds): applyChanges applies
// and pushes like POST /events, full lists replace the view like a relist, each tells which
// Ingresses may have a new verdict; and the snapshot says which view it stands for (its revision).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryReader } from '../../src/cluster/view-memory-reader.ts';
import { MemoryView } from '../../src/cluster/view-memory.ts';
import { KINDS, type ClusterReader, type KubeObject } from '../../src/cluster/view.ts';
import { createApp } from '../../src/handlers/app.ts';
import { AgentFanout } from '../../src/handlers/fanout.ts';
import { createHandlerMetrics } from '../../src/handlers/metrics.ts';
import { relevantTo } from '../../src/handlers/relevance.ts';
import type { Batch } from '../../src/protocol/agent-api.ts';
import { fakeAgent } from './fake-agent.ts';
import { wholeBatch } from '../../src/handlers/agent-client.ts';
import { TOKEN, binary, endpointSlice, ingress, service } from './fixtures.ts';
import { quietLog, testHandler, testSettings } from './support.ts';
import { proxyFragment, startTestAgent } from '../agent/harness.ts';

const SLOT = 4096;

/** An app over `reader` whose agent records every batch, and that records what it told about Ingresses. */
function app(reader: ClusterReader, watchedUpTo?: () => number) {
  const settings = testSettings();
  const view = new MemoryView({ keep: relevantTo(settings.controller) });
  const agent = fakeAgent();
  const batches: (Batch & { revision?: number })[] = [];
  const apply = agent.batch.bind(agent);
  agent.batch = (b) => {
    batches.push(wholeBatch(b));
    return apply(b);
  };
  const metrics = createHandlerMetrics();
  const fanout = new AgentFanout({ clients: [agent], log: quietLog, metrics, minBackoffMs: 2, maxBackoffMs: 10 });
  const told: (string[] | 'all')[] = [];
  const handler = createApp({ view, reader, agents: fanout, settings, metrics, log: quietLog, onIngresses: (k) => told.push(k), ...(watchedUpTo ? { watchedUpTo } : {}) });
  return { handler, agent, batches, fanout, told, view };
}

const change = (action: 'add' | 'update' | 'delete', object: KubeObject) => ({
  action,
  key: { kind: object.kind as 'Ingress', namespace: object.metadata.namespace ?? 'default', name: object.metadata.name },
  resourceVersion: object.metadata.resourceVersion!,
  object,
});

test('applyChanges: parsed, applied when newer, recomputed, pushed; duplicates and unparsable objects change nothing', async (t) => {
  const api = new MemoryReader();
  const h = app(api);
  t.after(() => h.fanout.close());
  await h.handler.relist();
  h.told.length = 0;
  const svc = api.put(service('web')).object;
  const slice = api.put(endpointSlice('web', ['10.0.0.1:8080'])).object;
  const cafe = api.put(ingress('cafe', 'cafe.example.com')).object;
  const outcomes = h.handler.applyChanges([change('add', svc), change('add', slice), change('add', cafe), change('add', cafe)]);
  assert.deepEqual(outcomes.map((o) => o.result), ['applied', 'applied', 'applied', 'duplicate']);
  assert.deepEqual(h.told, [['default/cafe']], 'the Ingress whose verdict may have changed');
  await h.fanout.idle();
  assert.match(h.agent.configs()['cafe.example.com'] ?? '', /server_name cafe\.example\.com/);
  assert.deepEqual(h.agent.liveEndpoints()['default-web-80'], ['10.0.0.1:8080']);

  const broken = { ...cafe, metadata: { ...cafe.metadata, resourceVersion: String(api.resourceVersion + 1) }, spec: { rules: 'not a list' } };
  assert.deepEqual(h.handler.applyChanges([change('update', broken)]).map((o) => o.result), ['invalid']);
  const gone = api.delete({ kind: 'Ingress', namespace: 'default', name: 'cafe' })!.object;
  assert.deepEqual(h.handler.applyChanges([change('delete', gone)]).map((o) => o.result), ['applied']);
  await h.fanout.idle();
  assert.equal(h.agent.configs()['cafe.example.com'], undefined);
  assert.deepEqual(h.told.at(-1), ['default/cafe']);
});

test('replaceLists: full lists read elsewhere replace the view, start the agents, and every Ingress is told', async (t) => {
  const api = new MemoryReader();
  api.put(ingress('cafe', 'cafe.example.com'));
  const h = app(api);
  t.after(() => h.fanout.close());
  assert.equal((await h.handler.app.request('/snapshot', { headers: { authorization: `Bearer ${TOKEN}` } })).status, 503);
  const lists = Object.fromEntries(await Promise.all(KINDS.map(async (k) => [k, await api.list(k)] as const)));
  const summary = await h.handler.replaceLists(lists);
  assert.equal(summary.changed, 1);
  assert.ok(h.view.synced);
  assert.deepEqual(h.told, ['all']);
  await h.fanout.idle();
  assert.ok(h.agent.configs()['cafe.example.com']);
});

test('the snapshot carries the revision of the view it stands for: the last full list, or further what the watches saw', async (t) => {
  const api = new MemoryReader({ startVersion: 5000 });
  api.put(ingress('cafe', 'cafe.example.com'));
  let watched = 0;
  const h = app(api, () => watched);
  t.after(() => h.fanout.close());
  await h.handler.relist();
  const listedAt = api.resourceVersion;
  const snapshot = async () => (await (await h.handler.app.request('/snapshot', { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as Batch & { revision?: number };
  assert.equal((await snapshot()).revision, listedAt * SLOT);
  // The agent's first push (the snapshot the fan-out sends at start and on every reconnect) carries it too.
  await h.fanout.idle();
  assert.equal(h.batches[0]?.complete, true);
  assert.equal(h.batches[0]?.revision, listedAt * SLOT);

  // An event is not a list: the view is not known complete beyond the list because of it.
  const tea = api.put(ingress('tea', 'tea.example.com'));
  assert.equal((await h.handler.app.request('/events', binary('io.wharf.resource.add', tea.object))).status, 200);
  assert.equal((await snapshot()).revision, listedAt * SLOT);
  // Watches that have seen further move it; a later relist does too.
  watched = api.resourceVersion;
  assert.equal((await snapshot()).revision, api.resourceVersion * SLOT);
  watched = 0;
  api.put(service('web'));
  await h.handler.relist();
  assert.equal((await snapshot()).revision, api.resourceVersion * SLOT);
});

test('a handler with nothing listed from a server (--no-list) sends snapshots at revision 0: an agent keeps what another replica sent it', async (t) => {
  const empty: ClusterReader = { list: async () => ({ items: [], resourceVersion: '0' }), get: async () => null };
  const h = testHandler({ api: empty as unknown as MemoryReader });
  t.after(() => h.close());
  await h.relist();
  const body = (await h.post('/snapshot', { headers: { authorization: `Bearer ${TOKEN}` } })).json as Batch & { revision?: number };
  assert.equal(body.complete, true);
  assert.equal(body.revision, 0);
  // Another replica (fed events this one has not seen yet) already gave the agent a host and its endpoints.
  const agent = await startTestAgent();
  t.after(() => agent.stop());
  const other = { fragments: [{ name: 'web.example.com', revision: 12_899, config: proxyFragment('web.example.com', 'default-web-80') }], endpoints: [{ upstream: 'default-web-80', revision: 12_899, endpoints: ['127.0.0.1:9'] }] };
  assert.equal((await agent.api('POST', '/v1/batch', other)).status, 202);
  assert.equal((await agent.api('POST', '/v1/batch', body)).status, 202);
  const state = (await agent.api('GET', '/v1/state')).json as { fragments: { name: string; deleted: boolean }[]; endpoints: { upstream: string; endpoints: number | null }[] };
  assert.deepEqual(state.fragments.filter((f) => f.name === 'web.example.com').map((f) => f.deleted), [false]);
  assert.deepEqual(state.endpoints.filter((e) => e.upstream === 'default-web-80').map((e) => e.endpoints), [1]);
});
