// Ingress status and Events: the pure decisions (addresses, what to write, what to say) as tables,
// then one status writer against the fake API server: what reaches it, that nothing is written when
// nothing changed, conflicts, failures, and the status another controller wrote left alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeApiServer } from '../support/kube-apiserver.ts';
import { ingress, quietLog, service } from '../support/kube-apiserver-fixtures.ts';
import { eventually } from '../support/http.ts';
import { makeClients } from '../../src/cluster/kubernetes-client.ts';
import { addressesOfService, parsePublishAddresses, type LoadBalancerIngress } from '../../src/cluster/status-address.ts';
import { eventFor, statusUpdate, verdictOf, MAX_EVENT_MESSAGE, type IngressVerdict } from '../../src/cluster/status-verdict.ts';
import { RoutingIndex, defaultControllerSettings, parseObject } from '../../src/model/index.ts';
import { IngressStatusWriter, type PublishSource } from '../../src/cluster/status-writer.ts';
import type { Problem } from '../../src/model/types.ts';
import type { Obj } from '../support/kube-apiserver-store.ts';

const OURS: LoadBalancerIngress[] = [{ ip: '203.0.113.7' }];
const problem = (severity: Problem['severity'], message: string): Problem => ({
  object: { kind: 'Ingress', namespace: 'default', name: 'cafe' },
  severity,
  reason: severity === 'error' ? 'InvalidPath' : 'HostConflict',
  field: 'spec',
  message,
});
const verdict = (name: string, extra: Partial<IngressVerdict> = {}): IngressVerdict => ({ namespace: 'default', name, handled: true, problems: [], ...extra });

test('the addresses a Service publishes', () => {
  const cases: Record<string, { service: Obj; want: LoadBalancerIngress[] }> = {
    'LoadBalancer: its load balancer, IPs and names': {
      service: service('lb', 'wharf', { type: 'LoadBalancer', clusterIP: '10.96.0.10' }),
      want: [{ ip: '203.0.113.7' }, { hostname: 'lb.example.com' }],
    },
    'LoadBalancer with externalIPs: both': { service: service('lb', 'wharf', { type: 'LoadBalancer', externalIPs: ['198.51.100.1'] }), want: [{ ip: '198.51.100.1' }, { ip: '203.0.113.7' }, { hostname: 'lb.example.com' }] },
    'LoadBalancer still pending: none': { service: { ...service('lb', 'wharf', { type: 'LoadBalancer' }), status: { loadBalancer: {} } }, want: [] },
    'ExternalName: the name': { service: service('x', 'wharf', { type: 'ExternalName', externalName: 'edge.example.com' }), want: [{ hostname: 'edge.example.com' }] },
    'NodePort with externalIPs: those': { service: service('np', 'wharf', { type: 'NodePort', clusterIP: '10.96.0.11', externalIPs: ['198.51.100.2'] }), want: [{ ip: '198.51.100.2' }] },
    'ClusterIP: the cluster IP': { service: service('c', 'wharf', { clusterIP: '10.96.0.12' }), want: [{ ip: '10.96.0.12' }] },
    'headless: none': { service: service('h', 'wharf', { clusterIP: 'None' }), want: [] },
  };
  for (const [name, c] of Object.entries(cases)) {
    const s = structuredClone(c.service);
    if (s.spec.type === 'LoadBalancer' && !s.status) s.status = { loadBalancer: { ingress: [{ hostname: 'lb.example.com' }, { ip: '203.0.113.7', ports: [{ port: 80, protocol: 'TCP' }] }] } };
    assert.deepEqual(addressesOfService(s as never), c.want, name);
  }
  assert.deepEqual(parsePublishAddresses('lb.Example.com, 203.0.113.7'), [{ ip: '203.0.113.7' }, { hostname: 'lb.example.com' }]);
  assert.throws(() => parsePublishAddresses('not an address'), /--publish-address: Invalid value: "not an address": must be an IP address or a DNS name/);
});

