// The table of supported `nginx.ingress.kubernetes.io/*` annotations: one parser per annotation,
// each with its own strict grammar. A parser writes its typed value into the draft or returns the
// reason the value is refused. Cross-annotation rules (companions without their parent, …) live in
// annotations.ts.
import { isIPv6 } from 'node:net';
import { createSecureContext } from 'node:tls';
import {
  checkCookieName,
  checkHashBy,
  checkHeaderName,
  checkHeaderValue,
  checkHost,
  checkMethod,
  checkOrigin,
  checkPlainPath,
  checkRealm,
  checkRewriteTarget,
  checkUrl,
  parseBool,
  parseCidr,
  parseInteger,
  parseSize,
  splitList,
} from './grammar.ts';
import { AUTH_COOKIE_RULES } from './auth-cookie-rules.ts';
import { cmp, quote } from './problems.ts';
import type { BackendProtocol, LocationSettings } from './types.ts';

/** Everything the annotations of one Ingress say, before references (Secrets) are resolved. */
export interface AnnotationDraft {
  settings: Partial<LocationSettings>;
  /** ssl-redirect as written (undefined: the global default). */
  sslRedirect?: boolean;
  /** ssl-passthrough: TLS for the Ingress's hosts goes to the Service unterminated (passthrough.ts). */
  sslPassthrough?: boolean;
  useRegex?: boolean;
  enableCors?: boolean;
  cors: { origins?: string[]; methods?: string[]; headers?: string[]; expose?: string[]; credentials?: boolean; maxAge?: number };
  affinity?: 'cookie';
  cookie: { name?: string; path?: string; maxAge?: number; expires?: number; sameSite?: 'None' | 'Lax' | 'Strict'; secure?: boolean };
  canary?: boolean;
  canaryWeight?: number;
  canaryWeightTotal?: number;
  canaryHeader?: string;
  canaryHeaderValue?: string;
  authType?: 'basic';
  /** auth-secret as written: `name` or `namespace/name`. */
  authSecret?: string;
  authRealm?: string;
  authUrl?: string;
  authSignin?: string;
  authResponseHeaders?: string[];
  authMethod?: string;
  authCacheKey?: string;
  /** auth-cache-duration: proxy_cache_valid items such as "200 202 10m". */
  authCacheDuration?: string[];
  enableGlobalAuth?: boolean;
  whitelist?: string[];
  allowlist?: string[];
  permanentRedirect?: string;
  permanentRedirectCode?: 301 | 302 | 307 | 308;
  temporalRedirect?: string;
  temporalRedirectCode?: 301 | 302 | 307 | 308;
  /** server-alias: lowercase names, sorted, without duplicates. */
  serverAliases?: string[];
  fromToWww?: boolean;
  /** default-backend: a Service name in the Ingress's namespace. */
  defaultBackend?: string;
  /** custom-http-errors: status codes, sorted, without duplicates. */
  customHttpErrors?: number[];
  /** auth-tls-secret as written: `name` or `namespace/name`. */
  authTlsSecret?: string;
  authTlsVerifyClient?: 'on' | 'off' | 'optional' | 'optional_no_ca';
  authTlsVerifyDepth?: number;
  authTlsErrorPage?: string;
  authTlsPassCertificate?: boolean;
  authTlsMatchCn?: string;
  /** proxy-ssl-secret as written: `name` or `namespace/name`. */
  proxySslSecret?: string;
  proxySslVerify?: boolean;
  proxySslVerifyDepth?: number;
  proxySslName?: string;
  proxySslServerName?: boolean;
  proxySslProtocols?: string[];
  proxySslCiphers?: string;
}

/** Parses one annotation value into the draft; returns the reason when the value is refused. */
export type AnnotationParser = (value: string, draft: AnnotationDraft) => string | null;

const BOOL = 'must be "true" or "false"';

function bool(set: (d: AnnotationDraft, b: boolean) => void): AnnotationParser {
  return (v, d) => {
    const b = parseBool(v);
    if (b === null) return BOOL;
    set(d, b);
    return null;
  };
}

