// Kubernetes objects, CloudEvents and AdmissionReviews for the handler tests, as the API server and
// the event sources would send them.
import type { KubeObject } from '../../src/cluster/view.ts';

export const TOKEN = 'test-token-0123456789abcdef';

export interface PathSpec {
  path: string;
  pathType?: 'Exact' | 'Prefix' | 'ImplementationSpecific';
  service?: string;
  port?: number | string;
}

export function ingress(
  name: string,
  host: string | null,
  paths: PathSpec[] = [{ path: '/' }],
  extra: { namespace?: string; annotations?: Record<string, string>; tls?: { hosts: string[]; secretName: string }[]; creationTimestamp?: string } = {},
): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name,
      namespace: extra.namespace ?? 'default',
      ...(extra.annotations ? { annotations: extra.annotations } : {}),
      ...(extra.creationTimestamp ? { creationTimestamp: extra.creationTimestamp } : {}),
    },
    spec: {
      ingressClassName: 'wharf',
      ...(extra.tls ? { tls: extra.tls } : {}),
      rules: [
        {
          ...(host ? { host } : {}),
          http: {
            paths: paths.map((p) => ({
              path: p.path,
              pathType: p.pathType ?? 'Prefix',
              backend: { service: { name: p.service ?? 'web', port: typeof (p.port ?? 80) === 'number' ? { number: p.port ?? 80 } : { name: p.port } } },
            })),
          },
        },
      ],
    },
  };
}

export function service(name: string, port = 80, namespace = 'default'): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { ports: [{ name: 'http', port, targetPort: 8080 }] } };
}

/** An EndpointSlice of `service` with ready endpoints "ip:port" (all on one port). */
export function endpointSlice(serviceName: string, endpoints: string[], namespace = 'default', name = `${serviceName}-abc`): KubeObject {
  const port = endpoints.length ? Number(endpoints[0]!.split(':').pop()) : 8080;
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace, labels: { 'kubernetes.io/service-name': serviceName } },
    addressType: 'IPv4',
    endpoints: endpoints.map((e) => ({ addresses: [e.split(':')[0]!], conditions: { ready: true } })),
    ports: [{ name: 'http', port, protocol: 'TCP' }],
  };
}

export function tlsSecret(name: string, cert: string, key: string, namespace = 'default'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name, namespace },
    data: { 'tls.crt': Buffer.from(cert).toString('base64'), 'tls.key': Buffer.from(key).toString('base64') },
  };
}

/** A structured-mode CloudEvent body. */
export function structured(type: string, data: unknown, id = `e-${Math.random().toString(36).slice(2)}`): Record<string, unknown> {
  return { specversion: '1.0', id, source: 'test', type, datacontenttype: 'application/json', data };
}

/** Request init for a batch of CloudEvents of wharf's own type for the given writes. */
export function batchOf(writes: { action: string; object: KubeObject }[], family = 'io.wharf.resource'): RequestInit {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents-batch+json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify(writes.map((w) => structured(`${family}.${w.action}`, w.object))),
  };
}

/** A binary-mode CloudEvent request. */
export function binary(type: string, data: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method: 'POST',
    headers: {
      'ce-specversion': '1.0',
      'ce-id': `b-${Math.random().toString(36).slice(2)}`,
      'ce-source': 'test',
      'ce-type': type,
      'content-type': 'application/json',
      authorization: `Bearer ${TOKEN}`,
      ...headers,
    },
    body: JSON.stringify(data),
  };
}

export function admissionReview(object: unknown, extra: { operation?: string; uid?: string | null; kind?: { group: string; version: string; kind: string } } = {}): Record<string, unknown> {
  const request: Record<string, unknown> = {
    kind: extra.kind ?? { group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' },
    resource: { group: 'networking.k8s.io', version: 'v1', resource: 'ingresses' },
    operation: extra.operation ?? 'CREATE',
    namespace: 'default',
    name: (object as KubeObject | undefined)?.metadata?.name ?? '',
    object,
    userInfo: { username: 'tester' },
  };
  if (extra.uid !== null) request.uid = extra.uid ?? '705ab4f5-6393-11e8-b7cc-42010a800002';
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request };
}
