// What wharf reads from the API server, kind by kind: the typed list and read calls of client-node,
// the watch path, and the streams (a kind narrowed by namespace and selectors) that make up "the
// objects wharf reads". Objects leave this file as plain wire JSON (the KubeObject the view holds),
// never as client-node's model classes with Date fields.
//
// Least privilege (what the RBAC of a process reading through this file needs):
//   networking.k8s.io  ingresses, ingressclasses      get, list, watch
//   ""                 services                       get, list, watch
//   discovery.k8s.io   endpointslices                 get, list, watch
//   ""                 secrets                        get, list, watch
//   ""                 configmaps                     get, list, watch (resourceNames: [the one ConfigMap])
//   ""                 namespaces                     get, list, watch (labels, for allowedRoutes selectors)
//   gateway.networking.k8s.io  gatewayclasses, gateways, httproutes, grpcroutes, referencegrants
//                                                    get, list, watch
// The Gateway API and Namespace streams are optional: where the CRDs are not installed (404) or
// RBAC does not grant them (403), the stream is an empty list and is tried again slowly
// (kubernetes-watch.ts), and everything else works as before.
// Secrets: RBAC cannot grant by type, so list/watch of Secrets is granted, and what is read is
// narrowed by field selectors: `type=kubernetes.io/tls` (certificates) and `type=Opaque` (basic-auth
// htpasswd Secrets; optionally narrowed further by a label selector, or not read at all). Service
// account tokens, Helm release Secrets, docker configs never leave the API server. The ConfigMap is
// read with `metadata.name=<name>` in its namespace, which RBAC authorizes against resourceNames.
// With a single watched namespace, a Role in that namespace replaces the ClusterRole (IngressClasses
// stay cluster-scoped: a ClusterRole for them alone, and for GatewayClasses and the one Namespace,
// read by name).
//
// The Gateway API kinds are read through CustomObjectsApi at gateway.networking.k8s.io/v1 (every
// kind of the v1.6.1 standard channel is served there). ReferenceGrant is v1 since Gateway API v1.5
// only: where v1 is not served, it is read at v1beta1 (the same schema) and handed on as v1.
import type * as k8s from '@kubernetes/client-node';
import { API_VERSIONS, CLUSTER_SCOPED, type Kind, type KubeObject, type ObjectKey } from './view.ts';
import type { KubeClients } from './kubernetes-client.ts';

/** One list+watch stream: a kind in a namespace ('' = all, or cluster-scoped), with selectors. */
export interface StreamSpec {
  kind: Kind;
  namespace: string;
  fieldSelector?: string;
  labelSelector?: string;
  /** The API may not be served (a CRD that is not installed): a 404 is an empty list, not a failure. */
  optional?: boolean;
  /** The version to read at instead of API_VERSIONS' (an older one the cluster serves; see OLDER_VERSIONS). */
  version?: string;
}

/** Versions a kind is read at where its own is not served, newest first; the objects are the same. */
export const OLDER_VERSIONS: Partial<Record<Kind, string[]>> = { ReferenceGrant: ['v1beta1'] };

/** The version a stream reads at. */
const versionOf = (kind: Kind, version?: string): string => version ?? API_VERSIONS[kind].split('/').at(-1)!;

/** What of the cluster wharf reads. */
export interface WatchScope {
  /** Read one namespace instead of all (a Role instead of a ClusterRole). */
  namespace?: string;
  /** wharf's global ConfigMap, read by name. Absent: no ConfigMap is read. */
  configMap?: { namespace: string; name: string };
  /** The TCP and UDP services ConfigMaps (--tcp-services-configmap, --udp-services-configmap), read by name. */
  streamConfigMaps?: { namespace: string; name: string }[];
  /**
   * The Opaque Secrets that hold basic-auth htpasswd files. Default: every Opaque Secret (what
   * ingress-nginx reads); `{ labelSelector }` narrows them; `false` reads none (no basic auth).
   */
  authSecrets?: { labelSelector?: string } | false;
  /** Read the Gateway API kinds where their CRDs are installed (default true). */
  gatewayApi?: boolean;
}

/** The Gateway API kinds, each an optional stream. */
export const GATEWAY_API_KINDS = ['GatewayClass', 'Gateway', 'HTTPRoute', 'GRPCRoute', 'TLSRoute', 'TCPRoute', 'UDPRoute', 'ReferenceGrant'] as const satisfies readonly Kind[];
export type GatewayApiKind = (typeof GATEWAY_API_KINDS)[number];

export function isGatewayApiKind(kind: Kind): kind is GatewayApiKind {
  return (GATEWAY_API_KINDS as readonly Kind[]).includes(kind);
}

export const TLS_SECRET_TYPE = 'kubernetes.io/tls';

