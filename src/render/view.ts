// Turns the routing model into the NGINX-shaped view the templates loop over: which `location`
// blocks a Kubernetes path becomes, which zones, internal locations and files a host needs. No NGINX
// text is written here; every string still passes a filter in the template.
import { defaultHstsHeader, type HstsHeader } from '../model/settings-hsts.ts';
import type { GlobalSettings, Location, ObjectRef, Server, SnippetDirective, VerifyClient } from '../model/types.ts';
import { RESERVED_PREFIX } from '../model/index.ts';
import { certificateName, shortId } from './names.ts';
import { UnsafeValueError } from './filters.ts';
import { ancestors, emptyRouteMaps, pathRewrite, routeOf, selection, type MirrorTarget, type RouteCtx, type RouteMapsView, type RouteView } from './route-view.ts';

/** A file shipped with a fragment (FragmentPut.files). */
export interface FileOut {
  content: string;
  secret: boolean;
}

/** What a proxying location does; one model Location gives one body, used by 1–2 `location` blocks. */
export interface BodyView {
  source: string;
  httpsRedirect: boolean;
  /** A URL here uses `$escaped_request_uri` (auth-signin's `rd` does): the location sets it. */
  escapedUri: boolean;
  appRoot: string | null;
  redirect: { url: string; code: number } | null;
  /** Neither a backend nor a redirect: answer 503. */
  noBackend: boolean;
  upstream: string | null;
  /** An ExternalName backend, `name:port`, proxied to directly (NGINX resolves the name); null for most. */
  external: string | null;
  /** `proxy_pass http://` / `https://`, or `grpc_pass grpc://` / `grpcs://`. */
  scheme: 'http' | 'https' | 'grpc' | 'grpcs';
  grpc: boolean;
  canary: { upstream: string; weight: number; weightTotal: number; header: string | null; headerValue: string | null } | null;
  affinity: { cookieName: string; cookiePath: string | null; cookieMaxAgeSeconds: number | null; sameSite: string | null; secure: boolean | null } | null;
  hashBy: string | null;
  cors: {
    anyOrigin: boolean;
    origins: string[];
    methods: string;
    headers: string;
    expose: string;
    credentials: boolean;
    maxAge: number;
  } | null;
  rewrite: { regex: string; target: string } | null;
  /** Denied first, then allowed (and `deny all` when any is allowed), as ingress-nginx. */
  deny: string[];
  allow: string[];
  basicAuth: { realm: string; file: string } | null;
  externalAuth: { uri: string; signin: string | null; headers: { name: string; var: string }[] } | null;
  /** Request headers for the backend from the auth response (externalAuth.headers, or none). */
  authHeaders: { name: string; var: string }[];
  /** limit-rpm's and limit-rps's zones, in the order NGINX checks them (per minute first, as ingress-nginx). */
  limitReqs: { zone: string; burst: number }[];
  limitConn: { zone: string; limit: number } | null;
  bodySize: string | null;
  /** Timeouts, buffers, retries: null when the location sets none (most do not). */
  tuning: TuningView | null;
  /** What the request to the backend changes: null for HTTP/1.1 with the client's Host (most locations). */
  request: RequestView | null;
  /** This location writes add_header, so it must repeat the server's HSTS header. */
  hsts: HstsHeader | null;
  /** default-backend (and its custom-http-errors pages): null when the location has none (most). */
  defaultBackend: DefaultBackendView | null;
  /** Client-certificate checks (auth-tls-*): null when the location has none (most). */
  clientAuth: ClientAuthView | null;
  /** TLS towards the backend (proxy-ssl-*): null when the location sets none (most). */
  proxySsl: ProxySslView | null;
  /** configuration-snippet's directives: null when the Ingress has none (most). */
  snippet: SnippetDirective[] | null;
  /** Conditions, weights and filters of a route (route-view.ts): null for Ingress locations. */
  route: RouteView | null;
  /**
   * Who this location serves, "namespace ingress service port" in $wharf_location, which the
   * skeleton's maps split into $wharf_namespace, $wharf_ingress_name, $wharf_service_name and
   * $wharf_service_port (the access log, the controller-wide error pages): null for locations
   * without one Service. One `set` per location: the maps run only when a log line or page reads them.
   */
  identity: string | null;
}

