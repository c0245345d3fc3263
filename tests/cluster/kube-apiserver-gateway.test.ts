// The fake API server serves the Gateway API as a cluster with its v1.6.1 standard CRDs installed
// serves it (and 404s the group as a cluster without them), checked through @kubernetes/client-node:
// otherwise the Gateway API adapters' tests would pass against semantics no cluster has.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { FakeApiServer } from '../support/kube-apiserver.ts';
import { GATEWAY_API_CRDS, GATEWAY_API_FILES, scanCrd } from '../support/kube-apiserver-crds.ts';
import { ingress } from '../support/kube-apiserver-fixtures.ts';

const GROUP = 'gateway.networking.k8s.io';
const MERGE = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

function clients(api: FakeApiServer) {
  const kc = api.kubeConfig();
  return { custom: kc.makeApiClient(k8s.CustomObjectsApi), core: kc.makeApiClient(k8s.CoreV1Api), networking: kc.makeApiClient(k8s.NetworkingV1Api) };
}

const route = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: `${GROUP}/v1`,
  kind: 'HTTPRoute',
  metadata: { name },
  spec: { parentRefs: [{ name: 'gw' }], hostnames: ['cafe.example.com'], rules: [{ backendRefs: [{ name: 'coffee', port: 80 }] }], ...spec },
});

const gateway = (name: string, listeners: unknown[] = [{ name: 'http', port: 80, protocol: 'HTTP' }]) => ({
  apiVersion: `${GROUP}/v1`,
  kind: 'Gateway',
  metadata: { name },
  spec: { gatewayClassName: 'wharf', listeners },
});

/** The API error's status code and message (client-node throws ApiException with the Status as body). */
async function refusal(p: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof k8s.ApiException, String(e));
    const body = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
    return { code: e.code, message: body.message };
  }
  assert.fail('the API server accepted it');
}

test('GatewayClass is cluster-scoped; Gateway, HTTPRoute and GRPCRoute are namespaced, at v1, with the CRD defaults applied', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  const { custom } = clients(api);
  const gc = await custom.createClusterCustomObject({ group: GROUP, version: 'v1', plural: 'gatewayclasses', body: { apiVersion: `${GROUP}/v1`, kind: 'GatewayClass', metadata: { name: 'wharf' }, spec: { controllerName: 'wharf.io/gateway-controller' } } });
  assert.equal(gc.metadata.namespace, undefined);
  assert.equal(gc.status.conditions[0].reason, 'Pending', 'the CRD defaults status.conditions to Accepted=Unknown/Pending');
  const gw = await custom.createNamespacedCustomObject({ group: GROUP, version: 'v1', namespace: 'shop', plural: 'gateways', body: gateway('gw') });
  assert.deepEqual(gw.spec.listeners[0].allowedRoutes, { namespaces: { from: 'Same' } }, 'listeners default to routes of the same namespace');
  const hr = await custom.createNamespacedCustomObject({ group: GROUP, version: 'v1', namespace: 'shop', plural: 'httproutes', body: route('cafe') });
  assert.deepEqual(hr.spec.parentRefs[0], { group: GROUP, kind: 'Gateway', name: 'gw' });
  assert.deepEqual(hr.spec.rules[0].matches, [{ path: { type: 'PathPrefix', value: '/' } }]);
  assert.equal(hr.spec.rules[0].backendRefs[0].weight, 1);
  assert.equal(hr.metadata.generation, 1);
  const grpc = await custom.createNamespacedCustomObject({
    group: GROUP,
    version: 'v1',
    namespace: 'shop',
    plural: 'grpcroutes',
    body: { apiVersion: `${GROUP}/v1`, kind: 'GRPCRoute', metadata: { name: 'echo' }, spec: { parentRefs: [{ name: 'gw' }], rules: [{ matches: [{ method: { service: 'echo.Echo', method: 'Hi' } }] }] } },
  });
  assert.equal(grpc.spec.rules[0].matches[0].method.type, 'Exact');
  const all = await custom.listCustomObjectForAllNamespaces({ group: GROUP, version: 'v1', resourcePlural: 'httproutes' });
  assert.equal(all.kind, 'HTTPRouteList');
  assert.deepEqual(all.items.map((i: { metadata: { namespace: string; name: string } }) => `${i.metadata.namespace}/${i.metadata.name}`), ['shop/cafe']);
  const classes = await custom.listClusterCustomObject({ group: GROUP, version: 'v1', plural: 'gatewayclasses' });
  assert.equal(classes.items.length, 1);
});

