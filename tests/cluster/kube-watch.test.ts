// The Kubernetes adapter against a fake API server that speaks the real protocol: a handler's view
// fed by list+watch converges to the cluster, also across a watch gap that ends in 410 Gone;
// bookmarks spare a relist; failures are retried with growing delays; stopping closes every watch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeApiServer } from '../support/kube-apiserver.ts';
import { configMap, endpointSlice, ingress, ingressClass, quietLog, secret, service } from '../support/kube-apiserver-fixtures.ts';
import { eventually } from '../support/http.ts';
import { makeClients } from '../../src/cluster/kubernetes-client.ts';
import { KubernetesViewFeed } from '../../src/cluster/kubernetes-view-feed.ts';
import { StreamWatcher, type StreamEvent } from '../../src/cluster/kubernetes-watch.ts';
import { MemoryView } from '../../src/cluster/view-memory.ts';
import { KINDS } from '../../src/cluster/view.ts';
import type { Obj } from '../support/kube-apiserver-store.ts';

const SCOPE = { configMap: { namespace: 'wharf', name: 'wharf' } };

/** What the view should hold: the API server's objects of the kinds and types wharf reads. */
function expected(api: FakeApiServer): string[] {
  const wanted = (o: Obj) =>
    o.kind !== 'Secret' ? (o.kind !== 'ConfigMap' ? true : o.metadata.namespace === 'wharf' && o.metadata.name === 'wharf') : ['kubernetes.io/tls', 'Opaque'].includes(o.type ?? 'Opaque');
  return KINDS.flatMap((k) => api.list(k).filter(wanted).map((o) => `${k} ${o.metadata.namespace ?? ''}/${o.metadata.name}@${o.metadata.resourceVersion}`)).sort();
}

function held(view: MemoryView): string[] {
  return KINDS.flatMap((k) => [...view.list(k)].map((o) => `${k} ${o.metadata.namespace ?? ''}/${o.metadata.name}@${o.metadata.resourceVersion}`)).sort();
}

async function cluster(t: { after: (fn: () => Promise<void>) => void }) {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.put(ingressClass('wharf'));
  api.put(ingress('cafe'));
  api.put(service('cafe'));
  api.put(endpointSlice('cafe-1', 'cafe'));
  api.put(secret('cafe-tls', 'kubernetes.io/tls'));
  api.put(secret('cafe-auth', 'Opaque'));
  api.put(secret('token', 'kubernetes.io/service-account-token'));
  api.put(secret('sh.helm.release.v1.x.v1', 'helm.sh/release.v1'));
  api.put(configMap('wharf', 'wharf', { 'proxy-body-size': '8m' }));
  api.put(configMap('unrelated', 'wharf'));
  return api;
}

async function feed(t: { after: (fn: () => Promise<void>) => void }, api: FakeApiServer) {
  const view = new MemoryView();
  const applied: string[] = [];
  const f = new KubernetesViewFeed({
    clients: makeClients(api.kubeConfig()),
    sink: {
      replace: (lists) => view.replace(lists),
      apply: (c) => {
        if (view.apply(c).outcome === 'applied') applied.push(`${c.action} ${c.key.kind} ${c.key.name}`);
      },
    },
    log: quietLog,
    scope: SCOPE,
    watch: { backoff: { baseMs: 20, maxMs: 200 } },
  });
  t.after(() => f.stop());
  await f.start();
  return { view, feed: f, applied };
}

