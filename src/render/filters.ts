// The only way a value reaches an NGINX file. Every liquid output must end in one of these filters:
// each checks its value against the grammar of the exact place it lands in, and throws
// UnsafeValueError otherwise. They return NginxText, which the engine's output guard requires.
import { isIPv6 } from 'node:net';
import { checkSnippetVariable, SNIPPET_DIRECTIVES } from '../model/snippet-rules.ts';
import { CERTIFICATE_NAME } from '../protocol/agent-api.ts';

/** A string that a filter has checked for the NGINX context it is written into. */
export class NginxText {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  toString(): string {
    return this.text;
  }
}

/** A value that would change the meaning of the config at the place a template puts it. */
export class UnsafeValueError extends Error {
  readonly filter: string;
  readonly value: unknown;
  constructor(filter: string, value: unknown, reason: string) {
    super(`${filter}: refused ${JSON.stringify(String(value)).slice(0, 80)}: ${reason}`);
    this.name = 'UnsafeValueError';
    this.filter = filter;
    this.value = value;
  }
}

type Filter = (value: unknown, ...args: unknown[]) => NginxText;

function text(filter: string, value: unknown): string {
  const s = value instanceof NginxText ? value.text : value;
  if (typeof s !== 'string' && typeof s !== 'number') throw new UnsafeValueError(filter, s, 'not a string');
  return String(s);
}

function check(filter: string, pattern: RegExp, reason: string): Filter {
  return (value) => {
    const s = text(filter, value);
    if (!pattern.test(s)) throw new UnsafeValueError(filter, s, reason);
    return new NginxText(s);
  };
}

/** A double-quoted NGINX string of `s`; callers have refused everything but printable ASCII. */
function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function integer(filter: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new UnsafeValueError(filter, value, `not an integer in ${min}..${max}`);
  }
  return value;
}

