// The routing model: what wharf makes of the cluster's objects, before any NGINX text. Built by
// src/model (pure), rendered by src/render (pure), consumed by the handler tier. Everything here is
// already validated: every string in it passed the check for the place it will be written to.

import type { ClientAddressSettings } from './client-address.ts';

/** The object a route, a problem or a warning comes from. */
export interface ObjectRef {
  kind: 'Ingress' | 'IngressClass' | 'Service' | 'EndpointSlice' | 'Secret' | 'ConfigMap' | 'GatewayClass' | 'Gateway' | 'HTTPRoute' | 'GRPCRoute' | 'TLSRoute' | 'TCPRoute' | 'UDPRoute' | 'ReferenceGrant' | 'Namespace';
  namespace: string;
  name: string;
  uid?: string;
}

/**
 * What is wrong with an object, as data: it becomes an admission denial or warning, a Kubernetes
 * Event and a status condition alike. `message` reads `field.path: Invalid value: "v": reason`.
 */
export interface Problem {
  object: ObjectRef;
  severity: 'error' | 'warning';
  /** Machine-readable, CamelCase: InvalidPath, InvalidAnnotation, SnippetRefused, HostConflict, … */
  reason: string;
  /** Field path, e.g. `spec.rules[0].http.paths[1].path` or `metadata.annotations[nginx.ingress.kubernetes.io/rewrite-target]`. */
  field: string;
  message: string;
}

export type BackendProtocol = 'HTTP' | 'HTTPS' | 'GRPC' | 'GRPCS';

/** Where a location proxies to: one Service port, as an upstream of endpoints. */
export interface ServiceBackend {
  /** `namespace-service-port`, unique in the model (see upstreamName). */
  upstream: string;
  namespace: string;
  service: string;
  /** The Service port as the Ingress references it, by number or by name. */
  port: number | string;
  /**
   * An ExternalName Service: the DNS name (or IPv4 address) and port NGINX proxies to, resolving the
   * name at request time through its `resolver` (no endpoints, no Lua balancer); absent for most.
   */
  external?: { host: string; port: number };
}

/**
 * One directive of an accepted snippet (configuration-, server-, auth-snippet): a name on the
 * allowlist (snippet-rules.ts) and its arguments as NGINX reads them, each checked by that
 * directive's grammar; the renderer writes them quoted, never the snippet's text.
 */
export interface SnippetDirective {
  name: string;
  args: string[];
}

