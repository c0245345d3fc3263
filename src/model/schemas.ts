// zod schemas of the Kubernetes objects wharf reads, compiled once at module load. Lenient about
// fields wharf does not use (they are dropped), strict about the ones it does. A failure becomes
// Problems whose field path and message read like Kubernetes' own:
// `spec.rules[0].http.paths[1].pathType: Invalid value: "Foo": must be one of Exact, Prefix, ImplementationSpecific`.
import { z } from 'zod';
import { invalidMessage, requiredMessage } from './problems.ts';
import type { ObjectRef, Problem } from './types.ts';
import { gatewaySchemas, type GatewayApiObject } from './gateway-schemas.ts';

// ---------------------------------------------------------------------------------------------
// Name formats (Kubernetes' own validation), reused by the model's checks.

/** DNS-1123 subdomain: names of Ingresses, Secrets, ConfigMaps, IngressClasses. */
export const DNS1123_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** DNS-1123 label: namespaces. */
export const DNS1123_LABEL = /^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** DNS-1035 label: Service names. */
export const DNS1035_LABEL = /^(?=.{1,63}$)[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** IANA service name: named ports (at most 15 characters, a letter somewhere, no `--`). */
export const IANA_SVC_NAME = /^(?=.{1,15}$)(?=.*[a-z])(?!.*--)[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
/** Standard base64 (Secret `data` values). */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const subdomain = z.string().regex(DNS1123_SUBDOMAIN, 'must be a lowercase RFC 1123 subdomain (a-z, 0-9, "-", ".")');
const namespace = z.string().regex(DNS1123_LABEL, 'must be a lowercase RFC 1123 label (a-z, 0-9, "-")');
const port = z.number().int('must be an integer').min(1, 'must be between 1 and 65535').max(65535, 'must be between 1 and 65535');
const portName = z.string().regex(IANA_SVC_NAME, 'must be an IANA service name (at most 15 of a-z, 0-9, "-", with a letter)');

const metadata = z.object({
  name: subdomain,
  /** Missing in a bare manifest: Kubernetes' default namespace, as kubectl applies it. */
  namespace: namespace.nullish().transform((v) => v ?? 'default'),
  uid: z.string().max(128).nullish().transform((v) => v ?? undefined),
  /** RFC 3339; missing on an object not created yet (an admission CREATE): it counts as the newest. */
  creationTimestamp: z.string().max(64).nullish().transform((v) => v ?? undefined),
  resourceVersion: z.string().max(128).nullish().transform((v) => v ?? undefined),
  generation: z.number().int().nullish().transform((v) => v ?? undefined),
  labels: z.record(z.string(), z.string()).nullish().transform((v) => v ?? {}),
  annotations: z.record(z.string(), z.string()).nullish().transform((v) => v ?? {}),
});
export type ObjectMeta = z.output<typeof metadata>;

function apiVersion(...allowed: string[]) {
  return z
    .string()
    .refine((v) => allowed.includes(v), `must be ${allowed.join(' or ')}`)
    .optional();
}

// ---------------------------------------------------------------------------------------------
// networking.k8s.io/v1 Ingress

const serviceBackend = z
  .object({
    name: z.string().regex(DNS1035_LABEL, 'must be a Service name (a lowercase RFC 1035 label)'),
    port: z
      .object({ number: port.nullish(), name: portName.nullish() })
      .refine((p) => (p.number != null) !== (p.name != null), 'set exactly one of number and name'),
  })
  .transform((s) => ({ name: s.name, port: (s.port.number ?? s.port.name) as number | string }));

const backend = z
  .object({
    service: serviceBackend.nullish(),
    resource: z.object({ apiGroup: z.string().nullish(), kind: z.string(), name: z.string() }).nullish(),
  })
  .refine((b) => (b.service != null) !== (b.resource != null), 'set exactly one of service and resource');

export const PATH_TYPES = ['Exact', 'Prefix', 'ImplementationSpecific'] as const;
export type PathType = (typeof PATH_TYPES)[number];

const httpPath = z.object({
  path: z.string().max(4096, 'must be at most 4096 characters').nullish(),
  pathType: z.enum(PATH_TYPES),
  backend,
});

const ingressRule = z.object({
  host: z.string().max(253, 'must be at most 253 characters').nullish(),
  http: z.object({ paths: z.array(httpPath).min(1, 'must have at least one path') }).nullish(),
});

const ingressTls = z.object({
  hosts: z.array(z.string().max(253, 'must be at most 253 characters')).nullish().transform((v) => v ?? []),
  secretName: subdomain.nullish(),
});

const IngressSchema = z.object({
  apiVersion: apiVersion('networking.k8s.io/v1'),
  kind: z.literal('Ingress').default('Ingress'),
  metadata,
  spec: z.object({
    ingressClassName: subdomain.nullish(),
    defaultBackend: backend.nullish(),
    tls: z.array(ingressTls).nullish().transform((v) => v ?? []),
    rules: z.array(ingressRule).nullish().transform((v) => v ?? []),
  }),
});
export type Ingress = z.output<typeof IngressSchema>;
export type IngressBackend = z.output<typeof backend>;

// ---------------------------------------------------------------------------------------------
// networking.k8s.io/v1 IngressClass

const IngressClassSchema = z.object({
  apiVersion: apiVersion('networking.k8s.io/v1'),
  kind: z.literal('IngressClass').default('IngressClass'),
  metadata: metadata.extend({ namespace: z.string().nullish().transform(() => '') }),
  spec: z.object({ controller: z.string().max(250).nullish() }).nullish().transform((v) => ({ controller: v?.controller ?? undefined })),
});
export type IngressClass = z.output<typeof IngressClassSchema>;

// ---------------------------------------------------------------------------------------------
// v1 Service

const servicePort = z.object({
  name: portName.nullish().transform((v) => v ?? undefined),
  port,
  targetPort: z.union([port, portName]).nullish().transform((v) => v ?? undefined),
  protocol: z.string().nullish().transform((v) => v ?? 'TCP'),
});

const ServiceSchema = z.object({
  apiVersion: apiVersion('v1'),
  kind: z.literal('Service').default('Service'),
  metadata,
  spec: z.object({
    type: z.string().nullish().transform((v) => v ?? 'ClusterIP'),
    externalName: z.string().nullish().transform((v) => v ?? undefined),
    ports: z.array(servicePort).nullish().transform((v) => v ?? []),
  }),
});
export type Service = z.output<typeof ServiceSchema>;
export type ServicePort = z.output<typeof servicePort>;

// ---------------------------------------------------------------------------------------------
// discovery.k8s.io/v1 EndpointSlice

const endpoint = z.object({
  addresses: z.array(z.string().max(64)),
  conditions: z
    .object({ ready: z.boolean().nullish(), serving: z.boolean().nullish(), terminating: z.boolean().nullish() })
    .nullish(),
});

const EndpointSliceSchema = z.object({
  apiVersion: apiVersion('discovery.k8s.io/v1'),
  kind: z.literal('EndpointSlice').default('EndpointSlice'),
  metadata,
  addressType: z.enum(['IPv4', 'IPv6', 'FQDN']),
  endpoints: z.array(endpoint).nullish().transform((v) => v ?? []),
  ports: z
    .array(
      z.object({
        name: z.string().max(63).nullish().transform((v) => v ?? ''),
        port: port.nullish().transform((v) => v ?? undefined),
        protocol: z.string().nullish().transform((v) => v ?? 'TCP'),
      }),
    )
    .nullish()
    .transform((v) => v ?? []),
});
export type EndpointSlice = z.output<typeof EndpointSliceSchema>;

// ---------------------------------------------------------------------------------------------
// v1 Secret (kubernetes.io/tls, or Opaque with an htpasswd `auth` key)

const SecretSchema = z.object({
  apiVersion: apiVersion('v1'),
  kind: z.literal('Secret').default('Secret'),
  metadata,
  type: z.string().nullish().transform((v) => v ?? 'Opaque'),
  data: z
    .record(z.string(), z.string().regex(BASE64, 'must be base64'))
    .nullish()
    .transform((v) => v ?? {}),
  stringData: z.record(z.string(), z.string()).nullish().transform((v) => v ?? {}),
});
export type Secret = z.output<typeof SecretSchema>;

// ---------------------------------------------------------------------------------------------
// v1 ConfigMap (the global settings)

const ConfigMapSchema = z.object({
  apiVersion: apiVersion('v1'),
  kind: z.literal('ConfigMap').default('ConfigMap'),
  metadata,
  data: z.record(z.string(), z.string()).nullish().transform((v) => v ?? {}),
});
export type ConfigMap = z.output<typeof ConfigMapSchema>;

/** Any object the model reads. */
export type KubeObject = Ingress | IngressClass | Service | EndpointSlice | Secret | ConfigMap | GatewayApiObject;
export type KubeKind = KubeObject['kind'];

// Compiled once, at module load: the admission path parses with these.
const compiled = {
  Ingress: z.compile(IngressSchema),
  IngressClass: z.compile(IngressClassSchema),
  Service: z.compile(ServiceSchema),
  EndpointSlice: z.compile(EndpointSliceSchema),
  Secret: z.compile(SecretSchema),
  ConfigMap: z.compile(ConfigMapSchema),
  ...gatewaySchemas,
};

// ---------------------------------------------------------------------------------------------
// Parsing into Problems

/** A parse result: the typed object, or the problems that say why there is none. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

/** `spec.rules[0].http.paths[1].pathType`, `metadata.annotations[nginx.ingress.kubernetes.io/x]`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${String(key)}]`;
  }
  return out || '<object>';
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = raw;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key as string];
  }
  return v;
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/** One zod issue as a Kubernetes-style message. */
function issueMessage(issue: z.core.$ZodIssue, raw: unknown): string {
  const field = fieldPath(issue.path);
  const input = valueAt(raw, issue.path);
  if ((input === undefined || input === null) && (issue.code === 'invalid_type' || issue.code === 'invalid_value')) return requiredMessage(field);
  switch (issue.code) {
    case 'invalid_type':
      return invalidMessage(field, input, `must be ${issue.expected === 'int' ? 'an integer' : `of type ${issue.expected}`}, not ${typeName(input)}`);
    case 'invalid_value':
      return invalidMessage(field, input, `must be one of ${issue.values.map(String).join(', ')}`);
    case 'invalid_union':
      return invalidMessage(field, input, 'is not any of the accepted forms');
    default:
      return invalidMessage(field, input, issue.message);
  }
}

/** Where a problem about a raw object points, read leniently (the object may be malformed). */
function refOf(kind: KubeKind, raw: unknown): ObjectRef {
  const meta = valueAt(raw, ['metadata']);
  const str = (k: string) => {
    const v = valueAt(meta, [k]);
    return typeof v === 'string' ? v : '';
  };
  const ns = kind === 'IngressClass' || kind === 'GatewayClass' || kind === 'Namespace' ? '' : str('namespace') || 'default';
  const uid = str('uid');
  return uid ? { kind, namespace: ns, name: str('name'), uid } : { kind, namespace: ns, name: str('name') };
}

function parseWith<K extends KubeKind>(kind: K, raw: unknown): Parsed<Extract<KubeObject, { kind: K }>> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return {
      ok: false,
      problems: [{ object: refOf(kind, raw), severity: 'error', reason: 'InvalidObject', field: '<object>', message: `<object>: Invalid value: ${typeName(raw)}: must be a ${kind} object` }],
    };
  }
  const result = compiled[kind].safeParse(raw);
  if (result.success) return { ok: true, value: result.data as Extract<KubeObject, { kind: K }> };
  const object = refOf(kind, raw);
  const problems = result.error.issues.map(
    (issue): Problem => ({ object, severity: 'error', reason: 'InvalidObject', field: fieldPath(issue.path), message: issueMessage(issue, raw) }),
  );
  return { ok: false, problems };
}

