// The public surface of src/model: Kubernetes objects in, a validated routing model out. Pure: no
// I/O, no clock, no globals; the same input always gives the same (sorted) model.
//
// ## Building a model from Ingress objects (tests, the renderer's path-matching tests)
//
//   import { buildModel, stateFromObjects, defaultControllerSettings } from '../../src/model/index.ts';
//   const { state, problems } = stateFromObjects([ingress, service, secret]);   // plain objects, as YAML/JSON
//   const model = buildModel(state, defaultControllerSettings);
//
// Ingresses must select wharf: `spec.ingressClassName: wharf` (defaultControllerSettings'
// class), or an IngressClass in the state marked default with controller
// `wharf.io/ingress-controller`, or `watchIngressWithoutClass: true` in the settings.
// `metadata.namespace` defaults to "default". Ingresses with any error Problem are left out of the
// model as a whole (never half applied); `model.problems` says why.
//
// ## What the model means (for src/render)
//
// match.ts (`routeRequest(model, host, path)`) is the routing semantics as code: which location
// serves a request. Real-NGINX tests can compare NGINX's answer with it, case by case.
//
// - Server.locations are sorted in the order NGINX must try them: longest path first, then Exact,
//   Prefix, Regex at equal length, then by path. `match`:
//     Exact  → `location = "<path>"`
//     Prefix → element-wise: `/aaa/bbb` matches `/aaa/bbb`, `/aaa/bbb/…`, never `/aaa/bbbxyz`.
//              `path` has no trailing slash (except "/"). One way: `location = "/aaa/bbb"` plus
//              `location ^~ "/aaa/bbb/"` (and plain `location /` for "/").
//     Regex  → ingress-nginx semantics: `location ~* "^<path>"` (case-insensitive, anchored at the
//              start). When a server has Regex locations, NGINX would try regexes before shorter
//              prefixes; to keep the model's order, write the server's other locations as
//              equivalent regexes too (as ingress-nginx does) or otherwise keep the order.
// - Every string in the model passed a strict grammar for its place and is safe inside a
//   double-quoted NGINX string once `\` is doubled (only Regex paths contain `\`, only as regex
//   escapes). Quote it anyway.
// - Server.aliases (server-alias) are more names of the same server (exact, or `*.` one label as
//   hosts are). Server.wwwRedirect (from-to-www-redirect) asks for a second server named `from` that
//   answers 308 to the same URL on `host`, on HTTPS too (the host's certificate) when `tls`. No name
//   is on two servers: the model has resolved conflicts (server-names.ts), oldest Ingress wins.
// - settings.sslRedirect is the effective value for the location (host has TLS and ssl-redirect
//   not "false", or force-ssl-redirect); Server.sslRedirect is true when every location redirects.
// - rewriteTarget uses `$1`…`$9` of the location's Regex path (`rewrite "(?i)^<path>" "<target>" break;`);
//   it replaces the whole URI, as in ingress-nginx. Only Regex paths have capture groups.
// - Problems: `error` = the object is refused (admission denies; the model leaves the Ingress out);
//   `warning` = served anyway (admission warnings, Events AddedOrUpdatedWithWarning). Messages can
//   exceed 120 characters: shorten them for admission warnings.
// - URLs (externalAuth.url/signin, redirect.url) may contain the NGINX variables in URL_VARIABLES
//   ($host, $scheme, $request_uri, $escaped_request_uri: the renderer must define the last one).
// - upstreamHashBy contains only allowlisted variables (see grammar.ts checkHashBy).
// - Upstream names are `namespace-service-port`; when two different triples give the same name
//   (ns a/svc b-c vs ns a-b/svc c), the first in (namespace, service, port) order keeps it and the
//   others get `.<namespace length>.<service length>` appended (dots never occur in the parts).
//
// ## Incremental use (the handler tier)
//
//   const index = new RoutingIndex(settings);          // or new RoutingIndex(settings, state)
//   const affected = index.upsert(parsedObject);       // or index.remove(kind, namespace, name)
//   for (const host of affected.hosts) index.server(host)   // null: the host is gone
//   if (affected.defaultServer) index.defaultServer();
//   if (affected.global) index.global();
//   for (const u of affected.upstreams) index.endpoints(u)  // null: the upstream is gone
//   validateIngress(rawObject, index, settings)        // the admission webhook: Problem[]
//   validationSteps(rawObject, index, settings)        // the same as a generator of small steps (large reviews)
//
// One Ingress may have at most settings.limits (defaultObjectLimits: 10,000 rules, 20,000 paths,
// 10,000 hosts); past one it is refused as a whole (a TooMany error naming the limit's flag).
//
// A RoutingIndex is also a ClusterState, so buildModel(index, settings) and
// validateIngress(raw, index, settings) use its indexes (fast) instead of scanning.
// Other questions it answers: hostsOf(ingressKey), ingressesUsingSecret(key),
// ingressesUsingService(key), handles(ingressKey), problemsOf(ingressKey) (for Events/status:
// its own problems and the conflicts it lost), problems(), upstreams().
//
// Models and servers share objects (locations of one Ingress share a settings object): treat
// everything returned as read-only. Measured on the shared 2-core machine (indicative): 10,000
// Ingresses over 2,000 hosts index in ~0.2-0.5 s; validateIngress p50 ~0.04 ms, p99 ~0.1-0.3 ms;
// upsert + server() of one Ingress's host p99 ~0.15 ms. tests/model/scale.ts builds that cluster.

export type * from './types.ts';
export {
  CONTROLLER_NAME,
  defaultControllerSettings,
  emptyState,
  objectKey,
  splitKey,
  type ClusterState,
  type ControllerSettings,
  type ObjectKey,
} from './cluster-state.ts';
export {
  fieldPath,
  parseConfigMap,
  parseEndpointSlice,
  parseIngress,
  parseIngressClass,
  parseObject,
  parseSecret,
  parseService,
  type ConfigMap,
  type EndpointSlice,
  type Ingress,
  type IngressClass,
  type KubeKind,
  type KubeObject,
  type Parsed,
  type Secret,
  type Service,
} from './schemas.ts';
export { hasErrors } from './problems.ts';
export { RESERVED_PREFIX, URL_VARIABLES } from './grammar.ts';
export { ANNOTATION_PREFIX, parseAnnotations } from './annotations.ts';
export { parseSnippet, snippetAllowlist, snippetPolicy, SNIPPET_DIRECTIVES, SNIPPET_VARIABLES, type SnippetContext, type SnippetPolicy } from './snippet-rules.ts';
export { tokenizeSnippet } from './snippet-tokens.ts';
export { ingressClassOf, isHandled } from './ingress-class.ts';
export { defaultGlobalSettings, parseGlobalSettings } from './global-settings.ts';
export { endpointsFor, serviceKeyOfSlice, sliceProblems } from './endpoints.ts';
export { plainUpstreamName } from './upstreams.ts';
export { RoutingIndex, type Affected } from './routing-index.ts';
export { buildModel, stateFromObjects, validateGatewayObject, validateIngress, validationSteps } from './build.ts';
export { pathMatches, routeRequest, serverFor } from './match.ts';
export { defaultObjectLimits, LIMIT_FLAGS, type ObjectLimits } from './object-limits.ts';