/** Typed, validated values of the supported ingress-nginx annotations (absent = not set). */
export interface LocationSettings {
  rewriteTarget?: string;
  backendProtocol: BackendProtocol;
  /** Effective for this location: its host has TLS and ssl-redirect is not "false", or force-ssl-redirect. */
  sslRedirect: boolean;
  forceSslRedirect: boolean;
  /** NGINX size ("8m", "512k", "0" = unlimited). */
  proxyBodySize?: string;
  proxyBufferSize?: string;
  /** Seconds. */
  proxyConnectTimeout?: number;
  proxyReadTimeout?: number;
  proxySendTimeout?: number;
  /** CIDRs allowed; everything else gets 403. */
  allowSourceRange?: string[];
  /** CIDRs that get 403, checked before allowSourceRange (ingress-nginx's order). */
  denySourceRange?: string[];
  limitRps?: number;
  /** Requests per minute. */
  limitRpm?: number;
  /** The burst of limitRps and limitRpm is the rate times this (absent: 5, as ingress-nginx). */
  limitBurstMultiplier?: number;
  limitConnections?: number;
  /** NGINX size for client_body_buffer_size. */
  clientBodyBufferSize?: string;
  /** proxy_buffering and proxy_request_buffering (HTTP(S) backends only: NGINX never buffers gRPC). */
  proxyBuffering?: boolean;
  proxyRequestBuffering?: boolean;
  /** HTTP version towards the backend (absent: 1.1); 1.0 has no keepalive and no WebSocket. HTTP(S) only. */
  proxyHttpVersion?: '1.0' | '1.1';
  /** When a request goes to another endpoint: NGINX's proxy_next_upstream conditions, or ["off"]. */
  proxyNextUpstream?: string[];
  /** Attempts in all, the first included (0: as many as there are endpoints). */
  proxyNextUpstreamTries?: number;
  /** Seconds (0: no limit). */
  proxyNextUpstreamTimeout?: number;
  /** The X-Forwarded-Prefix request header. */
  xForwardedPrefix?: string;
  /** The Host header sent to the backend instead of the request's: a host name or address, optionally :port. */
  upstreamVhost?: string;
  cors?: {
    allowOrigins: string[]; // "*" or exact origins
    allowMethods: string[];
    allowHeaders: string[];
    exposeHeaders: string[];
    allowCredentials: boolean;
    maxAgeSeconds: number;
  };
  /** Sticky sessions by cookie. */
  affinity?: { cookieName: string; cookiePath?: string; cookieMaxAgeSeconds?: number; sameSite?: 'None' | 'Lax' | 'Strict'; secure?: boolean };
  /** An NGINX variable expression from a strict grammar, e.g. "$remote_addr" or "$arg_user". */
  upstreamHashBy?: string;
  basicAuth?: { realm: string; /** htpasswd file content, from the auth Secret */ htpasswd: string; secret: ObjectRef };
  /** auth-url and its companions; `snippet`: auth-snippet's directives, for the auth request's location. */
  externalAuth?: {
    url: string;
    signin?: string;
    responseHeaders: string[];
    snippet?: SnippetDirective[];
    /** auth-method: the method of the auth request (absent: the client's). */
    method?: string;
    /** auth-cache-key/-duration: answers of the auth service kept per key, for these proxy_cache_valid lines. */
    cache?: { key: string; valid: string[] };
  };
  /** enable-global-auth "false": the ConfigMap's global-auth-url does not apply to this location. */
  globalAuth?: false;
  /**
   * Client-certificate authentication (auth-tls-*): what this location checks. The CA and depth are
   * the server's (Server.clientAuth). `refused`: the CA is missing or invalid, the host has no TLS,
   * or an older Ingress set another CA or depth on the host: the location answers 403.
   */
  clientAuth?: ClientAuth;
  /**
   * TLS towards an HTTPS or GRPCS backend (proxy-ssl-*): only set when one of those annotations is
   * (rare), and only with backend-protocol HTTPS or GRPCS.
   */
  proxySsl?: ProxySsl;
  appRoot?: string;
  redirect?: { url: string; code: 301 | 302 | 307 | 308 };
  /**
   * custom-http-errors: backend answers with these codes (sorted) go to the location's
   * defaultBackend, which renders the page. Only set with a defaultBackend.
   */
  customHttpErrors?: number[];
  /** configuration-snippet's directives, written into the location (absent: none, most). */
  snippet?: SnippetDirective[];
}

/** auth-tls-verify-client without "off" (which asks for nothing), as ingress-nginx names the modes. */
export type VerifyClient = 'on' | 'optional' | 'optional_no_ca';

export interface ClientAuth {
  /** on: a certificate signed by the CA is required (400); optional: a certificate, if sent, must be; optional_no_ca: none is checked. */
  verify: VerifyClient;
  /** auth-tls-error-page: where a refused certificate is redirected (302) instead of 400. */
  errorPage?: string;
  /** auth-tls-pass-certificate-to-upstream: the escaped PEM goes to the backend as `ssl-client-cert`. */
  passCertificate: boolean;
  /** auth-tls-match-cn: a regex (strict grammar, `CN=…`) the subject DN must match, else 403. */
  matchCn?: string;
  refused: boolean;
}