test('what status to write, from the verdict and the status the Ingress has', () => {
  const other = [{ ip: '198.51.100.9' }];
  const cases: Record<string, { v: IngressVerdict; addresses: LoadBalancerIngress[] | null; current: LoadBalancerIngress[]; want: LoadBalancerIngress[] | null }> = {
    'handled, no status yet: ours': { v: verdict('a'), addresses: OURS, current: [], want: OURS },
    'handled, already ours: nothing': { v: verdict('a'), addresses: OURS, current: OURS, want: null },
    'handled, an old address: ours': { v: verdict('a'), addresses: OURS, current: other, want: OURS },
    'handled, rejected: still ours (it is our class)': { v: verdict('a', { problems: [problem('error', 'x')] }), addresses: OURS, current: [], want: OURS },
    'not handled, ours: cleared': { v: verdict('a', { handled: false }), addresses: OURS, current: OURS, want: [] },
    "not handled, another controller's: left alone": { v: verdict('a', { handled: false }), addresses: OURS, current: other, want: null },
    'not handled, none: nothing': { v: verdict('a', { handled: false }), addresses: OURS, current: [], want: null },
    'address unknown (publish Service missing): nothing': { v: verdict('a'), addresses: null, current: other, want: null },
  };
  for (const [name, c] of Object.entries(cases)) assert.deepEqual(statusUpdate(c.v, c.addresses, c.current), c.want, name);
});

test('what an Event says, from the verdict', () => {
  const cases: Record<string, { v: IngressVerdict; want: ReturnType<typeof eventFor> }> = {
    'no problems': { v: verdict('cafe'), want: { reason: 'AddedOrUpdated', type: 'Normal', message: 'Configuration for default/cafe was added or updated' } },
    warnings: {
      v: verdict('cafe', { problems: [problem('warning', 'spec.rules[0].host: host "a" is held by default/old')] }),
      want: { reason: 'AddedOrUpdatedWithWarning', type: 'Warning', message: 'Configuration for default/cafe was added or updated with warnings: spec.rules[0].host: host "a" is held by default/old' },
    },
    'errors win over warnings': {
      v: verdict('cafe', { problems: [problem('warning', 'w'), problem('error', 'spec.rules[0].http.paths[0].path: Invalid value: "x": must start with "/"')] }),
      want: { reason: 'Rejected', type: 'Warning', message: 'default/cafe was rejected: spec.rules[0].http.paths[0].path: Invalid value: "x": must start with "/"' },
    },
    "NGINX's error for a quarantined fragment": {
      v: verdict('cafe', { nginxError: 'nginx: [emerg] invalid number of arguments in "proxy_pass" directive in fragments/cafe.example.com.conf:12' }),
      want: { reason: 'Rejected', type: 'Warning', message: 'default/cafe was rejected: NGINX refused the configuration that carries it: nginx: [emerg] invalid number of arguments in "proxy_pass" directive in fragments/cafe.example.com.conf:12' },
    },
    'not handled: nothing': { v: verdict('cafe', { handled: false, problems: [problem('error', 'x')] }), want: null },
  };
  for (const [name, c] of Object.entries(cases)) assert.deepEqual(eventFor(c.v), c.want, name);
  const long = eventFor(verdict('cafe', { problems: Array.from({ length: 50 }, (_, i) => problem('error', `problem number ${i} with a long explanation`)) }))!;
  assert.equal(long.message.length, MAX_EVENT_MESSAGE);
  assert.ok(long.message.endsWith('…'));
});

test("verdicts read from the model's RoutingIndex, as the handler holds it", () => {
  const index = new RoutingIndex(defaultControllerSettings);
  const upsert = (o: Obj) => {
    const parsed = parseObject(o);
    assert.ok(parsed.ok);
    index.upsert(parsed.value);
  };
  const bad = ingress('bad');
  bad.metadata.annotations = { 'nginx.ingress.kubernetes.io/rewrite-target': '$9' };
  for (const o of [ingress('good'), ingress('theirs', 'default', 'theirs.example.com', 'other'), bad, service('good'), service('bad')]) upsert(o);
  const said = (o: Obj) => {
    const v = verdictOf(index, { metadata: { ...o.metadata, uid: 'u1', generation: 3 } });
    return { handled: v.handled, uid: v.uid, generation: v.generation, reason: eventFor(v)?.reason ?? null };
  };
  assert.deepEqual(said(ingress('good')), { handled: true, uid: 'u1', generation: 3, reason: 'AddedOrUpdated' });
  assert.deepEqual(said(ingress('theirs')), { handled: false, uid: 'u1', generation: 3, reason: null });
  assert.deepEqual(said(bad), { handled: true, uid: 'u1', generation: 3, reason: 'Rejected' });
  assert.equal(verdictOf(index, { metadata: { name: 'good', namespace: 'default' } }, 'nginx: [emerg] x').nginxError, 'nginx: [emerg] x');
});

