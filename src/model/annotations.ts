// The `nginx.ingress.kubernetes.io/*` annotations of one Ingress → typed settings and Problems.
// Supported ones go through their parser (annotation-rules.ts); configuration-, server- and
// auth-snippet through the snippet allowlist (snippet-rules.ts), other `*-snippet` ones are refused
// (they inject raw NGINX configuration); unknown ones get a warning, unless their value carries what
// can only serve an injection, which is an error.
import { ANNOTATION_RULES, NIGHTMARE_GRAMMARS, type AnnotationDraft } from './annotation-rules.ts';
import { parseSnippet, type SnippetContext, type SnippetDirective, type SnippetPolicy } from './snippet-rules.ts';
import { ProblemList, cmp } from './problems.ts';
import type { ClientAuth, LocationSettings, ObjectRef, Problem, ProxySsl } from './types.ts';

export const ANNOTATION_PREFIX = 'nginx.ingress.kubernetes.io/';
const MAX_VALUE = 4096;

const DEFAULT_CORS_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS'];
const DEFAULT_CORS_HEADERS = 'DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization'.split(',');
const DEFAULT_CORS_MAX_AGE = 1728000;
const DEFAULT_COOKIE_NAME = 'INGRESSCOOKIE';
const DEFAULT_REALM = 'Authentication Required';
/** auth-cache-duration when only auth-cache-key is set (ingress-nginx's default). */
const DEFAULT_AUTH_CACHE_VALID = ['200 202 401 5m'];

/** The snippet annotations wharf parses, and where each goes. */
export const SNIPPETS: Readonly<Record<string, SnippetContext>> = {
  'configuration-snippet': 'location',
  'server-snippet': 'server',
  'auth-snippet': 'auth',
};

/** Snippets parsed against the allowlist, with the headers-more module: what a default wharf does. */
export const SAFE_SNIPPETS: SnippetPolicy = Object.freeze({ mode: 'safe', headersMore: true });

/** What the annotations of one Ingress say, before Secrets are resolved. */
export interface IngressAnnotations {
  /** Shared by every location of the Ingress; sslRedirect, basicAuth and clientAuth are filled in later. */
  settings: Omit<LocationSettings, 'sslRedirect' | 'basicAuth' | 'clientAuth' | 'proxySsl'>;
  /** ssl-redirect as written; undefined means the global default. */
  sslRedirect: boolean | undefined;
  /** ImplementationSpecific paths are regexes (use-regex, or rewrite-target as ingress-nginx implies). */
  regex: boolean;
  /** Basic auth asked for: the Secret (in the Ingress's namespace) holds the htpasswd under `auth`. */
  basicAuth: { realm: string; secretName: string; field: string } | null;
  /** This Ingress is a canary for the same host+path of another Ingress. */
  canary: { weight: number; weightTotal: number; header?: string; headerValue?: string } | null;
  /** server-alias: more names for the servers of this Ingress's hosts (sorted; empty: none). */
  serverAliases: string[];
  /** from-to-www-redirect: the www / non-www twin of each host redirects to it. */
  fromToWww: boolean;
  /**
   * default-backend: the Service (in the Ingress's namespace) that answers when a location's own
   * Service has no ready endpoint, and that renders custom-http-errors; null when not set.
   */
  defaultBackend: { service: string; field: string } | null;
  /**
   * Client-certificate authentication asked for (auth-tls-secret, verify-client not "off"): the Secret
   * (in the Ingress's namespace) holds the CA bundle under `ca.crt`; null when not asked for.
   */
  clientAuth: (Omit<ClientAuth, 'refused'> & { secretName: string; depth: number; field: string }) | null;
  /**
   * proxy-ssl-* for an HTTPS or GRPCS backend: the settings, and the Secret (in the Ingress's
   * namespace) holding tls.crt/tls.key and/or ca.crt, when set; null when none is set (most).
   */
  proxySsl: { settings: Omit<ProxySsl, 'refused' | 'secret' | 'clientCertificate' | 'ca'>; secretName: string | null; field: string } | null;
  /** server-snippet's directives, for the servers of this Ingress's hosts; null when none (most). */
  serverSnippet: SnippetDirective[] | null;
  /** ssl-passthrough "true" (never on a canary: a canary has no host of its own). */
  sslPassthrough: boolean;
}

/** The field path of an annotation in messages. */
export function annotationField(name: string): string {
  return `metadata.annotations[${name}]`;
}