/** The streams that together are every object wharf reads. */
export function streamsFor(scope: WatchScope = {}): StreamSpec[] {
  const ns = scope.namespace ?? '';
  const streams: StreamSpec[] = [
    { kind: 'Ingress', namespace: ns },
    { kind: 'IngressClass', namespace: '' },
    { kind: 'Service', namespace: ns },
    { kind: 'EndpointSlice', namespace: ns },
    { kind: 'Secret', namespace: ns, fieldSelector: `type=${TLS_SECRET_TYPE}` },
  ];
  if (scope.authSecrets !== false) {
    const s: StreamSpec = { kind: 'Secret', namespace: ns, fieldSelector: 'type=Opaque' };
    if (scope.authSecrets?.labelSelector) s.labelSelector = scope.authSecrets.labelSelector;
    streams.push(s);
  }
  if (scope.configMap) streams.push({ kind: 'ConfigMap', namespace: scope.configMap.namespace, fieldSelector: `metadata.name=${scope.configMap.name}` });
  for (const cm of scope.streamConfigMaps ?? []) streams.push({ kind: 'ConfigMap', namespace: cm.namespace, fieldSelector: `metadata.name=${cm.name}` });
  if (scope.gatewayApi !== false) {
    for (const kind of GATEWAY_API_KINDS) streams.push({ kind, namespace: CLUSTER_SCOPED.has(kind) ? '' : ns, optional: true });
    // Namespaces (their labels) matter to Gateways only; one namespace reads its own, by name.
    // Optional too: without them (RBAC of an older release) only label-selected allowedRoutes suffer.
    streams.push(ns ? { kind: 'Namespace', namespace: '', fieldSelector: `metadata.name=${ns}`, optional: true } : { kind: 'Namespace', namespace: '', optional: true });
  }
  return streams;
}

/** `Secret(type=Opaque,app=x)` in all namespaces, for logs. */
export function streamName(s: StreamSpec): string {
  const sel = [s.fieldSelector, s.labelSelector].filter(Boolean).join(',');
  return `${s.kind}${sel ? `(${sel})` : ''}${s.namespace ? ` in ${s.namespace}` : ''}`;
}

const PLURALS: Record<Kind, { group: string; plural: string }> = {
  Ingress: { group: 'networking.k8s.io', plural: 'ingresses' },
  IngressClass: { group: 'networking.k8s.io', plural: 'ingressclasses' },
  Service: { group: '', plural: 'services' },
  EndpointSlice: { group: 'discovery.k8s.io', plural: 'endpointslices' },
  Secret: { group: '', plural: 'secrets' },
  ConfigMap: { group: '', plural: 'configmaps' },
  GatewayClass: { group: 'gateway.networking.k8s.io', plural: 'gatewayclasses' },
  Gateway: { group: 'gateway.networking.k8s.io', plural: 'gateways' },
  HTTPRoute: { group: 'gateway.networking.k8s.io', plural: 'httproutes' },
  GRPCRoute: { group: 'gateway.networking.k8s.io', plural: 'grpcroutes' },
  TLSRoute: { group: 'gateway.networking.k8s.io', plural: 'tlsroutes' },
  TCPRoute: { group: 'gateway.networking.k8s.io', plural: 'tcproutes' },
  UDPRoute: { group: 'gateway.networking.k8s.io', plural: 'udproutes' },
  ReferenceGrant: { group: 'gateway.networking.k8s.io', plural: 'referencegrants' },
  Namespace: { group: '', plural: 'namespaces' },
};

/** `gateway.networking.k8s.io/v1 httproutes`: the API a stream reads, for logs and readiness. */
export function apiOf(kind: Kind): string {
  return `${API_VERSIONS[kind]} ${PLURALS[kind].plural}`;
}

/** The collection path a watch requests (client-node's Watch takes a path, not a typed call). */
export function watchPath(s: StreamSpec): string {
  const { group, plural } = PLURALS[s.kind];
  const base = group ? `/apis/${group}/${versionOf(s.kind, s.version)}` : '/api/v1';
  return s.namespace && !CLUSTER_SCOPED.has(s.kind) ? `${base}/namespaces/${encodeURIComponent(s.namespace)}/${plural}` : `${base}/${plural}`;
}

/**
 * client-node's model object → wire JSON: Dates back to RFC 3339 (metav1.Time has whole seconds),
 * undefined members dropped, and the kind and apiVersion that list items lack put back.
 */
export function toWire(kind: Kind, value: unknown): KubeObject {
  const plain = plainJson(value) as KubeObject;
  plain.apiVersion = API_VERSIONS[kind];
  plain.kind = kind;
  return plain;
}

function plainJson(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString().replace(/\.000Z$/, 'Z');
  if (Array.isArray(value)) return value.map(plainJson);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = plainJson(v);
    return out;
  }
  return value;
}