/** proxy-ssl-* (grpc_ssl_* for GRPCS): the files and settings of the connection to the backend. */
export interface ProxySslView {
  /** Verification asked for without a usable CA, or an unusable Secret: answer 502, never proxy. */
  refused: boolean;
  /** files/<fragment>/… of the client certificate and key (both or neither), and of the CA bundle. */
  certificate: string | null;
  key: string | null;
  trusted: string | null;
  verify: boolean;
  depth: number;
  name: string | null;
  serverName: 'on' | 'off' | null;
  protocols: string[] | null;
  ciphers: string | null;
}

/** What a location with client-certificate authentication checks, and what its backend is told. */
export interface ClientAuthView {
  /** The checks cannot run (no valid CA, no TLS, another CA on the host): answer 403. */
  refused: boolean;
  verify: VerifyClient;
  /** Where a refused certificate is redirected (302); null: 400, as NGINX answers. */
  errorPage: string | null;
  matchCn: string | null;
  /** `ssl-client-cert` carries the escaped PEM; otherwise it is cleared (a client cannot forge it). */
  passCertificate: boolean;
}

/** Where a location falls back to when its upstream has no endpoint, and which answers it intercepts. */
export interface DefaultBackendView {
  upstream: string;
  /** custom-http-errors: each code goes to the named location `@<name>` (ServerView.errorLocations). */
  pages: { code: number; name: string }[];
}

/**
 * A named location that renders one custom error page through the default backend, with the headers
 * ingress-nginx sends to it (X-Code, X-Original-URI, X-Namespace, …).
 */
export interface ErrorLocationView {
  /** Without the `@`. */
  name: string;
  code: number;
  upstream: string;
  /**
   * The intercepted location's Ingress and Service; null for the controller-wide pages, shared by
   * every location of a server, which send the location's $wharf_* variables instead.
   */
  namespace: string | null;
  ingress: string | null;
  service: string | null;
  port: number | string | null;
}

/**
 * The proxy settings a location may tune. Kept apart from BodyView's other members so that a plain
 * location's view, which is hashed for the body cache on every render of its host, stays small.
 */
export interface TuningView {
  connectTimeout: number | null;
  readTimeout: number | null;
  sendTimeout: number | null;
  bufferSize: string | null;
  bodyBufferSize: string | null;
  /** proxy_buffering / proxy_request_buffering; null: NGINX's default (on). Never for gRPC. */
  buffering: 'on' | 'off' | null;
  requestBuffering: 'on' | 'off' | null;
  /** proxy_next_upstream (grpc_next_upstream) conditions; null: the skeleton's "error timeout". */
  nextUpstream: string[] | null;
  nextUpstreamTries: number | null;
  nextUpstreamTimeout: number | null;
}

/** How the request to the backend differs from HTTP/1.1 with the client's Host header. */
export interface RequestView {
  /** proxy_http_version 1.0 (never for gRPC). */
  http10: boolean;
  /** The Host header for the backend (upstream-vhost); null: the client's. */
  vhost: string | null;
  forwardedPrefix: string | null;
}

export interface LocationView {
  /** `=`, none, `~` (a Prefix among regexes), `~*` (a Regex path: case-insensitive, as ingress-nginx). */
  modifier: 'exact' | 'prefix' | 'regex' | 'iregex';
  path: string;
  body: BodyView;
  /**
   * The request metrics' labels of the location (metricsLabels), written before its body and kept
   * out of it, so that equal bodies on other paths still share one rendering. Null: not counted.
   */
  metrics: string | null;
}

export interface AuthLocationView {
  uri: string;
  url: string;
  /** auth-method; null: the client's. */
  method: string | null;
  /** auth-cache-key/-duration: the server's cache zone, the whole key and the proxy_cache_valid lines. */
  cache: { zone: string; key: string; valid: string[] } | null;
  /** auth-snippet's directives (empty for most). */
  snippet: SnippetDirective[];
}

