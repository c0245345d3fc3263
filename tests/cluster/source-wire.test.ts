// `wharf source` sends every object with its apiVersion and kind, as the handler requires, although
// the API server leaves both off list items: the adds of the first list, the watched changes, the
// deletes learnt from a list after 410 Gone, and the updates of a resync; without managedFields and
// kubectl's last-applied copy. Read from the raw bodies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeApiServer } from '../support/kube-apiserver.ts';
import { configMap, endpointSlice, ingress, ingressClass, quietLog, secret, service } from '../support/kube-apiserver-fixtures.ts';
import { eventually } from '../support/http.ts';
import { EventSender } from '../../src/cluster/event-sender.ts';
import { makeClients } from '../../src/cluster/kubernetes-client.ts';
import { KubernetesEventSource } from '../../src/cluster/source.ts';
import { API_VERSIONS, isKind } from '../../src/cluster/view.ts';

interface Sent {
  type: string;
  subject: string;
  data: { apiVersion?: unknown; kind?: unknown; metadata?: { name?: string; annotations?: Record<string, string>; managedFields?: unknown } };
}

test('every object `wharf source` sends carries apiVersion and kind, whichever way it was read', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  const sent: Sent[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      sent.push({ type: String(req.headers['ce-type']), subject: String(req.headers['ce-subject']), data: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));

  api.put(ingressClass('wharf'));
  // Applied with kubectl: managedFields and the last-applied copy, which the source leaves out.
  const applied = ingress('cafe');
  api.put({ ...applied, metadata: { ...(applied.metadata as object), annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify(applied), team: 'coffee' }, managedFields: [{ manager: 'kubectl', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: {} }] } });
  api.put(ingress('tea'));
  api.put(service('cafe'));
  api.put(endpointSlice('cafe-1', 'cafe'));
  api.put(secret('cafe-tls', 'kubernetes.io/tls'));
  api.put(secret('htpasswd', 'Opaque'));
  api.put(configMap('wharf', 'wharf'));
  // The fake API server, like the real one, lists items without apiVersion and kind.
  const listed = (await (await fetch(`${api.url}/apis/networking.k8s.io/v1/ingresses`)).json()) as { items: Record<string, unknown>[] };
  assert.equal(listed.items[0]!.kind, undefined);

  const sender = new EventSender({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`, source: 'wharf/test', log: quietLog, baseDelayMs: 20 });
  const source = new KubernetesEventSource({ clients: makeClients(api.kubeConfig()), sender, log: quietLog, scope: { configMap: { namespace: 'wharf', name: 'wharf' } }, resyncMs: 0, watch: { backoff: { baseMs: 20 } } });
  t.after(() => source.stop());
  await source.start();
  await sender.idle();
  const adds = sent.length;
  assert.equal(adds, 8);

  // Watched: an update and a delete.
  api.put({ ...service('cafe'), metadata: { name: 'cafe', namespace: 'default', labels: { v: '2' } } });
  api.remove('Secret', 'default', 'htpasswd');
  await eventually(() => sent.some((s) => s.type === 'io.wharf.resource.delete' && s.subject === 'Secret/default/htpasswd'));
  // Learnt from a list after 410 Gone: the watches drop, an Ingress goes, the history is compacted.
  api.dropWatches();
  api.remove('Ingress', 'default', 'tea');
  api.compact();
  await eventually(() => sent.some((s) => s.type === 'io.wharf.resource.delete' && s.subject === 'Ingress/default/tea'), 5000);
  assert.ok(source.watchers.find((w) => w.spec.kind === 'Ingress')!.stats.gone >= 1, 'the Ingress watch listed again after 410');
  // A resync: every object again, from lists.
  const before = sent.length;
  source.resync();
  await eventually(() => sent.length >= before + 6, 5000);
  await sender.idle();

  const types = new Set(sent.map((s) => s.type));
  assert.deepEqual([...types].sort(), ['io.wharf.resource.add', 'io.wharf.resource.delete', 'io.wharf.resource.update']);
  for (const s of sent) {
    const kind = s.data.kind;
    assert.ok(isKind(kind), `${s.type} ${s.subject}: kind ${JSON.stringify(kind)}`);
    assert.equal(s.data.apiVersion, API_VERSIONS[kind], `${s.type} ${s.subject}`);
    assert.equal(s.subject.split('/')[0], kind);
  }
  const cafe = sent.filter((s) => s.subject === 'Ingress/default/cafe');
  assert.ok(cafe.length >= 2, 'the first list and the resync');
  for (const s of cafe) {
    assert.equal(s.data.metadata?.managedFields, undefined);
    assert.deepEqual(s.data.metadata?.annotations, { team: 'coffee' });
  }
});
