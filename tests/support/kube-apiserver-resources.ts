// What the fake API server serves: each resource's group, scope, field selectors and validation
// (the checks a real API server makes on what wharf writes), and its errors as Status objects.
import { isIP } from 'node:net';
import { parseSelector, satisfies, SelectorError, type Obj, type Requirement } from './kube-apiserver-store.ts';

export interface ResourceDef {
  kind: string;
  plural: string;
  group: string;
  namespaced: boolean;
  /** Has a status subresource (status is only written through /status). */
  status?: boolean;
  /** Field selectors beyond metadata.name and metadata.namespace. */
  fields?: Record<string, (o: Obj) => string | undefined>;
  /** Returns `field: reason` problems (→ 422 Invalid), or throws ApiError; may prune and default the object. */
  validate?: (o: Obj, namespace: string) => string[];
  /** The versions served (CRDs: several); the first is the one objects are kept at. Default ['v1']. */
  versions?: string[];
  /** The version one request is served at (a copy of the def per request). */
  version?: string;
  /** What the server fills in on every write (a Namespace's name label). */
  prepare?: (o: Obj) => void;
}

export const DNS1123_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/;
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

function loadBalancerProblems(o: Obj): string[] {
  const problems: string[] = [];
  const entries = o.status?.loadBalancer?.ingress ?? [];
  if (!Array.isArray(entries)) return ['status.loadBalancer.ingress: Invalid value: must be a list'];
  entries.forEach((e: Obj, i: number) => {
    const f = `status.loadBalancer.ingress[${i}]`;
    if (e.ip !== undefined && !isIP(String(e.ip))) problems.push(`${f}.ip: Invalid value: ${JSON.stringify(e.ip)}: must be a valid IP address`);
    if (e.hostname !== undefined) {
      if (!DNS1123_SUBDOMAIN.test(String(e.hostname))) problems.push(`${f}.hostname: Invalid value: ${JSON.stringify(e.hostname)}: must be a DNS-1123 subdomain`);
      else if (isIP(String(e.hostname))) problems.push(`${f}.hostname: Invalid value: ${JSON.stringify(e.hostname)}: must be a DNS name, not an IP address`);
    }
  });
  return problems;
}

function eventProblems(o: Obj, namespace: string): string[] {
  const problems: string[] = [];
  const involved = o.involvedObject ?? {};
  if (!involved.kind || !involved.name) problems.push('involvedObject: Required value: kind and name');
  if ((involved.namespace ?? '') !== namespace) problems.push(`involvedObject.namespace: Invalid value: ${JSON.stringify(involved.namespace ?? '')}: does not match event.namespace`);
  if (!['Normal', 'Warning'].includes(o.type)) problems.push(`type: Unsupported value: ${JSON.stringify(o.type)}: supported values: "Normal", "Warning"`);
  if (!o.reason) problems.push('reason: Required value');
  for (const f of ['firstTimestamp', 'lastTimestamp']) if (o[f] != null && !TIME.test(o[f])) throw new ApiError(400, 'BadRequest', `${f}: parsing time ${JSON.stringify(o[f])}: not RFC 3339`);
  if (o.eventTime != null && !MICRO_TIME.test(o.eventTime)) throw new ApiError(400, 'BadRequest', `eventTime: parsing time ${JSON.stringify(o.eventTime)} as "2006-01-02T15:04:05.000000Z07:00": cannot parse`);
  return problems;
}

function leaseProblems(o: Obj): string[] {
  for (const f of ['acquireTime', 'renewTime']) {
    const v = o.spec?.[f];
    if (v != null && !MICRO_TIME.test(v)) throw new ApiError(400, 'BadRequest', `spec.${f}: parsing time ${JSON.stringify(v)} as "2006-01-02T15:04:05.000000Z07:00": cannot parse`);
  }
  const d = o.spec?.leaseDurationSeconds;
  return d != null && !(Number.isInteger(d) && d > 0) ? [`spec.leaseDurationSeconds: Invalid value: ${d}: must be greater than 0`] : [];
}