test('a view fed by list+watch holds what the cluster holds, and follows every change', async (t) => {
  const api = await cluster(t);
  const { view, applied } = await feed(t, api);
  assert.equal(view.synced, true);
  assert.deepEqual(held(view), expected(api));
  // Only the Secrets wharf reads were ever sent: the field selectors kept the others on the server.
  assert.equal(view.get({ kind: 'Secret', namespace: 'default', name: 'token' }), null);
  assert.equal(view.get({ kind: 'ConfigMap', namespace: 'wharf', name: 'unrelated' }), null);
  const secretLists = api.requests.filter((r) => r.path === '/api/v1/secrets').map((r) => r.query.fieldSelector);
  assert.deepEqual([...new Set(secretLists)].sort(), ['type=Opaque', 'type=kubernetes.io/tls']);

  api.put(ingress('tea'));
  api.put({ ...ingress('cafe'), metadata: { name: 'cafe', namespace: 'default', annotations: { a: 'b' } } });
  api.remove('Service', 'default', 'cafe');
  api.put(secret('tea-tls', 'kubernetes.io/tls'));
  api.put(configMap('wharf', 'wharf', { 'proxy-body-size': '16m' }));
  await eventually(() => JSON.stringify(held(view)) === JSON.stringify(expected(api)));
  assert.deepEqual(held(view), expected(api));
  assert.ok(applied.includes('add Ingress tea') && applied.includes('update Ingress cafe') && applied.includes('delete Service cafe'), applied.join(', '));
  // Listed objects come out as wire JSON, as a watch would give them (no Date objects, kind set).
  const cafe = view.get({ kind: 'Ingress', namespace: 'default', name: 'cafe' })!;
  assert.equal(cafe.kind, 'Ingress');
  assert.match(String(view.get({ kind: 'Service', namespace: 'default', name: 'cafe' }) ?? view.get({ kind: 'IngressClass', namespace: '', name: 'wharf' })!.metadata.creationTimestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
});

for (const goneAsHttp of [false, true]) {
  test(`a watch resumed after its version was compacted (410 Gone as ${goneAsHttp ? 'HTTP 410' : 'an ERROR event'}) lists again and sees what changed in the gap`, async (t) => {
    const api = await cluster(t);
    api.put(ingress('tea'));
    const { view, feed: f } = await feed(t, api);
    api.goneAsHttp = goneAsHttp;
    // The connection drops; while it is down, objects change and etcd compacts.
    api.dropWatches();
    api.remove('Ingress', 'default', 'tea');
    api.put(ingress('latte'));
    api.put({ ...ingress('cafe'), spec: { ...ingress('cafe').spec, ingressClassName: 'other' } });
    api.remove('Secret', 'default', 'cafe-auth');
    api.compact();
    await eventually(() => JSON.stringify(held(view)) === JSON.stringify(expected(api)));
    assert.deepEqual(held(view), expected(api));
    assert.equal(view.get({ kind: 'Ingress', namespace: 'default', name: 'tea' }), null, 'deleted during the gap');
    const ingresses = f.watchers.find((w) => w.spec.kind === 'Ingress')!;
    assert.ok(ingresses.stats.gone >= 1, `410 seen: ${JSON.stringify(ingresses.stats)}`);
    assert.ok(ingresses.stats.lists >= 2);
    const statuses = api.requests.filter((r) => r.query.watch === 'true' && r.path.endsWith('/ingresses')).map((r) => r.status);
    assert.ok(statuses.includes(goneAsHttp ? 410 : 200));
  });
}

for (const bookmarks of [true, false]) {
  test(`${bookmarks ? 'a bookmark moves' : 'without a bookmark, nothing moves'} a quiet stream's version past a compaction${bookmarks ? ': no relist' : ': 410 and a relist'}`, async (t) => {
    const api = await FakeApiServer.start();
    t.after(() => api.close());
    api.put(ingress('cafe'));
    const events: StreamEvent[] = [];
    const w = new StreamWatcher({ clients: makeClients(api.kubeConfig()), spec: { kind: 'Ingress', namespace: '' }, onEvent: (e) => events.push(e), log: quietLog, backoff: { baseMs: 20 } });
    t.after(() => w.stop());
    w.start();
    await eventually(() => api.openWatches('Ingress') === 1);
    for (let i = 0; i < 5; i++) api.put(service(`s${i}`)); // the cluster moves on; the Ingress stream sees nothing
    if (bookmarks) {
      api.bookmark();
      await eventually(() => w.resourceVersion === String(api.revision));
    }
    api.compact();
    api.dropWatches();
    api.put(ingress('tea'));
    const sawTea = () => events.some((e) => (e.type === 'change' ? e.change.key.name === 'tea' : !e.initial && e.items.some((o) => o.metadata.name === 'tea')));
    await eventually(sawTea);
    assert.ok(sawTea());
    assert.equal(w.stats.gone, bookmarks ? 0 : 1);
    assert.equal(w.stats.lists, bookmarks ? 1 : 2);
    if (bookmarks) assert.equal(w.stats.bookmarks, 1);
  });
}

test('failed lists are retried with growing, jittered delays until the API server answers', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.put(ingress('cafe'));
  api.fail((r) => r.method === 'GET' && r.query.get('watch') !== 'true', 500, 3);
  const events: StreamEvent[] = [];
  const w = new StreamWatcher({ clients: makeClients(api.kubeConfig()), spec: { kind: 'Ingress', namespace: '' }, onEvent: (e) => events.push(e), log: quietLog, backoff: { baseMs: 100, maxMs: 1000 } });
  t.after(() => w.stop());
  w.start();
  await eventually(() => events.length > 0);
  const lists = api.requests.filter((r) => r.query.watch !== 'true');
  assert.deepEqual(lists.map((r) => r.status), [500, 500, 500, 200]);
  const gaps = lists.slice(1).map((r, i) => r.at - lists[i]!.at);
  // Delays drawn in [d/2, d] with d = 100, 200, 400 ms.
  assert.ok(gaps[0]! >= 45 && gaps[0]! < 300, `first retry after ${gaps[0]} ms`);
  assert.ok(gaps[2]! >= 195 && gaps[2]! > gaps[0]!, `third retry after ${gaps[2]} ms (first ${gaps[0]} ms)`);
  assert.equal(w.stats.errors, 3);
  assert.equal(events[0]!.type === 'listed' && events[0]!.items.length, 1);
});

test('an ERROR event other than 410 is a failure: the watch resumes from the same version after a delay, without a relist', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.put(ingress('cafe'));
  const events: StreamEvent[] = [];
  const w = new StreamWatcher({ clients: makeClients(api.kubeConfig()), spec: { kind: 'Ingress', namespace: '' }, onEvent: (e) => events.push(e), log: quietLog, backoff: { baseMs: 20 } });
  t.after(() => w.stop());
  api.fail((r) => r.query.get('watch') === 'true', 500, 1, true);
  w.start();
  await eventually(() => api.openWatches('Ingress') === 1);
  api.put(ingress('tea'));
  await eventually(() => events.some((e) => e.type === 'change' && e.change.key.name === 'tea'));
  const watches = api.requests.filter((r) => r.query.watch === 'true');
  assert.equal(watches.length, 2);
  assert.equal(watches[0]!.query.resourceVersion, watches[1]!.query.resourceVersion, 'resumed from the same version');
  assert.deepEqual({ lists: w.stats.lists, errors: w.stats.errors }, { lists: 1, errors: 1 });
});