/** Parses the ingress-nginx annotations of an Ingress (namespace: for auth-secret's namespace rule). */
export function parseAnnotations(
  annotations: Readonly<Record<string, string>>,
  object: ObjectRef,
  snippetPolicy: SnippetPolicy = SAFE_SNIPPETS,
): { value: IngressAnnotations; problems: Problem[] } {
  const problems = new ProblemList(object);
  const d: AnnotationDraft = { settings: {}, cors: {}, cookie: {} };
  const snippets: Partial<Record<SnippetContext, SnippetDirective[]>> = {};
  const seen = new Set<string>();
  const present = new Set<string>();
  for (const key of Object.keys(annotations).sort(cmp)) {
    if (!key.startsWith(ANNOTATION_PREFIX)) continue;
    const name = key.slice(ANNOTATION_PREFIX.length);
    const value = annotations[key]!;
    const field = annotationField(key);
    const context = SNIPPETS[name];
    if (context) {
      if (snippetPolicy.mode === 'off') {
        problems.forbidden('SnippetRefused', field, `snippets are turned off on this wharf (${snippetPolicy.offBy ?? 'wharf handler --snippets off'})`);
        continue;
      }
      const parsed = value.length > MAX_VALUE ? { ok: false as const, message: `must be at most ${MAX_VALUE} characters` } : parseSnippet(value, context, snippetPolicy);
      if (parsed.ok) snippets[context] = parsed.directives;
      else problems.forbidden('SnippetRefused', field, parsed.message);
      continue;
    }
    if (name.endsWith('-snippet')) {
      problems.forbidden('SnippetRefused', field, 'snippets are refused: they inject raw NGINX configuration (the IngressNightmare hole, CVE-2025-1974)');
      continue;
    }
    if (value.length > MAX_VALUE) {
      problems.invalid('InvalidAnnotation', field, value, `must be at most ${MAX_VALUE} characters`);
      continue;
    }
    const rule = ANNOTATION_RULES[name];
    if (rule) {
      present.add(name);
      const reason = rule(value.trim(), d);
      if (reason) problems.invalid('InvalidAnnotation', field, value, reason);
      else seen.add(name);
      continue;
    }
    // Never rendered, so its value cannot reach NGINX: ignored with a warning whatever it holds
    // (a migrating team's `on; $x` must not deny the Ingress). IngressNightmare's injection points
    // still refuse an attack, so that it is seen rather than silently carried along.
    const grammar = NIGHTMARE_GRAMMARS[name];
    const refused = grammar ? grammar(value.trim()) : null;
    if (refused) problems.invalid('InvalidAnnotation', field, value, `${refused} (wharf does not support this annotation either)`);
    else problems.add('warning', 'UnsupportedAnnotation', field, `${field}: not supported by wharf; ignored`);
  }
  return { value: combine(d, seen, present, object.namespace, problems, snippets), problems: problems.items };
}

/** Cross-annotation rules: defaults, companions without their parent, exclusive pairs. */
/**
 * The Secret an annotation names (`name` or `namespace/name`), or null with an error when it is in
 * another namespace: an Ingress may only use its own namespace's Secrets.
 */
function ownSecret(ref: string, namespace: string, field: string, problems: ProblemList): string | null {
  const slash = ref.indexOf('/');
  if (slash >= 0 && ref.slice(0, slash) !== namespace) {
    problems.forbidden('InvalidAnnotation', field, `the Secret must be in the Ingress's namespace "${namespace}"`);
    return null;
  }
  return slash < 0 ? ref : ref.slice(slash + 1);
}

