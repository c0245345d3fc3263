// The Gateway API kinds and Namespaces through the Kubernetes adapter: read, listed (paged), watched
// and sent by `wharf source` like the Ingress kinds; and a cluster without the Gateway API CRDs works
// as before, says so once, and picks the Gateway API up when its CRDs are installed later.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeApiServer } from '../support/kube-apiserver.ts';
import { ingress, ingressClass, quietLog } from '../support/kube-apiserver-fixtures.ts';
import { gateway, gatewayClass, grpcRoute, httpRoute, namespace, referenceGrant } from '../support/gateway-fixtures.ts';
import { eventually } from '../support/http.ts';
import { createLogger } from '../../src/log.ts';
import { makeClients } from '../../src/cluster/kubernetes-client.ts';
import { KubernetesReader } from '../../src/cluster/kubernetes-reader.ts';
import { KubernetesViewFeed } from '../../src/cluster/kubernetes-view-feed.ts';
import { KubernetesEventSource } from '../../src/cluster/source.ts';
import { EventSender } from '../../src/cluster/event-sender.ts';
import { startHandler } from '../../src/handlers/serve.ts';
import { CONTROLLER_NAME } from '../../src/model/index.ts';
import { MemoryView } from '../../src/cluster/view-memory.ts';

const names = (items: { metadata: { namespace?: string; name: string } }[]) => items.map((o) => (o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name)).sort();

test('the reader lists (paged) and reads every Gateway API kind and Namespaces, as wire JSON with kind and apiVersion', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.put(gatewayClass('wharf'));
  api.put(gateway('gw', 'shop'));
  for (const n of ['a', 'b', 'c']) api.put(httpRoute(n, 'shop'));
  api.put(grpcRoute('echo', 'shop'));
  api.put(referenceGrant('from-shop', 'beans', 'shop'));
  api.put(namespace('shop', { team: 'cafe' }));
  const reader = new KubernetesReader(makeClients(api.kubeConfig()), {}, { pageSize: 2 });
  const routes = await reader.list('HTTPRoute');
  assert.deepEqual(names(routes.items), ['shop/a', 'shop/b', 'shop/c']);
  assert.equal(routes.items[0]!.apiVersion, 'gateway.networking.k8s.io/v1');
  assert.equal(routes.items[0]!.kind, 'HTTPRoute');
  assert.equal(api.requests.filter((r) => r.path.endsWith('/httproutes')).length, 2, 'two pages: the continue token of an untyped list is followed');
  assert.deepEqual(names((await reader.list('GatewayClass')).items), ['wharf']);
  assert.deepEqual(names((await reader.list('Gateway')).items), ['shop/gw']);
  assert.deepEqual(names((await reader.list('GRPCRoute')).items), ['shop/echo']);
  assert.deepEqual(names((await reader.list('ReferenceGrant')).items), ['beans/from-shop']);
  const namespaces = await reader.list('Namespace');
  assert.deepEqual(names(namespaces.items), ['shop']);
  assert.equal((namespaces.items[0]!.metadata.labels as Record<string, string>).team, 'cafe');
  const gc = await reader.get({ kind: 'GatewayClass', namespace: '', name: 'wharf' });
  assert.equal(gc?.kind, 'GatewayClass');
  assert.equal((gc?.spec as { controllerName: string }).controllerName, 'wharf.io/gateway-controller');
  assert.equal((await reader.get({ kind: 'HTTPRoute', namespace: 'shop', name: 'b' }))?.metadata.name, 'b');
  assert.equal(await reader.get({ kind: 'HTTPRoute', namespace: 'shop', name: 'zzz' }), null);
  assert.equal((await reader.get({ kind: 'Namespace', namespace: '', name: 'shop' }))?.kind, 'Namespace');
});

