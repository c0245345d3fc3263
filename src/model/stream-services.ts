// ingress-nginx's TCP and UDP services: the ConfigMaps named by --tcp-services-configmap and
// --udp-services-configmap, whose keys are the ports clients connect to and whose values name the
// Service behind each, `namespace/service:port[:PROXY[:PROXY]]` (the port by number or name). As in
// ingress-nginx, the third field accepts the PROXY protocol from clients (decoding, on `listen`) and
// the fourth sends it to the backend (encoding, on proxy_pass); both are TCP only. Every entry is
// checked here, and each problem names its key and the reason; a bad entry is left out, the others
// are served. Pure.
import type { ObjectKey } from './cluster-state.ts';
import type { ConfigMap } from './schemas.ts';
import { ProblemList } from './problems.ts';
import type { ObjectRef, Problem, StreamRoute } from './types.ts';

/** A DNS-1123 label: namespaces and Service names. */
const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** An IANA service name: a Service port's name. */
const PORT_NAME = /^(?=.{1,15}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const PORT_KEY = /^[1-9][0-9]{0,4}$/;

/** What the two ConfigMaps give: their routes (sorted by protocol, then port) and their problems. */
export interface StreamServices {
  routes: StreamRoute[];
  problems: Problem[];
}

/**
 * The TCP ports others hold (NGINX's own 80 and 443, and Gateway listeners' ports but UDP ones), by
 * port: who holds it. A Gateway listener wins its port over an entry, whatever their ages.
 */
export type HttpPorts = ReadonlyMap<number, string>;

function refOf(cm: ConfigMap): ObjectRef {
  return { kind: 'ConfigMap', namespace: cm.metadata.namespace, name: cm.metadata.name, ...(cm.metadata.uid ? { uid: cm.metadata.uid } : {}) };
}

/**
 * The routes of one services ConfigMap. `protocol` says which flag named it. Ports the HTTP side
 * holds are refused for TCP (NGINX cannot listen twice on one port); UDP may share them, but not
 * the ports of UDP listeners (`udpPorts`).
 */
export function parseStreamConfigMap(cm: ConfigMap, protocol: 'TCP' | 'UDP', httpPorts: HttpPorts, udpPorts: HttpPorts = new Map()): StreamServices {
  const problems = new ProblemList(refOf(cm));
  const routes: StreamRoute[] = [];
  for (const key of Object.keys(cm.data).sort((a, b) => Number(a) - Number(b) || (a < b ? -1 : 1))) {
    const field = `data[${key}]`;
    const value = cm.data[key]!;
    if (!PORT_KEY.test(key) || Number(key) > 65535) {
      problems.invalid('InvalidPort', field, key, 'the key must be the port clients connect to (1-65535)');
      continue;
    }
    const port = Number(key);
    const held = protocol === 'TCP' ? httpPorts : udpPorts;
    if (held.has(port)) {
      problems.invalid('PortConflict', field, key, `${protocol === 'UDP' ? 'UDP ' : ''}port ${port} is held by ${held.get(port)}: choose another port`);
      continue;
    }
    const parts = value.trim().split(':');
    const target = parts[0] ?? '';
    const slash = target.indexOf('/');
    const namespace = slash > 0 ? target.slice(0, slash) : '';
    const service = slash > 0 ? target.slice(slash + 1) : '';
    if (parts.length < 2 || parts.length > 4 || !LABEL.test(namespace) || !LABEL.test(service)) {
      problems.invalid('InvalidServiceReference', field, value, 'expected namespace/service:port[:PROXY[:PROXY]] (namespace and service: lowercase DNS labels)');
      continue;
    }
    const portText = parts[1]!;
    let servicePort: number | string;
    if (/^[0-9]+$/.test(portText)) {
      servicePort = Number(portText);
      if (servicePort < 1 || servicePort > 65535) {
        problems.invalid('InvalidServiceReference', field, value, `the Service port ${portText} is not a port (1-65535)`);
        continue;
      }
    } else if (PORT_NAME.test(portText)) {
      servicePort = portText;
    } else {
      problems.invalid('InvalidServiceReference', field, value, 'the Service port must be a number or a port name (lowercase, at most 15 characters)');
      continue;
    }
    const flags = parts.slice(2);
    const bad = flags.find((f) => f !== '' && f.toUpperCase() !== 'PROXY');
    if (bad !== undefined) {
      problems.invalid('InvalidProxyProtocol', field, value, `the third and fourth fields may only be PROXY or empty, not ${JSON.stringify(bad)}`);
      continue;
    }
    const fromClient = flags[0]?.toUpperCase() === 'PROXY';
    const toBackend = flags[1]?.toUpperCase() === 'PROXY';
    if (protocol === 'UDP' && (fromClient || toBackend)) {
      problems.invalid('ProxyProtocolIgnored', field, value, 'the PROXY protocol is for TCP services only: ignored', 'warning');
    }
    routes.push({
      protocol,
      port,
      backend: { namespace, service, port: servicePort },
      proxyProtocol: { fromClient: protocol === 'TCP' && fromClient, toBackend: protocol === 'TCP' && toBackend },
      source: refOf(cm),
      field,
    });
  }
  return { routes, problems: problems.items };
}

/** Both ConfigMaps (either may be absent). */
export function streamServices(tcp: ConfigMap | null, udp: ConfigMap | null, httpPorts: HttpPorts, udpPorts: HttpPorts = new Map()): StreamServices {
  const a = tcp ? parseStreamConfigMap(tcp, 'TCP', httpPorts) : { routes: [], problems: [] };
  const b = udp ? parseStreamConfigMap(udp, 'UDP', httpPorts, udpPorts) : { routes: [], problems: [] };
  return { routes: [...a.routes, ...b.routes], problems: [...a.problems, ...b.problems] };
}

/** Which of the settings' services ConfigMaps `key` is, if any. */
export function streamConfigMapRole(key: ObjectKey, settings: { tcpServicesConfigMap?: ObjectKey; udpServicesConfigMap?: ObjectKey }): 'TCP' | 'UDP' | null {
  if (settings.tcpServicesConfigMap !== undefined && key === settings.tcpServicesConfigMap) return 'TCP';
  if (settings.udpServicesConfigMap !== undefined && key === settings.udpServicesConfigMap) return 'UDP';
  return null;
}
