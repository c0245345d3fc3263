// A kind whose API the cluster does not serve (404) is neither an outage to retry fast nor a reason
// to stop the others. Before, the feed waited forever for its first list, so the view never synced.
// Against the test API server: the feed syncs without it, and takes it in when it appears; a stream
// whose API goes away reports its objects gone and asks again slowly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeApiServer } from '../support/kube-apiserver.ts';
import { endpointSlice, ingress, ingressClass, quietLog, service } from '../support/kube-apiserver-fixtures.ts';
import { eventually } from '../support/http.ts';
import { ApiPresence } from '../../src/cluster/api-presence.ts';
import { makeClients } from '../../src/cluster/kubernetes-client.ts';
import { KubernetesViewFeed } from '../../src/cluster/kubernetes-view-feed.ts';
import { KubernetesEventSource } from '../../src/cluster/source.ts';
import { StreamWatcher, type StreamEvent } from '../../src/cluster/kubernetes-watch.ts';
import { MemoryView } from '../../src/cluster/view-memory.ts';

test('the feed syncs the view without a kind whose API is not served, and takes the kind in when the API appears', { timeout: 20_000 }, async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.withdrawApi('discovery.k8s.io/v1');
  api.put(ingressClass('wharf'));
  api.put(ingress('cafe'));
  api.put(service('cafe'));
  api.put(endpointSlice('cafe-1', 'cafe'));
  const view = new MemoryView();
  const presence = new ApiPresence({ log: quietLog });
  const feed = new KubernetesViewFeed({ clients: makeClients(api.kubeConfig()), sink: view, log: quietLog, presence, watch: { backoff: { baseMs: 20 }, notServedRetryMs: 100 } });
  t.after(() => feed.stop());
  await feed.start();
  assert.equal(view.synced, true);
  assert.equal(view.counts().Ingress, 1);
  assert.equal(view.counts().EndpointSlice, 0);
  assert.deepEqual(presence.missing().map((m) => m.groupVersion), ['discovery.k8s.io/v1']);
  assert.deepEqual(feed.streams().filter((s) => s.state !== 'listed').map((s) => `${s.stream} ${s.state} ${s.required}`), ['EndpointSlice not-served true']);
  // Asked again slowly (every 100 ms here), not in a tight loop.
  const asked = () => api.requests.filter((r) => r.path.includes('endpointslices')).length;
  const before = asked();
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(asked() - before <= 7, `${asked() - before} requests in 500 ms`);

  api.restoreApi('discovery.k8s.io/v1');
  assert.ok(await eventually(() => view.counts().EndpointSlice === 1, 5000), 'the EndpointSlice was not taken in');
  assert.deepEqual(presence.missing(), []);
  api.put(endpointSlice('cafe-2', 'cafe'));
  assert.ok(await eventually(() => view.counts().EndpointSlice === 2, 5000), 'the new stream does not watch');
});

test('a stream whose API goes away reports its objects gone, and lists them again when it is back', { timeout: 20_000 }, async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.put(endpointSlice('cafe-1', 'cafe'));
  const events: StreamEvent[] = [];
  let notServed = 0;
  const w = new StreamWatcher({
    clients: makeClients(api.kubeConfig()),
    spec: { kind: 'EndpointSlice', namespace: '' },
    log: quietLog,
    backoff: { baseMs: 20 },
    notServedRetryMs: 100,
    onEvent: (e) => events.push(e),
    onNotServed: () => notServed++,
  });
  t.after(() => w.stop());
  w.start();
  await eventually(() => api.openWatches('EndpointSlice') === 1, 5000);
  api.withdrawApi('discovery.k8s.io/v1');
  assert.ok(await eventually(() => w.notServed, 5000));
  const lists = () => events.filter((e): e is Extract<StreamEvent, { type: 'listed' }> => e.type === 'listed');
  const emptied = lists().at(-1)!;
  assert.deepEqual(emptied.items, []);
  assert.deepEqual(emptied.gone.map((o) => o.metadata.name), ['cafe-1']);
  assert.ok(notServed >= 1);
  assert.match(w.lastError ?? '', /404/);
  api.restoreApi('discovery.k8s.io/v1');
  assert.ok(await eventually(() => !w.notServed && lists().at(-1)!.items.length === 1, 5000));
  assert.equal(w.lastError, null);
});

test('`wharf source` starts without a kind whose API is not served (it waited for it forever), and sends its objects when it appears', { timeout: 20_000 }, async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.withdrawApi('discovery.k8s.io/v1');
  api.put(ingress('cafe'));
  api.put(endpointSlice('cafe-1', 'cafe'));
  const sent: string[] = [];
  const source = new KubernetesEventSource({
    clients: makeClients(api.kubeConfig()),
    sender: { send: (e) => void sent.push(`${e.type} ${e.subject}`), idle: async () => {}, close: () => {} },
    log: quietLog,
    resyncMs: 0,
    watch: { backoff: { baseMs: 20 }, notServedRetryMs: 100 },
  });
  t.after(() => source.stop());
  await source.start();
  assert.ok(sent.includes('io.wharf.resource.add Ingress/default/cafe'));
  assert.ok(!sent.some((s) => s.includes('EndpointSlice')));
  api.restoreApi('discovery.k8s.io/v1');
  assert.ok(await eventually(() => sent.includes('io.wharf.resource.add EndpointSlice/default/cafe-1'), 5000), sent.join('\n'));
});