/** The input of templates/host.liquid and templates/default-server.liquid. */
export interface ServerView {
  fragment: string;
  /** Null for the default server. */
  host: string | null;
  /** server_name: the host, then its server-alias names (empty for the default server). */
  serverNames: string[];
  /**
   * The agent's listen includes for plain HTTP and TLS (null: none): its own ports for the Ingresses'
   * hosts, a Gateway listener's port for a host served there (listener-hosts.ts).
   */
  listenHttp: string | null;
  listenHttps: string | null;
  sources: string[];
  /**
   * The name of the server's certificate in the agent's store (certificates.ts): its host's.
   * The certificate itself is not in the fragment, so a renewal changes no fragment. The default
   * server's certificate (--default-ssl-certificate) is files of its fragment: `cert` and `key`.
   */
  tls: { name: string; cert?: string; key?: string } | null;
  /** The CA file and depth of client-certificate verification (auth-tls-*); null for most servers. */
  clientAuth: { ca: string; depth: number } | null;
  hsts: HstsHeader | null;
  /** Per second, or per minute when `perMinute`. */
  limitReqZones: { name: string; rate: number; perMinute: boolean }[];
  limitConnZones: { name: string }[];
  authLocations: AuthLocationView[];
  /** The proxy_cache_path of auth-cache-key (relative to NGINX's prefix) and its zone; null for most servers. */
  authCache: { path: string; zone: string } | null;
  /** custom-http-errors' named locations (empty for most servers). */
  errorLocations: ErrorLocationView[];
  locations: LocationView[];
  /**
   * `location /` when no rule covers `/`: 404 (redirecting first when httpsRedirect), or the
   * controller-wide default backend's answer when there is one (--default-backend-service).
   */
  fallback: { httpsRedirect: boolean; defaultBackend: string | null } | null;
  /** server-snippet's directives (empty for most servers). */
  snippet: SnippetDirective[];
  /** Named locations of routes that share a path with conditions (empty for most servers). */
  namedLocations: { name: string; body: BodyView; metrics: string | null }[];
  /** The http-level maps and split_clients of routes (empty for most servers). */
  routeMaps: RouteMapsView;
  /** RequestMirror's internal locations: each proxies a copy of a request to one upstream (empty for most servers). */
  mirrorLocations: MirrorTarget[];
}

/** The input of templates/www-redirect.liquid: the server that redirects a host's www twin to it. */
export interface WwwRedirectView {
  from: string;
  to: string;
  /** The host's certificate, when it covers `from`; null: plain HTTP only. */
  tls: ServerView['tls'];
}

export interface ViewResult {
  view: ServerView;
  files: Record<string, FileOut>;
}

const ref = (o: ObjectRef): string => `${o.namespace}/${o.name}`;
const escapeRegex = (s: string): string => s.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
/** Where HTTP-01 challenges are answered: never redirected to HTTPS. */
export const ACME_PREFIX = '/.well-known/acme-challenge/';

/** The `location` blocks of one model Location, in the order NGINX must see them. */
function nginxLocations(loc: Location, regexMode: boolean): { modifier: LocationView['modifier']; path: string }[] {
  // NGINX answers `/foo` with a 301 to `/foo/` when a proxying location's name ends in `/` (even
  // `location = /foo/`); an anchored regex has no such redirect.
  if (loc.match === 'Exact') {
    if (loc.path.length > 1 && loc.path.endsWith('/')) return [{ modifier: 'regex', path: `^${escapeRegex(loc.path)}$` }];
    return [{ modifier: 'exact', path: loc.path }];
  }
  if (loc.match === 'Regex') return [{ modifier: loc.caseSensitive ? 'regex' : 'iregex', path: `^${loc.path}` }];
  if (loc.path === '/') return [{ modifier: 'prefix', path: '/' }];
  // Prefix matches element by element: `/foo` is `/foo` itself and everything under `/foo/`. Among
  // regex locations (checked in order, longest path first) it has to be a regex too.
  if (regexMode) return [{ modifier: 'regex', path: `^${escapeRegex(loc.path)}(?:/|$)` }];
  return [
    { modifier: 'exact', path: loc.path },
    { modifier: 'prefix', path: `${loc.path}/` },
  ];
}

interface Ctx {
  fragment: string;
  hsts: HstsHeader | null;
  global: GlobalSettings;
  view: ServerView;
  files: Record<string, FileOut>;
  routes: RouteCtx;
}

/** A location's identity on its server: match, path and conditions. */
function locationId(loc: Location): string {
  return loc.conditions?.length ? `${loc.match} ${loc.path} ${JSON.stringify(loc.conditions)}` : `${loc.match} ${loc.path}`;
}

