// Small builders of the objects wharf reads, for tests against the fake API server, and a logger that
// keeps quiet unless WHARF_TEST_LOG is set.
import { createLogger, type Logger } from '../../src/log.ts';
import type { Obj } from './kube-apiserver-store.ts';

export const quietLog: Logger = createLogger({ test: true }, process.env.WHARF_TEST_LOG ? (l) => process.stderr.write(l) : () => {});

export function ingress(name: string, namespace = 'default', host = `${name}.example.com`, className: string | null = 'wharf'): Obj {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace },
    spec: {
      ...(className ? { ingressClassName: className } : {}),
      rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name, port: { number: 80 } } } }] } }],
    },
  };
}

export function service(name: string, namespace = 'default', extra: Obj = {}): Obj {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { ports: [{ port: 80, targetPort: 8080 }], ...extra } };
}

export function secret(name: string, type: string, namespace = 'default', labels: Record<string, string> = {}): Obj {
  const data = type === 'kubernetes.io/tls' ? { 'tls.crt': 'Y2VydA==', 'tls.key': 'a2V5' } : { auth: 'dXNlcjokYXByMSR4' };
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, labels }, type, data };
}

export function configMap(name: string, namespace: string, data: Record<string, string> = {}): Obj {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}

export function ingressClass(name: string, controller = 'wharf.io/ingress-controller'): Obj {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name }, spec: { controller } };
}

export function endpointSlice(name: string, serviceName: string, namespace = 'default', ips: string[] = ['10.0.0.1']): Obj {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace, labels: { 'kubernetes.io/service-name': serviceName } },
    addressType: 'IPv4',
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    ports: [{ port: 8080, protocol: 'TCP' }],
  };
}
