// The cluster view under imperfect event delivery: duplicates, reordering, late events of deleted
// objects, and relists that overtake or are overtaken by events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryView } from '../../src/cluster/view-memory.ts';
import { MemoryReader } from '../../src/cluster/view-memory-reader.ts';
import { relist } from '../../src/cluster/view-relist.ts';
import { compareVersions, keyOf, type Change, type KubeObject } from '../../src/cluster/view.ts';

const service = (name: string, port = 80): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { ports: [{ port }] } });
const change = (w: { action: Change['action']; object: KubeObject }): Change => ({ action: w.action, key: keyOf(w.object), resourceVersion: w.object.metadata.resourceVersion!, object: w.object });
const portOf = (o: KubeObject | null) => (o ? (o.spec as { ports: { port: number }[] }).ports[0]!.port : null);

test('resourceVersions compare as integers of any length, opaque strings only as equal or not', () => {
  const cases: [string, string, -1 | 0 | 1 | null][] = [
    ['9', '10', -1],
    ['10', '9', 1],
    ['0010', '10', 0],
    ['123456789012345678901234567890', '123456789012345678901234567891', -1],
    ['abc', 'abc', 0],
    ['abc', 'abd', null],
    ['10', 'x', null],
  ];
  for (const [a, b, want] of cases) assert.equal(compareVersions(a, b), want, `${a} vs ${b}`);
});

test('an older or duplicated update never overwrites a newer one, whatever the order', () => {
  const api = new MemoryReader();
  const v1 = api.put(service('web', 80));
  const v2 = api.put(service('web', 81));
  const v3 = api.put(service('web', 82));
  for (const order of [[v1, v2, v3], [v3, v2, v1], [v2, v3, v1, v3, v2], [v1, v3, v1]]) {
    const view = new MemoryView();
    for (const w of order) view.apply(change(w));
    assert.equal(portOf(view.get(keyOf(v3.object))), 82, `order ${order.map((w) => w.object.metadata.resourceVersion).join(',')}`);
  }
  const view = new MemoryView();
  assert.equal(view.apply(change(v2)).outcome, 'applied');
  assert.equal(view.apply(change(v2)).outcome, 'duplicate');
  const stale = view.apply(change(v1));
  assert.equal(stale.outcome, 'stale');
  assert.match((stale as { reason: string }).reason, /Service default\/web at resourceVersion 1001 is older than the held 1002/);
});

test('a delete leaves a tombstone: a late add or update of the deleted object is ignored, a re-creation is not', () => {
  const api = new MemoryReader();
  const added = api.put(service('web'));
  const updated = api.put(service('web', 81));
  const deleted = api.delete(keyOf(added.object))!;
  const view = new MemoryView();
  assert.equal(view.apply(change(deleted)).outcome, 'applied');
  assert.equal(view.apply(change(updated)).outcome, 'stale');
  assert.equal(view.apply(change(added)).outcome, 'stale');
  assert.equal(view.get(keyOf(added.object)), null);
  assert.equal(view.versionOf(keyOf(added.object)), Number(deleted.object.metadata.resourceVersion));
  const recreated = api.put(service('web', 90));
  assert.equal(view.apply(change(recreated)).outcome, 'applied');
  assert.equal(portOf(view.get(keyOf(added.object))), 90);
});

test('a delete reports the object it removed; deleting twice changes nothing', () => {
  const api = new MemoryReader();
  const added = api.put(service('web'));
  const deleted = api.delete(keyOf(added.object))!;
  const view = new MemoryView();
  view.apply(change(added));
  const r = view.apply(change(deleted));
  assert.equal(r.outcome, 'applied');
  assert.equal(portOf((r as { previous: KubeObject }).previous), 80);
  assert.equal(view.apply(change(deleted)).outcome, 'duplicate');
});

