// The pieces together, as in a cluster without Knative: a handler that lists through the Kubernetes
// reader, and `wharf source` posting changes to its /events, both against the fake API server. The
// handler's view follows the cluster through the events (its periodic relist is far away).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeApiServer } from '../support/kube-apiserver.ts';
import { configMap, endpointSlice, ingress, ingressClass, quietLog, secret, service } from '../support/kube-apiserver-fixtures.ts';
import { eventually } from '../support/http.ts';
import { EventSender } from '../../src/cluster/event-sender.ts';
import { makeClients } from '../../src/cluster/kubernetes-client.ts';
import { KubernetesReader } from '../../src/cluster/kubernetes-reader.ts';
import { KubernetesEventSource } from '../../src/cluster/source.ts';
import { startHandler } from '../../src/handlers/serve.ts';
import { CONTROLLER_NAME } from '../../src/model/index.ts';

const SCOPE = { configMap: { namespace: 'wharf', name: 'wharf' } };
/** No Gateway API object: the kinds are read (and counted) all the same. */
const NO_GATEWAY_API = { GatewayClass: 0, Gateway: 0, HTTPRoute: 0, GRPCRoute: 0, TLSRoute: 0, TCPRoute: 0, UDPRoute: 0, ReferenceGrant: 0, Namespace: 0 };

test('a handler listing through the Kubernetes reader and fed by `wharf source` follows the cluster', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.put(ingressClass('wharf'));
  api.put(ingress('cafe'));
  api.put(service('cafe'));
  api.put(endpointSlice('cafe-1', 'cafe'));
  api.put(secret('cafe-tls', 'kubernetes.io/tls'));
  api.put(configMap('wharf', 'wharf'));

  const handler = await startHandler({
    host: '127.0.0.1',
    port: 0,
    tls: null,
    agents: [],
    agentService: null,
    agentToken: 'agent-token-0123456789',
    eventsToken: 'events-token-0123456789',
    relistIntervalMs: 3_600_000,
    controller: { controllerName: CONTROLLER_NAME, ingressClassName: 'wharf', watchIngressWithoutClass: false, configMap: 'wharf/wharf' },
    reader: new KubernetesReader(makeClients(api.kubeConfig('handler')), SCOPE),
    log: quietLog,
  });
  t.after(() => handler.close());
  const objects = async () => ((await (await fetch(`${handler.url}/readyz`)).json()) as { objects: Record<string, number> }).objects;
  assert.deepEqual(await objects(), { Ingress: 1, IngressClass: 1, Service: 1, EndpointSlice: 1, Secret: 1, ConfigMap: 1, ...NO_GATEWAY_API });

  const sender = new EventSender({ url: `${handler.url}/events`, source: 'wharf/test', token: 'events-token-0123456789', log: quietLog, maxAttempts: Number.POSITIVE_INFINITY, baseDelayMs: 20 });
  const source = new KubernetesEventSource({ clients: makeClients(api.kubeConfig('source')), sender, log: quietLog, scope: SCOPE, resyncMs: 0 });
  t.after(() => source.stop());
  await source.start();
  await sender.idle();
  assert.equal(sender.stats.dropped, 0, 'the handler took every add (duplicates of its list included)');

  api.put(ingress('tea'));
  api.put(service('tea'));
  api.remove('Secret', 'default', 'cafe-tls');
  await eventually(async () => JSON.stringify(await objects()) === JSON.stringify({ Ingress: 2, IngressClass: 1, Service: 2, EndpointSlice: 1, Secret: 0, ConfigMap: 1, ...NO_GATEWAY_API }));
  assert.deepEqual(await objects(), { Ingress: 2, IngressClass: 1, Service: 2, EndpointSlice: 1, Secret: 0, ConfigMap: 1, ...NO_GATEWAY_API });
  await sender.idle();
  assert.equal(sender.stats.dropped, 0);

  // The source's watches drop; meanwhile an Ingress is deleted and etcd compacts: the source lists
  // again (410) and sends the delete with the object's last state, which the handler accepts.
  api.dropWatches();
  api.remove('Ingress', 'default', 'tea');
  api.compact();
  await eventually(async () => (await objects()).Ingress === 1);
  await sender.idle();
  assert.equal(sender.stats.dropped, 0);
  assert.ok(source.watchers.find((w) => w.spec.kind === 'Ingress')!.stats.gone >= 1);
  // The handler listed once; everything after came as events.
  assert.equal(api.requests.filter((r) => r.user === 'handler' && r.path.endsWith('/ingresses')).length, 1);
});
