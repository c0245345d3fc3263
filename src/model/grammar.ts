// Strict grammars for every user string that can reach an NGINX file, one per place it lands in.
// Each check returns null when the value is accepted, or the reason it is not (the tail of a
// `field: Invalid value: "v": reason` message). Everything a check accepts is safe inside a
// double-quoted NGINX string: no control characters, quotes, `;`, `#`, backticks, no `{`/`}`
// outside regex quantifiers, no `\` outside regex escapes, no `$` except where noted.
import { isIPv6 } from 'node:net';

/** Characters no annotation value may ever carry: they only serve to break out of an NGINX string. */
export const NEVER_IN_A_VALUE = /[\u0000-\u001f\u007f\u0085\u2028\u2029;{}#"'\\`]/;

/** Describes the first forbidden character of a value, for messages. */
export function describeForbidden(value: string, pattern: RegExp = NEVER_IN_A_VALUE): string | null {
  const m = pattern.exec(value);
  if (!m) return null;
  const ch = m[0];
  const code = ch.charCodeAt(0);
  const shown = code < 0x20 || code === 0x7f || code > 0x7e ? `\\u${code.toString(16).padStart(4, '0')}` : ch;
  return `character "${shown}" is not allowed`;
}

// ---------------------------------------------------------------------------------------------
// Hosts

const LABEL = '[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?';
const SUBDOMAIN = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);

/** A rule or TLS host: lowercase RFC 1123 subdomain, or `*.` + one (RFC 1123 subdomain). */
export function checkHost(host: string): string | null {
  if (host.length > 253) return 'must be at most 253 characters';
  if (/[A-Z]/.test(host)) return 'must be lowercase';
  if (host.includes(':')) return 'must be a DNS name without a port';
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return 'must be a DNS name, not an IP address';
  const name = host.startsWith('*.') ? host.slice(2) : host;
  if (name.includes('*')) return 'a wildcard is only allowed as the whole first label ("*.example.com")';
  if (!SUBDOMAIN.test(name)) {
    return "must be a lowercase RFC 1123 subdomain: labels of a-z, 0-9 and '-', starting and ending with a letter or digit, joined by '.'";
  }
  return null;
}

/**
 * from-to-www-redirect's other name for a host: without its `www.`, or with one; null for a wildcard
 * host (it has no twin) or when the twin would not be a valid host (too long).
 */
export function wwwTwin(host: string): string | null {
  if (host.startsWith('*.')) return null;
  const twin = host.startsWith('www.') ? host.slice(4) : `www.${host}`;
  return checkHost(twin) === null ? twin : null;
}

/** A host in a URL: DNS name (any case), IPv4 or [IPv6]. */
const URL_HOST = '(?:[A-Za-z0-9](?:[-A-Za-z0-9]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*|\\[[0-9A-Fa-f:.]{2,45}\\])';

// ---------------------------------------------------------------------------------------------
// Paths

/** Characters of an Exact or Prefix path (and of ImplementationSpecific without regex). */
const PLAIN_PATH = /^\/[A-Za-z0-9._~\-/:@+,=!&]*$/;

/** Exact, Prefix and non-regex ImplementationSpecific paths. */
/** Where the renderer puts internal locations; no Ingress path may claim it. */
export const RESERVED_PREFIX = '/_wharf';

export function checkPlainPath(path: string): string | null {
  if (!path.startsWith('/')) return 'must be an absolute path (start with "/")';
  if (path.length > 2048) return 'must be at most 2048 characters';
  if (!PLAIN_PATH.test(path)) {
    return 'must contain only A-Z a-z 0-9 and . _ ~ - / : @ + , = ! & (for a regular expression use pathType ImplementationSpecific with use-regex)';
  }
  for (const seq of ['//', '/./', '/../']) if (path.includes(seq)) return `must not contain "${seq}"`;
  for (const end of ['/..', '/.']) if (path.endsWith(end)) return `must not end with "${end}"`;
  // The renderer's internal locations (external auth subrequests) live there.
  if (path === RESERVED_PREFIX || path.startsWith(`${RESERVED_PREFIX}/`)) return `paths under ${RESERVED_PREFIX}/ are reserved for wharf's internal locations`;
  return null;
}

/** Escapes a regex path may use after `\`. */
const REGEX_ESCAPES = new Set('./-dDwWsSbB()[]{}*+?|^$'.split(''));
const REGEX_CHARS = /^[A-Za-z0-9/\-._~%!&,=:@^$[\]()*+?|{}\\]*$/;

/**
 * A regex path (ImplementationSpecific with use-regex or rewrite-target), as PCRE in
 * `location ~* "^…"`. Returns the reason, or null. No named groups or inline flags (`(?<x>` sets
 * NGINX variables), no `$` except as an end anchor, `{}` only as quantifiers.
 */