const owner = { owns: () => true, onChange() {} };

async function writer(t: { after: (fn: () => Promise<void>) => void }, api: FakeApiServer, publish: PublishSource = { addresses: OURS }, user = 'status') {
  const w = new IngressStatusWriter({ clients: makeClients(api.kubeConfig(user)), log: quietLog, publish, ownership: owner, instance: 'wharf-handler-0', retryMs: 50, watch: { backoff: { baseMs: 20 } } });
  t.after(() => w.stop());
  await w.start();
  return w;
}

const statusOf = (api: FakeApiServer, name: string) => api.get('Ingress', 'default', name)!.status?.loadBalancer?.ingress;
const events = (api: FakeApiServer) => api.list('Event');

test('a handled Ingress gets our address by a merge patch with its version, and an AddedOrUpdated Event; saying it again writes nothing', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  const cafe = api.put(ingress('cafe'));
  const w = await writer(t, api);
  w.set(verdict('cafe', { uid: cafe.metadata.uid, generation: 1 }));
  await eventually(() => statusOf(api, 'cafe') !== undefined && events(api).length === 1);
  assert.deepEqual(statusOf(api, 'cafe'), [{ ip: '203.0.113.7' }]);
  const patch = api.requests.find((r) => r.method === 'PATCH' && r.path === '/apis/networking.k8s.io/v1/namespaces/default/ingresses/cafe/status')!;
  assert.equal(patch.contentType, 'application/merge-patch+json');
  assert.deepEqual(JSON.parse(patch.body), { metadata: { resourceVersion: cafe.metadata.resourceVersion }, status: { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } } });
  const [event] = events(api);
  assert.equal(event!.reason, 'AddedOrUpdated');
  assert.equal(event!.type, 'Normal');
  assert.equal(event!.message, 'Configuration for default/cafe was added or updated');
  assert.deepEqual(event!.involvedObject, { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'cafe', namespace: 'default', uid: cafe.metadata.uid, resourceVersion: cafe.metadata.resourceVersion });
  assert.equal(event!.source.component, 'wharf');
  assert.equal(event!.reportingInstance, 'wharf-handler-0');
  assert.equal(event!.count, 1);

  // The same conclusion again, and the watch delivering our own write: nothing is written.
  await eventually(() => w.seenVersion === api.get('Ingress', 'default', 'cafe')!.metadata.resourceVersion);
  const requests = api.requests.length;
  w.set(verdict('cafe', { uid: cafe.metadata.uid, generation: 1 }));
  await w.idle();
  assert.equal(api.statusWrites.length, 1);
  assert.equal(events(api).length, 1);
  assert.ok(!api.requests.slice(requests).some((r) => r.method !== 'GET'), 'no write');

  // A new generation applied: said again; the same words count up on the same Event.
  const v2 = api.put({ ...ingress('cafe'), spec: { ...ingress('cafe').spec, tls: [] }, status: api.get('Ingress', 'default', 'cafe')!.status });
  w.set(verdict('cafe', { uid: cafe.metadata.uid, generation: v2.metadata.generation }));
  await eventually(() => events(api)[0]!.count === 2);
  assert.equal(events(api).length, 1);
  assert.equal(api.statusWrites.length, 1);
});

test('warnings, errors and quarantined fragments become Events with their reasons', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  for (const name of ['warned', 'invalid', 'quarantined']) api.put(ingress(name));
  const w = await writer(t, api);
  w.set(verdict('warned', { problems: [problem('warning', 'spec.rules[0].host: Invalid value: "warned.example.com": also claimed by default/older')] }));
  w.set(verdict('invalid', { problems: [problem('error', 'metadata.annotations[nginx.ingress.kubernetes.io/rewrite-target]: Invalid value: "$9": no such capture group')] }));
  w.set(verdict('quarantined', { nginxError: 'nginx: [emerg] unknown directive "proxy_passs" in fragments/quarantined.example.com.conf:7' }));
  await eventually(() => events(api).length === 3);
  const byName = Object.fromEntries(events(api).map((e) => [e.involvedObject.name, e]));
  assert.equal(byName.warned!.reason, 'AddedOrUpdatedWithWarning');
  assert.match(byName.warned!.message, /also claimed by default\/older/);
  assert.equal(byName.invalid!.reason, 'Rejected');
  assert.equal(byName.invalid!.type, 'Warning');
  assert.match(byName.invalid!.message, /no such capture group/);
  assert.equal(byName.quarantined!.reason, 'Rejected');
  assert.match(byName.quarantined!.message, /unknown directive "proxy_passs" in fragments\/quarantined\.example\.com\.conf:7/);
});