/** networking.k8s.io/v1 Ingress. */
export const parseIngress = (raw: unknown) => parseWith('Ingress', raw);
/** networking.k8s.io/v1 IngressClass. */
export const parseIngressClass = (raw: unknown) => parseWith('IngressClass', raw);
/** v1 Service. */
export const parseService = (raw: unknown) => parseWith('Service', raw);
/** discovery.k8s.io/v1 EndpointSlice. */
export const parseEndpointSlice = (raw: unknown) => parseWith('EndpointSlice', raw);
/** v1 Secret. */
export const parseSecret = (raw: unknown) => parseWith('Secret', raw);
/** v1 ConfigMap. */
export const parseConfigMap = (raw: unknown) => parseWith('ConfigMap', raw);

const KINDS: readonly KubeKind[] = ['Ingress', 'IngressClass', 'Service', 'EndpointSlice', 'Secret', 'ConfigMap', 'GatewayClass', 'Gateway', 'HTTPRoute', 'GRPCRoute', 'TLSRoute', 'TCPRoute', 'UDPRoute', 'ReferenceGrant', 'Namespace'];

/** Any object wharf reads, by its `kind`; other kinds are a problem (wharf does not read them). */
export function parseObject(raw: unknown): Parsed<KubeObject> {
  const kind = valueAt(raw, ['kind']);
  if (typeof kind !== 'string' || !(KINDS as readonly string[]).includes(kind)) {
    return {
      ok: false,
      problems: [
        {
          object: { kind: 'Ingress', namespace: '', name: '' },
          severity: 'error',
          reason: 'InvalidObject',
          field: 'kind',
          message: invalidMessage('kind', kind, `must be one of ${KINDS.join(', ')}`),
        },
      ],
    };
  }
  return parseWith(kind as KubeKind, raw);
}