function body(loc: Location, ctx: Ctx): BodyView {
  const s = loc.settings;
  const id = shortId(`${loc.match} ${loc.path}`);
  const zoneBase = `${ctx.fragment}_${id}`;
  const burstMultiplier = s.limitBurstMultiplier ?? 5;
  // limit-rpm is checked before limit-rps (ingress-nginx's order); the zones are declared rps first.
  const limitReqs: BodyView['limitReqs'] = [];
  if (s.limitRps !== undefined) {
    const zone = `${zoneBase}_rps`;
    limitReqs.push({ zone, burst: s.limitRps * burstMultiplier });
    ctx.view.limitReqZones.push({ name: zone, rate: s.limitRps, perMinute: false });
  }
  if (s.limitRpm !== undefined) {
    const zone = `${zoneBase}_rpm`;
    limitReqs.unshift({ zone, burst: s.limitRpm * burstMultiplier });
    ctx.view.limitReqZones.push({ name: zone, rate: s.limitRpm, perMinute: true });
  }
  let limitConn: BodyView['limitConn'] = null;
  if (s.limitConnections !== undefined) {
    limitConn = { zone: `${zoneBase}_conn`, limit: s.limitConnections };
    ctx.view.limitConnZones.push({ name: limitConn.zone });
  }
  let basicAuth: BodyView['basicAuth'] = null;
  if (s.basicAuth) {
    const file = `auth-${shortId(ref(s.basicAuth.secret))}`;
    ctx.files[file] = { content: s.basicAuth.htpasswd, secret: true };
    basicAuth = { realm: s.basicAuth.realm, file: `files/${ctx.fragment}/${file}` };
  }
  let externalAuth: BodyView['externalAuth'] = null;
  if (s.externalAuth) {
    const uri = `${RESERVED_PREFIX}/auth/${id}`;
    const c = s.externalAuth.cache;
    let cache: AuthLocationView['cache'] = null;
    if (c) {
      ctx.view.authCache ??= { path: `run/auth-cache-${ctx.fragment}`, zone: `${ctx.fragment}_auth` };
      // The auth location's path first: each location keeps its own answers.
      cache = { zone: ctx.view.authCache.zone, key: `${uri}:${c.key}`, valid: c.valid };
    }
    ctx.view.authLocations.push({ uri, url: s.externalAuth.url, method: s.externalAuth.method ?? null, cache, snippet: s.externalAuth.snippet ?? [] });
    externalAuth = {
      uri,
      signin: s.externalAuth.signin ?? null,
      headers: s.externalAuth.responseHeaders.map((name, i) => ({ name, var: `wharf_auth_header_${i}` })),
    };
  }
  let rewrite: BodyView['rewrite'] = null;
  if (s.rewriteTarget !== undefined) {
    // Capture groups come from the location's own regex; other paths are replaced as a whole.
    rewrite = { regex: loc.match === 'Regex' ? `(?i)^${loc.path}` : '^', target: s.rewriteTarget };
  } else if (loc.filters?.rewritePath && !loc.filters.redirect) {
    rewrite = pathRewrite(loc.filters.rewritePath, loc.path, loc.match);
  }
  const cors = s.cors
    ? {
        anyOrigin: s.cors.allowOrigins.includes('*'),
        origins: s.cors.allowOrigins.filter((o) => o !== '*'),
        methods: s.cors.allowMethods.join(', '),
        headers: s.cors.allowHeaders.join(', '),
        expose: s.cors.exposeHeaders.join(', '),
        credentials: s.cors.allowCredentials,
        maxAge: s.cors.maxAgeSeconds,
      }
    : null;
  const canary = loc.canary
    ? {
        upstream: loc.canary.backend.upstream,
        weight: loc.canary.weight,
        weightTotal: loc.canary.weightTotal,
        header: loc.canary.header ?? null,
        headerValue: loc.canary.headerValue ?? null,
      }
    : null;
  const affinity = s.affinity
    ? {
        cookieName: s.affinity.cookieName,
        cookiePath: s.affinity.cookiePath ?? null,
        cookieMaxAgeSeconds: s.affinity.cookieMaxAgeSeconds ?? null,
        sameSite: s.affinity.sameSite ?? null,
        secure: s.affinity.secure ?? null,
      }
    : null;
  const grpc = s.backendProtocol === 'GRPC' || s.backendProtocol === 'GRPCS';
  let defaultBackend: BodyView['defaultBackend'] = null;
  const codes = s.customHttpErrors ?? ctx.global.customHttpErrors ?? [];
  // ingress-nginx's flag and key are for Ingresses: Gateway API routes keep the specification's answers.
  if (!loc.defaultBackend && ctx.global.defaultBackend && loc.backend && !s.redirect && loc.source.kind === 'Ingress') {
    // The controller-wide default backend: one named location per code for the whole server.
    const pages = codes.map((code) => ({ code, name: `wharf_error_default_${code}` }));
    for (const p of pages) {
      if (ctx.view.errorLocations.some((e) => e.name === p.name)) continue;
      ctx.view.errorLocations.push({ name: p.name, code: p.code, upstream: ctx.global.defaultBackend.upstream, namespace: null, ingress: null, service: null, port: null });
    }
    defaultBackend = { upstream: ctx.global.defaultBackend.upstream, pages };
  } else if (loc.defaultBackend && loc.backend && !s.redirect) {
    const fallback = loc.defaultBackend;
    const pages = codes.map((code) => ({ code, name: `wharf_error_${id}_${code}` }));
    for (const p of pages) {
      ctx.view.errorLocations.push({
        name: p.name,
        code: p.code,
        upstream: fallback.upstream,
        namespace: loc.source.namespace,
        ingress: loc.source.name,
        service: loc.backend.service,
        port: loc.backend.port,
      });
    }
    defaultBackend = { upstream: fallback.upstream, pages };
  }
  let clientAuth: BodyView['clientAuth'] = null;
  if (s.clientAuth) {
    const c = s.clientAuth;
    // A location whose server verifies nothing cannot check a certificate: refused, never open.
    const refused = c.refused || ctx.view.clientAuth === null;
    clientAuth = { refused, verify: c.verify, errorPage: c.errorPage ?? null, matchCn: c.matchCn ?? null, passCertificate: c.passCertificate };
  }
  const { route, upstream } = routeOf(loc, ctx.routes, locationId(loc));
  return {
    source: ref(loc.source),
    route,
    proxySsl: s.proxySsl ? proxySslOf(s.proxySsl, ctx) : null,
    // The model's sslRedirect is already the effective value (TLS host, ssl-redirect not "false").
    httpsRedirect: s.sslRedirect || s.forceSslRedirect,
    escapedUri:
      (s.externalAuth !== undefined && (s.externalAuth.signin !== undefined || s.externalAuth.url.includes('$escaped_request_uri'))) ||
      (s.redirect?.url.includes('$escaped_request_uri') ?? false),
    appRoot: s.appRoot ?? null,
    redirect: s.redirect ? { url: s.redirect.url, code: s.redirect.code } : null,
    noBackend: loc.backend === null && !s.redirect && route === null,
    upstream: loc.backend?.external ? null : upstream,
    external: loc.backend?.external && !route ? `${loc.backend.external.host}:${loc.backend.external.port}` : null,
    scheme: s.backendProtocol.toLowerCase() as BodyView['scheme'],
    grpc,
    canary,
    affinity,
    hashBy: s.upstreamHashBy ?? null,
    cors,
    rewrite,
    deny: s.denySourceRange ?? [],
    allow: s.allowSourceRange ?? [],
    basicAuth,
    externalAuth,
    authHeaders: externalAuth?.headers ?? [],
    limitReqs,
    limitConn,
    bodySize: s.proxyBodySize ?? null,
    tuning: tuningOf(s, grpc),
    request: requestOf(s, grpc),
    // add_header in a location replaces the server's: the location repeats HSTS when it writes any.
    hsts: ctx.hsts && (cors !== null || affinity !== null || route?.responseHeaders != null || (s.snippet?.some((d) => d.name === 'add_header') ?? false)) ? ctx.hsts : null,
    defaultBackend,
    clientAuth,
    snippet: s.snippet ?? null,
    identity: loc.backend && !route ? `${loc.source.namespace} ${loc.source.name} ${loc.backend.service} ${loc.backend.port}` : null,
  };
}

