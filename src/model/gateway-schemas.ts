// zod schemas of the Gateway API kinds wharf reads (gateway.networking.k8s.io/v1 and v1beta1
// ReferenceGrant, release v1.6.1's standard channel) and of Namespaces (labels, for allowedRoutes
// selectors). As schemas.ts: lenient about fields wharf does not use (dropped), strict about the ones
// it does, defaults of the CRDs filled in. What the CRDs' CEL rules check is not repeated here;
// what NGINX needs of each string is checked by the translation (translate-gateway.ts).
import { z } from 'zod';

const DNS1123_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const GROUP = 'gateway.networking.k8s.io';

const opt = <T extends z.ZodType>(t: T) => t.nullish().transform((v) => v ?? undefined);
const name = z.string().regex(DNS1123_SUBDOMAIN, 'must be a lowercase RFC 1123 subdomain (a-z, 0-9, "-", ".")');
const objectName = z.string().min(1, 'must not be empty').max(253, 'must be at most 253 characters');
const namespaceName = z.string().regex(DNS1123_LABEL, 'must be a lowercase RFC 1123 label (a-z, 0-9, "-")');
const port = z.number().int('must be an integer').min(1, 'must be between 1 and 65535').max(65535, 'must be between 1 and 65535');
const sectionName = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a lowercase RFC 1123 subdomain').max(253);
const hostname = z.string().min(1).max(253);

const metadata = z.object({
  name,
  namespace: namespaceName.nullish().transform((v) => v ?? 'default'),
  uid: opt(z.string().max(128)),
  creationTimestamp: opt(z.string().max(64)),
  resourceVersion: opt(z.string().max(128)),
  generation: z.number().int().nullish().transform((v) => v ?? 1),
  labels: z.record(z.string(), z.string()).nullish().transform((v) => v ?? {}),
});
const clusterMetadata = metadata.extend({ namespace: z.string().nullish().transform(() => '') });

const apiVersion = (...allowed: string[]) => z.string().refine((v) => allowed.includes(v), `must be ${allowed.join(' or ')}`).optional();