test('ReferenceGrant is served at v1 and v1beta1, as the v1.6.1 CRD serves it; each request gets its own version', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  const { custom } = clients(api);
  const body = { apiVersion: `${GROUP}/v1beta1`, kind: 'ReferenceGrant', metadata: { name: 'coffee' }, spec: { from: [{ group: GROUP, kind: 'HTTPRoute', namespace: 'shop' }], to: [{ group: '', kind: 'Service' }] } };
  const created = await custom.createNamespacedCustomObject({ group: GROUP, version: 'v1beta1', namespace: 'beans', plural: 'referencegrants', body });
  assert.equal(created.apiVersion, `${GROUP}/v1beta1`);
  const asV1 = await custom.getNamespacedCustomObject({ group: GROUP, version: 'v1', namespace: 'beans', plural: 'referencegrants', name: 'coffee' });
  assert.equal(asV1.apiVersion, `${GROUP}/v1`);
  assert.deepEqual(asV1.spec, created.spec);
  const list = await custom.listNamespacedCustomObject({ group: GROUP, version: 'v1beta1', namespace: 'beans', plural: 'referencegrants' });
  assert.equal(list.apiVersion, `${GROUP}/v1beta1`);
  // GRPCRoute has no v1beta1 in v1.6.1.
  const r = await refusal(custom.listNamespacedCustomObject({ group: GROUP, version: 'v1beta1', namespace: 'beans', plural: 'grpcroutes' }));
  assert.equal(r.code, 404);
});

test('objects are checked against the CRD schema, in the API server\'s words, and nothing is written when they fail', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  const { custom } = clients(api);
  const create = (plural: string, body: unknown) => custom.createNamespacedCustomObject({ group: GROUP, version: 'v1', namespace: 'shop', plural, body });
  const cases: Record<string, { plural: string; body: unknown; message: RegExp }> = {
    'a path type the enum lacks': {
      plural: 'httproutes',
      body: route('a', { rules: [{ matches: [{ path: { type: 'Glob', value: '/' } }] }] }),
      message: /spec\.rules\[0\]\.matches\[0\]\.path\.type: Unsupported value: "Glob": supported values: "Exact", "PathPrefix", "RegularExpression"/,
    },
    'an upper-case hostname': { plural: 'httproutes', body: route('b', { hostnames: ['Cafe.example.com'] }), message: /spec\.hostnames\[0\]: Invalid value: "Cafe\.example\.com": spec\.hostnames\[0\] in body should match/ },
    'a parentRef without a name': { plural: 'httproutes', body: route('c', { parentRefs: [{ sectionName: 'http' }] }), message: /spec\.parentRefs\[0\]\.name: Required value/ },
    'seventeen rules': { plural: 'httproutes', body: route('d', { rules: Array.from({ length: 17 }, () => ({})) }), message: /spec\.rules: Too many: 17: must have at most 16 items/ },
    'a port out of range': { plural: 'gateways', body: gateway('e', [{ name: 'http', port: 70000, protocol: 'HTTP' }]), message: /spec\.listeners\[0\]\.port: Invalid value: 70000: .* less than or equal to 65535/ },
    'two listeners of one name (list-type map)': {
      plural: 'gateways',
      body: gateway('f', [
        { name: 'http', port: 80, protocol: 'HTTP' },
        { name: 'http', port: 8080, protocol: 'HTTP' },
      ]),
      message: /spec\.listeners\[1\]: Duplicate value: \{"name":"http"\}/,
    },
    'a weight that is a string': { plural: 'httproutes', body: route('g', { rules: [{ backendRefs: [{ name: 'x', port: 80, weight: 'heavy' }] }] }), message: /spec\.rules\[0\]\.backendRefs\[0\]\.weight: Invalid value: "heavy": .* must be of type integer/ },
  };
  for (const [name, c] of Object.entries(cases)) {
    const r = await refusal(create(c.plural, c.body));
    assert.equal(r.code, 422, name);
    assert.match(r.message, c.message, name);
  }
  assert.equal(api.list('HTTPRoute').length + api.list('Gateway').length, 0);
  // Fields the schema does not declare are pruned, as a structural schema prunes them.
  const pruned = await create('httproutes', route('h', { color: 'blue', rules: [{ backendRefs: [{ name: 'x', port: 80, extra: 1 }] }] }));
  assert.equal(pruned.spec.color, undefined);
  assert.equal(pruned.spec.rules[0].backendRefs[0].extra, undefined);
});