test('a watch the server ends (its timeoutSeconds) resumes from the version it reached, without a list', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.put(ingress('cafe'));
  const events: StreamEvent[] = [];
  const w = new StreamWatcher({ clients: makeClients(api.kubeConfig()), spec: { kind: 'Ingress', namespace: '' }, onEvent: (e) => events.push(e), log: quietLog, watchTimeoutSeconds: 1 });
  t.after(() => w.stop());
  w.start();
  await eventually(() => api.openWatches('Ingress') === 1);
  api.put(ingress('tea'));
  await eventually(() => w.stats.watches >= 2 && api.openWatches('Ingress') === 1, 5000);
  const watches = api.requests.filter((r) => r.query.watch === 'true');
  assert.ok(Number(watches[0]!.query.timeoutSeconds) >= 1 && Number(watches[0]!.query.timeoutSeconds) <= 2);
  assert.equal(watches[1]!.query.resourceVersion, api.get('Ingress', 'default', 'tea')!.metadata.resourceVersion, 'resumed after the last event');
  assert.equal(w.stats.lists, 1);
  assert.equal(w.stats.errors, 0);
});

test('stopping a feed closes every watch it opened', async (t) => {
  const api = await cluster(t);
  const { feed: f } = await feed(t, api);
  await eventually(() => api.openWatches() === f.watchers.length);
  assert.equal(api.openWatches(), 16, 'seven streams of Ingress and what it uses, eight of the Gateway API, one of Namespaces');
  await f.stop();
  await eventually(() => api.openWatches() === 0);
  assert.equal(api.openWatches(), 0);
});