function seconds(key: 'proxyConnectTimeout' | 'proxyReadTimeout' | 'proxySendTimeout'): AnnotationParser {
  return (v, d) => {
    const n = parseInteger(v, 1, 86400);
    if (n === null) return 'must be a whole number of seconds between 1 and 86400 (e.g. "60")';
    d.settings[key] = n;
    return null;
  };
}

function size(key: 'proxyBodySize' | 'proxyBufferSize' | 'clientBodyBufferSize'): AnnotationParser {
  return (v, d) => {
    const s = parseSize(v);
    if (s === null) return 'must be a size such as 8m, 512k or 0 (digits and an optional k, m or g)';
    d.settings[key] = s;
    return null;
  };
}

function integer(min: number, max: number, what: string, set: (d: AnnotationDraft, n: number) => void): AnnotationParser {
  return (v, d) => {
    const n = parseInteger(v, min, max);
    if (n === null) return `must be ${what} between ${min} and ${max}`;
    set(d, n);
    return null;
  };
}

function checked(check: (v: string) => string | null, set: (d: AnnotationDraft, v: string) => void): AnnotationParser {
  return (v, d) => {
    const reason = check(v);
    if (reason) return reason;
    set(d, v);
    return null;
  };
}

function url(set: (d: AnnotationDraft, u: string) => void): AnnotationParser {
  return (v, d) => {
    const reason = checkUrl(v);
    if (reason) return reason;
    set(d, v);
    return null;
  };
}

function redirectCode(set: (d: AnnotationDraft, c: 301 | 302 | 307 | 308) => void): AnnotationParser {
  return (v, d) => {
    if (!['301', '302', '307', '308'].includes(v)) return 'must be one of 301, 302, 307, 308';
    set(d, Number(v) as 301 | 302 | 307 | 308);
    return null;
  };
}

/** A comma-separated list, every item checked; `normalize` runs on accepted items. */
function list(check: (item: string) => string | null, set: (d: AnnotationDraft, items: string[]) => void, normalize = (s: string) => s): AnnotationParser {
  return (v, d) => {
    const items = splitList(v);
    if (items.length === 0) return 'must not be empty';
    if (items.length > 64) return 'must have at most 64 items';
    for (const item of items) {
      const reason = check(item);
      if (reason) return `item ${quote(item.slice(0, 40))} ${reason}`;
    }
    set(d, [...new Set(items.map(normalize))]);
    return null;
  };
}

function cidrs(set: (d: AnnotationDraft, c: string[]) => void): AnnotationParser {
  return (v, d) => {
    const items = splitList(v);
    if (items.length === 0) return 'must list at least one CIDR';
    const out: string[] = [];
    for (const item of items) {
      const c = parseCidr(item);
      if (c === null) return `item ${quote(item.slice(0, 40))} must be an IPv4 or IPv6 address or CIDR such as 10.0.0.0/8 or 2001:db8::/32`;
      out.push(c);
    }
    set(d, [...new Set(out)]);
    return null;
  };
}

/** proxy-buffering and proxy-request-buffering: NGINX's on/off (any case, as NGINX reads flags). */
function onOff(key: 'proxyBuffering' | 'proxyRequestBuffering'): AnnotationParser {
  return (v, d) => {
    const s = v.toLowerCase();
    if (s !== 'on' && s !== 'off') return 'must be "on" or "off"';
    d.settings[key] = s === 'on';
    return null;
  };
}

/** What proxy_next_upstream accepts (its `off` stands alone). */
const NEXT_UPSTREAM = ['error', 'timeout', 'invalid_header', 'http_500', 'http_502', 'http_503', 'http_504', 'http_403', 'http_404', 'http_429', 'non_idempotent', 'off'];

/** proxy-next-upstream: conditions separated by spaces, normalized to lowercase, duplicates dropped. */
const nextUpstream: AnnotationParser = (v, d) => {
  const items = v.split(' ').filter((s) => s !== '');
  if (items.length === 0) return `must list one or more of ${NEXT_UPSTREAM.join(', ')}, separated by spaces`;
  for (const item of items) {
    if (!NEXT_UPSTREAM.includes(item.toLowerCase())) return `item ${quote(item.slice(0, 40))} must be one of ${NEXT_UPSTREAM.join(', ')} (separated by spaces)`;
  }
  const conditions = [...new Set(items.map((s) => s.toLowerCase()))];
  if (conditions.includes('off') && conditions.length > 1) return '"off" must stand alone (it turns retries off)';
  d.settings.proxyNextUpstream = conditions;
  return null;
};