/**
 * The labels a location's requests are counted under, encoded so that no user string reaches the
 * file as text: the Ingress's or route's kind, namespace and name, the Service (the weighted ones,
 * comma-separated; none for a redirect) and the path as the rule writes it.
 */
export function metricsLabels(loc: Location, host: string): string {
  const services = loc.backend ? [loc.backend.service] : [...new Set((loc.backends ?? []).flatMap((w) => (w.backend ? [w.backend.service] : [])))];
  const encode = (path: string, service: string) =>
    // A leading "." tells the log phase that the location may send a request to a canary: only
    // then does it read the canary variable (one lookup fewer for every other request).
    (loc.canary ? '.' : '') + Buffer.from(JSON.stringify([loc.source.kind, loc.source.namespace, loc.source.name, service, path, host])).toString('base64');
  const encoded = encode(clipLabel(loc.path), clipLabel(services.join(',')));
  // NGINX refuses a configuration token longer than 4096 bytes: a path of escapes keeps only its hash.
  return encoded.length <= MAX_METRICS_VALUE ? encoded : encode(`#${shortId(loc.path)}`, `#${shortId(services.join(','))}`);
}

/** Longest $wharf_metrics value (base64), well under NGINX's 4096-byte limit on one token. */
const MAX_METRICS_VALUE = 3000;
const MAX_LABEL = 200;