/** proxy-ssl-*: how the connection to an HTTPS (GRPCS) backend is made and its certificate checked. */
export interface ProxySsl {
  /** proxy-ssl-secret, when set and usable (absent: none set). */
  secret?: ObjectRef;
  /** PEM certificate chain and key presented to the backend (proxy_ssl_certificate / _key). */
  clientCertificate?: { cert: string; key: string };
  /** PEM CA bundle the backend's certificate is verified with (proxy_ssl_trusted_certificate). */
  ca?: string;
  /** proxy-ssl-verify "on": the backend's certificate must chain to `ca` and match `name`. */
  verify: boolean;
  depth: number;
  /** proxy-ssl-name: a lowercase host name, checked in the certificate and sent as SNI. */
  name?: string;
  /** proxy-ssl-server-name: send SNI (absent: NGINX's default, off). */
  serverName?: boolean;
  /** proxy-ssl-protocols: TLS versions, in NGINX's spelling (TLSv1.2, TLSv1.3, …), sorted. */
  protocols?: string[];
  /** proxy-ssl-ciphers: an OpenSSL cipher string that selects at least one cipher. */
  ciphers?: string;
  /**
   * The Secret is missing or unusable, or verify is on without a CA: the locations answer 502
   * rather than proxy with less than was asked (unverified, or without the client certificate).
   */
  refused: boolean;
}

export interface Canary {
  backend: ServiceBackend;
  /** 0..weightTotal; requests go to the canary with probability weight/weightTotal. */
  weight: number;
  weightTotal: number;
  /** Requests with this header set to `headerValue` (or "always" when no value) go to the canary; "never" never does. */
  header?: string;
  headerValue?: string;
  source: ObjectRef;
}

/**
 * A test on the request besides its path, all of which a Location's `conditions` require (Gateway
 * API matches). `value` is the exact value, or a regex (PCRE, unanchored) that passed the model's
 * grammar. Evaluated inside NGINX by `map`s the renderer writes, never by `if`.
 */
export interface RequestCondition {
  /**
   * A request header (`name` lowercase), a query parameter (`name` as written), the method, the path
   * (`name` ''), or the scheme (`name` '', value `http` or `https`: the protocol of the listeners a
   * route attached to, so it is served on those only).
   */
  on: 'header' | 'query' | 'method' | 'path' | 'scheme';
  name: string;
  match: 'Exact' | 'RegularExpression' | 'Prefix';
  value: string;
}

/** One backend of a weighted set (Gateway API backendRefs). */
export interface WeightedBackend {
  /** Null: a reference that cannot be used (missing Service, refused by a ReferenceGrant): its share answers 500. */
  backend: ServiceBackend | null;
  /** Relative weight; 0 gets no request. */
  weight: number;
}

/** Header changes: names as written (NGINX compares them case-insensitively); values plain printable ASCII. */
export interface HeaderChanges {
  set: { name: string; value: string }[];
  add: { name: string; value: string }[];
  remove: string[];
}

/** A path change of a redirect or rewrite: the whole path, or the part the location's Prefix path matched. */
export interface PathChange {
  type: 'ReplaceFullPath' | 'ReplacePrefixMatch';
  value: string;
}

/** What a route does to a request besides choosing a backend (Gateway API filters). */
export interface RouteFilters {
  requestHeaders?: HeaderChanges;
  responseHeaders?: HeaderChanges;
  /** Answer with a redirect instead of proxying. scheme/hostname null: the request's; port null: none written. */
  redirect?: { scheme: 'http' | 'https' | null; hostname: string | null; port: number | null; path: PathChange | null; code: 301 | 302 | 303 | 307 | 308 };
  /** The path the backend gets (the Host header is settings.upstreamVhost). */
  rewritePath?: PathChange;
  /**
   * Copies of requests go to these backends too; their answers are dropped. `percent` (0.01 to
   * 99.99, two decimals): of the requests, chosen at random; absent: every request.
   */
  mirrors?: (ServiceBackend & { percent?: number })[];
}

