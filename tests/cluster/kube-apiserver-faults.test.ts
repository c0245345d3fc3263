// The fake API server fails as a real one does, seen through @kubernetes/client-node: watches cut
// after N events or N seconds (by a reset, or a clean end), an outage in which connections are
// refused or reset and after which the server is back on the same port, and a restart after which
// every version from before is 410 Gone. Tests of wharf's recovery rely on each of these.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { FakeApiServer } from '../support/kube-apiserver.ts';
import { ingress } from '../support/kube-apiserver-fixtures.ts';
import { eventually } from '../support/http.ts';

const INGRESSES = '/apis/networking.k8s.io/v1/namespaces/default/ingresses';

/** One watch through client-node: the events it got, and how it ended (null: a clean end). */
function watch(api: FakeApiServer, resourceVersion: string) {
  const events: string[] = [];
  let ended: (err: unknown) => void;
  const done = new Promise<unknown>((r) => (ended = r));
  const opened = new k8s.Watch(api.kubeConfig()).watch(
    INGRESSES,
    { resourceVersion, allowWatchBookmarks: true },
    (type, object: { metadata?: { name?: string }; code?: number }) => events.push(type === 'ERROR' ? `ERROR ${object.code}` : `${type} ${object.metadata?.name}`),
    (err) => ended(err),
  );
  return { events, done, opened };
}

/** The error a client-node call failed with, and the system code beneath it (ECONNREFUSED, …). */
async function failure(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (e) {
    let cause: unknown = e;
    while (cause && typeof cause === 'object' && !('code' in cause) && 'cause' in cause) cause = (cause as { cause: unknown }).cause;
    return String((cause as { code?: string })?.code ?? (e as Error).message);
  }
  return 'answered';
}

for (const how of ['reset', 'end'] as const) {
  test(`a watch cut after N events (${how}): the client gets exactly N, then ${how === 'reset' ? 'an error' : 'the end of the stream'}`, async (t) => {
    const api = await FakeApiServer.start();
    t.after(() => api.close());
    const from = String(api.revision);
    for (const name of ['a', 'b']) api.put(ingress(name));
    const cut = api.cutWatches({ kind: 'Ingress', afterEvents: 3, how, times: 1 });
    const w = watch(api, from);
    await eventually(() => api.openWatches('Ingress') === 1);
    for (const name of ['c', 'd', 'e']) api.put(ingress(name));
    const err = await w.done;
    // The replay (a, b) counts: the third event is the last one the client reads.
    assert.deepEqual(w.events, ['ADDED a', 'ADDED b', 'ADDED c']);
    if (how === 'reset') assert.ok(err instanceof Error, `an error, got ${String(err)}`);
    else assert.equal(err, null);
    assert.equal(cut.cuts, 1);
    // `times: 1`: the next watch is left alone.
    const next = watch(api, from);
    await eventually(() => next.events.length === 5);
    assert.equal(api.openWatches('Ingress'), 1);
    (await next.opened).abort();
  });
}

test('a watch cut after N seconds ends then, not before; one cut now ends at once', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  const cut = api.cutWatches({ kind: 'Ingress', afterSeconds: 0.5 });
  const started = Date.now();
  const w = watch(api, String(api.revision));
  await eventually(() => api.openWatches('Ingress') === 1);
  api.put(ingress('a'));
  const err = await w.done;
  const lasted = Date.now() - started;
  assert.ok(err instanceof Error);
  assert.ok(lasted >= 450 && lasted < 3000, `cut after ${lasted} ms`);
  assert.deepEqual(w.events, ['ADDED a']);
  cut.cancel();
  // Without a rule: every open watch of the kind is cut now.
  const quiet = watch(api, String(api.revision));
  await eventually(() => api.openWatches('Ingress') === 1);
  assert.equal(api.cutWatches({ kind: 'Ingress' }).cuts, 1);
  assert.ok((await quiet.done) instanceof Error);
  assert.equal(api.openWatches(), 0);
});

for (const mode of ['refuse', 'reset'] as const) {
  test(`an outage (${mode === 'refuse' ? 'nothing listens' : 'connections reset'}): open watches are reset, requests fail, then the server is back on the same port with the same objects`, async (t) => {
    const api = await FakeApiServer.start();
    t.after(() => api.close());
    const cafe = api.put(ingress('cafe'));
    const client = api.kubeConfig().makeApiClient(k8s.NetworkingV1Api);
    const w = watch(api, String(api.revision));
    await eventually(() => api.openWatches('Ingress') === 1);
    api.down(mode);
    assert.ok((await w.done) instanceof Error, 'the watch ends with an error');
    assert.equal(api.openWatches(), 0);
    const code = await failure(client.listNamespacedIngress({ namespace: 'default' }));
    if (mode === 'refuse') assert.equal(code, 'ECONNREFUSED');
    else assert.match(code, /ECONNRESET|UND_ERR_SOCKET|other side closed/);
    await api.up();
    const list = await client.listNamespacedIngress({ namespace: 'default' });
    assert.equal(list.metadata?.resourceVersion, cafe.metadata.resourceVersion, 'the same versions');
    assert.deepEqual(list.items.map((i) => i.metadata?.name), ['cafe']);
    // A watch resumed from where the client was replays what it missed.
    api.put(ingress('tea'));
    const resumed = watch(api, cafe.metadata.resourceVersion);
    await eventually(() => resumed.events.length === 1);
    assert.deepEqual(resumed.events, ['ADDED tea']);
    (await resumed.opened).abort();
  });
}

test('a restart: watches are cut, every version from before gets 410 Gone, versions continue from a new base', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  const cafe = api.put(ingress('cafe'));
  api.put(ingress('tea'));
  const before = api.revision;
  const client = api.kubeConfig().makeApiClient(k8s.NetworkingV1Api);
  const page = await client.listNamespacedIngress({ namespace: 'default', limit: 1 });
  assert.ok(page.metadata?._continue, 'a second page to ask for');
  const w = watch(api, String(before));
  await eventually(() => api.openWatches('Ingress') === 1);
  const restarting = api.restart({ downForMs: 300, revisionJump: 1000 });
  assert.ok((await w.done) instanceof Error, 'the open watch is cut');
  assert.equal(await failure(client.listNamespacedIngress({ namespace: 'default' })), 'ECONNREFUSED', 'down while it restarts');
  await restarting;
  // An old version: 410 Gone, as an ERROR event in the stream.
  const old = watch(api, String(before));
  assert.equal(await old.done, null);
  assert.deepEqual(old.events, ['ERROR 410']);
  // So is a continue token from before.
  const cont = await failure(client.listNamespacedIngress({ namespace: 'default', limit: 1, _continue: page.metadata!._continue! }));
  assert.match(cont, /410|too old/);
  // A new list: the objects as they were, at a version at or past the new base.
  const list = await client.listNamespacedIngress({ namespace: 'default' });
  assert.ok(Number(list.metadata!.resourceVersion) >= before + 1000, `listed at ${list.metadata!.resourceVersion}`);
  assert.equal(list.items.find((i) => i.metadata?.name === 'cafe')!.metadata!.resourceVersion, cafe.metadata.resourceVersion);
  const fresh = watch(api, list.metadata!.resourceVersion!);
  await eventually(() => api.openWatches('Ingress') === 1);
  const latte = api.put(ingress('latte'));
  assert.ok(Number(latte.metadata.resourceVersion) > before + 1000);
  await eventually(() => fresh.events.length === 1);
  assert.deepEqual(fresh.events, ['ADDED latte']);
  (await fresh.opened).abort();
});