/** A label value of at most 200 characters: a longer one keeps its start and a hash of the whole. */
function clipLabel(value: string): string {
  return value.length <= MAX_LABEL ? value : `${value.slice(0, MAX_LABEL - 14)}…#${shortId(value)}`;
}

/** The proxy-ssl-* view of a location, shipping the Secret's files with the fragment. */
function proxySslOf(p: NonNullable<Location['settings']['proxySsl']>, ctx: Ctx): ProxySslView {
  const v: ProxySslView = {
    refused: p.refused,
    certificate: null,
    key: null,
    trusted: null,
    verify: p.verify,
    depth: p.depth,
    name: p.name ?? null,
    serverName: onOff(p.serverName),
    protocols: p.protocols ?? null,
    ciphers: p.ciphers ?? null,
  };
  if (p.refused || !p.secret) return v;
  const base = `proxy-ssl-${shortId(ref(p.secret))}`;
  if (p.clientCertificate) {
    ctx.files[`${base}.crt`] = { content: p.clientCertificate.cert, secret: false };
    ctx.files[`${base}.key`] = { content: p.clientCertificate.key, secret: true };
    v.certificate = `files/${ctx.fragment}/${base}.crt`;
    v.key = `files/${ctx.fragment}/${base}.key`;
  }
  if (p.ca) {
    ctx.files[`${base}-ca.crt`] = { content: p.ca, secret: false };
    v.trusted = `files/${ctx.fragment}/${base}-ca.crt`;
  }
  // The model refuses verification without a CA; should one slip through, refuse rather than proxy unverified.
  if (v.verify && v.trusted === null) v.refused = true;
  return v;
}

const onOff = (b: boolean | undefined) => (b === undefined ? null : b ? 'on' : 'off');

/** The settings TuningView carries: most locations have none, and are told so without an allocation. */
const TUNING_SETTINGS = [
  'proxyConnectTimeout', 'proxyReadTimeout', 'proxySendTimeout', 'proxyBufferSize', 'clientBodyBufferSize',
  'proxyBuffering', 'proxyRequestBuffering', 'proxyNextUpstream', 'proxyNextUpstreamTries', 'proxyNextUpstreamTimeout',
] as const;

function tuningOf(s: Location['settings'], grpc: boolean): TuningView | null {
  if (!TUNING_SETTINGS.some((k) => s[k] !== undefined)) return null;
  const t: TuningView = {
    connectTimeout: s.proxyConnectTimeout ?? null,
    readTimeout: s.proxyReadTimeout ?? null,
    sendTimeout: s.proxySendTimeout ?? null,
    bufferSize: s.proxyBufferSize ?? null,
    bodyBufferSize: s.clientBodyBufferSize ?? null,
    // NGINX's grpc module has no buffering switches (the model drops them for gRPC with a warning).
    buffering: grpc ? null : onOff(s.proxyBuffering),
    requestBuffering: grpc ? null : onOff(s.proxyRequestBuffering),
    nextUpstream: s.proxyNextUpstream ?? null,
    nextUpstreamTries: s.proxyNextUpstreamTries ?? null,
    nextUpstreamTimeout: s.proxyNextUpstreamTimeout ?? null,
  };
  // gRPC with only the buffering switches, which it has not, tunes nothing.
  return Object.values(t).some((v) => v !== null) ? t : null;
}