/** A busy EndpointSlice stream: one slice rewritten every `everyMs` until the test ends. */
function busy(t: { after: (fn: () => void) => void }, api: FakeApiServer, everyMs = 20): void {
  let n = 0;
  const timer = setInterval(() => api.put(endpointSlice('busy', 'busy', 'default', [`10.0.${(n >> 8) & 255}.${n++ & 255}`])), everyMs);
  t.after(() => clearInterval(timer));
}

/** Ms from now until the watcher delivers a change to the slice `name` (which the caller writes next). */
function deliveryOf(events: StreamEvent[], name: string): Promise<number> {
  const started = Date.now();
  return eventually(() => events.some((e) => e.type === 'change' && e.change.key.name === name), 30_000, 5).then(() => Date.now() - started);
}

test('a watch cut after an outage and a healthy period (busy: events; quiet: connected for a while) is back within 1 s (it waited out the outage\'s backoff: 21 s of stale EndpointSlices)', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  const events: StreamEvent[] = [];
  // Backoff as by default but 10 times shorter: a 2.5 s outage runs it up as a 25 s one would.
  const options = { clients: makeClients(api.kubeConfig()), onEvent: (e: StreamEvent) => events.push(e), log: quietLog, backoff: { baseMs: 20, maxMs: 3000 } };
  const slices = new StreamWatcher({ ...options, spec: { kind: 'EndpointSlice', namespace: '' } });
  const ingresses = new StreamWatcher({ ...options, spec: { kind: 'Ingress', namespace: '' } });
  t.after(() => Promise.all([slices.stop(), ingresses.stop()]));
  slices.start();
  ingresses.start();
  await eventually(() => api.openWatches() === 2);
  busy(t, api);
  await api.outage(2500);
  assert.ok(slices.stats.errors >= 5 && ingresses.stats.errors >= 5, `retried through the outage: ${JSON.stringify([slices.stats, ingresses.stats])}`);
  // Back after the outage (its backoff may take a few seconds), then healthy for 1.5 s: the slices
  // stream delivers events all along, the Ingress stream none but it stays connected.
  const back = Promise.all([deliveryOf(events, 'after-outage-slice'), deliveryOf(events, 'after-outage-ingress')]);
  api.put(endpointSlice('after-outage-slice', 'web'));
  api.put(ingress('after-outage-ingress'));
  await back;
  await new Promise((r) => setTimeout(r, 1500));
  const changes = slices.stats.changes;
  assert.ok(changes > 20, `busy: ${changes} changes`);
  // The cut.
  const recovered = Promise.all([deliveryOf(events, 'after-cut-slice'), deliveryOf(events, 'after-cut-ingress')]);
  assert.equal(api.cutWatches().cuts, 2);
  api.put(endpointSlice('after-cut-slice', 'web'));
  api.put(ingress('after-cut-ingress'));
  const [sliceMs, ingressMs] = await recovered;
  assert.ok(sliceMs < 1000 && ingressMs < 1000, `back after ${sliceMs} ms (busy EndpointSlice stream), ${ingressMs} ms (quiet Ingress stream)`);
  assert.deepEqual([slices.stats.lists, ingresses.stats.lists], [1, 1], 'resumed without a list');
});