test('the status subresource of routes and Gateways: only status changes, and it is validated too', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  const { custom } = clients(api);
  const created = await custom.createNamespacedCustomObject({ group: GROUP, version: 'v1', namespace: 'shop', plural: 'httproutes', body: route('cafe') });
  const condition = { type: 'Accepted', status: 'True', reason: 'Accepted', message: '', observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z' };
  const parents = [{ parentRef: { name: 'gw' }, controllerName: 'wharf.io/gateway-controller', conditions: [condition] }];
  const patched = await custom.patchNamespacedCustomObjectStatus(
    { group: GROUP, version: 'v1', namespace: 'shop', plural: 'httproutes', name: 'cafe', body: { metadata: { resourceVersion: created.metadata.resourceVersion }, spec: { hostnames: ['x.example.com'] }, status: { parents } } },
    MERGE,
  );
  assert.deepEqual(patched.spec.hostnames, ['cafe.example.com'], 'a status write leaves spec alone');
  assert.equal(patched.status.parents[0].controllerName, 'wharf.io/gateway-controller');
  assert.equal(api.statusWrites.length, 1);
  const stale = await refusal(
    custom.patchNamespacedCustomObjectStatus({ group: GROUP, version: 'v1', namespace: 'shop', plural: 'httproutes', name: 'cafe', body: { metadata: { resourceVersion: created.metadata.resourceVersion }, status: { parents: [] } } }, MERGE),
  );
  assert.equal(stale.code, 409);
  const bad = await refusal(
    custom.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: 'v1', namespace: 'shop', plural: 'httproutes', name: 'cafe', body: { status: { parents: [{ ...parents[0], controllerName: 'not a controller', conditions: [{ ...condition, lastTransitionTime: 'yesterday' }] }] } } },
      MERGE,
    ),
  );
  assert.equal(bad.code, 422);
  assert.match(bad.message, /status\.parents\[0\]\.controllerName: Invalid value: "not a controller": status\.parents\[0\]\.controllerName in body should match/);
  assert.match(bad.message, /status\.parents\[0\]\.conditions\[0\]\.lastTransitionTime: Invalid value: "yesterday"/);
  // A main-resource update keeps the status and moves the generation; a status write does not.
  const updated = await custom.patchNamespacedCustomObject({ group: GROUP, version: 'v1', namespace: 'shop', plural: 'httproutes', name: 'cafe', body: { spec: { hostnames: ['tea.example.com'] } } }, MERGE);
  assert.equal(updated.metadata.generation, 2);
  assert.equal(updated.status.parents.length, 1);
});

test('Namespaces: cluster-scoped, labelled with their name by the server, selected by labels', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  const { core } = clients(api);
  await core.createNamespace({ body: { metadata: { name: 'shop', labels: { team: 'cafe' } } } });
  api.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'beans' } });
  const shop = await core.readNamespace({ name: 'shop' });
  assert.deepEqual(shop.metadata?.labels, { team: 'cafe', 'kubernetes.io/metadata.name': 'shop' });
  const selected = await core.listNamespace({ labelSelector: 'team=cafe' });
  assert.deepEqual(selected.items.map((n) => n.metadata?.name), ['shop']);
  const byName = await core.listNamespace({ labelSelector: 'kubernetes.io/metadata.name in (beans)' });
  assert.deepEqual(byName.items.map((n) => n.metadata?.name), ['beans']);
});

test('a watch at v1beta1 gets its objects at v1beta1', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  const kc = api.kubeConfig();
  const got: { type: string; apiVersion: string }[] = [];
  const controller = await new k8s.Watch(kc).watch(`/apis/${GROUP}/v1beta1/namespaces/shop/httproutes`, {}, (type, o) => got.push({ type, apiVersion: o.apiVersion }), () => {});
  t.after(() => controller.abort());
  api.put({ ...route('cafe'), metadata: { name: 'cafe', namespace: 'shop' } });
  for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(got, [{ type: 'ADDED', apiVersion: `${GROUP}/v1beta1` }]);
});

test('without the Gateway API CRDs the group is not found (404), everything else is served; installing them later serves it', async (t) => {
  const api = await FakeApiServer.start({ gatewayApi: false });
  t.after(() => api.close());
  const { custom, networking } = clients(api);
  api.put(ingress('cafe'));
  const missing = await refusal(custom.listCustomObjectForAllNamespaces({ group: GROUP, version: 'v1', resourcePlural: 'httproutes' }));
  assert.equal(missing.code, 404);
  const missingClass = await refusal(custom.listClusterCustomObject({ group: GROUP, version: 'v1', plural: 'gatewayclasses' }));
  assert.equal(missingClass.code, 404);
  assert.equal((await networking.listIngressForAllNamespaces()).items.length, 1);
  // Objects may still be stored meanwhile (a test's setup); they are served once the CRDs are.
  api.put(gateway('gw'));
  assert.equal((await refusal(custom.listCustomObjectForAllNamespaces({ group: GROUP, version: 'v1beta1', resourcePlural: 'gateways' }))).code, 404, 'every version of the group');
  api.restoreApi(GROUP);
  assert.equal((await custom.listCustomObjectForAllNamespaces({ group: GROUP, version: 'v1', resourcePlural: 'httproutes' })).items.length, 0);
  assert.deepEqual((await custom.listCustomObjectForAllNamespaces({ group: GROUP, version: 'v1', resourcePlural: 'gateways' }) as { items: { metadata: { name: string } }[] }).items.map((g) => g.metadata.name), ['gw']);
});

test('what the server reads of a CRD without parsing it (scope, versions, status subresource) is what the CRD says', () => {
  for (const f of GATEWAY_API_FILES) {
    const text = readFileSync(join(GATEWAY_API_CRDS, f), 'utf8');
    const crd = parse(text) as { spec: { group: string; scope: string; names: { kind: string; plural: string }; versions: { name: string; served: boolean; subresources?: { status?: object } }[] } };
    assert.deepEqual(scanCrd(text), {
      group: crd.spec.group,
      kind: crd.spec.names.kind,
      plural: crd.spec.names.plural,
      namespaced: crd.spec.scope === 'Namespaced',
      versions: crd.spec.versions.map((v) => ({ name: v.name, served: v.served, status: !!v.subresources?.status })),
    }, f);
  }
});
