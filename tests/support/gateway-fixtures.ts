// Small builders of Gateway API objects (and Namespaces) for tests against the fake API server.
import type { Obj } from './kube-apiserver-store.ts';

export const GATEWAY_GROUP = 'gateway.networking.k8s.io';
const apiVersion = `${GATEWAY_GROUP}/v1`;

export function gatewayClass(name = 'wharf', controllerName = 'wharf.io/gateway-controller'): Obj {
  return { apiVersion, kind: 'GatewayClass', metadata: { name }, spec: { controllerName } };
}

export function gateway(name: string, namespace = 'default', listeners: Obj[] = [{ name: 'http', port: 80, protocol: 'HTTP' }], className = 'wharf'): Obj {
  return { apiVersion, kind: 'Gateway', metadata: { name, namespace }, spec: { gatewayClassName: className, listeners } };
}

export function httpRoute(name: string, namespace = 'default', parents: Obj[] = [{ name: 'gw' }], hostnames: string[] = [`${name}.example.com`]): Obj {
  return { apiVersion, kind: 'HTTPRoute', metadata: { name, namespace }, spec: { parentRefs: parents, hostnames, rules: [{ backendRefs: [{ name, port: 80 }] }] } };
}

export function grpcRoute(name: string, namespace = 'default', parents: Obj[] = [{ name: 'gw' }]): Obj {
  return { apiVersion, kind: 'GRPCRoute', metadata: { name, namespace }, spec: { parentRefs: parents, rules: [{ backendRefs: [{ name, port: 50051 }] }] } };
}

export function referenceGrant(name: string, namespace: string, fromNamespace: string): Obj {
  return { apiVersion, kind: 'ReferenceGrant', metadata: { name, namespace }, spec: { from: [{ group: GATEWAY_GROUP, kind: 'HTTPRoute', namespace: fromNamespace }], to: [{ group: '', kind: 'Service' }] } };
}

export function namespace(name: string, labels: Record<string, string> = {}): Obj {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}
