// `wharf handler` (startHandler) in the test process against the test API server, as a replica runs
// in a cluster: it lists and watches with its own credentials (`identity`, also its Lease holder),
// writes status and Events, and publishes the address of the `wharf/wharf-nginx` Service. Short
// Lease and retry timings, so tests of ownership and status do not wait long.
import { makeClients } from '../../src/cluster/kubernetes-client.ts';
import { KubernetesReader } from '../../src/cluster/kubernetes-reader.ts';
import { startHandler, type RunningHandler } from '../../src/handlers/serve.ts';
import { CONTROLLER_NAME } from '../../src/model/index.ts';
import type { Logger } from '../../src/log.ts';
import type { FakeApiServer } from './kube-apiserver.ts';
import { quietLog } from './kube-apiserver-fixtures.ts';

export const HANDLER_TOKEN = 'handler-against-api-token-0123456789';

export interface HandlerAgainstApi {
  /** The replica's name: its API credentials and its Lease holder. */
  identity: string;
  /** Agent URLs to push to (default none). */
  agents?: string[];
  /** The global ConfigMap (`wharf/wharf`): watched, and read for settings. */
  configMap?: boolean;
  /** The TCP services ConfigMap (`wharf/tcp-services`): watched and read (--tcp-services-configmap). */
  tcpServices?: boolean;
  /** How often the agents' quarantined fragments are asked for (default the handler's own). */
  quarantinePollMs?: number;
  log?: Logger;
}

/** Starts one replica; the caller closes it. */
export function startHandlerAgainst(api: FakeApiServer, o: HandlerAgainstApi): Promise<RunningHandler> {
  const clients = makeClients(api.kubeConfig(o.identity));
  const scope = {
    ...(o.configMap ? { configMap: { namespace: 'wharf', name: 'wharf' } } : {}),
    ...(o.tcpServices ? { streamConfigMaps: [{ namespace: 'wharf', name: 'tcp-services' }] } : {}),
  };
  return startHandler({
    host: '127.0.0.1',
    port: 0,
    tls: null,
    agents: o.agents ?? [],
    agentService: null,
    agentToken: HANDLER_TOKEN,
    eventsToken: HANDLER_TOKEN,
    relistIntervalMs: 3_600_000,
    controller: { controllerName: CONTROLLER_NAME, ingressClassName: 'wharf', watchIngressWithoutClass: false, ...(o.configMap ? { configMap: 'wharf/wharf' } : {}), ...(o.tcpServices ? { tcpServicesConfigMap: 'wharf/tcp-services' } : {}) },
    reader: new KubernetesReader(clients, scope),
    watch: { clients, scope, backoff: { baseMs: 20 } },
    status: {
      clients,
      publish: { service: { namespace: 'wharf', name: 'wharf-nginx' } },
      leaseNamespace: 'wharf',
      identity: o.identity,
      renewIntervalMs: 100,
      leaseDurationMs: 1500,
      retryMs: 50,
      ...(o.quarantinePollMs ? { quarantinePollMs: o.quarantinePollMs } : {}),
    },
    log: o.log ?? quietLog,
  });
}