function requestOf(s: Location['settings'], grpc: boolean): RequestView | null {
  const http10 = !grpc && s.proxyHttpVersion === '1.0';
  if (!http10 && s.upstreamVhost === undefined && s.xForwardedPrefix === undefined) return null;
  return { http10, vhost: s.upstreamVhost ?? null, forwardedPrefix: s.xForwardedPrefix ?? null };
}

/**
 * The model's locations by match and path, in order: one group each, except that locations sharing
 * a path with conditions (routes) are one group, in their precedence order.
 */
function pathGroups(locations: readonly Location[]): Location[][] {
  if (!locations.some((l) => l.conditions?.length)) return locations.map((l) => [l]);
  const groups = new Map<string, Location[]>();
  for (const l of locations) {
    const key = `${l.match} ${l.path}`;
    const g = groups.get(key);
    if (g) g.push(l);
    else groups.set(key, [l]);
  }
  return [...groups.values()];
}

/**
 * The body of a location whose first route has conditions: a hand-off to the named location of the
 * first route whose conditions hold (its own, then those of shorter Prefix paths), or 404.
 */
function dispatchBody(group: Location[], groups: readonly Location[][], ctx: Ctx): BodyView {
  const all = [...group, ...ancestors(group[0]!, groups)];
  const end = all.findIndex((l) => !l.conditions?.length);
  const candidates = end === -1 ? all : all.slice(0, end + 1);
  const named = candidates.map((l) => namedLocation(l, ctx));
  const noRoute = namedLocation(null, ctx);
  const dispatch = selection(`${group[0]!.match} ${group[0]!.path}`, candidates, named, noRoute, ctx.routes);
  return { ...bareBody(group[0]!.source), route: { ...NO_ROUTE, dispatch } };
}

const NO_ROUTE: RouteView = { dispatch: null, weighted: null, fail: null, requestHeaders: [], responseHeaders: null, mirrors: [], redirect: null };

/** A body that does nothing of its own (the route part says what it does). */
function bareBody(source: ObjectRef): BodyView {
  return {
    source: ref(source), httpsRedirect: false, escapedUri: false, appRoot: null, redirect: null, noBackend: false, upstream: null, external: null,
    scheme: 'http', grpc: false, canary: null, affinity: null, hashBy: null, cors: null, rewrite: null, deny: [], allow: [],
    basicAuth: null, externalAuth: null, authHeaders: [], limitReqs: [], limitConn: null, bodySize: null, tuning: null,
    request: null, hsts: null, defaultBackend: null, clientAuth: null, proxySsl: null, snippet: null, route: null, identity: null,
  };
}

/** The named location of a route (rendered once per server), or (null) of the server's 404. */
function namedLocation(loc: Location | null, ctx: Ctx): string {
  const id = loc ? locationId(loc) : '404';
  const name = `wharf_r_${shortId(`${ctx.fragment} ${id}`)}`;
  if (!ctx.view.namedLocations.some((n) => n.name === name)) {
    const b = loc ? body(loc, ctx) : { ...bareBody({ kind: 'Ingress', namespace: '', name: '' }), source: 'none', route: { ...NO_ROUTE, fail: 404 as const } };
    ctx.view.namedLocations.push({ name, body: b, metrics: loc ? metricsLabels(loc, ctx.view.serverNames[0] ?? '') : null });
  }
  return name;
}

