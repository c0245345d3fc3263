// The parsers of auth-method, auth-cache-key, auth-cache-duration, enable-global-auth and the
// session-cookie-expires/-samesite/-secure annotations: part of ANNOTATION_RULES (annotation-rules.ts),
// kept apart so that table stays one screen per family. Their companions' rules (ignored without
// auth-url or affinity) live in annotations.ts.
import { parseBool, parseInteger } from './grammar.ts';
import { quote } from './problems.ts';
import type { AnnotationDraft, AnnotationParser } from './annotation-rules.ts';

/** auth-method: what ingress-nginx accepts (its own regex), uppercase. */
export const AUTH_METHODS: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE'];

/** Variables auth-cache-key may use as they are; families (`http_*`, …) are below. */
const CACHE_KEY_VARIABLES: ReadonlySet<string> = new Set(['remote_user', 'remote_addr', 'host', 'uri', 'request_uri', 'scheme', 'request_method', 'server_name']);
const CACHE_KEY_FAMILY = /^(?:http|cookie|arg)_[A-Za-z0-9_]{1,64}$/;
/** Variables that tell one client from another: a key needs one, or every client would share one answer. */
const CLIENT_VARIABLE = /^(?:(?:http|cookie|arg)_[A-Za-z0-9_]{1,64}|remote_user|remote_addr)$/;

/**
 * auth-cache-key: NGINX variables (from a list) and plain characters. Without a variable naming the
 * client (a header, cookie, argument, $remote_user or $remote_addr), the first client's answer would
 * be served to every other: refused.
 */
export function checkAuthCacheKey(v: string): string | null {
  if (!/^(?:\$[A-Za-z0-9_]+|[A-Za-z0-9_.:\/-]){1,256}$/.test(v)) return 'must be NGINX variables and A-Z a-z 0-9 _ . : / -, at most 256 characters (e.g. "$remote_user$http_authorization")';
  let client = false;
  for (const m of v.matchAll(/\$([A-Za-z0-9_]+)/g)) {
    const name = m[1]!;
    if (!CACHE_KEY_VARIABLES.has(name) && !CACHE_KEY_FAMILY.test(name)) {
      return `variable $${name} is not one auth-cache-key may use ($http_*, $cookie_*, $arg_*, ${[...CACHE_KEY_VARIABLES].map((n) => `$${n}`).join(', ')})`;
    }
    if (CLIENT_VARIABLE.test(name)) client = true;
  }
  if (!client) return 'must use a variable that tells clients apart ($http_*, $cookie_*, $arg_*, $remote_user or $remote_addr): otherwise one client\'s answer would be served to all';
  return null;
}

/** One proxy_cache_valid item: status codes (or `any`) separated by spaces, then a time. */
const CACHE_VALID = /^(?:(?:[1-5][0-9]{2}|any) ){0,16}[0-9]{1,7}(?:ms|s|m|h|d|w|M|y)$/;

/** auth-cache-duration: `200 202 10m, 401 1m` → one proxy_cache_valid per item, spaces normalized. */
const authCacheDuration: AnnotationParser = (v, d) => {
  const items = v.split(',').map((s) => s.trim().split(/ +/).join(' ')).filter((s) => s !== '');
  if (items.length === 0 || items.length > 16) return 'must list 1 to 16 durations separated by commas, each status codes then a time (e.g. "200 202 10m, 401 1m")';
  for (const item of items) {
    if (!CACHE_VALID.test(item)) return `item ${quote(item.slice(0, 40))} must be HTTP status codes (or "any") separated by spaces, then a time with its unit such as 30s, 5m or 1h`;
  }
  d.authCacheDuration = items;
  return null;
};

const SAME_SITE = ['None', 'Lax', 'Strict'] as const;

function bool(set: (d: AnnotationDraft, b: boolean) => void): AnnotationParser {
  return (v, d) => {
    const b = parseBool(v);
    if (b === null) return 'must be "true" or "false"';
    set(d, b);
    return null;
  };
}

/** The rows these annotations add to ANNOTATION_RULES. */
export const AUTH_COOKIE_RULES: Readonly<Record<string, AnnotationParser>> = {
  'auth-method': (v, d) => {
    if (!AUTH_METHODS.includes(v)) return `must be one of ${AUTH_METHODS.join(', ')}`;
    d.authMethod = v;
    return null;
  },
  'auth-cache-key': (v, d) => {
    const reason = checkAuthCacheKey(v);
    if (reason) return reason;
    d.authCacheKey = v;
    return null;
  },
  'auth-cache-duration': authCacheDuration,
  'enable-global-auth': bool((d, b) => (d.enableGlobalAuth = b)),
  'session-cookie-expires': (v, d) => {
    const n = parseInteger(v, 1, 315_360_000);
    if (n === null) return 'must be a whole number of seconds between 1 and 315360000';
    d.cookie.expires = n;
    return null;
  },
  'session-cookie-samesite': (v, d) => {
    const s = SAME_SITE.find((x) => x === v);
    if (!s) return `must be one of ${SAME_SITE.join(', ')}`;
    d.cookie.sameSite = s;
    return null;
  },
  'session-cookie-secure': bool((d, b) => (d.cookie.secure = b)),
};