test("an Ingress wharf stops handling is cleared; a status another controller wrote is left alone", async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.put({ ...ingress('moved', 'default', 'moved.example.com', 'other'), status: { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } } });
  api.put({ ...ingress('theirs', 'default', 'theirs.example.com', 'other'), status: { loadBalancer: { ingress: [{ ip: '198.51.100.9' }] } } });
  const w = await writer(t, api);
  w.set(verdict('moved', { handled: false }));
  w.set(verdict('theirs', { handled: false }));
  await eventually(() => statusOf(api, 'moved') === undefined);
  await w.idle();
  assert.deepEqual(api.get('Ingress', 'default', 'moved')!.status, { loadBalancer: {} });
  assert.deepEqual(statusOf(api, 'theirs'), [{ ip: '198.51.100.9' }]);
  assert.equal(api.statusWrites.length, 1);
  assert.equal(events(api).length, 0, 'no Events about Ingresses wharf does not handle');
});

test("with --publish-service, the status follows the Service's load balancer address", async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  const lb = (ip: string) => ({ ...service('wharf', 'wharf', { type: 'LoadBalancer' }), status: { loadBalancer: { ingress: [{ ip }] } } });
  api.put(lb('192.0.2.1'));
  api.put(ingress('cafe'));
  const w = await writer(t, api, { service: { namespace: 'wharf', name: 'wharf' } });
  w.set(verdict('cafe'));
  await eventually(() => statusOf(api, 'cafe')?.[0]?.ip === '192.0.2.1');
  api.put(lb('192.0.2.2'));
  await eventually(() => statusOf(api, 'cafe')?.[0]?.ip === '192.0.2.2');
  assert.deepEqual(api.statusWrites.map((s) => s.status.loadBalancer.ingress[0].ip), ['192.0.2.1', '192.0.2.2']);
  // Only the one Service was read, by name.
  assert.ok(api.requests.filter((r) => r.path.includes('services')).every((r) => r.query.fieldSelector === 'metadata.name=wharf'));
});

test('a status write that races another change (409 Conflict) reads the Ingress again and writes once', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.put(ingress('cafe'));
  let raced = false;
  api.onRequest = (r) => {
    if (r.method === 'PATCH' && r.path.endsWith('/status') && !raced) {
      raced = true;
      api.put({ ...ingress('cafe'), metadata: { name: 'cafe', namespace: 'default', labels: { touched: 'yes' } } });
    }
  };
  const w = await writer(t, api);
  w.set(verdict('cafe'));
  await eventually(() => statusOf(api, 'cafe') !== undefined);
  await w.idle();
  const patches = api.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith('/status'));
  assert.deepEqual(patches.map((r) => r.status), [409, 200]);
  assert.equal(w.stats.conflicts, 1);
  assert.equal(api.get('Ingress', 'default', 'cafe')!.metadata.labels.touched, 'yes', 'the concurrent change is kept');
});

test('a write the API server refuses (500) is tried again later', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.put(ingress('cafe'));
  api.fail((r) => r.method === 'PATCH', 500, 2);
  const w = await writer(t, api);
  w.set(verdict('cafe'));
  await eventually(() => statusOf(api, 'cafe') !== undefined, 5000);
  assert.equal(w.stats.failures, 2);
  assert.deepEqual(statusOf(api, 'cafe'), OURS);
});

test('a restarted writer says the same thing once more: the Event counts up, no copy', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.put(ingress('cafe'));
  const first = await writer(t, api);
  first.set(verdict('cafe'));
  await eventually(() => events(api).length === 1);
  await first.stop();
  const second = await writer(t, api);
  second.set(verdict('cafe'));
  await eventually(() => events(api)[0]?.count === 2);
  assert.equal(events(api).length, 1);
  assert.equal(api.statusWrites.length, 1, 'the status was already right');
});
