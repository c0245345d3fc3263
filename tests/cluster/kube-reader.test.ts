// The ClusterReader over the Kubernetes API: paged lists from one snapshot, a list restarted when
// its snapshot is compacted between pages, Secrets from two field-selected streams, reads that
// answer null for what is absent or not wharf's, and the view's relist on top of it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeApiServer, type RequestRecord } from '../support/kube-apiserver.ts';
import { configMap, ingress, secret } from '../support/kube-apiserver-fixtures.ts';
import { makeClients, loadKubeConfig } from '../../src/cluster/kubernetes-client.ts';
import { KubernetesReader, listStream } from '../../src/cluster/kubernetes-reader.ts';
import { relist } from '../../src/cluster/view-relist.ts';
import { MemoryView } from '../../src/cluster/view-memory.ts';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';


test('a paged list is one snapshot: a write between two pages is not in it, and the next watch starts before it', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  for (const name of ['a', 'b', 'c', 'd', 'e']) api.put(ingress(name));
  const before = api.revision;
  let pages = 0;
  api.onRequest = (r) => {
    if (r.path.endsWith('/ingresses') && ++pages === 2) api.put(ingress('aa')); // lands on a later page, alphabetically
  };
  const list = await listStream(makeClients(api.kubeConfig()), { kind: 'Ingress', namespace: '' }, 2);
  assert.deepEqual(list.items.map((o) => o.metadata.name), ['a', 'b', 'c', 'd', 'e']);
  assert.equal(list.resourceVersion, String(before));
  const limits = api.requests.filter((r) => r.path.endsWith('/ingresses')).map((r) => [r.query.limit, Boolean(r.query.continue)]);
  assert.deepEqual(limits, [['2', false], ['2', true], ['2', true]]);
});

test('a list whose snapshot is compacted between pages (410 Expired) starts again and is complete', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  for (const name of ['a', 'b', 'c']) api.put(ingress(name));
  let pages = 0;
  api.onRequest = (r) => {
    if (r.path.endsWith('/ingresses') && ++pages === 2) {
      api.put(ingress('d'));
      api.compact();
    }
  };
  const list = await listStream(makeClients(api.kubeConfig()), { kind: 'Ingress', namespace: '' }, 2);
  assert.deepEqual(list.items.map((o) => o.metadata.name), ['a', 'b', 'c', 'd']);
  assert.deepEqual(api.requests.map((r) => r.status), [200, 410, 200, 200]);
});

test('Secrets are read from two field-selected streams; the merged list carries the older version', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.put(secret('tls', 'kubernetes.io/tls'));
  api.put(secret('auth', 'Opaque', 'default', { 'wharf.io/auth': 'true' }));
  api.put(secret('other-opaque', 'Opaque'));
  api.put(secret('token', 'kubernetes.io/service-account-token'));
  const first = String(api.revision);
  let lists = 0;
  api.onRequest = (r) => {
    // The version moves between the two lists: the second one is served at a later version.
    if (r.path === '/api/v1/secrets' && ++lists === 2) api.put(secret('late', 'kubernetes.io/dockerconfigjson'));
  };
  const reader = new KubernetesReader(makeClients(api.kubeConfig()), { authSecrets: { labelSelector: 'wharf.io/auth=true' } });
  const list = await reader.list('Secret');
  assert.deepEqual(list.items.map((o) => o.metadata.name).sort(), ['auth', 'tls']);
  assert.equal(list.resourceVersion, first);
  const selectors = api.requests.map((r) => `${r.query.fieldSelector} ${r.query.labelSelector ?? ''}`.trim()).sort();
  assert.deepEqual(selectors, ['type=Opaque wharf.io/auth=true', 'type=kubernetes.io/tls']);
  const none = new KubernetesReader(makeClients(api.kubeConfig()), { authSecrets: false });
  assert.deepEqual((await none.list('Secret')).items.map((o) => o.metadata.name), ['tls']);
});

test('get reads one object as wire JSON, and answers null for what is absent or not read by wharf', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.put(ingress('cafe'));
  api.put(secret('token', 'kubernetes.io/service-account-token'));
  api.put(configMap('wharf', 'wharf'));
  api.put(configMap('other', 'wharf'));
  const reader = new KubernetesReader(makeClients(api.kubeConfig()), { configMap: { namespace: 'wharf', name: 'wharf' } });
  const cafe = await reader.get({ kind: 'Ingress', namespace: 'default', name: 'cafe' });
  assert.equal(cafe?.kind, 'Ingress');
  assert.equal(cafe?.apiVersion, 'networking.k8s.io/v1');
  assert.equal(cafe?.metadata.creationTimestamp, api.get('Ingress', 'default', 'cafe')!.metadata.creationTimestamp);
  assert.deepEqual(cafe?.spec, api.get('Ingress', 'default', 'cafe')!.spec);
  assert.equal(await reader.get({ kind: 'Ingress', namespace: 'default', name: 'missing' }), null);
  assert.equal(await reader.get({ kind: 'Secret', namespace: 'default', name: 'token' }), null);
  assert.equal((await reader.get({ kind: 'ConfigMap', namespace: 'wharf', name: 'wharf' }))?.kind, 'ConfigMap');
  assert.equal(await reader.get({ kind: 'ConfigMap', namespace: 'wharf', name: 'other' }), null);
  // The reads that reached the server: no read of a ConfigMap wharf does not own.
  assert.ok(!api.requests.some((r) => r.path.endsWith('/configmaps/other')));
  api.fail(() => true, 403);
  await assert.rejects(reader.get({ kind: 'Ingress', namespace: 'default', name: 'cafe' }), /reading Ingress default\/cafe: HTTP 403/);
});

test("the handler's relist over the reader replaces the view with the cluster's state", async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.put(ingress('cafe'));
  api.put(ingress('tea', 'shop'));
  const view = new MemoryView();
  const reader = new KubernetesReader(makeClients(api.kubeConfig()), { namespace: 'shop' });
  const result = await relist(view, reader);
  assert.equal(view.synced, true);
  assert.deepEqual([...view.list('Ingress')].map((o) => o.metadata.name), ['tea']);
  assert.equal(result.resourceVersion, api.revision);
  // Cluster-scoped: the classes, and the one Namespace read by name (its labels, for Gateway listeners).
  const inScope = (r: RequestRecord) =>
    r.path.includes('/namespaces/shop/') || r.path.endsWith('/ingressclasses') || r.path.endsWith('/gatewayclasses') || (r.path === '/api/v1/namespaces' && r.query.fieldSelector === 'metadata.name=shop');
  assert.ok(api.requests.every(inScope), api.requests.map((r) => r.path).join(' '));
});

test('credentials come from KUBECONFIG, and a missing kubeconfig says what to do', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.put(ingress('cafe'));
  const dir = await mkdtemp(path.join(tmpdir(), 'wharf-kubeconfig-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'config');
  await writeFile(file, api.kubeconfigYaml('from-file'));
  const saved = process.env.KUBECONFIG;
  t.after(() => {
    if (saved === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = saved;
  });
  process.env.KUBECONFIG = file;
  const reader = new KubernetesReader(makeClients(loadKubeConfig()));
  assert.equal((await reader.list('Ingress')).items.length, 1);
  assert.equal(api.requests.at(-1)!.user, 'from-file');
  assert.throws(() => loadKubeConfig(path.join(dir, 'absent')), /reading the kubeconfig .*absent/);
});
