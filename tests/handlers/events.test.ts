// POST /events through app.request(): the three CloudEvents modes, Knative's resource and reference
// events, what each kind of change recomputes, and the status codes that drive the sender's retries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyOf } from '../../src/cluster/view.ts';
import { TOKEN, batchOf, binary, endpointSlice, ingress, service, structured } from './fixtures.ts';
import { testHandler } from './support.ts';
import { unreachable } from './fake-agent.ts';

async function started(agents = 1) {
  const h = testHandler({ agents });
  await h.relist();
  await h.fanout.idle();
  return h;
}

test('before the first list, events get 503 with Retry-After (the sender retries), and /readyz says not ready', async (t) => {
  const h = testHandler();
  t.after(() => h.close());
  const r = await h.post('/events', batchOf([h.api.put(service('web'))]));
  assert.equal(r.status, 503);
  assert.equal(r.headers.get('retry-after'), '2');
  assert.match(r.json.error, /not listed yet/);
  assert.equal((await h.app.request('/readyz')).status, 503);
  await h.relist();
  assert.equal((await h.app.request('/readyz')).status, 200);
  assert.equal((await h.post('/events', batchOf([h.api.put(service('web', 81))]))).status, 200);
});

test('events need the events token', async (t) => {
  const h = await started();
  t.after(() => h.close());
  const init = batchOf([h.api.put(service('web'))]);
  const none = await h.post('/events', { ...init, headers: { 'content-type': 'application/cloudevents-batch+json' } });
  assert.equal(none.status, 401);
  assert.match(none.json.error, /Authorization: Bearer/);
  assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="wharf"');
  const wrong = await h.post('/events', { ...init, headers: { 'content-type': 'application/cloudevents-batch+json', authorization: 'Bearer nope-nope-nope-nope' } });
  assert.equal(wrong.status, 401);
  assert.equal(h.view.counts().Service, 0);
});

test('an Ingress, its Service and its EndpointSlice, in binary, structured and batch mode, become a host fragment and an endpoint set', async (t) => {
  const h = await started();
  t.after(() => h.close());
  const ing = h.api.put(ingress('cafe', 'cafe.example.com'));
  const svc = h.api.put(service('web'));
  const eps = h.api.put(endpointSlice('web', ['10.0.0.1:8080', '10.0.0.2:8080']));
  assert.equal((await h.post('/events', binary('dev.knative.apiserver.resource.add', ing.object))).status, 200);
  const s = await h.post('/events', {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents+json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify(structured('dev.knative.apiserver.resource.add', svc.object)),
  });
  assert.equal(s.status, 200);
  assert.deepEqual(s.json.results, [{ id: s.json.results[0].id, object: 'Service default/web', result: 'applied' }]);
  assert.equal((await h.post('/events', batchOf([eps]))).status, 200);
  await h.fanout.idle();
  const agent = h.agents[0]!;
  assert.match(agent.configs()['cafe.example.com'] ?? '', /server_name cafe\.example\.com/);
  assert.deepEqual(agent.liveEndpoints(), { 'default-web-80': ['10.0.0.1:8080', '10.0.0.2:8080'] });
});

test('an EndpointSlice change pushes only the endpoint set: no fragment, so no reload', async (t) => {
  const h = await started();
  t.after(() => h.close());
  await h.post('/events', batchOf([h.api.put(ingress('cafe', 'cafe.example.com')), h.api.put(service('web')), h.api.put(endpointSlice('web', ['10.0.0.1:8080']))]));
  await h.fanout.idle();
  const agent = h.agents[0]!;
  agent.calls.length = 0;
  const r = await h.post('/events', batchOf([h.api.put(endpointSlice('web', ['10.0.0.3:8080']))]));
  assert.equal(r.status, 200);
  await h.fanout.idle();
  assert.deepEqual(agent.calls, ['endpoints(default-web-80)']);
  assert.deepEqual(agent.liveEndpoints(), { 'default-web-80': ['10.0.0.3:8080'] });
});

test('duplicates and late events are answered 200 and change nothing', async (t) => {
  const h = await started();
  t.after(() => h.close());
  const v1 = h.api.put(ingress('cafe', 'cafe.example.com'));
  const v2 = h.api.put(ingress('cafe', 'tea.example.com'));
  await h.post('/events', batchOf([v2]));
  const again = await h.post('/events', batchOf([v2, v1]));
  assert.equal(again.status, 200);
  assert.deepEqual(again.json.results.map((r: { result: string }) => r.result), ['duplicate', 'stale']);
  await h.fanout.idle();
  assert.deepEqual(Object.keys(h.agents[0]!.configs()).filter((n) => !n.startsWith('_')), ['tea.example.com']);
});