test('without the Gateway API CRDs: the view syncs as before, says once that it serves Ingress only, and reads the Gateway API once it is installed', async (t) => {
  const api = await FakeApiServer.start({ gatewayApi: false });
  t.after(() => api.close());
  api.put(ingressClass('wharf'));
  api.put(ingress('cafe'));
  const lines: string[] = [];
  const log = createLogger({}, (l) => lines.push(l));
  const view = new MemoryView();
  const feed = new KubernetesViewFeed({ clients: makeClients(api.kubeConfig()), sink: view, log, watch: { backoff: { baseMs: 20, maxMs: 200 }, notServedRetryMs: 300 } });
  t.after(() => feed.stop());
  await feed.start();
  assert.equal(view.synced, true);
  assert.deepEqual([...view.list('Ingress')].map((o) => o.metadata.name), ['cafe']);
  assert.deepEqual(feed.watchers.filter((w) => w.notServed).map((w) => w.spec.kind), ['GatewayClass', 'Gateway', 'HTTPRoute', 'GRPCRoute', 'TLSRoute', 'TCPRoute', 'UDPRoute', 'ReferenceGrant']);
  assert.equal(lines.filter((l) => l.includes('Ingress only')).length, 1, 'said once: wharf serves Ingress only');
  const named = () => lines.filter((l) => l.includes('gateway.networking.k8s.io/v1')).length;
  const saidAtStart = named();
  assert.ok(saidAtStart >= 1, 'the missing API is named');
  // Checked again slowly: a 404 every retry, nothing logged again.
  await new Promise((r) => setTimeout(r, 700));
  const tries = api.requests.filter((r) => r.path.endsWith('/httproutes')).length;
  assert.ok(tries >= 2 && tries <= 4, `${tries} lists of httproutes in 700 ms with a 300 ms retry`);
  assert.equal(named(), saidAtStart, 'not said again at every retry');
  assert.equal(lines.filter((l) => l.includes('"level":"error"')).length, 0, 'a missing optional API is not an error');
  // The watches of the kinds that are served are unaffected.
  api.put(ingress('tea'));
  await eventually(() => view.get({ kind: 'Ingress', namespace: 'default', name: 'tea' }) !== null);

  api.restoreApi('gateway.networking.k8s.io');
  api.put(httpRoute('cafe', 'default'));
  api.put(gatewayClass('wharf'));
  await eventually(() => view.get({ kind: 'HTTPRoute', namespace: 'default', name: 'cafe' }) !== null && view.get({ kind: 'GatewayClass', namespace: '', name: 'wharf' }) !== null);
  await eventually(() => feed.watchers.every((w) => !w.notServed));
  api.put(httpRoute('tea', 'default'));
  await eventually(() => view.get({ kind: 'HTTPRoute', namespace: 'default', name: 'tea' }) !== null);
  assert.ok(lines.some((l) => /is served now|serves \S+ now/.test(l)), 'its return is said');
});

test('an optional stream the RBAC does not grant (403: an older release) is read as empty, with one warning that says what to grant', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.put(ingress('cafe'));
  api.put(httpRoute('cafe', 'shop'));
  api.put(namespace('shop'));
  api.fail((r) => r.path.endsWith('/httproutes') || r.path === '/api/v1/namespaces', 403, 1000);
  const lines: string[] = [];
  const view = new MemoryView();
  const feed = new KubernetesViewFeed({ clients: makeClients(api.kubeConfig()), sink: view, log: createLogger({}, (l) => lines.push(l)), watch: { backoff: { baseMs: 20, maxMs: 200 }, notServedRetryMs: 100 } });
  t.after(() => feed.stop());
  await feed.start();
  assert.deepEqual([...view.list('Ingress')].map((o) => o.metadata.name), ['cafe']);
  assert.deepEqual(feed.watchers.filter((w) => w.notServed).map((w) => w.spec.kind).sort(), ['HTTPRoute', 'Namespace']);
  await new Promise((r) => setTimeout(r, 300));
  const warnings = lines.filter((l) => l.includes('until RBAC grants get, list and watch'));
  assert.equal(warnings.length, 2, 'once per stream, not at every retry');
  assert.ok(warnings.some((l) => l.includes('gateway.networking.k8s.io/v1 httproutes')) && warnings.some((l) => l.includes('v1 namespaces')));
});

test('ReferenceGrant where the cluster serves only v1beta1 (Gateway API before v1.5): listed, watched and read there, handed on as v1', async (t) => {
  const api = await FakeApiServer.start({ gatewayApiVersions: { ReferenceGrant: ['v1beta1'] } });
  t.after(() => api.close());
  api.put({ ...referenceGrant('from-shop', 'beans', 'shop'), apiVersion: 'gateway.networking.k8s.io/v1beta1' });
  const reader = new KubernetesReader(makeClients(api.kubeConfig()));
  const listed = await reader.list('ReferenceGrant');
  assert.deepEqual(listed.items.map((o) => `${o.apiVersion} ${o.metadata.namespace}/${o.metadata.name}`), ['gateway.networking.k8s.io/v1 beans/from-shop']);
  assert.equal((await reader.get({ kind: 'ReferenceGrant', namespace: 'beans', name: 'from-shop' }))?.apiVersion, 'gateway.networking.k8s.io/v1');
  const view = new MemoryView();
  const feed = new KubernetesViewFeed({ clients: makeClients(api.kubeConfig()), sink: view, log: quietLog, watch: { backoff: { baseMs: 20, maxMs: 200 } } });
  t.after(() => feed.stop());
  await feed.start();
  assert.ok(feed.watchers.every((w) => !w.notServed));
  api.put({ ...referenceGrant('from-cafe', 'beans', 'cafe'), apiVersion: 'gateway.networking.k8s.io/v1beta1' });
  await eventually(() => view.get({ kind: 'ReferenceGrant', namespace: 'beans', name: 'from-cafe' }) !== null);
  assert.equal(view.get({ kind: 'ReferenceGrant', namespace: 'beans', name: 'from-cafe' })!.apiVersion, 'gateway.networking.k8s.io/v1');
  assert.ok(api.requests.some((r) => r.query.watch === 'true' && r.path === '/apis/gateway.networking.k8s.io/v1beta1/referencegrants'));
});