/** x-forwarded-prefix: a path prefix, written as a header value. */
function checkForwardedPrefix(v: string): string | null {
  if (!/^[A-Za-z0-9._~\-/:@+,=!&%]{1,1024}$/.test(v)) return 'must be a path prefix of A-Z a-z 0-9 and . _ ~ - / : @ + , = ! & % (e.g. "/api")';
  return null;
}

const VHOST_LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const VHOST = new RegExp(`^(?:(${VHOST_LABEL}(?:\\.${VHOST_LABEL})*)|\\[([0-9A-Fa-f:.]{2,45})\\])(?::(\\d{1,5}))?$`);

/** upstream-vhost: a host name, an IPv4 address or an [IPv6] address, with an optional :port. */
function checkVhost(v: string): string | null {
  const m = VHOST.exec(v);
  if (!m) return 'must be a host name or IP address with an optional port, such as api.example.com, api.example.com:8080 or [2001:db8::1]:443';
  if (m[1] !== undefined && m[1].length > 253) return 'the host name must be at most 253 characters';
  if (m[2] !== undefined && !isIPv6(m[2])) return `${quote(m[2])} is not an IPv6 address`;
  if (m[3] !== undefined && (Number(m[3]) < 1 || Number(m[3]) > 65535)) return 'port must be between 1 and 65535';
  return null;
}

/**
 * One server-alias name: a host name (any case; NGINX compares server names case-insensitively) or a
 * `*.` wildcard of one label, as rule hosts are. ingress-nginx also takes NGINX's `www.example.*`
 * and `~regex` forms; wharf refuses them with a reason rather than guess what they mean.
 */
function checkAlias(v: string): string | null {
  if (v.startsWith('~')) return 'must be a host name such as www.example.com or *.example.com; regular expressions are not supported';
  if (v.endsWith('.*')) return 'must be a host name such as www.example.com or *.example.com; a wildcard is only allowed as the whole first label';
  return checkHost(v.toLowerCase());
}

/** default-backend: a Service name (an RFC 1035 label, as Kubernetes requires of Services). */
function checkServiceName(v: string): string | null {
  if (!/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(v)) return 'must be the name of a Service in the Ingress\'s namespace (lowercase letters, digits and "-", at most 63, starting with a letter)';
  return null;
}

/** custom-http-errors: HTTP status codes 400–599, separated by commas; sorted, duplicates dropped. */
const customHttpErrors: AnnotationParser = (v, d) => {
  const items = splitList(v);
  if (items.length === 0) return 'must list HTTP status codes between 400 and 599, separated by commas (e.g. "404,503")';
  if (items.length > 64) return 'must have at most 64 items';
  const codes = new Set<number>();
  for (const item of items) {
    const n = /^[45][0-9]{2}$/.test(item) ? Number(item) : null;
    if (n === null) return `item ${quote(item.slice(0, 40))} must be an HTTP status code between 400 and 599`;
    codes.add(n);
  }
  d.customHttpErrors = [...codes].sort((a, b) => a - b);
  return null;
};