/** The view of one server block: a host's, or (host null) the default server's. */
export function serverView(
  fragment: string,
  host: string | null,
  locations: Location[],
  opts: {
    tls: Server['tls'];
    sslRedirect: boolean;
    sources: ObjectRef[];
    global: GlobalSettings;
    aliases?: string[] | undefined;
    /** A wildcard host matches names of any depth (Server.deepWildcard). */
    deepWildcard?: boolean | undefined;
    clientAuth?: Server['clientAuth'];
    snippet?: Server['snippet'];
    /** A Gateway listener's own port (listener-hosts.ts): the server listens there only, with one protocol. */
    port?: number | null;
    /** The routes without a hostname on that port: every name. */
    everyName?: boolean;
    /** That port speaks HTTP/2 cleartext (GRPCRoutes of an h2c listener). */
    h2c?: boolean;
  },
): ViewResult {
  const hsts = opts.tls !== null && opts.global.hsts ? (opts.global.hstsHeader ?? defaultHstsHeader) : null;
  const view: ServerView = {
    fragment,
    host,
    serverNames: opts.everyName ? ['*'] : host === null ? [] : [opts.deepWildcard ? `*${host}` : host, ...(opts.aliases ?? [])],
    listenHttp: opts.port == null ? 'listen-http.conf' : opts.tls ? null : `listen-${opts.h2c ? 'h2c' : 'http'}-${opts.port}.conf`,
    listenHttps: opts.port == null ? 'listen-https.conf' : opts.tls ? `listen-https-${opts.port}.conf` : null,
    sources: opts.sources.map(ref),
    tls: !opts.tls ? null : host !== null && opts.port == null ? { name: certificateName(host) } : { name: host === null ? '' : certificateName(host), cert: `files/${fragment}/tls.crt`, key: `files/${fragment}/tls.key` },
    clientAuth: opts.tls && opts.clientAuth ? { ca: `files/${fragment}/ca.crt`, depth: opts.clientAuth.depth } : null,
    hsts,
    limitReqZones: [],
    limitConnZones: [],
    authLocations: [],
    authCache: null,
    errorLocations: [],
    locations: [],
    fallback: null,
    snippet: opts.snippet?.directives ?? [],
    namedLocations: [],
    routeMaps: emptyRouteMaps(),
    mirrorLocations: [],
  };
  const files: Record<string, FileOut> = {};
  if (opts.tls && (host === null || opts.port != null)) {
    // The default server's certificate (--default-ssl-certificate) stays files of its fragment: it
    // is served without SNI too, where the agent's store has no name to look up. So does that of a
    // Gateway listener on a port of its own (listen-https-P.conf has no lookup by SNI).
    files['tls.crt'] = { content: opts.tls.cert, secret: false };
    files['tls.key'] = { content: opts.tls.key, secret: true };
  }
  if (opts.tls && opts.clientAuth) files['ca.crt'] = { content: opts.clientAuth.ca, secret: false };
  const ctx: Ctx = { fragment, hsts, global: opts.global, view, files, routes: { fragment, maps: view.routeMaps, conditionNames: new Map(), mirrorLocations: view.mirrorLocations } };
  const regexMode = locations.some((l) => l.match === 'Regex');
  // NGINX refuses two `location`s with the same path; the model has resolved conflicts, so a
  // duplicate here can only be a lower-precedence twin (Prefix `/foo` after Exact `/foo`).
  const seen = new Set<string>();
  const seenBodies = new Set<string>();
  const groups = pathGroups(locations);
  for (const group of groups) {
    const loc = group[0]!;
    const blocks = nginxLocations(loc, regexMode).filter((b) => !seen.has(`${b.modifier} ${b.path}`));
    if (blocks.length === 0) continue;
    const key = `${loc.match} ${loc.path}`;
    if (seenBodies.has(key)) continue;
    seenBodies.add(key);
    const b = loc.conditions?.length ? dispatchBody(group, groups, ctx) : body(loc, ctx);
    const metrics = metricsLabels(loc, view.serverNames[0] ?? '');
    for (const block of blocks) {
      seen.add(`${block.modifier} ${block.path}`);
      view.locations.push({ ...block, body: b, metrics });
    }
  }
  for (const a of view.authLocations) {
    if (seen.has(`exact ${a.uri}`)) throw new UnsafeValueError('location', a.uri, 'the path is reserved for wharf (external auth)');
  }
  if (!seen.has('prefix /')) {
    const ingressesOnly = opts.sources.every((o) => o.kind === 'Ingress');
    view.fallback = { httpsRedirect: opts.sslRedirect, defaultBackend: ingressesOnly ? (opts.global.defaultBackend?.upstream ?? null) : null };
  }
  return { view, files };
}
