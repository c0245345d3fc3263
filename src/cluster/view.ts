// The handler tier's view of the cluster: the objects wharf reads, by kind, namespace and name, each
// with the resourceVersion it was seen at. Events are fast, unreliable triggers (Knative's
// ApiServerSource duplicates, reorders and drops them); a full list at start and a periodic relist
// are the level-triggered truth. This file holds the contracts; view-memory.ts implements them.

/**
 * The kinds wharf reads. Everything else is refused at the door (see src/handlers/cloudevents.ts).
 * The Gateway API kinds are read where their CRDs are installed (kubernetes-resources.ts: optional
 * streams); Namespaces for the label selectors of Gateway listeners' allowedRoutes.
 */
export const KINDS = ['Ingress', 'IngressClass', 'Service', 'EndpointSlice', 'Secret', 'ConfigMap', 'GatewayClass', 'Gateway', 'HTTPRoute', 'GRPCRoute', 'TLSRoute', 'TCPRoute', 'UDPRoute', 'ReferenceGrant', 'Namespace'] as const;
export type Kind = (typeof KINDS)[number];

/** apiVersion expected for each kind (the group/version wharf understands). */
export const API_VERSIONS: Record<Kind, string> = {
  Ingress: 'networking.k8s.io/v1',
  IngressClass: 'networking.k8s.io/v1',
  Service: 'v1',
  EndpointSlice: 'discovery.k8s.io/v1',
  Secret: 'v1',
  ConfigMap: 'v1',
  GatewayClass: 'gateway.networking.k8s.io/v1',
  Gateway: 'gateway.networking.k8s.io/v1',
  HTTPRoute: 'gateway.networking.k8s.io/v1',
  GRPCRoute: 'gateway.networking.k8s.io/v1',
  TLSRoute: 'gateway.networking.k8s.io/v1',
  TCPRoute: 'gateway.networking.k8s.io/v1',
  UDPRoute: 'gateway.networking.k8s.io/v1',
  ReferenceGrant: 'gateway.networking.k8s.io/v1',
  Namespace: 'v1',
};

/** Kinds without a namespace. */
export const CLUSTER_SCOPED: ReadonlySet<Kind> = new Set<Kind>(['IngressClass', 'GatewayClass', 'Namespace']);

export function isKind(kind: unknown): kind is Kind {
  return typeof kind === 'string' && (KINDS as readonly string[]).includes(kind);
}

/** The part of every Kubernetes object the view relies on; the rest is the model's business. */
export interface KubeObject {
  apiVersion?: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    uid?: string;
    creationTimestamp?: string;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** kubectl's copy of the applied manifest: the object once more, as a string, on every applied object. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * The object without what the API server and kubectl keep for their own bookkeeping and wharf never
 * reads: `metadata.managedFields` and kubectl's last-applied-configuration annotation (a second copy
 * of the object). Together about a third of an applied Ingress's memory, held for every object of
 * the view. Returns the same object when there is nothing to leave out; never changes its argument.
 */
export function withoutBookkeeping<T extends KubeObject>(object: T): T {
  const { managedFields, annotations, ...metadata } = object.metadata;
  const ann = annotations as Record<string, string> | undefined;
  const lastApplied = ann !== undefined && ann !== null && typeof ann === 'object' && LAST_APPLIED in ann;
  if (managedFields === undefined && !lastApplied) return object;
  let kept = ann;
  if (lastApplied) {
    const { [LAST_APPLIED]: _dropped, ...rest } = ann;
    kept = rest;
  }
  return { ...object, metadata: { ...metadata, ...(kept !== undefined ? { annotations: kept } : {}) } };
}

/** Identifies one object; `namespace` is '' for cluster-scoped kinds. */
export interface ObjectKey {
  kind: Kind;
  namespace: string;
  name: string;
}

export type ChangeAction = 'add' | 'update' | 'delete';