/** auth-secret and auth-tls-secret: a Secret name, or namespace/name (DNS labels and subdomains). */
const SECRET_REF = /^(?:[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\/)?[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/**
 * auth-tls-match-cn: a regex on the subject DN, `CN=` then letters, digits, space and . _ * | = , -
 * (IngressNightmare's CVE-2025-1097 went through this value). `*` must follow something it can
 * repeat, as PCRE requires: never after `|` or another `*`.
 */
function checkMatchCn(v: string): string | null {
  if (!/^CN=[A-Za-z0-9 ._*|=,-]{1,256}$/.test(v)) return 'must be CN= followed by A-Z a-z 0-9 space . _ * | = , -';
  if (/[|*]\*/.test(v)) return '"*" must follow a character it repeats (not "|" or "*")';
  return null;
}

/** proxy-ssl-name: a host name (any case, written lowercase); no wildcard, port or address. */
function checkSslName(v: string): string | null {
  const reason = checkHost(v.toLowerCase());
  if (reason) return reason;
  if (v.includes('*')) return 'must be a host name such as backend.example.com (no wildcard: it is the name the certificate is checked for)';
  return null;
}

/** The TLS versions NGINX 1.22 knows, in its spelling; SSLv2 and SSLv3 are broken and refused. */
export const SSL_PROTOCOLS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** proxy-ssl-protocols: TLS versions separated by spaces, duplicates dropped, in version order. */
const sslProtocols: AnnotationParser = (v, d) => {
  const items = v.split(' ').filter((x) => x !== '');
  if (items.length === 0) return `must list one or more of ${SSL_PROTOCOLS.join(', ')}, separated by spaces`;
  for (const item of items) {
    if (!SSL_PROTOCOLS.includes(item)) return `item ${quote(item.slice(0, 40))} must be one of ${SSL_PROTOCOLS.join(', ')} (separated by spaces; SSLv2 and SSLv3 are not supported)`;
  }
  d.proxySslProtocols = SSL_PROTOCOLS.filter((p) => items.includes(p));
  return null;
};

/**
 * proxy-ssl-ciphers: an OpenSSL cipher string of `:`-separated items, each a name or `+`-joined
 * names with an optional ! - + prefix, or @STRENGTH / @SECLEVEL=n. NGINX refuses the whole
 * configuration when a string selects no cipher, so it must select one (checked with OpenSSL).
 */
const CIPHER_ITEM = /^(?:[!+-]?[A-Za-z0-9][A-Za-z0-9._-]{0,63}(?:\+[A-Za-z0-9][A-Za-z0-9._-]{0,63}){0,7}|@STRENGTH|@SECLEVEL=[0-5])$/;
export function checkCiphers(v: string): string | null {
  if (v.length > 1024) return 'must be at most 1024 characters';
  const items = v.split(':');
  for (const item of items) {
    if (!CIPHER_ITEM.test(item)) return `item ${quote(item.slice(0, 40))} must be an OpenSSL cipher name or alias (A-Z a-z 0-9 . _ -, joined by "+", optionally after ! - or +), @STRENGTH or @SECLEVEL=n, items separated by ":"`;
    if (/^[!+-]?TLS_/.test(item)) return `item ${quote(item.slice(0, 40))} is a TLSv1.3 suite, which OpenSSL chooses itself: list TLSv1.2 ciphers or aliases such as HIGH`;
  }
  try {
    createSecureContext({ ciphers: v });
  } catch {
    return 'selects no cipher OpenSSL knows (e.g. "HIGH:!aNULL:!MD5" or "ECDHE-RSA-AES128-GCM-SHA256")';
  }
  return null;
}

const VERIFY_CLIENT = ['on', 'off', 'optional', 'optional_no_ca'] as const;

const PROTOCOLS: readonly BackendProtocol[] = ['HTTP', 'HTTPS', 'GRPC', 'GRPCS'];

/** Supported annotations, by name without the prefix. */
export const ANNOTATION_RULES: Readonly<Record<string, AnnotationParser>> = {
  'rewrite-target': checked(checkRewriteTarget, (d, v) => (d.settings.rewriteTarget = v)),
  'use-regex': bool((d, b) => (d.useRegex = b)),
  'ssl-redirect': bool((d, b) => (d.sslRedirect = b)),
  'force-ssl-redirect': bool((d, b) => (d.settings.forceSslRedirect = b)),
  'ssl-passthrough': bool((d, b) => (d.sslPassthrough = b)),
  'backend-protocol': (v, d) => {
    const p = v.toUpperCase() as BackendProtocol;
    if (!PROTOCOLS.includes(p)) return 'must be one of HTTP, HTTPS, GRPC, GRPCS';
    d.settings.backendProtocol = p;
    return null;
  },
  'proxy-body-size': size('proxyBodySize'),
  'proxy-buffer-size': size('proxyBufferSize'),
  'proxy-connect-timeout': seconds('proxyConnectTimeout'),
  'proxy-read-timeout': seconds('proxyReadTimeout'),
  'proxy-send-timeout': seconds('proxySendTimeout'),
  'proxy-buffering': onOff('proxyBuffering'),
  'proxy-request-buffering': onOff('proxyRequestBuffering'),
  'client-body-buffer-size': size('clientBodyBufferSize'),
  'proxy-http-version': (v, d) => {
    if (v !== '1.0' && v !== '1.1') return 'must be "1.0" or "1.1"';
    d.settings.proxyHttpVersion = v;
    return null;
  },
  'proxy-next-upstream': nextUpstream,
  'proxy-next-upstream-tries': integer(0, 100, 'a whole number of tries (0: one per endpoint)', (d, n) => (d.settings.proxyNextUpstreamTries = n)),
  'proxy-next-upstream-timeout': integer(0, 86400, 'a whole number of seconds (0: no limit)', (d, n) => (d.settings.proxyNextUpstreamTimeout = n)),
  'x-forwarded-prefix': checked(checkForwardedPrefix, (d, v) => (d.settings.xForwardedPrefix = v)),
  'upstream-vhost': checked(checkVhost, (d, v) => (d.settings.upstreamVhost = v)),
  'whitelist-source-range': cidrs((d, c) => (d.whitelist = c)),
  'allowlist-source-range': cidrs((d, c) => (d.allowlist = c)),
  'denylist-source-range': cidrs((d, c) => (d.settings.denySourceRange = c)),
  'limit-rps': integer(1, 1_000_000, 'a whole number of requests per second', (d, n) => (d.settings.limitRps = n)),
  'limit-rpm': integer(1, 1_000_000, 'a whole number of requests per minute', (d, n) => (d.settings.limitRpm = n)),
  'limit-burst-multiplier': integer(1, 1000, 'a whole number', (d, n) => (d.settings.limitBurstMultiplier = n)),
  'limit-connections': integer(1, 1_000_000, 'a whole number of connections', (d, n) => (d.settings.limitConnections = n)),
  'enable-cors': bool((d, b) => (d.enableCors = b)),
  'cors-allow-origin': list(checkOrigin, (d, o) => (d.cors.origins = o)),
  'cors-allow-methods': list(checkMethod, (d, m) => (d.cors.methods = m), (s) => s.toUpperCase()),
  'cors-allow-headers': list((h) => (h === '*' ? null : checkHeaderName(h)), (d, h) => (d.cors.headers = h)),
  'cors-expose-headers': list((h) => (h === '*' ? null : checkHeaderName(h)), (d, h) => (d.cors.expose = h)),
  'cors-allow-credentials': bool((d, b) => (d.cors.credentials = b)),
  'cors-max-age': integer(0, 315_360_000, 'a whole number of seconds', (d, n) => (d.cors.maxAge = n)),
  affinity: (v, d) => {
    if (v !== 'cookie') return 'must be "cookie" (the only affinity wharf supports)';
    d.affinity = 'cookie';
    return null;
  },
  'session-cookie-name': checked(checkCookieName, (d, v) => (d.cookie.name = v)),
  'session-cookie-path': checked(checkPlainPath, (d, v) => (d.cookie.path = v)),
  'session-cookie-max-age': integer(1, 315_360_000, 'a whole number of seconds', (d, n) => (d.cookie.maxAge = n)),
  'upstream-hash-by': checked(checkHashBy, (d, v) => (d.settings.upstreamHashBy = v)),
  canary: bool((d, b) => (d.canary = b)),
  'canary-weight': integer(0, 1_000_000, 'a whole number', (d, n) => (d.canaryWeight = n)),
  'canary-weight-total': integer(1, 1_000_000, 'a whole number', (d, n) => (d.canaryWeightTotal = n)),
  'canary-by-header': checked(checkHeaderName, (d, v) => (d.canaryHeader = v)),
  'canary-by-header-value': checked(checkHeaderValue, (d, v) => (d.canaryHeaderValue = v)),
  'auth-type': (v, d) => {
    if (v !== 'basic') return 'must be "basic" (the only auth-type wharf supports)';
    d.authType = 'basic';
    return null;
  },
  'auth-secret': (v, d) => {
    if (!SECRET_REF.test(v)) return 'must be a Secret name, or namespace/name';
    d.authSecret = v;
    return null;
  },
  'auth-realm': checked(checkRealm, (d, v) => (d.authRealm = v)),
  'auth-url': url((d, u) => (d.authUrl = u)),
  'auth-signin': url((d, u) => (d.authSignin = u)),
  'auth-response-headers': list(checkHeaderName, (d, h) => (d.authResponseHeaders = h)),
  'app-root': checked(checkPlainPath, (d, v) => (d.settings.appRoot = v)),
  'permanent-redirect': url((d, u) => (d.permanentRedirect = u)),
  'permanent-redirect-code': redirectCode((d, c) => (d.permanentRedirectCode = c)),
  'temporal-redirect': url((d, u) => (d.temporalRedirect = u)),
  'temporal-redirect-code': redirectCode((d, c) => (d.temporalRedirectCode = c)),
  'server-alias': list(checkAlias, (d, a) => (d.serverAliases = a.sort(cmp)), (s) => s.toLowerCase()),
  'from-to-www-redirect': bool((d, b) => (d.fromToWww = b)),
  'default-backend': checked(checkServiceName, (d, v) => (d.defaultBackend = v)),
  'custom-http-errors': customHttpErrors,
  'auth-tls-secret': (v, d) => {
    if (!SECRET_REF.test(v)) return 'must be a Secret name, or namespace/name';
    d.authTlsSecret = v;
    return null;
  },
  'auth-tls-verify-client': (v, d) => {
    const mode = VERIFY_CLIENT.find((m) => m === v);
    if (!mode) return `must be one of ${VERIFY_CLIENT.join(', ')}`;
    d.authTlsVerifyClient = mode;
    return null;
  },
  'auth-tls-verify-depth': integer(1, 100, 'a whole number of certificates', (d, n) => (d.authTlsVerifyDepth = n)),
  'auth-tls-error-page': (v, d) => {
    // A refused certificate is answered before the location sets any variable: none is allowed here.
    if (v.includes('$')) return 'must be an absolute http(s) URL without NGINX variables';
    const reason = checkUrl(v);
    if (reason) return reason;
    d.authTlsErrorPage = v;
    return null;
  },
  'auth-tls-pass-certificate-to-upstream': bool((d, b) => (d.authTlsPassCertificate = b)),
  'auth-tls-match-cn': checked(checkMatchCn, (d, v) => (d.authTlsMatchCn = v)),
  'proxy-ssl-secret': (v, d) => {
    if (!SECRET_REF.test(v)) return 'must be a Secret name, or namespace/name';
    d.proxySslSecret = v;
    return null;
  },
  'proxy-ssl-verify': (v, d) => {
    if (v !== 'on' && v !== 'off') return 'must be "on" or "off"';
    d.proxySslVerify = v === 'on';
    return null;
  },
  'proxy-ssl-verify-depth': integer(1, 100, 'a whole number of certificates', (d, n) => (d.proxySslVerifyDepth = n)),
  'proxy-ssl-name': checked(checkSslName, (d, v) => (d.proxySslName = v.toLowerCase())),
  'proxy-ssl-server-name': (v, d) => {
    if (v !== 'on' && v !== 'off') return 'must be "on" or "off"';
    d.proxySslServerName = v === 'on';
    return null;
  },
  'proxy-ssl-protocols': sslProtocols,
  'proxy-ssl-ciphers': checked(checkCiphers, (d, v) => (d.proxySslCiphers = v)),
  ...AUTH_COOKIE_RULES,
};

/**
 * ingress-nginx annotations wharf does not support but that were IngressNightmare's injection
 * points: their values must still pass a grammar (then they get a warning, being unsupported), so
 * an attack is refused with an error rather than ignored.
 */
export const NIGHTMARE_GRAMMARS: Readonly<Record<string, (v: string) => string | null>> = {
  'mirror-target': checkUrl,
  'mirror-uri': (v) => checkPlainPath(v),
  'mirror-host': (v) => checkHost(v.toLowerCase()),
};