function combine(
  d: AnnotationDraft,
  seen: Set<string>,
  present: Set<string>,
  namespace: string,
  problems: ProblemList,
  snippets: Partial<Record<SnippetContext, SnippetDirective[]>>,
): IngressAnnotations {
  for (const name of Object.keys(SNIPPETS)) if (snippets[SNIPPETS[name]!]) seen.add(name);
  const ignored = (names: string[], because: string) => {
    for (const n of names) {
      if (!seen.has(n)) continue;
      const field = annotationField(ANNOTATION_PREFIX + n);
      problems.add('warning', 'IgnoredAnnotation', field, `${field}: ignored: ${because}`);
    }
  };
  const settings: IngressAnnotations['settings'] = {
    ...d.settings,
    backendProtocol: d.settings.backendProtocol ?? 'HTTP',
    forceSslRedirect: d.settings.forceSslRedirect ?? false,
  };

  if (d.enableCors) {
    settings.cors = {
      allowOrigins: d.cors.origins ?? ['*'],
      allowMethods: d.cors.methods ?? DEFAULT_CORS_METHODS,
      allowHeaders: d.cors.headers ?? DEFAULT_CORS_HEADERS,
      exposeHeaders: d.cors.expose ?? [],
      allowCredentials: d.cors.credentials ?? true,
      maxAgeSeconds: d.cors.maxAge ?? DEFAULT_CORS_MAX_AGE,
    };
  } else {
    ignored(['cors-allow-origin', 'cors-allow-methods', 'cors-allow-headers', 'cors-expose-headers', 'cors-allow-credentials', 'cors-max-age'], 'enable-cors is not "true"');
  }

  if (d.affinity === 'cookie') {
    settings.affinity = { cookieName: d.cookie.name ?? DEFAULT_COOKIE_NAME };
    if (d.cookie.path !== undefined) settings.affinity.cookiePath = d.cookie.path;
    // session-cookie-expires is written as Max-Age (the same lifetime; NGINX cannot compute a date):
    // session-cookie-max-age wins when both are set, as it does in browsers.
    const maxAge = d.cookie.maxAge ?? d.cookie.expires;
    if (maxAge !== undefined) settings.affinity.cookieMaxAgeSeconds = maxAge;
    if (d.cookie.sameSite !== undefined) settings.affinity.sameSite = d.cookie.sameSite;
    if (d.cookie.secure !== undefined) settings.affinity.secure = d.cookie.secure;
    if (settings.upstreamHashBy !== undefined) {
      delete settings.upstreamHashBy;
      ignored(['upstream-hash-by'], 'affinity is set');
    }
  } else {
    ignored(['session-cookie-name', 'session-cookie-path', 'session-cookie-max-age', 'session-cookie-expires', 'session-cookie-samesite', 'session-cookie-secure'], 'affinity is not "cookie"');
  }

  if (settings.backendProtocol === 'GRPC' || settings.backendProtocol === 'GRPCS') {
    // NGINX's grpc module never buffers and always speaks HTTP/2: these have no grpc_* equivalent.
    ignored(['proxy-buffering', 'proxy-request-buffering'], 'NGINX does not buffer gRPC (there is no grpc_buffering)');
    ignored(['proxy-http-version'], 'gRPC is proxied over HTTP/2');
    delete settings.proxyBuffering;
    delete settings.proxyRequestBuffering;
    delete settings.proxyHttpVersion;
  }
  if (settings.proxyNextUpstream?.[0] === 'off') {
    ignored(['proxy-next-upstream-tries', 'proxy-next-upstream-timeout'], 'proxy-next-upstream is "off"');
    delete settings.proxyNextUpstreamTries;
    delete settings.proxyNextUpstreamTimeout;
  }
  if (settings.limitRps === undefined && settings.limitRpm === undefined) {
    ignored(['limit-burst-multiplier'], 'neither limit-rps nor limit-rpm is set');
    delete settings.limitBurstMultiplier;
  }

  if (d.allowlist) {
    settings.allowSourceRange = d.allowlist;
    ignored(['whitelist-source-range'], 'allowlist-source-range is set');
  } else if (d.whitelist) {
    settings.allowSourceRange = d.whitelist;
  }

  let basicAuth: IngressAnnotations['basicAuth'] = null;
  const authTypeField = annotationField(`${ANNOTATION_PREFIX}auth-type`);
  const authSecretField = annotationField(`${ANNOTATION_PREFIX}auth-secret`);
  if (d.authType === 'basic') {
    if (d.authSecret === undefined) {
      if (!present.has('auth-secret')) problems.required('InvalidAnnotation', authSecretField, 'auth-type "basic" needs the Secret holding the htpasswd file');
    } else {
      const secretName = ownSecret(d.authSecret, namespace, authSecretField, problems);
      if (secretName !== null) basicAuth = { realm: d.authRealm ?? DEFAULT_REALM, secretName, field: authSecretField };
    }
  } else if (d.authSecret !== undefined && !present.has('auth-type')) {
    problems.required('InvalidAnnotation', authTypeField, 'auth-secret is set: set auth-type to "basic" (without it the location would be served without authentication)');
  } else {
    ignored(['auth-realm'], 'auth-type is not set');
  }

  if (d.authUrl !== undefined) {
    settings.externalAuth = { url: d.authUrl, responseHeaders: d.authResponseHeaders ?? [] };
    if (d.authSignin !== undefined) settings.externalAuth.signin = d.authSignin;
    if (snippets.auth) settings.externalAuth.snippet = snippets.auth;
    if (d.authMethod !== undefined) settings.externalAuth.method = d.authMethod;
    if (d.authCacheKey !== undefined) settings.externalAuth.cache = { key: d.authCacheKey, valid: d.authCacheDuration ?? DEFAULT_AUTH_CACHE_VALID };
    else ignored(['auth-cache-duration'], 'auth-cache-key is not set');
  } else {
    ignored(['auth-signin', 'auth-response-headers', 'auth-method', 'auth-cache-key', 'auth-cache-duration'], 'auth-url is not set');
    ignored(['auth-snippet'], 'auth-url is not set (auth-snippet goes into the request to the auth service)');
  }

  if (d.enableGlobalAuth === false) settings.globalAuth = false;

  if (d.permanentRedirect !== undefined && d.temporalRedirect !== undefined) {
    problems.forbidden('InvalidAnnotation', annotationField(`${ANNOTATION_PREFIX}temporal-redirect`), 'set only one of permanent-redirect and temporal-redirect');
  } else if (d.permanentRedirect !== undefined) {
    settings.redirect = { url: d.permanentRedirect, code: d.permanentRedirectCode ?? 301 };
  } else if (d.temporalRedirect !== undefined) {
    settings.redirect = { url: d.temporalRedirect, code: d.temporalRedirectCode ?? 302 };
  }
  if (d.permanentRedirect === undefined) ignored(['permanent-redirect-code'], 'permanent-redirect is not set');
  if (d.temporalRedirect === undefined) ignored(['temporal-redirect-code'], 'temporal-redirect is not set');

  let canary: IngressAnnotations['canary'] = null;
  if (d.canary) {
    const weightTotal = d.canaryWeightTotal ?? 100;
    const weight = d.canaryWeight ?? 0;
    if (weight > weightTotal) {
      problems.invalid('InvalidAnnotation', annotationField(`${ANNOTATION_PREFIX}canary-weight`), String(weight), `must not exceed canary-weight-total (${weightTotal})`);
    }
    canary = { weight, weightTotal };
    if (d.canaryHeader !== undefined) canary.header = d.canaryHeader;
    if (d.canaryHeaderValue !== undefined) {
      if (d.canaryHeader === undefined) ignored(['canary-by-header-value'], 'canary-by-header is not set');
      else canary.headerValue = d.canaryHeaderValue;
    }
    // ingress-nginx takes a canary's backends only; the server settings stay its primary's.
    ignored(['server-alias', 'from-to-www-redirect', 'server-snippet'], 'canary Ingresses add backends to the paths of other Ingresses and do not configure servers');
    ignored(['configuration-snippet'], 'canary Ingresses add backends to the paths of other Ingresses, whose configuration-snippet applies');
  } else {
    ignored(['canary-weight', 'canary-weight-total', 'canary-by-header', 'canary-by-header-value'], 'canary is not "true"');
  }

  let defaultBackend: IngressAnnotations['defaultBackend'] = null;
  if (canary) {
    ignored(['default-backend', 'custom-http-errors'], 'canary Ingresses add backends to the paths of other Ingresses, whose default backend and error pages apply');
  } else if (d.defaultBackend !== undefined) {
    defaultBackend = { service: d.defaultBackend, field: annotationField(`${ANNOTATION_PREFIX}default-backend`) };
    if (d.customHttpErrors !== undefined) settings.customHttpErrors = d.customHttpErrors;
  } else if (d.customHttpErrors !== undefined) {
    // ingress-nginx sends these to its global default backend (--default-backend-service); the
    // translation drops them with a warning when wharf runs without one.
    settings.customHttpErrors = d.customHttpErrors;
  }

  let clientAuth: IngressAnnotations['clientAuth'] = null;
  const tlsSecretField = annotationField(`${ANNOTATION_PREFIX}auth-tls-secret`);
  const tlsCompanions = ['auth-tls-verify-depth', 'auth-tls-error-page', 'auth-tls-pass-certificate-to-upstream', 'auth-tls-match-cn'];
  if (d.authTlsVerifyClient === 'off') {
    // ingress-nginx asks no certificate then: the other auth-tls-* settings have nothing to act on.
    ignored(['auth-tls-secret', ...tlsCompanions], 'auth-tls-verify-client is "off"');
  } else if (canary) {
    ignored(['auth-tls-secret', 'auth-tls-verify-client', ...tlsCompanions], 'canary Ingresses add backends to the paths of other Ingresses, whose client certificate checks apply');
  } else if (d.authTlsSecret === undefined) {
    const asked = ['auth-tls-verify-client', ...tlsCompanions].filter((n) => present.has(n));
    // Never weaker than asked: without the CA, ingress-nginx would serve these locations unchecked.
    if (asked.length > 0 && !present.has('auth-tls-secret')) {
      problems.required('InvalidAnnotation', tlsSecretField, `${asked.join(', ')} is set: set auth-tls-secret to the Secret holding ca.crt (without it the locations would be served without client certificate authentication)`);
    }
  } else {
    const secretName = ownSecret(d.authTlsSecret, namespace, tlsSecretField, problems);
    if (secretName !== null) {
      clientAuth = {
        secretName,
        field: tlsSecretField,
        verify: d.authTlsVerifyClient ?? 'on',
        depth: d.authTlsVerifyDepth ?? 1,
        passCertificate: d.authTlsPassCertificate ?? false,
        ...(d.authTlsErrorPage !== undefined ? { errorPage: d.authTlsErrorPage } : {}),
        ...(d.authTlsMatchCn !== undefined ? { matchCn: d.authTlsMatchCn } : {}),
      };
    }
  }

  if (snippets.location && !canary) {
    if (settings.redirect) ignored(['configuration-snippet'], 'permanent-redirect or temporal-redirect answers every request of these locations');
    else settings.snippet = snippets.location;
  }

  const proxySsl = combineProxySsl(d, settings.backendProtocol, canary !== null, present, namespace, problems, ignored);

  return {
    settings,
    sslRedirect: d.sslRedirect,
    regex: d.useRegex === true || settings.rewriteTarget !== undefined,
    basicAuth,
    canary,
    serverAliases: canary ? [] : (d.serverAliases ?? []),
    fromToWww: !canary && d.fromToWww === true,
    defaultBackend,
    clientAuth,
    proxySsl,
    serverSnippet: (!canary && snippets.server) || null,
    sslPassthrough: !canary && d.sslPassthrough === true,
  };
}