test('the backoff is per stream: a stream whose watches keep failing does not slow another one down', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.fail((r) => r.query.get('watch') === 'true' && r.path.endsWith('/ingresses'), 500, 1_000_000);
  const events: StreamEvent[] = [];
  const options = { clients: makeClients(api.kubeConfig()), onEvent: (e: StreamEvent) => events.push(e), log: quietLog, backoff: { baseMs: 20, maxMs: 3000 } };
  const failing = new StreamWatcher({ ...options, spec: { kind: 'Ingress', namespace: '' } });
  const slices = new StreamWatcher({ ...options, spec: { kind: 'EndpointSlice', namespace: '' } });
  t.after(() => Promise.all([failing.stop(), slices.stop()]));
  failing.start();
  slices.start();
  await eventually(() => api.openWatches('EndpointSlice') === 1 && failing.stats.errors >= 6, 10_000);
  for (let i = 0; i < 3; i++) {
    await eventually(() => api.openWatches('EndpointSlice') === 1);
    const recovered = deliveryOf(events, `after-cut-${i}`);
    api.cutWatches({ kind: 'EndpointSlice' });
    api.put(endpointSlice(`after-cut-${i}`, 'web'));
    const ms = await recovered;
    assert.ok(ms < 1000, `cut ${i}: back after ${ms} ms while the Ingress stream had failed ${failing.stats.errors} times`);
  }
  assert.equal(api.openWatches('Ingress'), 0);
});

test('a server that cuts every watch at once is not hammered: a watch that delivered nothing is retried with growing delays', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.cutWatches({ kind: 'Ingress', afterSeconds: 0 });
  const w = new StreamWatcher({ clients: makeClients(api.kubeConfig()), spec: { kind: 'Ingress', namespace: '' }, onEvent: () => {}, log: quietLog, backoff: { baseMs: 50, maxMs: 1000 } });
  t.after(() => w.stop());
  w.start();
  await eventually(() => w.stats.errors >= 5, 10_000);
  const watches = api.requests.filter((r) => r.query.watch === 'true');
  const gaps = watches.slice(1).map((r, i) => r.at - watches[i]!.at);
  // Each retry waits a delay drawn in [d/2, d], d = 50, 100, 200, 400 ms (plus the 20 ms before the reset).
  assert.ok(gaps[3]! >= 200 && gaps[3]! > gaps[0]!, `gaps ${gaps.join(', ')} ms`);
  assert.equal(w.stats.lists, 1);
});

test('after an API server restart onto new resourceVersions, a stream lists again (410 Gone) and learns what changed while it was away', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.put(ingress('cafe'));
  api.put(ingress('tea'));
  const events: StreamEvent[] = [];
  const w = new StreamWatcher({ clients: makeClients(api.kubeConfig()), spec: { kind: 'Ingress', namespace: '' }, onEvent: (e) => events.push(e), log: quietLog, backoff: { baseMs: 20 } });
  t.after(() => w.stop());
  w.start();
  await eventually(() => api.openWatches('Ingress') === 1);
  const restarting = api.restart({ downForMs: 500 });
  api.remove('Ingress', 'default', 'tea');
  api.put(ingress('latte'));
  await restarting;
  const relisted = () => events.find((e): e is Extract<StreamEvent, { type: 'listed' }> => e.type === 'listed' && !e.initial);
  await eventually(relisted);
  const list = relisted()!;
  assert.deepEqual(list.items.map((o) => o.metadata.name).sort(), ['cafe', 'latte']);
  assert.deepEqual(list.gone.map((o) => o.metadata.name), ['tea']);
  assert.ok(Number(list.resourceVersion) >= 1000, `listed at the new base: ${list.resourceVersion}`);
  assert.equal(w.stats.gone, 1);
  await eventually(() => api.openWatches('Ingress') === 1);
  api.put(ingress('mocha'));
  await eventually(() => events.some((e) => e.type === 'change' && e.change.key.name === 'mocha'));
});