test('an Ingress that moves to another host leaves the old host; a delete removes its fragment', async (t) => {
  const h = await started();
  t.after(() => h.close());
  await h.post('/events', batchOf([h.api.put(service('web')), h.api.put(ingress('cafe', 'cafe.example.com'))]));
  await h.post('/events', batchOf([h.api.put(ingress('cafe', 'tea.example.com'))]));
  await h.fanout.idle();
  assert.deepEqual(Object.keys(h.agents[0]!.configs()).filter((n) => !n.startsWith('_')), ['tea.example.com']);
  const gone = h.api.delete(keyOf(ingress('cafe', null)))!;
  await h.post('/events', binary('io.wharf.resource.delete', gone.object));
  await h.fanout.idle();
  assert.deepEqual(Object.keys(h.agents[0]!.configs()).sort(), ['_default', '_main']);
});

test('a delete whose data carries only the metadata removes the object', async (t) => {
  const h = await started();
  t.after(() => h.close());
  await h.post('/events', batchOf([h.api.put(service('web')), h.api.put(ingress('cafe', 'cafe.example.com'))]));
  await h.fanout.idle();
  const gone = h.api.delete(keyOf(ingress('cafe', null)))!;
  const { apiVersion, kind, metadata } = gone.object;
  const r = await h.post('/events', binary('io.wharf.resource.delete', { apiVersion, kind, metadata: { name: metadata.name, namespace: metadata.namespace, resourceVersion: metadata.resourceVersion } }));
  assert.equal(r.status, 200);
  await h.fanout.idle();
  assert.deepEqual(Object.keys(h.agents[0]!.configs()).sort(), ['_default', '_main']);
});

test('Knative reference events: the object is read through the reader', async (t) => {
  const h = await started();
  t.after(() => h.close());
  h.api.put(service('web'));
  const ing = h.api.put(ingress('cafe', 'cafe.example.com'));
  const ref = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'cafe', namespace: 'default' };
  const r = await h.post('/events', binary('dev.knative.apiserver.ref.add', ref));
  assert.equal(r.status, 200);
  assert.equal(r.json.results[0].result, 'applied');
  assert.equal(h.view.get(keyOf(ing.object))?.metadata.resourceVersion, ing.object.metadata.resourceVersion);
  const deleted = h.api.delete(keyOf(ing.object))!;
  const d = await h.post('/events', binary('dev.knative.apiserver.ref.delete', { ...ref, resourceVersion: deleted.object.metadata.resourceVersion }));
  assert.equal(d.json.results[0].result, 'applied');
  assert.equal(h.view.get(keyOf(ing.object)), null);
  const missing = await h.post('/events', binary('dev.knative.apiserver.ref.update', { ...ref, name: 'never' }));
  assert.deepEqual([missing.status, missing.json.results[0].result], [200, 'gone']);
});

function withoutHeader(init: RequestInit, name: string): RequestInit {
  const headers = { ...(init.headers as Record<string, string>) };
  delete headers[name];
  return { ...init, headers };
}