// Grammars. None of them admits a control character, white space, `;`, `{`, `}`, `#`, `"`, `'` or
// `\` unless it says so; `$` only where NGINX does not expand variables or where the filter itself
// writes the variable.
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DNS_NAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`);
const WILDCARD = new RegExp(`^\\*\\.(?=.{1,251}$)${LABEL}(?:\\.${LABEL})*$`);
/** RFC 3986 path characters without `;` and `$` (which NGINX or an injection would give meaning). */
const PATH_CHARS = "A-Za-z0-9\\-._~!&'()*+,=:@/%";
const URI_PATH = new RegExp(`^/[${PATH_CHARS}]{0,4095}$`);
const IPV4 = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(?:\\.(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}';
const ANY_CASE_LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const URL_HOST = `(?:${ANY_CASE_LABEL}(?:\\.${ANY_CASE_LABEL})*|\\[[0-9a-fA-F:.]{2,45}\\])`;
const URL = new RegExp(`^https?://${URL_HOST}(?::\\d{1,5})?(?:/[${PATH_CHARS}]{0,2047})?(?:\\?[${PATH_CHARS}?]{0,2047})?$`);
const ORIGIN = new RegExp(`^https?://${URL_HOST}(?::\\d{1,5})?$`);
const WILDCARD_ORIGIN = new RegExp(`^(https?://)\\*\\.(${URL_HOST}(?::\\d{1,5})?)$`);
/** NGINX variables a URL may carry (the model's URL_VARIABLES); `$escaped_request_uri` is set by the location. */
const URL_VARIABLE = /\$(?:escaped_request_uri|request_uri|scheme|host)(?![A-Za-z0-9_])/g;
/** Printable ASCII without `"`, `\`, `$` (variables), `;`, `{`, `}`, `#`. */
const PLAIN_STRING = /^[\x20-\x7e]{0,1024}$/;
const PLAIN_STRING_BAD = /["\\$;{}#]/;
/** Regex: printable ASCII without `"`, `;`, `#`; `\` is escaped, `{`, `}` and `$` mean regex things inside quotes. */
const REGEX = /^[\x21-\x7e]{1,1024}$/;
const REGEX_BAD = /["';#]/;
const HEADER_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const TOKEN_LIST = /^(?:\*|[A-Za-z0-9][A-Za-z0-9_-]{0,63})(?:, (?:\*|[A-Za-z0-9][A-Za-z0-9_-]{0,63})){0,63}$/;
/** RFC 6265 token characters that mean nothing to NGINX inside a double-quoted string or a regex once escaped. */
const COOKIE_NAME = /^[A-Za-z0-9!%&*+\-.^_|~]{1,128}$/;
const COOKIE_PATH = /^\/[A-Za-z0-9\/._~:@+,=!&-]{0,2047}$/;
const VAR_NAME = /^[a-z_][a-z0-9_]{0,63}$/;
/** Variables `upstream-hash-by` may use: NGINX's own request variables and the header/argument/cookie families. */
const HASH_VARIABLES = new Set([
  'remote_addr', 'binary_remote_addr', 'remote_port', 'request_uri', 'uri', 'document_uri', 'args', 'query_string',
  'host', 'http_host', 'scheme', 'server_name', 'server_port', 'request_method', 'request_id',
]);
const HASH_VARIABLE_PREFIX = /^(?:http_|arg_|cookie_)[A-Za-z0-9_]{1,64}$/;
/** Variables auth-cache-key may use besides the http_/arg_/cookie_ families (auth-cookie-rules.ts). */
const AUTH_CACHE_VARIABLES: ReadonlySet<string> = new Set(['remote_user', 'remote_addr', 'host', 'uri', 'request_uri', 'scheme', 'request_method', 'server_name']);
/** The agent's listen includes: its HTTP and HTTPS ports, or a Gateway listener's port (listener-port-files.ts). */
export const LISTEN_FILE = /^listen-(?:(https?)(?:-([1-9][0-9]{0,4}))?|(h2c)-([1-9][0-9]{0,4}))\.conf$/;
const FILE = /^files\/[a-z0-9_][a-z0-9._-]{0,239}\/[a-z0-9][a-z0-9._-]{0,127}$/;
const ZONE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,299}$/;
const UPSTREAM = /^[a-z0-9][a-z0-9.-]{0,252}$/;
const SIZE = /^(?:0|[1-9][0-9]{0,8})[kKmMgG]?$/;
const SSL_PROTOCOLS = new Set(['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']);
const CIPHER_ITEM = '(?:[!+-]?[A-Za-z0-9][A-Za-z0-9._-]{0,63}(?:\\+[A-Za-z0-9][A-Za-z0-9._-]{0,63}){0,7}|@STRENGTH|@SECLEVEL=[0-5])';
const SSL_CIPHERS = new RegExp(`^(?=.{1,1024}$)${CIPHER_ITEM}(?::${CIPHER_ITEM})*$`);
const REWRITE_TARGET = new RegExp(`^(?:/|\\$[1-9])(?:[${PATH_CHARS}?]|\\$[1-9]){0,2047}$`);
const escapeRegex = (s: string): string => s.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
/** The conditions proxy_next_upstream and grpc_next_upstream take; `off` only alone. */
const NEXT_UPSTREAM = new Set(['error', 'timeout', 'invalid_header', 'http_500', 'http_502', 'http_503', 'http_504', 'http_403', 'http_404', 'http_429', 'non_idempotent']);

/** An absolute http(s) URL, or throws; `$` only to start one of the URL variables. */
function url(filter: string, value: unknown): string {
  const s = text(filter, value);
  if (!URL.test(s.replace(URL_VARIABLE, 'x'))) throw new UnsafeValueError(filter, s, 'not an http(s) URL of plain characters');
  return s;
}

const COMMENT = /^[A-Za-z0-9_.:/*,=-]{0,512}$/;
// Base64 (the request metrics' labels of a location): no character NGINX gives a meaning in a string.
const BASE64 = /^\.?[A-Za-z0-9+/]{1,4000}={0,2}$/;

/** One server_name: a DNS name as is, a one-label wildcard as a regex (see nginx_server_name). */
function serverName(value: unknown): string {
  const s = text('nginx_server_name', value);
  if (DNS_NAME.test(s)) return s;
  // Every name: the routes without a hostname on a Gateway listener's own port (listener-hosts.ts).
  if (s === '*') return '"~^"';
  if (WILDCARD.test(s)) return quote(`~^[^.]+${s.slice(1).replace(/\./g, '\\.')}$`);
  // `**.example.com`: every name under example.com, however deep (the Gateway API's wildcards):
  // NGINX's own wildcard form, which it prefers to regex names.
  if (s.startsWith('**.') && WILDCARD.test(s.slice(1))) return s.slice(1);
  throw new UnsafeValueError('nginx_server_name', s, 'not a lowercase DNS name, *.wildcard or **.wildcard');
}

/** `$name` of one of wharf's own variables (written by the templates, never from a user). */
function variable(value: unknown): NginxText {
  const s = text('nginx_var', value);
  if (!VAR_NAME.test(s)) throw new UnsafeValueError('nginx_var', s, 'not a variable name of [a-z0-9_]');
  return new NginxText(`$${s}`);
}

/** A snippet argument: printable ASCII, every `$` starting `$name` or `${name}`. */
const SNIPPET_ARG = /^[\x20-\x7e]{0,4096}$/;
const SNIPPET_VARIABLE = /\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))?/g;