const labelSelector = z.object({
  matchLabels: z.record(z.string(), z.string()).nullish().transform((v) => v ?? {}),
  matchExpressions: z
    .array(z.object({ key: z.string(), operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']), values: z.array(z.string()).nullish().transform((v) => v ?? []) }))
    .nullish()
    .transform((v) => v ?? []),
});
export type LabelSelector = z.output<typeof labelSelector>;

// ---------------------------------------------------------------------------------------------
// GatewayClass

const GatewayClassSchema = z.object({
  apiVersion: apiVersion(`${GROUP}/v1`, `${GROUP}/v1beta1`),
  kind: z.literal('GatewayClass'),
  metadata: clusterMetadata,
  spec: z.object({ controllerName: z.string().min(1).max(253) }),
});
export type GatewayClass = z.output<typeof GatewayClassSchema>;

// ---------------------------------------------------------------------------------------------
// Gateway

const secretRef = z.object({
  group: z.string().nullish().transform((v) => v ?? ''),
  kind: z.string().nullish().transform((v) => v ?? 'Secret'),
  name: objectName,
  namespace: opt(namespaceName),
});

const listener = z.object({
  name: sectionName,
  hostname: opt(hostname),
  port,
  protocol: z.string().min(1).max(255),
  tls: opt(
    z.object({
      mode: z.string().nullish().transform((v) => v ?? 'Terminate'),
      certificateRefs: z.array(secretRef).max(64).nullish().transform((v) => v ?? []),
    }),
  ),
  allowedRoutes: z
    .object({
      namespaces: z
        .object({ from: z.enum(['All', 'Same', 'Selector']).nullish().transform((v) => v ?? 'Same'), selector: opt(labelSelector) })
        .nullish()
        .transform((v) => v ?? { from: 'Same' as const, selector: undefined }),
      kinds: z
        .array(z.object({ group: z.string().nullish().transform((v) => v ?? GROUP), kind: z.string() }))
        .max(8)
        .nullish()
        .transform((v) => v ?? []),
    })
    .nullish()
    .transform((v) => v ?? { namespaces: { from: 'Same' as const, selector: undefined }, kinds: [] }),
});
export type Listener = z.output<typeof listener>;

const GatewaySchema = z.object({
  apiVersion: apiVersion(`${GROUP}/v1`, `${GROUP}/v1beta1`),
  kind: z.literal('Gateway'),
  metadata,
  spec: z.object({ gatewayClassName: objectName, listeners: z.array(listener).min(1).max(64) }),
});
export type Gateway = z.output<typeof GatewaySchema>;

// ---------------------------------------------------------------------------------------------
// HTTPRoute

const parentRef = z.object({
  group: z.string().nullish().transform((v) => v ?? GROUP),
  kind: z.string().nullish().transform((v) => v ?? 'Gateway'),
  namespace: opt(namespaceName),
  name: objectName,
  sectionName: opt(sectionName),
  port: opt(port),
});

const backendRef = z.object({
  group: z.string().nullish().transform((v) => v ?? ''),
  kind: z.string().nullish().transform((v) => v ?? 'Service'),
  name: objectName,
  namespace: opt(namespaceName),
  port: opt(port),
  weight: z.number().int().min(0, 'must be between 0 and 1000000').max(1_000_000, 'must be between 0 and 1000000').nullish().transform((v) => v ?? 1),
});

const header = z.object({ name: z.string().min(1).max(256), value: z.string().max(4096) });
const headerModifier = z
  .object({
    set: z.array(header).max(16).nullish().transform((v) => v ?? []),
    add: z.array(header).max(16).nullish().transform((v) => v ?? []),
    remove: z.array(z.string().min(1).max(256)).max(16).nullish().transform((v) => v ?? []),
  });
const pathModifier = z.object({
  type: z.enum(['ReplaceFullPath', 'ReplacePrefixMatch']),
  replaceFullPath: opt(z.string().max(1024)),
  replacePrefixMatch: opt(z.string().max(1024)),
});
export type PathModifier = z.output<typeof pathModifier>;

const filter = z.object({
  type: z.string(),
  requestHeaderModifier: opt(headerModifier),
  responseHeaderModifier: opt(headerModifier),
  requestRedirect: opt(
    z.object({
      scheme: opt(z.enum(['http', 'https'])),
      hostname: opt(hostname),
      path: opt(pathModifier),
      port: opt(port),
      statusCode: z.number().int().nullish().transform((v) => v ?? 302),
    }),
  ),
  urlRewrite: opt(z.object({ hostname: opt(hostname), path: opt(pathModifier) })),
  requestMirror: opt(
    z.object({
      backendRef: backendRef.omit({ weight: true }),
      percent: opt(z.number().int().min(0).max(100)),
      fraction: opt(z.object({ numerator: z.number().int().min(0), denominator: z.number().int().min(1).nullish().transform((v) => v ?? 100) })),
    }),
  ),
});
export type RouteFilter = z.output<typeof filter>;

const match = z.object({
  path: z
    .object({
      type: z.enum(['Exact', 'PathPrefix', 'RegularExpression']).nullish().transform((v) => v ?? 'PathPrefix'),
      value: z.string().max(1024).nullish().transform((v) => v ?? '/'),
    })
    .nullish()
    .transform((v) => v ?? { type: 'PathPrefix' as const, value: '/' }),
  headers: z
    .array(z.object({ type: z.enum(['Exact', 'RegularExpression']).nullish().transform((v) => v ?? 'Exact'), name: z.string().min(1).max(256), value: z.string().min(1).max(4096) }))
    .max(16)
    .nullish()
    .transform((v) => v ?? []),
  queryParams: z
    .array(z.object({ type: z.enum(['Exact', 'RegularExpression']).nullish().transform((v) => v ?? 'Exact'), name: z.string().min(1).max(256), value: z.string().min(1).max(1024) }))
    .max(16)
    .nullish()
    .transform((v) => v ?? []),
  method: opt(z.enum(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'])),
});
export type RouteMatch = z.output<typeof match>;

const rule = z.object({
  name: opt(sectionName),
  matches: z.array(match).max(64).nullish().transform((v) => (v && v.length > 0 ? v : [{ path: { type: 'PathPrefix' as const, value: '/' }, headers: [], queryParams: [], method: undefined }])),
  filters: z.array(filter).max(16).nullish().transform((v) => v ?? []),
  backendRefs: z
    .array(backendRef.extend({ filters: z.array(filter).max(16).nullish().transform((v) => v ?? []) }))
    .max(16)
    .nullish()
    .transform((v) => v ?? []),
  timeouts: opt(z.object({ request: opt(z.string().max(32)), backendRequest: opt(z.string().max(32)) })),
});
export type RouteRule = z.output<typeof rule>;

const HTTPRouteSchema = z.object({
  apiVersion: apiVersion(`${GROUP}/v1`, `${GROUP}/v1beta1`),
  kind: z.literal('HTTPRoute'),
  metadata,
  spec: z.object({
    parentRefs: z.array(parentRef).max(32).nullish().transform((v) => v ?? []),
    hostnames: z.array(hostname).max(16).nullish().transform((v) => v ?? []),
    rules: z.array(rule).max(64).nullish().transform((v) => (v && v.length > 0 ? v : [rule.parse({})])),
  }),
});
export type HTTPRoute = z.output<typeof HTTPRouteSchema>;

// ---------------------------------------------------------------------------------------------
// GRPCRoute

const grpcFilter = filter.pick({ type: true, requestHeaderModifier: true, responseHeaderModifier: true, requestMirror: true });
const grpcMatch = z.object({
  method: opt(
    z.object({
      type: z.enum(['Exact', 'RegularExpression']).nullish().transform((v) => v ?? 'Exact'),
      service: opt(z.string().min(1).max(1024)),
      method: opt(z.string().min(1).max(1024)),
    }),
  ),
  headers: match.shape.headers,
});
export type GRPCMatch = z.output<typeof grpcMatch>;

const grpcRule = z.object({
  name: opt(sectionName),
  matches: z.array(grpcMatch).max(64).nullish().transform((v) => (v && v.length > 0 ? v : [{ method: undefined, headers: [] }])),
  filters: z.array(grpcFilter).max(16).nullish().transform((v) => v ?? []),
  backendRefs: rule.shape.backendRefs,
});

const GRPCRouteSchema = z.object({
  apiVersion: apiVersion(`${GROUP}/v1`),
  kind: z.literal('GRPCRoute'),
  metadata,
  spec: z.object({
    parentRefs: z.array(parentRef).max(32).nullish().transform((v) => v ?? []),
    hostnames: z.array(hostname).max(16).nullish().transform((v) => v ?? []),
    rules: z.array(grpcRule).max(64).nullish().transform((v) => (v && v.length > 0 ? v : [grpcRule.parse({})])),
  }),
});
export type GRPCRoute = z.output<typeof GRPCRouteSchema>;

// ---------------------------------------------------------------------------------------------
// TLSRoute (passthrough by SNI: src/model/translate-tlsroute.ts)

const TLSRouteSchema = z.object({
  apiVersion: apiVersion(`${GROUP}/v1`, `${GROUP}/v1alpha3`, `${GROUP}/v1alpha2`),
  kind: z.literal('TLSRoute'),
  metadata,
  spec: z.object({
    parentRefs: z.array(parentRef).max(32).nullish().transform((v) => v ?? []),
    hostnames: z.array(hostname).min(1).max(1024),
    rules: z.array(z.object({ name: opt(sectionName), backendRefs: z.array(backendRef).min(1).max(16) })).min(1).max(1),
  }),
});
export type TLSRoute = z.output<typeof TLSRouteSchema>;

// ---------------------------------------------------------------------------------------------
// TCPRoute and UDPRoute (a listener's port to a Service: src/model/translate-l4route.ts)

const l4RouteSchema = <K extends 'TCPRoute' | 'UDPRoute'>(kind: K) =>
  z.object({
    apiVersion: apiVersion(`${GROUP}/v1`, `${GROUP}/v1alpha2`),
    kind: z.literal(kind),
    metadata,
    spec: z.object({
      parentRefs: z.array(parentRef).max(32).nullish().transform((v) => v ?? []),
      rules: z.array(z.object({ name: opt(sectionName), backendRefs: z.array(backendRef).min(1).max(16) })).min(1).max(1),
    }),
  });
const TCPRouteSchema = l4RouteSchema('TCPRoute');
const UDPRouteSchema = l4RouteSchema('UDPRoute');
export type TCPRoute = z.output<typeof TCPRouteSchema>;
export type UDPRoute = z.output<typeof UDPRouteSchema>;

// ---------------------------------------------------------------------------------------------
// ReferenceGrant and Namespace

const ReferenceGrantSchema = z.object({
  apiVersion: apiVersion(`${GROUP}/v1beta1`, `${GROUP}/v1`),
  kind: z.literal('ReferenceGrant'),
  metadata,
  spec: z.object({
    from: z.array(z.object({ group: z.string(), kind: z.string(), namespace: namespaceName })).min(1).max(16),
    to: z.array(z.object({ group: z.string(), kind: z.string(), name: opt(objectName) })).min(1).max(16),
  }),
});
export type ReferenceGrant = z.output<typeof ReferenceGrantSchema>;

const NamespaceSchema = z.object({
  apiVersion: apiVersion('v1'),
  kind: z.literal('Namespace'),
  metadata: clusterMetadata,
});
export type Namespace = z.output<typeof NamespaceSchema>;

/** The Gateway API kinds and Namespaces, as the model reads them. */
export type GatewayApiObject = GatewayClass | Gateway | HTTPRoute | GRPCRoute | TLSRoute | TCPRoute | UDPRoute | ReferenceGrant | Namespace;

export const gatewaySchemas = {
  GatewayClass: z.compile(GatewayClassSchema),
  Gateway: z.compile(GatewaySchema),
  HTTPRoute: z.compile(HTTPRouteSchema),
  GRPCRoute: z.compile(GRPCRouteSchema),
  TLSRoute: z.compile(TLSRouteSchema),
  TCPRoute: z.compile(TCPRouteSchema),
  UDPRoute: z.compile(UDPRouteSchema),
  ReferenceGrant: z.compile(ReferenceGrantSchema),
  Namespace: z.compile(NamespaceSchema),
};

/** The API group of the Gateway API kinds. */
export const GATEWAY_GROUP = GROUP;