/** One change to apply: add/update carry the new object, delete the last known one (or a reference). */
export interface Change {
  action: ChangeAction;
  key: ObjectKey;
  /** The object's resourceVersion as the event gives it; absent only in reference deletes. */
  resourceVersion?: string;
  /** Required for add/update; optional for delete. */
  object?: KubeObject;
}

/**
 * What applying a change did. `applied` means the view changed; `previous` and `current` are the
 * object before and after (null when absent or deleted), so callers can find what it affects.
 */
export type ApplyResult =
  | { outcome: 'applied'; previous: KubeObject | null; current: KubeObject | null }
  | { outcome: 'duplicate' | 'stale' | 'ignored'; reason: string };

/** One kind's full list, as the API server (or a manifest directory) gives it. */
export interface KindList {
  items: KubeObject[];
  /** The list's resourceVersion: the list is the cluster's state as of this version. */
  resourceVersion: string;
}

/**
 * The level-triggered source: lists every object of a kind, and reads one object (for Knative's
 * reference events). Implemented over @kubernetes/client-node and over a manifest directory by the
 * cluster adapters; view-memory-reader.ts has an in-memory one.
 */
export interface ClusterReader {
  list(kind: Kind): Promise<KindList>;
  /** The object as it is now, or null when it does not exist. */
  get(key: ObjectKey): Promise<KubeObject | null>;
}

/** What a relist changed, so the caller can recompute what depends on it. */
export interface RelistResult {
  /** Objects whose state differs from what the view held before the relist (added, changed, removed). */
  changed: { key: ObjectKey; previous: KubeObject | null; current: KubeObject | null }[];
  /** The highest list resourceVersion of this relist (numeric), 0 when none was numeric. */
  resourceVersion: number;
}

/** The handler tier's view. One per handler process; every request reads it synchronously. */
export interface ClusterView {
  /** Applies a change when it is newer than what is held for that object (see view-memory.ts). */
  apply(change: Change): ApplyResult;
  /** Replaces the state of the listed kinds with a fresh list (level-triggered). */
  replace(lists: Partial<Record<Kind, KindList>>): RelistResult;
  get(key: ObjectKey): KubeObject | null;
  list(kind: Kind): Iterable<KubeObject>;
  /** The highest numeric resourceVersion held for the object, including its tombstone; 0 if none. */
  versionOf(key: ObjectKey): number;
  /** True once every kind has been listed once: until then the view is not a basis for decisions. */
  readonly synced: boolean;
  /** Number of live objects per kind (metrics, logs). */
  counts(): Record<Kind, number>;
}

export function keyOf(object: KubeObject): ObjectKey {
  if (!isKind(object.kind)) throw new Error(`kind ${JSON.stringify(object.kind)} is not one wharf reads (${KINDS.join(', ')})`);
  return { kind: object.kind, namespace: CLUSTER_SCOPED.has(object.kind) ? '' : (object.metadata.namespace ?? ''), name: object.metadata.name };
}

export function formatKey(key: ObjectKey): string {
  return key.namespace ? `${key.kind} ${key.namespace}/${key.name}` : `${key.kind} ${key.name}`;
}

const INTEGER = /^\d+$/;

/**
 * Orders two resourceVersions of the same object. Kubernetes calls them opaque, but every
 * etcd-backed API server gives integers that grow with every write, so integers are compared as
 * numbers (exactly, any length). Anything else can only be told equal or different: a different
 * version is then taken as newer (`null`), which is the best an opaque string allows.
 */
export function compareVersions(a: string, b: string): -1 | 0 | 1 | null {
  if (a === b) return 0;
  if (INTEGER.test(a) && INTEGER.test(b)) {
    const x = a.replace(/^0+(?=\d)/, '');
    const y = b.replace(/^0+(?=\d)/, '');
    if (x.length !== y.length) return x.length < y.length ? -1 : 1;
    return x === y ? 0 : x < y ? -1 : 1;
  }
  return null;
}

/** A resourceVersion as a number for fragment revisions; 0 when it is not a safe integer. */
export function numericVersion(v: string | undefined): number {
  if (!v || !INTEGER.test(v)) return 0;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : 0;
}
