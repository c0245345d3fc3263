// Builders for the Kubernetes objects of model tests (plain objects, as kubectl would send them)
// and a one-call model build, so each table row states only what it is about.
import { buildModel, defaultControllerSettings, stateFromObjects, type ControllerSettings, type Problem, type RoutingModel } from '../../src/model/index.ts';

export const NS = 'default';
export const AN = 'nginx.ingress.kubernetes.io/';

export interface PathSpec {
  path?: string;
  pathType?: string;
  service?: string;
  port?: number | string;
}

export function path(path: string, pathType = 'Prefix', service = 'svc', port: number | string = 80): PathSpec {
  return { path, pathType, service, port };
}

export function backend(service: string, port: number | string = 80) {
  return { service: { name: service, port: typeof port === 'number' ? { number: port } : { name: port } } };
}

export function rule(host: string | undefined, ...paths: PathSpec[]) {
  const http = {
    paths: paths.map((p) => ({
      ...(p.path !== undefined ? { path: p.path } : {}),
      pathType: p.pathType ?? 'Prefix',
      backend: backend(p.service ?? 'svc', p.port ?? 80),
    })),
  };
  return host === undefined ? { http } : { host, http };
}

export interface IngressOptions {
  namespace?: string;
  annotations?: Record<string, string>;
  /** creationTimestamp; omitted when null. */
  created?: string | null;
  uid?: string;
  className?: string | null;
  tls?: { hosts?: string[]; secretName?: string }[];
  defaultBackend?: ReturnType<typeof backend>;
}

export function ingress(name: string, rules: unknown[], o: IngressOptions = {}) {
  const metadata: Record<string, unknown> = { name, namespace: o.namespace ?? NS, annotations: o.annotations ?? {} };
  if (o.created !== null) metadata.creationTimestamp = o.created ?? '2024-01-01T00:00:00Z';
  if (o.uid) metadata.uid = o.uid;
  const spec: Record<string, unknown> = { rules };
  if (o.className !== null) spec.ingressClassName = o.className ?? 'wharf';
  if (o.tls) spec.tls = o.tls;
  if (o.defaultBackend) spec.defaultBackend = o.defaultBackend;
  return { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata, spec };
}

/** An Ingress with one rule, annotations only: for annotation tables. */
export function annotated(annotations: Record<string, string>, paths: PathSpec[] = [path('/')]) {
  return ingress('ann', [rule('foo.com', ...paths)], { annotations });
}

export function service(name: string, ports: { name?: string; port: number; targetPort?: number | string }[] = [{ port: 80 }], o: { namespace?: string; type?: string } = {}) {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: o.namespace ?? NS }, spec: { type: o.type ?? 'ClusterIP', ports } };
}

export function slice(
  name: string,
  serviceName: string,
  endpoints: { addresses: string[]; ready?: boolean | null; terminating?: boolean }[],
  ports: { name?: string; port: number }[],
  o: { namespace?: string; addressType?: string } = {},
) {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: o.namespace ?? NS, labels: { 'kubernetes.io/service-name': serviceName } },
    addressType: o.addressType ?? 'IPv4',
    endpoints: endpoints.map((e) => ({
      addresses: e.addresses,
      conditions: { ...(e.ready !== undefined ? { ready: e.ready } : {}), ...(e.terminating !== undefined ? { terminating: e.terminating } : {}) },
    })),
    ports,
  };
}

export function tlsSecret(name: string, cert: string, key: string, o: { namespace?: string; type?: string; asStringData?: boolean } = {}) {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: o.namespace ?? NS },
    type: o.type ?? 'kubernetes.io/tls',
    ...(o.asStringData ? { stringData: { 'tls.crt': cert, 'tls.key': key } } : { data: { 'tls.crt': b64(cert), 'tls.key': b64(key) } }),
  };
}

export function authSecret(name: string, htpasswd: string, o: { namespace?: string } = {}) {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: o.namespace ?? NS }, type: 'Opaque', data: { auth: Buffer.from(htpasswd).toString('base64') } };
}

/** Builds the model of some objects; any object that fails to parse fails the test. */
export function build(objects: unknown[], settings: ControllerSettings = defaultControllerSettings): RoutingModel {
  const { state, problems } = stateFromObjects(objects);
  if (problems.length > 0) throw new Error(`fixture objects do not parse: ${problems.map((p) => p.message).join('; ')}`);
  return buildModel(state, settings);
}

/** `reason field` lines of problems, for compact assertions. */
export function reasons(problems: readonly Problem[]): string[] {
  return problems.map((p) => `${p.severity} ${p.reason} ${p.object.name} ${p.field}`);
}

/** Messages of problems. */
export function messages(problems: readonly Problem[]): string[] {
  return problems.map((p) => p.message);
}

/** `match path -> service` lines of a host's locations, in model order. */
export function routes(model: RoutingModel, host: string): string[] {
  const locations = host === '' ? model.defaultServer.locations : (model.servers.find((s) => s.host === host)?.locations ?? []);
  return locations.map((l) => `${l.match} ${l.path} -> ${l.backend?.service}`);
}

/** A Secret holding a CA bundle under `ca.crt` (auth-tls-secret); Opaque unless `type` says otherwise. */
export function caSecret(name: string, ca: string, o: { type?: string; extra?: Record<string, string> } = {}) {
  const data = Object.fromEntries(Object.entries({ 'ca.crt': ca, ...(o.extra ?? {}) }).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: NS }, type: o.type ?? 'Opaque', data };
}