/**
 * One directive of an accepted snippet, `name "arg" "arg"…` (the template adds the `;`): the name
 * must be on the allowlist, each argument printable ASCII with only allowed variables, double-quoted
 * with `\` and `"` escaped, so no argument can end the directive or open a block.
 */
function snippetDirective(value: unknown): NginxText {
  const d = value as { name?: unknown; args?: unknown } | null;
  if (typeof d !== 'object' || d === null || typeof d.name !== 'string' || !Array.isArray(d.args)) throw new UnsafeValueError('nginx_snippet_directive', value, 'not a snippet directive');
  if (!Object.hasOwn(SNIPPET_DIRECTIVES, d.name)) throw new UnsafeValueError('nginx_snippet_directive', d.name, 'not a directive of the snippet allowlist');
  let line = d.name;
  for (const arg of d.args) {
    if (typeof arg !== 'string' || !SNIPPET_ARG.test(arg)) throw new UnsafeValueError('nginx_snippet_directive', arg, 'not printable ASCII of at most 4096 characters');
    for (const m of arg.matchAll(SNIPPET_VARIABLE)) {
      const name = m[1] ?? m[2];
      if (name === undefined || checkSnippetVariable(name) !== null) throw new UnsafeValueError('nginx_snippet_directive', arg, `variable ${m[0]} is not one snippets may use`);
    }
    line += ` ${quote(arg)}`;
  }
  return new NginxText(line);
}