export interface Location {
  /** Exact and Prefix paths as written in the Ingress, a Prefix's trailing slash removed (but "/"). */
  path: string;
  /**
   * ImplementationSpecific becomes Prefix (element-wise), or Regex with use-regex or rewrite-target
   * (ingress-nginx: `location ~* "^<path>"`, case-insensitive). Exact and Prefix stay themselves.
   */
  match: 'Exact' | 'Prefix' | 'Regex';
  /**
   * Null for a location that only redirects (settings.redirect, filters.redirect) or that has
   * weighted `backends` instead; otherwise null answers 503. settings.redirect/appRoot take precedence.
   */
  backend: ServiceBackend | null;
  canary?: Canary;
  /**
   * default-backend: answers when `backend` (and the canary) has no ready endpoint, and renders the
   * custom-http-errors pages. The Service's first port, as ingress-nginx uses.
   */
  defaultBackend?: ServiceBackend;
  settings: LocationSettings;
  /** The Ingress this location comes from (the oldest one, when several claim it). */
  source: ObjectRef;
  /**
   * More conditions than the path (absent or empty: every request on the path). Several Locations
   * may share a path with different conditions; they are tried in the model's order (the Gateway
   * API's precedence), then the Locations of shorter Prefix paths that also match.
   */
  conditions?: RequestCondition[];
  /** A Regex path compared case-sensitively (Gateway API routes); absent: case-insensitive, as ingress-nginx. */
  caseSensitive?: boolean;
  /** Weighted backends: when set, they replace `backend` (which is then null). */
  backends?: WeightedBackend[];
  filters?: RouteFilters;
}

export interface Tls {
  secret: ObjectRef;
  /** PEM certificate chain and key, from the kubernetes.io/tls Secret. */
  cert: string;
  key: string;
  /** The lowercase DNS names the certificate is valid for (its DNS subjectAltNames, or its CN when it has none). */
  names: string[];
  /** --default-ssl-certificate's, for a TLS entry without a usable certificate of its own (absent: the entry's own). */
  fromDefault?: boolean;
}

/** One virtual host: every Ingress rule for it, merged. */
export interface Server {
  /** Lowercase DNS name, or a wildcard `*.example.com` (one label, unless deepWildcard). */
  host: string;
  /**
   * The wildcard host matches names of any depth (`*.example.com` matches `a.b.example.com`), as
   * the Gateway API's hostnames do: set when a route contributes to it.
   */
  deepWildcard?: boolean;
  /** Sorted: longest path first, Exact before Prefix at equal length; deterministic. */
  locations: Location[];
  tls: Tls | null;
  /** Redirect plain HTTP to HTTPS: true when every location's settings.sslRedirect is. */
  sslRedirect: boolean;
  /** Every Ingress that contributes to this host, sorted. */
  sources: ObjectRef[];
  /**
   * server-alias: more names of this server (exact, or `*.` one label), sorted; absent when none.
   * Only names no Ingress has as a host and no older claim took (server-names.ts).
   */
  aliases?: string[];
  /**
   * from-to-www-redirect: `from` (host's twin with or without `www.`) answers 308 to the same URL on
   * host; over HTTPS too when `tls` (host's certificate covers `from`). Absent when not asked for or ignored.
   */
  wwwRedirect?: { from: string; tls: boolean };
  /**
   * The CA bundle and depth client certificates are verified with (server-level in NGINX), from the
   * oldest Ingress with client auth and a location here; absent when no location checks certificates.
   */
  clientAuth?: { ca: string; depth: number; secret: ObjectRef };
  /**
   * server-snippet's directives, from the oldest Ingress with a location here that sets one (newer
   * ones get a warning); absent when none.
   */
  snippet?: { directives: SnippetDirective[]; source: ObjectRef };
  /**
   * ssl-passthrough: TLS for this name goes by SNI to this Service port, unterminated (the server
   * block then serves plain HTTP only); absent for most.
   */
  passthrough?: { backend: ServiceBackend; source: ObjectRef };
}