export const RESOURCES: ResourceDef[] = [
  { kind: 'Ingress', plural: 'ingresses', group: 'networking.k8s.io', namespaced: true, status: true, validate: loadBalancerProblems },
  { kind: 'IngressClass', plural: 'ingressclasses', group: 'networking.k8s.io', namespaced: false },
  { kind: 'Service', plural: 'services', group: '', namespaced: true, status: true, validate: loadBalancerProblems },
  { kind: 'EndpointSlice', plural: 'endpointslices', group: 'discovery.k8s.io', namespaced: true },
  { kind: 'Secret', plural: 'secrets', group: '', namespaced: true, fields: { type: (o) => o.type ?? 'Opaque' } },
  { kind: 'ConfigMap', plural: 'configmaps', group: '', namespaced: true },
  {
    kind: 'Event',
    plural: 'events',
    group: '',
    namespaced: true,
    validate: eventProblems,
    fields: {
      'involvedObject.kind': (o) => o.involvedObject?.kind,
      'involvedObject.name': (o) => o.involvedObject?.name,
      'involvedObject.namespace': (o) => o.involvedObject?.namespace,
      'involvedObject.uid': (o) => o.involvedObject?.uid,
      reason: (o) => o.reason,
      type: (o) => o.type,
    },
  },
  { kind: 'Lease', plural: 'leases', group: 'coordination.k8s.io', namespaced: true, validate: leaseProblems },
  // The API server labels every Namespace with its name (immutable), which Gateway API selectors use.
  { kind: 'Namespace', plural: 'namespaces', group: '', namespaced: false, status: true, prepare: (o) => (o.metadata.labels = { ...o.metadata.labels, 'kubernetes.io/metadata.name': o.metadata.name }) },
];

export const apiVersionOf = (d: ResourceDef) => (d.group ? `${d.group}/${d.version ?? d.versions?.[0] ?? 'v1'}` : 'v1');
export const qualified = (d: ResourceDef) => (d.group ? `${d.plural}.${d.group}` : d.plural);

export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details?: Obj;
  constructor(code: number, reason: string, message: string, details?: Obj) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }
}

export const notFound = (d: ResourceDef, name: string) => new ApiError(404, 'NotFound', `${qualified(d)} "${name}" not found`, { name, group: d.group, kind: d.plural });
export const conflict = (d: ResourceDef, name: string) =>
  new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(d)} "${name}": the object has been modified; please apply your changes to the latest version and try again`, { name, group: d.group, kind: d.plural });
export const gone = (asked: number, compacted: number) => new ApiError(410, 'Expired', `too old resource version: ${asked} (${compacted})`);

/** The field and label selectors of a request as a predicate (400 for what the real server refuses). */
export function selectorMatcher(def: ResourceDef, namespace: string, query: URLSearchParams): (o: Obj) => boolean {
  let fields: Requirement[];
  let labels: Requirement[];
  try {
    fields = parseSelector(query.get('fieldSelector'), false);
    labels = parseSelector(query.get('labelSelector'), true);
  } catch (e) {
    throw new ApiError(400, 'BadRequest', (e as SelectorError).message);
  }
  const getters: Record<string, (o: Obj) => string | undefined> = {
    'metadata.name': (o) => o.metadata?.name,
    'metadata.namespace': (o) => o.metadata?.namespace ?? '',
    ...def.fields,
  };
  for (const f of fields) {
    if (f.op !== '=' && f.op !== '!=') throw new ApiError(400, 'BadRequest', `invalid field selector operator for ${f.key}`);
    if (!getters[f.key]) throw new ApiError(400, 'BadRequest', `field label not supported: ${f.key}`);
  }
  return (o) =>
    (!namespace || o.metadata?.namespace === namespace) &&
    fields.every((f) => satisfies(f, getters[f.key]!(o))) &&
    labels.every((l) => satisfies(l, o.metadata?.labels?.[l.key]));
}