test('`wharf source` sends every Gateway API kind and Namespaces; without the CRDs it starts all the same', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.put(gatewayClass('wharf'));
  api.put(gateway('gw', 'shop'));
  api.put(namespace('shop'));
  const sent: { subject: string; type: string; apiVersion: unknown }[] = [];
  const sender = { send: (e: { subject: string; type: string; data: Record<string, unknown> }) => void sent.push({ subject: e.subject, type: e.type, apiVersion: e.data.apiVersion }), idle: async () => {}, close: () => {} };
  const source = new KubernetesEventSource({ clients: makeClients(api.kubeConfig()), sender: sender as never, log: quietLog, resyncMs: 0 });
  t.after(() => source.stop());
  await source.start();
  assert.deepEqual(
    sent.map((e) => `${e.type} ${e.subject}`).sort(),
    ['io.wharf.resource.add Gateway/shop/gw', 'io.wharf.resource.add GatewayClass/wharf', 'io.wharf.resource.add Namespace/shop'],
  );
  api.put(httpRoute('cafe', 'shop'));
  api.put(grpcRoute('echo', 'shop'));
  api.put(referenceGrant('g', 'shop', 'other'));
  api.remove('Gateway', 'shop', 'gw');
  await eventually(() => sent.length === 7);
  assert.deepEqual(sent.slice(3).map((e) => `${e.type} ${e.subject} ${e.apiVersion}`).sort(), [
    'io.wharf.resource.add GRPCRoute/shop/echo gateway.networking.k8s.io/v1',
    'io.wharf.resource.add HTTPRoute/shop/cafe gateway.networking.k8s.io/v1',
    'io.wharf.resource.add ReferenceGrant/shop/g gateway.networking.k8s.io/v1',
    'io.wharf.resource.delete Gateway/shop/gw gateway.networking.k8s.io/v1',
  ]);

  const bare = await FakeApiServer.start({ gatewayApi: false });
  t.after(() => bare.close());
  bare.put(ingress('cafe'));
  const alone: string[] = [];
  const second = new KubernetesEventSource({ clients: makeClients(bare.kubeConfig()), sender: { ...sender, send: (e: { subject: string }) => void alone.push(e.subject) } as never, log: quietLog, resyncMs: 0 });
  t.after(() => second.stop());
  await second.start();
  assert.deepEqual(alone, ['Ingress/default/cafe']);
});

test('a handler fed by `wharf source` takes the Gateway API kinds and Namespaces (held, none refused) and still serves its Ingresses', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.put(ingressClass('wharf'));
  api.put(ingress('cafe'));
  api.put(namespace('shop', { team: 'cafe' }));
  api.put(namespace('default'));
  api.put(gatewayClass('wharf'));
  api.put(gateway('gw', 'shop'));
  const handler = await startHandler({
    host: '127.0.0.1',
    port: 0,
    tls: null,
    agents: [],
    agentService: null,
    agentToken: 'agent-token-0123456789',
    eventsToken: 'events-token-0123456789',
    relistIntervalMs: 3_600_000,
    controller: { controllerName: CONTROLLER_NAME, ingressClassName: 'wharf', watchIngressWithoutClass: false },
    reader: new KubernetesReader(makeClients(api.kubeConfig('handler'))),
    log: quietLog,
  });
  t.after(() => handler.close());
  const sender = new EventSender({ url: `${handler.url}/events`, source: 'wharf/test', token: 'events-token-0123456789', log: quietLog, maxAttempts: 3, baseDelayMs: 20 });
  const source = new KubernetesEventSource({ clients: makeClients(api.kubeConfig('source')), sender, log: quietLog, resyncMs: 0 });
  t.after(() => source.stop());
  await source.start();
  api.put(httpRoute('cafe', 'shop'));
  api.put(namespace('beans'));
  const objects = async () => ((await (await fetch(`${handler.url}/readyz`)).json()) as { objects: Record<string, number> }).objects;
  await eventually(async () => (await objects()).Namespace === 3 && (await objects()).HTTPRoute === 1);
  await sender.idle();
  assert.equal(sender.stats.dropped, 0, 'no event refused');
  const o = await objects();
  assert.deepEqual([o.Ingress, o.GatewayClass, o.Gateway, o.HTTPRoute, o.Namespace], [1, 1, 1, 1, 3]);
  assert.ok(handler.handler.desired.fragment('cafe.example.com'), 'the Ingress is still rendered');
});