/** One page of a list. */
export interface ListPage {
  items: KubeObject[];
  resourceVersion: string;
  continueToken?: string;
}

type ListParams = { fieldSelector?: string; labelSelector?: string; limit?: number; _continue?: string };
type AnyList = { items: unknown[]; metadata?: k8s.V1ListMeta };

/** One page of a Gateway API kind (CustomObjectsApi: the answer is already wire JSON). */
async function listCustom(c: KubeClients, kind: Kind, namespace: string, p: ListParams, served?: string): Promise<AnyList> {
  const { group, plural } = PLURALS[kind];
  const version = versionOf(kind, served);
  type Raw = { items: unknown[]; metadata?: { resourceVersion?: string; continue?: string } };
  let raw: Raw;
  if (CLUSTER_SCOPED.has(kind)) raw = await c.custom.listClusterCustomObject({ group, version, plural, ...p });
  else if (namespace) raw = await c.custom.listNamespacedCustomObject({ group, version, namespace, plural, ...p });
  else raw = await c.custom.listCustomObjectForAllNamespaces({ group, version, resourcePlural: plural, ...p });
  // Untyped: the continue token is `continue` on the wire, `_continue` in the typed lists.
  const metadata: k8s.V1ListMeta = {};
  if (raw.metadata?.resourceVersion) metadata.resourceVersion = raw.metadata.resourceVersion;
  if (raw.metadata?.continue) metadata._continue = raw.metadata.continue;
  return { items: raw.items ?? [], metadata };
}

/** Lists one page of a stream with the typed call for its kind. */
export async function listPage(c: KubeClients, s: StreamSpec, limit: number, continueToken?: string): Promise<ListPage> {
  const p: ListParams = { limit };
  if (s.fieldSelector) p.fieldSelector = s.fieldSelector;
  if (s.labelSelector) p.labelSelector = s.labelSelector;
  if (continueToken) p._continue = continueToken;
  const ns = s.namespace;
  let list: AnyList;
  switch (s.kind) {
    case 'Ingress':
      list = ns ? await c.networking.listNamespacedIngress({ namespace: ns, ...p }) : await c.networking.listIngressForAllNamespaces(p);
      break;
    case 'IngressClass':
      list = await c.networking.listIngressClass(p);
      break;
    case 'Service':
      list = ns ? await c.core.listNamespacedService({ namespace: ns, ...p }) : await c.core.listServiceForAllNamespaces(p);
      break;
    case 'EndpointSlice':
      list = ns ? await c.discovery.listNamespacedEndpointSlice({ namespace: ns, ...p }) : await c.discovery.listEndpointSliceForAllNamespaces(p);
      break;
    case 'Secret':
      list = ns ? await c.core.listNamespacedSecret({ namespace: ns, ...p }) : await c.core.listSecretForAllNamespaces(p);
      break;
    case 'ConfigMap':
      list = ns ? await c.core.listNamespacedConfigMap({ namespace: ns, ...p }) : await c.core.listConfigMapForAllNamespaces(p);
      break;
    case 'Namespace':
      list = await c.core.listNamespace(p);
      break;
    default:
      list = await listCustom(c, s.kind, ns, p, s.version);
  }
  const page: ListPage = { items: list.items.map((i) => toWire(s.kind, i)), resourceVersion: list.metadata?.resourceVersion ?? '' };
  if (list.metadata?._continue) page.continueToken = list.metadata._continue;
  return page;
}

/** Reads one object with the typed call for its kind (throws client-node's ApiException, 404 included). */
export async function readObject(c: KubeClients, key: ObjectKey, served?: string): Promise<KubeObject> {
  const { name, namespace } = key;
  let o: unknown;
  switch (key.kind) {
    case 'Ingress':
      o = await c.networking.readNamespacedIngress({ name, namespace });
      break;
    case 'IngressClass':
      o = await c.networking.readIngressClass({ name });
      break;
    case 'Service':
      o = await c.core.readNamespacedService({ name, namespace });
      break;
    case 'EndpointSlice':
      o = await c.discovery.readNamespacedEndpointSlice({ name, namespace });
      break;
    case 'Secret':
      o = await c.core.readNamespacedSecret({ name, namespace });
      break;
    case 'ConfigMap':
      o = await c.core.readNamespacedConfigMap({ name, namespace });
      break;
    case 'Namespace':
      o = await c.core.readNamespace({ name });
      break;
    default: {
      const { group, plural } = PLURALS[key.kind];
      const version = versionOf(key.kind, served);
      o = CLUSTER_SCOPED.has(key.kind) ? await c.custom.getClusterCustomObject({ group, version, plural, name }) : await c.custom.getNamespacedCustomObject({ group, version, namespace, plural, name });
    }
  }
  return toWire(key.kind, o);
}