/** Settings from the global ConfigMap (wharf's equivalents of ingress-nginx's). */
import type { HttpSettings } from './settings-http.ts';
import type { HstsHeader } from './settings-hsts.ts';
import type { AgentNginxSettings } from './settings-agent.ts';

export interface GlobalSettings extends ClientAddressSettings {
  proxyBodySize: string;
  proxyConnectTimeout: number;
  proxyReadTimeout: number;
  proxySendTimeout: number;
  sslRedirect: boolean;
  hsts: boolean;
  /**
   * allow-snippet-annotations as the ConfigMap sets it: false turns snippets off (as `--snippets
   * off`); absent or true: the handler's --snippets decides.
   */
  allowSnippetAnnotations?: boolean;
  /** global-auth-url and its companions: external auth for every Ingress location without its own. */
  globalAuth?: { url: string; signin?: string; responseHeaders: string[]; method?: string };
  /**
   * custom-http-errors (ConfigMap): the codes every location without its own custom-http-errors
   * sends to its default backend (settings-errors.ts). Absent: none.
   */
  customHttpErrors?: number[];
  /**
   * The handler's --default-backend-service, resolved against its Service (first port): it answers
   * what no rule matches, locations whose Service has no ready endpoint, and customHttpErrors.
   * Absent: no flag, or its Service is missing or has no port (then 404 and 503 as without it).
   */
  defaultBackend?: ServiceBackend;
  /** http-level keys (settings-http.ts); absent: ingress-nginx's defaults. Rendered in `_main` only. */
  http?: HttpSettings;
  /** hsts-max-age, hsts-include-subdomains, hsts-preload (settings-hsts.ts); absent: the defaults. */
  hstsHeader?: HstsHeader;
  /** Keys of the agent's own nginx.conf (settings-agent.ts), shipped in `_main`; absent: none set. */
  agent?: AgentNginxSettings;
  /**
   * --enable-ssl-passthrough: NGINX's HTTPS servers listen behind the agent's SNI router, which
   * gives them the client's address by PROXY protocol over a unix socket (client-address.liquid).
   */
  sslPassthrough?: boolean;
  /** Extra settings are added here as they are supported; unknown keys produce a warning. */
}

/**
 * A TCP or UDP service port (ingress-nginx's tcp-services and udp-services ConfigMaps): every
 * connection to `port` goes to the Service's endpoints. The upstream name is the same
 * `namespace-service-port` an Ingress would use, so endpoints reach it the same way.
 */
export interface StreamRoute {
  protocol: 'TCP' | 'UDP';
  /** The port clients connect to (the agent decides where NGINX listens for it). */
  port: number;
  backend: { namespace: string; service: string; port: number | string };
  /** fromClient: clients send a PROXY header (listen … proxy_protocol); toBackend: NGINX sends one. */
  proxyProtocol: { fromClient: boolean; toBackend: boolean };
  source: ObjectRef;
  /** Where in the source it comes from (`data[9000]`), for problems. */
  field: string;
}

export interface RoutingModel {
  /** Sorted by host. */
  servers: Server[];
  /** The default server: rules without a host, then spec.defaultBackend of the oldest Ingress that has one. */
  /** `tls`: the default certificate (--default-ssl-certificate, else an HTTPS Gateway listener on 443 without a hostname), when there is a usable one. */
  defaultServer: { locations: Location[]; sources: ObjectRef[]; tls?: Tls | null };
  global: GlobalSettings;
  /**
   * Every upstream an accepted Ingress references, sorted by name: locations and canaries, and
   * paths that lost a host+path conflict (so the set does not depend on who wins).
   */
  upstreams: ServiceBackend[];
  problems: Problem[];
  /** TCP and UDP service ports with their upstream names, sorted by protocol then port (absent: none). */
  streams?: (StreamRoute & { upstream: string })[];
}