export function checkRegexPath(path: string): string | null {
  if (!path.startsWith('/')) return 'must be an absolute path (start with "/")';
  if (path.length > 1024) return 'must be at most 1024 characters';
  if (!REGEX_CHARS.test(path)) {
    return 'must contain only A-Z a-z 0-9, / - . _ ~ % ! & , = : @ and the regex characters ^ $ [ ] ( ) * + ? | { } \\';
  }
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c === '\\') {
      const next = path[i + 1];
      if (next === undefined || !REGEX_ESCAPES.has(next)) return `"\\${next ?? ''}": only \\ followed by one of . / - d D w W s S b B ( ) [ ] { } * + ? | ^ $ is allowed`;
      i++;
    } else if (c === '$') {
      const next = path[i + 1];
      if (next !== undefined && next !== ')' && next !== '|') return '"$" is only allowed as an end anchor (at the end, or before ")" or "|")';
    } else if (c === '(' && path[i + 1] === '?') {
      if (path[i + 2] !== ':') return 'only non-capturing groups "(?:" are allowed after "(?" (no named groups, flags or lookarounds)';
    } else if (c === '{') {
      const m = /^\{\d{1,4}(,\d{0,4})?\}/.exec(path.slice(i));
      if (!m) return '"{" is only allowed in a quantifier such as {2} or {1,3}';
      i += m[0].length - 1;
    } else if (c === '}') {
      return '"}" is only allowed to close a quantifier such as {2} or {1,3}';
    }
  }
  try {
    new RegExp(path);
  } catch (e) {
    return `is not a valid regular expression: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`;
  }
  return null;
}

/** Number of capture groups of an accepted regex path (for rewrite-target's $1…$9). */
export function captureGroups(regex: string): number {
  return (new RegExp(`(?:${regex})|`).exec('')?.length ?? 1) - 1;
}

/**
 * rewrite-target: a path (optionally with a query) where `$1`…`$9` refer to capture groups of the
 * location's regex. Starts with "/" or a capture reference.
 */
export function checkRewriteTarget(v: string): string | null {
  if (v.length === 0) return 'must not be empty';
  if (v.length > 1024) return 'must be at most 1024 characters';
  if (!/^(?:\/|\$[1-9])/.test(v)) return 'must start with "/" or a capture group reference such as $1';
  if (!/^(?:[A-Za-z0-9/\-._~%!&,=:@+?*()]|\$[1-9](?![0-9]))*$/.test(v)) {
    return 'must contain only A-Z a-z 0-9, / - . _ ~ % ! & , = : @ + ? * ( ) and capture group references $1 to $9';
  }
  return null;
}

/** Highest `$N` a rewrite target refers to. */
export function highestCaptureRef(v: string): number {
  let max = 0;
  for (const m of v.matchAll(/\$([1-9])/g)) max = Math.max(max, Number(m[1]));
  return max;
}

// ---------------------------------------------------------------------------------------------
// URLs

/** NGINX variables a URL annotation may use (ingress-nginx users rely on them in auth-signin). */
export const URL_VARIABLES: ReadonlySet<string> = new Set(['host', 'scheme', 'request_uri', 'escaped_request_uri']);

const URL = new RegExp(
  `^https?://${URL_HOST}(?::\\d{1,5})?(?:/[A-Za-z0-9\\-._~%!&,=:@+*()/]*)?(?:\\?[A-Za-z0-9\\-._~%!&,=:@+*()/?]*)?$`,
);

/**
 * An absolute http(s) URL (auth-url, auth-signin, redirects): no fragment, no quotes, no spaces;
 * `$` only to start one of URL_VARIABLES.
 */
export function checkUrl(v: string): string | null {
  if (v.length > 2048) return 'must be at most 2048 characters';
  const forbidden = describeForbidden(v);
  if (forbidden) return `${forbidden}: must be an absolute http(s) URL`;
  let plain = '';
  let last = 0;
  for (const m of v.matchAll(/\$([A-Za-z_][A-Za-z0-9_]*)?/g)) {
    const name = m[1];
    if (name === undefined || !URL_VARIABLES.has(name)) {
      return `"$${name ?? ''}": the only NGINX variables allowed in a URL are ${[...URL_VARIABLES].map((n) => `$${n}`).join(', ')}`;
    }
    plain += `${v.slice(last, m.index)}x`;
    last = m.index + m[0].length;
  }
  plain += v.slice(last);
  if (!URL.test(plain)) {
    return 'must be an absolute http(s) URL: scheme, host, optional port, path and query of A-Z a-z 0-9 - . _ ~ % ! & , = : @ + * ( ) / ?, no fragment';
  }
  const port = /^https?:\/\/[^/?]*:(\d+)/.exec(plain)?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return 'port must be between 1 and 65535';
  return null;
}

/** A CORS origin: `*`, or scheme://host[:port] with an optional `*.` first label. */
export function checkOrigin(v: string): string | null {
  if (v === '*') return null;
  if (!new RegExp(`^https?://(?:\\*\\.)?${URL_HOST}(?::\\d{1,5})?$`).test(v)) return 'must be "*" or an origin such as https://example.com or https://*.example.com:8443';
  return null;
}