test('a relist replaces the state, but keeps what events newer than the list brought', async () => {
  const api = new MemoryReader();
  const a = api.put(service('a'));
  api.put(service('b'));
  const view = new MemoryView();
  assert.equal(view.synced, false);
  await relist(view, api);
  assert.equal(view.synced, true);
  assert.deepEqual([...view.list('Service')].map((o) => o.metadata.name).sort(), ['a', 'b']);

  // b is deleted and c created, but the events are lost; a's update arrives, then the list is taken
  // before a later update whose event overtakes the list.
  api.delete({ kind: 'Service', namespace: 'default', name: 'b' });
  api.put(service('c'));
  const listed = { Service: await api.list('Service') };
  const a2 = api.put(service('a', 8080));
  view.apply(change(a2));
  const result = view.replace(listed);
  assert.deepEqual([...view.list('Service')].map((o) => `${o.metadata.name}:${portOf(o)}`).sort(), ['a:8080', 'c:80']);
  assert.deepEqual(result.changed.map((c) => `${c.key.name}:${portOf(c.previous)}->${portOf(c.current)}`).sort(), ['b:80->null', 'c:null->80']);

  // An add of b older than the list is stale: b was deleted before the list was taken.
  assert.equal(view.apply(change({ action: 'add', object: { ...a.object, metadata: { ...a.object.metadata, name: 'b' } } })).outcome, 'stale');
});

test('a relist forgets tombstones older than the list, but not newer ones', async () => {
  const api = new MemoryReader();
  const a = api.put(service('a'));
  const view = new MemoryView();
  await relist(view, api);
  const listed = await api.list('Service');
  const deleted = api.delete(keyOf(a.object))!;
  view.apply(change(deleted));
  view.replace({ Service: listed });
  assert.equal(view.get(keyOf(a.object)), null, 'the delete after the list stays');
  assert.equal(view.tombstones(), 1);
  await relist(view, api);
  assert.equal(view.tombstones(), 0);
  assert.equal(view.apply(change(a)).outcome, 'stale', 'the list version still refuses the old add');
});

test('objects a keep filter refuses are never held', () => {
  const view = new MemoryView({ keep: (o) => o.kind !== 'Secret' || o.type === 'kubernetes.io/tls' });
  const api = new MemoryReader();
  const helm = api.put({ apiVersion: 'v1', kind: 'Secret', type: 'helm.sh/release.v1', metadata: { name: 'sh.helm.release.v1.x.v1', namespace: 'default' }, data: {} });
  assert.equal(view.apply(change(helm)).outcome, 'ignored');
  assert.equal(view.counts().Secret, 0);
});

test('the view holds objects without managedFields and kubectl\'s last-applied copy, and changes nothing it is given', () => {
  const applied = (rv: string): KubeObject => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: 'web',
      namespace: 'default',
      resourceVersion: rv,
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"apiVersion":"networking.k8s.io/v1","kind":"Ingress"}\n', 'nginx.ingress.kubernetes.io/proxy-body-size': '8m' },
      managedFields: [{ manager: 'kubectl-client-side-apply', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } }],
    },
    spec: { ingressClassName: 'wharf' },
  });
  const event = applied('7');
  const listed = applied('5');
  const fromEvent = new MemoryView();
  fromEvent.apply(change({ action: 'add', object: event }));
  const fromList = new MemoryView();
  fromList.replace({ Ingress: { resourceVersion: '5', items: [listed] } });
  for (const [how, view] of [['event', fromEvent], ['list', fromList]] as const) {
    const held = view.get(keyOf(event))!;
    assert.equal(held.metadata.managedFields, undefined, how);
    assert.deepEqual(held.metadata.annotations, { 'nginx.ingress.kubernetes.io/proxy-body-size': '8m' }, how);
    assert.deepEqual(held.spec, { ingressClassName: 'wharf' }, how);
  }
  assert.equal((event.metadata.managedFields as unknown[]).length, 1, 'the event object is left as it was');
  assert.ok('kubectl.kubernetes.io/last-applied-configuration' in (listed.metadata.annotations as object), 'the listed object is left as it was');
  // Nothing to leave out: the object itself is held.
  const plain = service('plain');
  plain.metadata.resourceVersion = '9';
  fromEvent.apply(change({ action: 'add', object: plain }));
  assert.equal(fromEvent.get(keyOf(plain)), plain);
});