/** Filters by name, as registered on the liquid engine. */
export const filters: Record<string, Filter> = {
  // An absolute file system path made of plain characters (no spaces, quotes, `;`, `$`, braces).
  nginx_path: check('nginx_path', /^\/[A-Za-z0-9._\/-]{0,4095}$/, 'not an absolute path of [A-Za-z0-9._/-]'),
  // A bare word: a directive argument such as a log level, a user name or "auto".
  nginx_word: check('nginx_word', /^[A-Za-z0-9_.-]{1,64}$/, 'not a bare word of [A-Za-z0-9_.-]'),
  // A non-negative integer.
  nginx_int: (value) => new NginxText(String(integer('nginx_int', value, 0, Number.MAX_SAFE_INTEGER))),
  // lua_package_path: absolute `?.lua` patterns separated by `;`, inside double quotes.
  nginx_lua_path: check(
    'nginx_lua_path',
    /^(\/[A-Za-z0-9._\/-]*\?\.lua;)+;?$/,
    'not a list of absolute ?.lua patterns',
  ),

  // server_name: a lowercase DNS name as is; a Kubernetes wildcard `*.foo.com` (exactly one label)
  // as the regex `~^[^.]+\.foo\.com$`, because NGINX's own `*.foo.com` also matches deeper names.
  // A list (a host and its server-alias names) gives each name so, separated by spaces.
  nginx_server_name: (value) => {
    if (Array.isArray(value)) {
      if (value.length === 0 || value.length > 65) throw new UnsafeValueError('nginx_server_name', value, 'not a list of 1 to 65 names');
      return new NginxText(value.map((v) => serverName(v)).join(' '));
    }
    return new NginxText(serverName(value));
  },
  // A host in a URL the template writes around it (`$scheme://HOST$wharf_www_port…`): a lowercase DNS name, no wildcard.
  nginx_url_host: check('nginx_url_host', DNS_NAME, 'not a lowercase DNS name'),
  // A literal URI path for `location =` / prefix locations, `auth_request` and redirects to a path.
  nginx_uri_path: (value) => {
    const s = text('nginx_uri_path', value);
    if (!URI_PATH.test(s)) throw new UnsafeValueError('nginx_uri_path', s, `not an absolute path of [${PATH_CHARS}]`);
    return new NginxText(quote(s));
  },
  // What a `location` matches, from {modifier, path}: `= "/foo"`, `"/foo/"`, `~ "regex"`, `~* "regex"`, `@name`.
  nginx_location_match: (value) => {
    const v = value as { modifier?: unknown; path?: unknown } | null;
    if (typeof v !== 'object' || v === null) throw new UnsafeValueError('nginx_location_match', value, 'not a location match');
    switch (v.modifier) {
      case 'exact':
        return new NginxText(`= ${filters.nginx_uri_path!(v.path).text}`);
      case 'prefix':
        return filters.nginx_uri_path!(v.path);
      case 'regex':
        return new NginxText(`~ ${filters.nginx_regex!(v.path).text}`);
      case 'iregex':
        return new NginxText(`~* ${filters.nginx_regex!(v.path).text}`);
      case 'named':
        return new NginxText(`@${filters.nginx_word!(v.path).text}`);
      default:
        throw new UnsafeValueError('nginx_location_match', v.modifier, 'not exact, prefix, regex, iregex or named');
    }
  },
  // A PCRE regex (location ~, rewrite), double-quoted with `\` escaped.
  nginx_regex: (value) => {
    const s = text('nginx_regex', value);
    if (!REGEX.test(s) || REGEX_BAD.test(s)) {
      throw new UnsafeValueError('nginx_regex', s, 'not a regex of printable ASCII without spaces, quotes, ";" or "#"');
    }
    return new NginxText(quote(s));
  },
  // auth-tls-match-cn, the regex `$ssl_client_s_dn !~` tests: `CN=` then [A-Za-z0-9 ._*|=,-]
  // (the model's grammar, CVE-2025-1097), `*` never after `|` or `*` (PCRE would refuse it); double-quoted.
  nginx_dn_regex: (value) => {
    const s = text('nginx_dn_regex', value);
    if (!/^CN=[A-Za-z0-9 ._*|=,-]{1,256}$/.test(s) || /[|*]\*/.test(s)) {
      throw new UnsafeValueError('nginx_dn_regex', s, 'not CN= followed by A-Z a-z 0-9 space . _ * | = , -');
    }
    return new NginxText(quote(s));
  },
  // A double-quoted string in which NGINX would expand `$`: printable ASCII, no quotes, `$`, `;`, braces, `#`.
  nginx_string: (value) => {
    const s = text('nginx_string', value);
    if (!PLAIN_STRING.test(s) || PLAIN_STRING_BAD.test(s)) {
      throw new UnsafeValueError('nginx_string', s, 'not printable ASCII without quotes, "\\", "$", ";", braces or "#"');
    }
    return new NginxText(quote(s));
  },
  // An absolute http(s) URL, double-quoted (proxy targets such as auth-url).
  nginx_url: (value) => new NginxText(quote(url('nginx_url', value))),
  // Where a redirect sends to: an absolute http(s) URL or an absolute path, double-quoted.
  nginx_redirect: (value) => {
    const s = text('nginx_redirect', value);
    if (URI_PATH.test(s)) return new NginxText(quote(s));
    return new NginxText(quote(url('nginx_redirect', s)));
  },
  // The error_page target for auth-signin: the sign-in URL, with `rd` set to the original request
  // unless the URL sets `rd` itself (as ingress-nginx does).
  nginx_signin: (value) => {
    const s = url('nginx_signin', value);
    if (/[?&]rd=/.test(s)) return new NginxText(quote(s));
    return new NginxText(quote(`${s}${s.includes('?') ? '&' : '?'}rd=$scheme://$host$escaped_request_uri`));
  },
  // How `if ($http_origin …)` tests a CORS origin: `= "https://a.com"` for an exact origin,
  // `~* "^https://[^.]+\.a\.com$"` for `https://*.a.com` (one label, as ingress-nginx).
  nginx_origin_match: (value) => {
    const s = text('nginx_origin_match', value);
    if (ORIGIN.test(s)) return new NginxText(`= ${quote(s)}`);
    const w = WILDCARD_ORIGIN.exec(s);
    if (!w) throw new UnsafeValueError('nginx_origin_match', s, 'not scheme://host[:port] or scheme://*.host[:port]');
    return new NginxText(`~* ${quote(`^${escapeRegex(w[1]!)}[A-Za-z0-9-]+\\.${escapeRegex(w[2]!)}$`)}`);
  },
  // A redirect status code.
  nginx_redirect_code: (value) => {
    if (value !== 301 && value !== 302 && value !== 303 && value !== 307 && value !== 308) {
      throw new UnsafeValueError('nginx_redirect_code', value, 'not one of 301, 302, 303, 307, 308');
    }
    return new NginxText(String(value));
  },
  // An IPv4 or IPv6 address or CIDR for allow/deny.
  nginx_cidr: (value) => {
    const s = text('nginx_cidr', value);
    const [addr = '', bits, ...rest] = s.split('/');
    const v4 = new RegExp(`^${IPV4}$`).test(addr);
    const v6 = !v4 && /^[0-9a-fA-F:.]{2,45}$/.test(addr) && isIPv6(addr);
    const max = v4 ? 32 : 128;
    const bitsOk = bits === undefined || (/^(?:0|[1-9]\d{0,2})$/.test(bits) && Number(bits) <= max);
    if (!(v4 || v6) || !bitsOk || rest.length) throw new UnsafeValueError('nginx_cidr', s, 'not an IP address or CIDR');
    return new NginxText(s);
  },
  // A `resolver` address (the agent's nameservers): IPv4 or [IPv6], with an optional port.
  nginx_resolver: (value) => {
    const s = text('nginx_resolver', value);
    const m = new RegExp(`^(?:(${IPV4})|\\[([0-9a-fA-F:.]{2,45})\\])(?::(\\d{1,5}))?$`).exec(s);
    const port = m?.[3] === undefined ? 53 : Number(m[3]);
    if (!m || (m[2] !== undefined && !isIPv6(m[2])) || port < 1 || port > 65535) {
      throw new UnsafeValueError('nginx_resolver', s, 'not an IPv4 or [IPv6] address with an optional port');
    }
    return new NginxText(s);
  },
  // An NGINX size: digits with an optional k/m/g unit.
  nginx_size: check('nginx_size', SIZE, 'not a size (digits with an optional k, m or g)'),
  // The arguments of proxy_next_upstream / grpc_next_upstream, from a list: known conditions, or `off` alone.
  nginx_next_upstream: (value) => {
    if (!Array.isArray(value) || value.length === 0) throw new UnsafeValueError('nginx_next_upstream', value, 'not a list of conditions');
    if (value.length === 1 && value[0] === 'off') return new NginxText('off');
    for (const c of value) {
      if (typeof c !== 'string' || !NEXT_UPSTREAM.has(c)) throw new UnsafeValueError('nginx_next_upstream', c, `not one of ${[...NEXT_UPSTREAM].join(', ')} (or off alone)`);
    }
    return new NginxText(value.join(' '));
  },
  // The arguments of proxy_ssl_protocols / grpc_ssl_protocols, from a list: TLS versions NGINX knows.
  nginx_ssl_protocols: (value) => {
    if (!Array.isArray(value) || value.length === 0) throw new UnsafeValueError('nginx_ssl_protocols', value, 'not a list of TLS versions');
    for (const p of value) {
      if (typeof p !== 'string' || !SSL_PROTOCOLS.has(p)) throw new UnsafeValueError('nginx_ssl_protocols', p, `not one of ${[...SSL_PROTOCOLS].join(', ')}`);
    }
    return new NginxText(value.join(' '));
  },
  // An OpenSSL cipher string (proxy_ssl_ciphers), bare: `:`-separated names, + joins, ! - + prefixes, @STRENGTH, @SECLEVEL=n.
  nginx_ssl_ciphers: check('nginx_ssl_ciphers', SSL_CIPHERS, 'not an OpenSSL cipher string of [A-Za-z0-9._-] names, ":" "+" "!" "-" and @STRENGTH / @SECLEVEL=n'),
  // A duration in seconds, written `Ns`; bounded so that NGINX's milliseconds cannot overflow.
  // A fraction of a second (Gateway API timeouts: 500ms) is written in whole milliseconds.
  nginx_seconds: (value) =>
    typeof value === 'number' && !Number.isInteger(value) && Number.isFinite(value)
      ? new NginxText(`${integer('nginx_seconds', Math.round(value * 1000), 1, 2_147_483_000)}ms`)
      : new NginxText(`${integer('nginx_seconds', value, 0, 2_147_483)}s`),
  // A positive integer (rates, connection limits, weights' totals).
  nginx_positive_int: (value) => new NginxText(String(integer('nginx_positive_int', value, 1, 1_000_000_000))),
  // An HTTP header name, bare (add_header, proxy_set_header).
  nginx_header_name: check('nginx_header_name', HEADER_NAME, 'not a header name of [A-Za-z0-9-]'),
  // The variable holding a request header, `$http_x_name`.
  nginx_header_var: (value) => {
    const s = text('nginx_header_var', value);
    if (!HEADER_NAME.test(s)) throw new UnsafeValueError('nginx_header_var', s, 'not a header name of [A-Za-z0-9-]');
    return new NginxText(`$http_${s.toLowerCase().replace(/-/g, '_')}`);
  },
  // The variable holding a response header of the upstream (auth-response-headers), `$upstream_http_x_name`.
  nginx_upstream_header_var: (value) => {
    const s = text('nginx_upstream_header_var', value);
    if (!HEADER_NAME.test(s)) throw new UnsafeValueError('nginx_upstream_header_var', s, 'not a header name of [A-Za-z0-9-]');
    return new NginxText(`$upstream_http_${s.toLowerCase().replace(/-/g, '_')}`);
  },
  // A comma-separated list of header names, methods or `*` (CORS), double-quoted.
  nginx_token_list: (value) => {
    const s = text('nginx_token_list', value);
    if (s !== '' && !TOKEN_LIST.test(s)) throw new UnsafeValueError('nginx_token_list', s, 'not a ", "-separated list of [A-Za-z0-9-] tokens');
    return new NginxText(quote(s));
  },
  // A cookie name usable in `$cookie_NAME` and in a Set-Cookie string.
  // A regex on `$http_cookie` whose $1 is the value of the named cookie (`$cookie_NAME` cannot
  // name cookies with `-`, `.` and other token characters).
  nginx_cookie_regex: (value) => {
    const s = text('nginx_cookie_regex', value);
    if (!COOKIE_NAME.test(s)) throw new UnsafeValueError('nginx_cookie_regex', s, 'not a cookie name (RFC 6265 token)');
    return new NginxText(quote(`(?:^|;\\s*)${escapeRegex(s)}=([^;]+)`));
  },
  // The Set-Cookie value of cookie affinity, double-quoted: the cookie carries the request id that
  // became this client's hash key. Takes {cookieName, cookiePath, cookieMaxAgeSeconds}.
  nginx_affinity_cookie: (value) => {
    const v = value as { cookieName?: unknown; cookiePath?: unknown; cookieMaxAgeSeconds?: unknown; sameSite?: unknown; secure?: unknown } | null;
    if (typeof v !== 'object' || v === null) throw new UnsafeValueError('nginx_affinity_cookie', value, 'not a cookie setting');
    const name = text('nginx_affinity_cookie', v.cookieName);
    if (!COOKIE_NAME.test(name)) throw new UnsafeValueError('nginx_affinity_cookie', name, 'not a cookie name (RFC 6265 token)');
    const path = v.cookiePath === null || v.cookiePath === undefined ? '/' : text('nginx_affinity_cookie', v.cookiePath);
    if (!COOKIE_PATH.test(path)) throw new UnsafeValueError('nginx_affinity_cookie', path, 'not a cookie path of [A-Za-z0-9/._~:@+,=!&-]');
    let attrs = `; Path=${path}`;
    if (v.cookieMaxAgeSeconds !== null && v.cookieMaxAgeSeconds !== undefined) {
      attrs += `; Max-Age=${integer('nginx_affinity_cookie', v.cookieMaxAgeSeconds, 0, 2_147_483_647)}`;
    }
    if (v.sameSite !== null && v.sameSite !== undefined) {
      if (v.sameSite !== 'None' && v.sameSite !== 'Lax' && v.sameSite !== 'Strict') throw new UnsafeValueError('nginx_affinity_cookie', v.sameSite, 'not None, Lax or Strict');
      attrs += `; SameSite=${v.sameSite}`;
    }
    if (v.secure === true) attrs += '; Secure';
    // session-cookie-secure unset: Secure when the request came over HTTPS, as ingress-nginx does.
    const secureOnHttps = v.secure === null || v.secure === undefined ? '$wharf_https_secure' : '';
    return new NginxText(quote(`${name}=$request_id${attrs}; HttpOnly${secureOnHttps}`));
  },
  // An ExternalName backend as `proxy_pass http://$var` takes it: a DNS name or IPv4 address and a
  // port, double-quoted (NGINX resolves the name at request time through its resolver).
  nginx_external_backend: (value) => {
    const s = text('nginx_external_backend', value);
    const m = /^([a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?):([0-9]{1,5})$/.exec(s);
    if (!m || m[1]!.includes('..') || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      throw new UnsafeValueError('nginx_external_backend', s, 'not a DNS name or IPv4 address with a port');
    }
    return new NginxText(quote(s));
  },
  // The directory of a server's auth cache, relative to NGINX's prefix: run/auth-cache-<fragment>.
  nginx_cache_path: check('nginx_cache_path', /^run\/auth-cache-[a-z0-9_][a-z0-9._-]{0,239}$/, 'not run/auth-cache-<fragment>'),
  // auth-method: an HTTP method in capitals.
  nginx_method: check('nginx_method', /^(?:GET|HEAD|POST|PUT|PATCH|DELETE|CONNECT|OPTIONS|TRACE)$/, 'not an HTTP method ingress-nginx allows in auth-method'),
  // auth-cache-key after the auth location's path: variables from auth-cache-key's list and plain
  // characters, double-quoted.
  nginx_auth_cache_key: (value) => {
    const s = text('nginx_auth_cache_key', value);
    if (!/^(?:\$[A-Za-z0-9_]+|[A-Za-z0-9_.:\/-]){1,512}$/.test(s)) throw new UnsafeValueError('nginx_auth_cache_key', s, 'not NGINX variables and [A-Za-z0-9_.:/-]');
    for (const m of s.matchAll(/\$([A-Za-z0-9_]+)/g)) {
      if (!AUTH_CACHE_VARIABLES.has(m[1]!) && !HASH_VARIABLE_PREFIX.test(m[1]!)) throw new UnsafeValueError('nginx_auth_cache_key', s, `variable $${m[1]} is not one auth-cache-key may use`);
    }
    return new NginxText(quote(s));
  },
  // One proxy_cache_valid line's arguments: status codes (or `any`), then a time.
  nginx_cache_valid: check('nginx_cache_valid', /^(?:(?:[1-5][0-9]{2}|any) ){0,16}[0-9]{1,7}(?:ms|s|m|h|d|w|M|y)$/, 'not status codes then a time'),
  // upstream-hash-by: NGINX request variables and plain characters, double-quoted; only known variables.
  nginx_hash_key: (value) => {
    const s = text('nginx_hash_key', value);
    if (!/^(?:\$[A-Za-z0-9_]+|[A-Za-z0-9_.:\/-]){1,256}$/.test(s)) {
      throw new UnsafeValueError('nginx_hash_key', s, 'not NGINX variables and [A-Za-z0-9_.:/-]');
    }
    for (const m of s.matchAll(/\$([A-Za-z0-9_]+)/g)) {
      const name = m[1]!;
      if (!HASH_VARIABLES.has(name) && !HASH_VARIABLE_PREFIX.test(name)) {
        throw new UnsafeValueError('nginx_hash_key', s, `variable $${name} is not one upstream-hash-by may use`);
      }
    }
    return new NginxText(quote(s));
  },
  // `$name` of one of wharf's own variables.
  nginx_var: variable,
  // A shared memory zone name (limit_req_zone, limit_conn_zone).
  nginx_zone: check('nginx_zone', ZONE, 'not a zone name of [A-Za-z0-9_.-]'),
  // A file shipped with a fragment, relative to the NGINX prefix: files/<fragment>/<file>.
  nginx_file: check('nginx_file', FILE, 'not files/<fragment>/<file>'),
  // A certificate's name in the agent's store (certificates by SNI): `include certificates/NAME.con[f];`.
  nginx_certificate_name: check('nginx_certificate_name', CERTIFICATE_NAME, 'not a certificate name (a host, a leading *. written as _.)'),
  // One of the agent's listen includes (listen-http.conf, listen-https-8443.conf, listen-h2c-9000.conf).
  nginx_listen_file: check('nginx_listen_file', LISTEN_FILE, 'not listen-http[s][-PORT].conf or listen-h2c-PORT.conf'),
  // An upstream name (`namespace-service-port`), double-quoted.
  nginx_upstream: (value) => {
    const s = text('nginx_upstream', value);
    if (!UPSTREAM.test(s)) throw new UnsafeValueError('nginx_upstream', s, 'not an upstream name of [a-z0-9.-]');
    return new NginxText(quote(s));
  },
  // The replacement of `rewrite`: a URI path that may use the location's capture groups $1..$9.
  nginx_rewrite_target: (value) => {
    const s = text('nginx_rewrite_target', value);
    if (!REWRITE_TARGET.test(s)) {
      throw new UnsafeValueError('nginx_rewrite_target', s, 'not a path of plain characters and $1..$9 captures');
    }
    return new NginxText(quote(s));
  },
  // A block another template rendered (a location's body): only NginxText passes, never a string,
  // so what it holds went through these filters too.
  nginx_block: (value) => {
    if (!(value instanceof NginxText)) throw new UnsafeValueError('nginx_block', value, 'not text rendered by a template');
    return value;
  },
  // The text of a `#` comment (object names, hosts): no newline can end it early.
  nginx_comment: check('nginx_comment', COMMENT, 'not comment text of [A-Za-z0-9_.:/*,=-]'),
  /** A double-quoted base64 string, optionally after a "." (a `set` value read by Lua and decoded by the agent). */
  nginx_base64: (value) => {
    const s = text('nginx_base64', value);
    if (!BASE64.test(s) || s.replace(/^\./, '').length % 4 !== 0) throw new UnsafeValueError('nginx_base64', s, 'not base64 of at most 4000 characters (after an optional ".")');
    return new NginxText(`"${s}"`);
  },
  // One directive of an accepted snippet (configuration-, server-, auth-snippet), without its `;`.
  nginx_snippet_directive: snippetDirective,
  // A list of comment words (object names), joined by spaces.
  nginx_comment_list: (value) => {
    if (!Array.isArray(value)) throw new UnsafeValueError('nginx_comment_list', value, 'not a list');
    return new NginxText(value.map((v) => filters.nginx_comment!(v).text).join(' '));
  },
};
