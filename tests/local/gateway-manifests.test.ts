// Local mode reads the Gateway API kinds and Namespaces from the manifest folder like the Ingress
// kinds (cluster-scoped GatewayClass and Namespace keyed by name, the others defaulted to the
// `default` namespace), and the Gateway API example is what a cluster would accept: every object
// valid against the v1.6.1 CRD schemas, its references resolving within the folder, its listeners
// on ports local mode can serve.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManifestSource } from '../../src/cluster/manifest-source.ts';
import { readManifests } from '../../src/cluster/manifests.ts';
import { localListenerPort } from '../../wrangler-free-local/listener-ports.ts';
import { FakeApiServer } from '../support/kube-apiserver.ts';
import type { Obj } from '../support/kube-apiserver-store.ts';

const EXAMPLE = join(import.meta.dirname, '..', '..', 'examples', 'gateway');

test('manifests: the Gateway API kinds and Namespaces are read, keyed as the API server keys them', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-gateway-manifests-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(
    join(dir, 'all.yaml'),
    [
      'apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: { name: wharf }\nspec: { controllerName: wharf.io/gateway-controller }',
      'apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: { name: gw }\nspec: { gatewayClassName: wharf, listeners: [{ name: http, port: 80, protocol: HTTP }] }',
      'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: { name: web, namespace: shop }\nspec: { parentRefs: [{ name: gw, namespace: default }] }',
      'apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\nmetadata: { name: echo }\nspec: { parentRefs: [{ name: gw }] }',
      'apiVersion: gateway.networking.k8s.io/v1\nkind: ReferenceGrant\nmetadata: { name: from-shop }\nspec: { from: [{ group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: shop }], to: [{ group: "", kind: Service }] }',
      'apiVersion: v1\nkind: Namespace\nmetadata: { name: shop, labels: { team: cafe } }',
    ].join('\n---\n'),
  );
  const read = await readManifests(dir);
  assert.deepEqual(read.problems, []);
  assert.deepEqual(
    read.objects.map((o) => `${o.kind} ${o.key}`),
    ['GatewayClass wharf', 'Gateway default/gw', 'HTTPRoute shop/web', 'GRPCRoute default/echo', 'ReferenceGrant default/from-shop', 'Namespace shop'],
  );
  // The manifest source serves them to the handler like any kind (the model checks them: none here).
  const source = new ManifestSource(dir);
  await source.sync();
  assert.deepEqual((await source.list('Namespace')).items.map((o) => o.metadata.name), ['shop']);
  assert.equal((await source.get({ kind: 'GatewayClass', namespace: '', name: 'wharf' }))?.kind, 'GatewayClass');
  assert.equal((await source.get({ kind: 'HTTPRoute', namespace: 'shop', name: 'web' }))?.metadata.resourceVersion !== undefined, true);
});

test('the Gateway API example: read without a problem, accepted by an API server with the CRDs, its references resolving', async (t) => {
  const read = await readManifests(EXAMPLE);
  assert.deepEqual(read.problems, []);
  const count = (kind: string) => read.objects.filter((o) => o.kind === kind).length;
  assert.deepEqual(
    ['GatewayClass', 'Gateway', 'HTTPRoute', 'Service', 'EndpointSlice', 'Secret'].map((k) => `${k}:${count(k)}`),
    ['GatewayClass:1', 'Gateway:1', 'HTTPRoute:4', 'Service:2', 'EndpointSlice:4', 'Secret:1'],
  );
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  for (const o of read.objects) {
    assert.doesNotThrow(() => api.put(o.object as Obj), `${o.kind} ${o.key} (${o.file})`);
  }
  const [gateway] = api.list('Gateway');
  const [gatewayClass] = api.list('GatewayClass');
  assert.equal(gateway!.spec.gatewayClassName, gatewayClass!.metadata.name);
  assert.equal(gatewayClass!.spec.controllerName, 'wharf.io/gateway-controller');
  const listeners = new Map<string, Obj>(gateway!.spec.listeners.map((l: Obj) => [l.name, l]));
  for (const l of listeners.values()) assert.ok(localListenerPort(l.port, { httpPort: 8080, httpsPort: 8443 }).ok, `listener ${l.name} can be served locally`);
  for (const secretRef of listeners.get('https')!.tls.certificateRefs) assert.ok(api.get('Secret', 'default', secretRef.name), `certificate ${secretRef.name}`);
  for (const route of api.list('HTTPRoute')) {
    for (const p of route.spec.parentRefs) {
      assert.equal(p.name, gateway!.metadata.name, `${route.metadata.name}: parent`);
      assert.ok(listeners.has(p.sectionName), `${route.metadata.name}: listener ${p.sectionName}`);
    }
    for (const rule of route.spec.rules) {
      for (const b of rule.backendRefs ?? []) assert.ok(api.get('Service', 'default', b.name), `${route.metadata.name}: Service ${b.name}`);
    }
  }
});