const PROXY_SSL = ['proxy-ssl-secret', 'proxy-ssl-verify', 'proxy-ssl-verify-depth', 'proxy-ssl-name', 'proxy-ssl-server-name', 'proxy-ssl-protocols', 'proxy-ssl-ciphers'];

/** proxy-ssl-*: only for HTTPS/GRPCS backends, never on a canary; verify "on" needs the Secret with the CA. */
function combineProxySsl(
  d: AnnotationDraft,
  protocol: LocationSettings['backendProtocol'],
  isCanary: boolean,
  present: Set<string>,
  namespace: string,
  problems: ProblemList,
  ignored: (names: string[], because: string) => void,
): IngressAnnotations['proxySsl'] {
  if (!PROXY_SSL.some((n) => present.has(n))) return null;
  const field = annotationField(`${ANNOTATION_PREFIX}proxy-ssl-secret`);
  if (isCanary) {
    ignored(PROXY_SSL, "canary Ingresses add backends to the paths of other Ingresses, whose proxy-ssl-* settings apply");
    return null;
  }
  if (protocol !== 'HTTPS' && protocol !== 'GRPCS') {
    ignored(PROXY_SSL, `backend-protocol is ${protocol}, not HTTPS or GRPCS (no TLS to the backend)`);
    return null;
  }
  const verify = d.proxySslVerify ?? false;
  if (!verify) ignored(['proxy-ssl-verify-depth'], 'proxy-ssl-verify is not "on"');
  let secretName: string | null = null;
  if (d.proxySslSecret !== undefined) {
    secretName = ownSecret(d.proxySslSecret, namespace, field, problems);
    if (secretName === null) return null;
  } else if (verify && !present.has('proxy-ssl-secret')) {
    // Never weaker than asked: without the CA, the backend would be proxied unverified.
    problems.required('InvalidAnnotation', field, 'proxy-ssl-verify is "on": set proxy-ssl-secret to the Secret holding ca.crt (without it the backend\'s certificate could not be verified)');
    return null;
  } else if (present.has('proxy-ssl-secret') || (d.proxySslVerify === undefined && present.has('proxy-ssl-verify'))) {
    // An invalid proxy-ssl-secret or proxy-ssl-verify is an error already: nothing of proxy-ssl-* is used.
    return null;
  }
  const settings: NonNullable<IngressAnnotations['proxySsl']>['settings'] = { verify, depth: d.proxySslVerifyDepth ?? 1 };
  if (d.proxySslName !== undefined) settings.name = d.proxySslName;
  if (d.proxySslServerName !== undefined) settings.serverName = d.proxySslServerName;
  if (d.proxySslProtocols !== undefined) settings.protocols = d.proxySslProtocols;
  if (d.proxySslCiphers !== undefined) settings.ciphers = d.proxySslCiphers;
  return { settings, secretName, field };
}