const bad: [string, RequestInit, number, RegExp][] = [
  ['malformed JSON', { method: 'POST', headers: { 'content-type': 'application/cloudevents+json', authorization: `Bearer ${TOKEN}` }, body: '{"specversion": "1.0",' }, 400, /malformed JSON/],
  ['a CloudEvent without type', withoutHeader(binary('x', service('web')), 'ce-type'), 400, /^ce-type: Required value/],
  ['a CloudEvent without source', withoutHeader(binary('io.wharf.resource.add', service('web')), 'ce-source'), 400, /^ce-source: Required value/],
  [
    'a structured CloudEvent without source',
    { method: 'POST', headers: { 'content-type': 'application/cloudevents+json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ ...structured('io.wharf.resource.add', service('web')), source: undefined }) },
    400,
    /^source: Required value/,
  ],
  ['an unknown kind', binary('io.wharf.resource.add', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', resourceVersion: '5' } }), 400, /^data\.kind: Unsupported value: "Pod": wharf reads Ingress, IngressClass, Service/],
  ['an unknown event type', binary('dev.knative.apiserver.resource.patch', service('web')), 400, /^ce-type: Invalid value: "dev\.knative\.apiserver\.resource\.patch"/],
  ['an object without resourceVersion', binary('io.wharf.resource.add', service('web')), 400, /^data\.metadata\.resourceVersion: Required value/],
  [
    'an Ingress the model cannot read',
    binary('io.wharf.resource.add', { ...ingress('x', 'a.example.com', [{ path: '/', pathType: 'Sometimes' as 'Exact' }]), metadata: { name: 'x', namespace: 'default', resourceVersion: '9' } }),
    400,
    /^data\.spec\.rules\[0\]\.http\.paths\[0\]\.pathType: Invalid value: "Sometimes": must be one of Exact, Prefix, ImplementationSpecific/,
  ],
  ['not a CloudEvent at all', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: '{}' }, 400, /not a CloudEvent/],
];

for (const [name, init, status, message] of bad) {
  test(`bad input → ${status}, nothing applied: ${name}`, async (t) => {
    const h = await started();
    t.after(() => h.close());
    const r = await h.post('/events', init);
    assert.equal(r.status, status);
    assert.match(r.json.error, message);
    assert.ok(Object.values(h.view.counts()).every((n) => n === 0));
  });
}

test('a batch with one bad event applies none of it, and names the event', async (t) => {
  const h = await started();
  t.after(() => h.close());
  const good = h.api.put(service('web'));
  const init = batchOf([good, { action: 'add', object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', resourceVersion: '7' } } }]);
  const r = await h.post('/events', init);
  assert.equal(r.status, 400);
  assert.match(r.json.error, /^\[1\]\.data\.kind: Unsupported value: "Pod"/);
  assert.equal(h.view.counts().Service, 0);
});

test('a 20 MB body gets 413, and the app keeps serving', async (t) => {
  const h = await started();
  t.after(() => h.close());
  const r = await h.post('/events', { ...batchOf([h.api.put(service('web'))]), body: 'x'.repeat(20 << 20) });
  assert.equal(r.status, 413);
  assert.match(r.json.error, /CloudEvents request larger than \d+ bytes/);
  assert.equal((await h.post('/events', batchOf([h.api.put(service('web'))]))).status, 200);
});

test('events by type and result show in /metrics', async (t) => {
  const h = await started();
  t.after(() => h.close());
  const w = h.api.put(service('web'));
  await h.post('/events', batchOf([w, w]));
  const text = await (await h.app.request('/metrics')).text();
  assert.match(text, /wharf_handler_events_total\{type="io\.wharf\.resource\.add",result="applied"\} 1/);
  assert.match(text, /wharf_handler_events_total\{type="io\.wharf\.resource\.add",result="duplicate"\} 1/);
  assert.match(text, /wharf_handler_view_objects\{kind="Service"\} 1/);
});

test('GET /snapshot needs the agent token and holds every fragment and endpoint set', async (t) => {
  const h = await started();
  t.after(() => h.close());
  await h.post('/events', batchOf([h.api.put(ingress('cafe', 'cafe.example.com')), h.api.put(service('web')), h.api.put(endpointSlice('web', ['10.0.0.1:8080']))]));
  assert.equal((await h.app.request('/snapshot')).status, 401);
  const r = await h.app.request('/snapshot', { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(r.status, 200);
  const snap = (await r.json()) as { complete: boolean; fragments: { name: string }[]; endpoints: { revision: number }[] };
  assert.equal(snap.complete, true);
  assert.deepEqual(snap.fragments.map((f: { name: string }) => f.name).sort(), ['_default', '_main', 'cafe.example.com']);
  assert.deepEqual(snap.endpoints, [{ upstream: 'default-web-80', revision: snap.endpoints[0]!.revision, endpoints: ['10.0.0.1:8080'] }]);
});

test('the global ConfigMap recomputes _main; other ConfigMaps and Helm release Secrets are ignored', async (t) => {
  const h = await started();
  t.after(() => h.close());
  const before = h.agents[0]!.configs()._main;
  const other = h.api.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app-settings', namespace: 'default' }, data: { 'proxy-body-size': '99m' } });
  const helm = h.api.put({ apiVersion: 'v1', kind: 'Secret', type: 'helm.sh/release.v1', metadata: { name: 'sh.helm.release.v1.app.v1', namespace: 'default' }, data: {} });
  const ignored = await h.post('/events', batchOf([other, helm]));
  assert.deepEqual(ignored.json.results.map((r: { result: string }) => r.result), ['ignored', 'ignored']);
  const global = h.api.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'wharf-config', namespace: 'wharf' }, data: { 'proxy-body-size': '99m' } });
  assert.equal((await h.post('/events', batchOf([global]))).json.results[0].result, 'applied');
  await h.fanout.idle();
  const after = h.agents[0]!.configs()._main!;
  assert.notEqual(after, before);
  assert.match(after, /client_max_body_size 99m;/);
  assert.deepEqual(h.view.counts().ConfigMap, 1);
});

test('more event requests in progress than allowed get 429 with Retry-After; a failing reader gets 503', async (t) => {
  const h = testHandler({ settings: { maxConcurrentEvents: 1 } });
  t.after(() => h.close());
  await h.relist();
  h.api.put(service('web'));
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const get = h.api.get.bind(h.api);
  h.api.get = async (key) => {
    await gate;
    return get(key);
  };
  const ref = { apiVersion: 'v1', kind: 'Service', name: 'web', namespace: 'default' };
  const slow = h.post('/events', binary('dev.knative.apiserver.ref.add', ref));
  const busy = await h.post('/events', binary('dev.knative.apiserver.ref.add', ref));
  assert.equal(busy.status, 429);
  assert.equal(busy.headers.get('retry-after'), '1');
  release();
  assert.equal((await slow).status, 200);
  h.api.get = async () => {
    throw new Error('connect ECONNREFUSED 10.96.0.1:443');
  };
  const down = await h.post('/events', binary('dev.knative.apiserver.ref.update', ref));
  assert.equal(down.status, 503);
  assert.match(down.json.error, /reading Service default\/web for a reference event: connect ECONNREFUSED/);
});

test('/metrics shows the desired counts and each agent up or away as they change (set on change only)', async (t) => {
  const h = await started();
  t.after(() => h.close());
  const gauge = async (name: string) => {
    const text = await (await h.app.request('/metrics')).text();
    return Object.fromEntries([...text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))].map((m) => [m[1], Number(m[2])]));
  };
  for (const w of [h.api.put(ingress('cafe', 'cafe.example.com')), h.api.put(service('web')), h.api.put(endpointSlice('web', ['10.0.0.1:8080']))]) {
    assert.equal((await h.post('/events', binary('dev.knative.apiserver.resource.add', w.object))).status, 200);
  }
  await h.fanout.idle();
  const desired = await gauge('wharf_handler_desired');
  assert.equal(desired['what="endpoints"'], 1);
  const fragments = desired['what="fragments"']!;
  assert.ok(fragments >= 1);
  assert.deepEqual(await gauge('wharf_handler_agent_up'), { 'agent="http://agent-0"': 1 });
  // An endpoint change changes neither count; a second Service's EndpointSlice adds a set.
  assert.equal((await h.post('/events', binary('dev.knative.apiserver.resource.update', h.api.put(endpointSlice('web', ['10.0.0.2:8080'])).object))).status, 200);
  assert.deepEqual(await gauge('wharf_handler_desired'), desired);
  for (const w of [h.api.put(ingress('tea', 'tea.example.com', [{ path: '/', service: 'tea' }])), h.api.put(service('tea')), h.api.put(endpointSlice('tea', ['10.0.0.3:8080']))]) {
    assert.equal((await h.post('/events', binary('dev.knative.apiserver.resource.add', w.object))).status, 200);
  }
  assert.deepEqual(await gauge('wharf_handler_desired'), { 'what="fragments"': fragments + 1, 'what="endpoints"': 2 });
  // The agent goes away, then answers again.
  h.agents[0]!.failWith = unreachable();
  assert.equal((await h.post('/events', binary('dev.knative.apiserver.resource.update', h.api.put(endpointSlice('web', ['10.0.0.4:8080'])).object))).status, 200);
  await h.fanout.idle();
  assert.deepEqual(await gauge('wharf_handler_agent_up'), { 'agent="http://agent-0"': 0 });
  h.agents[0]!.failWith = null;
  assert.equal((await h.post('/events', binary('dev.knative.apiserver.resource.update', h.api.put(endpointSlice('web', ['10.0.0.5:8080'])).object))).status, 200);
  for (let i = 0; i < 200 && (await gauge('wharf_handler_agent_up'))['agent="http://agent-0"'] !== 1; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(await gauge('wharf_handler_agent_up'), { 'agent="http://agent-0"': 1 });
});