// ---------------------------------------------------------------------------------------------
// Tokens

/** A cookie name: an RFC 6265 token, without the token characters that are unsafe in NGINX (# $ ' `). */
export function checkCookieName(v: string): string | null {
  if (!/^[A-Za-z0-9!%&*+\-.^_|~]{1,128}$/.test(v)) return 'must be a cookie name (RFC 6265 token) of A-Z a-z 0-9 and ! % & * + - . ^ _ | ~';
  return null;
}

/** A header name (usable as `$http_<name>` too). */
export function checkHeaderName(v: string): string | null {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(v)) return 'must be a header name of A-Z a-z 0-9 - _ (at most 64 characters)';
  return null;
}

/** A header value matched literally (canary-by-header-value). */
export function checkHeaderValue(v: string): string | null {
  if (!/^[A-Za-z0-9!%&*+\-.^_|~:/=,@]{1,256}$/.test(v)) return 'must be a value of A-Z a-z 0-9 and ! % & * + - . ^ _ | ~ : / = , @';
  return null;
}

/** An HTTP method (CORS). */
export function checkMethod(v: string): string | null {
  if (!/^[A-Za-z]{1,20}$/.test(v)) return 'must be an HTTP method such as GET';
  return null;
}

/** The realm of basic auth, shown by browsers. */
export function checkRealm(v: string): string | null {
  if (!/^[A-Za-z0-9 ._,:()@!?/+\-]{1,128}$/.test(v)) return 'must be 1 to 128 of A-Z a-z 0-9, space and . _ , : ( ) @ ! ? / + -';
  return null;
}

// ---------------------------------------------------------------------------------------------
// Variables for upstream-hash-by

const HASH_VARIABLES = new Set(['remote_addr', 'binary_remote_addr', 'request_uri', 'uri', 'host', 'args', 'server_name']);
const HASH_VARIABLE_FAMILIES = /^(?:arg_[a-z0-9_]{1,64}|http_[a-z0-9_]{1,64}|cookie_[A-Za-z0-9_]{1,64})$/;

/**
 * upstream-hash-by: NGINX variables from an allowlist ($remote_addr, $request_uri, $uri, $host,
 * $args, $binary_remote_addr, $server_name, $arg_*, $http_*, $cookie_*) joined by literal
 * A-Z a-z 0-9 _ . : / -; at least one variable.
 */
export function checkHashBy(v: string): string | null {
  if (v.length > 256) return 'must be at most 256 characters';
  if (!/^(?:\$[A-Za-z0-9_]+|[A-Za-z0-9_.:/-])+$/.test(v)) {
    return 'must be NGINX variables such as $remote_addr or $arg_user, joined by A-Z a-z 0-9 _ . : / -';
  }
  let variables = 0;
  for (const m of v.matchAll(/\$([A-Za-z0-9_]+)/g)) {
    const name = m[1]!;
    if (!HASH_VARIABLES.has(name) && !HASH_VARIABLE_FAMILIES.test(name)) {
      return `"$${name}" is not allowed: use $remote_addr, $binary_remote_addr, $request_uri, $uri, $host, $args, $server_name, $arg_*, $http_* or $cookie_*`;
    }
    variables++;
  }
  if (variables === 0) return 'must contain at least one NGINX variable such as $remote_addr';
  return null;
}

// ---------------------------------------------------------------------------------------------
// Numbers, sizes, booleans, CIDRs

/** strconv.ParseBool, as ingress-nginx reads boolean annotations. */
export function parseBool(v: string): boolean | null {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
  return null;
}

/** A non-negative decimal integer in [min, max], or null. */
export function parseInteger(v: string, min: number, max: number): number | null {
  if (!/^\d{1,10}$/.test(v)) return null;
  const n = Number(v);
  return n >= min && n <= max ? n : null;
}

/** An NGINX size: digits with an optional k/m/g unit, normalized to lowercase ("8m", "0"). */
export function parseSize(v: string): string | null {
  const m = /^(\d{1,9})([kKmMgG]?)$/.exec(v);
  return m ? `${Number(m[1])}${m[2]!.toLowerCase()}` : null;
}

/** A CIDR or a single address, IPv4 or IPv6, normalized to lowercase; null when invalid. */
export function parseCidr(v: string): string | null {
  const [addr, prefix, extra] = v.split('/');
  if (addr === undefined || extra !== undefined) return null;
  if (prefix !== undefined && !/^\d{1,3}$/.test(prefix)) return null;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(addr);
  if (v4) {
    if (v4.slice(1).some((o) => Number(o) > 255 || (o.length > 1 && o.startsWith('0')))) return null;
    if (prefix !== undefined && Number(prefix) > 32) return null;
    return v;
  }
  if (!/^[0-9A-Fa-f:.]{2,45}$/.test(addr) || !isIPv6(addr)) return null;
  if (prefix !== undefined && Number(prefix) > 128) return null;
  return v.toLowerCase();
}

/** Splits a comma-separated annotation list, trimming spaces; empty items dropped. */
export function splitList(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
