// The snippet allowlist: which NGINX directives a configuration-snippet, server-snippet or
// auth-snippet may hold, as a table (directive → where it may go and a strict grammar for each of
// its arguments), the variables their values may use, and for every other directive the one-line
// reason and what to use instead. A snippet is accepted only when every directive passes; wharf then
// writes those directives itself from the parsed arguments (never the snippet's text).
import type { ControllerSettings } from './cluster-state.ts';
import type { GlobalSettings, SnippetDirective } from './types.ts';
import { INSTEAD, refusal } from './snippet-refusals.ts';
import { snippetStatements, tokenizeSnippet, type SnippetPosition, type SnippetToken } from './snippet-tokens.ts';

/** Where a snippet goes: each location of the Ingress, the host's server, or the external-auth subrequest. */
export type SnippetContext = 'location' | 'server' | 'auth';

export type { SnippetDirective } from './types.ts';

/** What the snippet grammar depends on besides the text. */
export interface SnippetOptions {
  /** NGINX has the headers-more module (Debian's libnginx-mod-http-headers-more-filter). */
  headersMore: boolean;
}

/**
 * How this wharf treats snippet annotations: `safe` parses them against the allowlist, `off` denies
 * every one; `offBy` names what turned them off, for the message.
 */
export interface SnippetPolicy extends SnippetOptions {
  mode: 'off' | 'safe';
  offBy?: string;
}

export type SnippetResult = { ok: true; directives: SnippetDirective[] } | { ok: false; message: string };

type Word = Extract<SnippetToken, { kind: 'word' }>;
/** Checks a directive's arguments; returns the reason (naming the argument) or null. */
type ArgsRule = (args: readonly Word[], context: SnippetContext) => string | null;

interface DirectiveRule {
  contexts: readonly SnippetContext[];
  /** Needs NGINX's headers-more module. */
  headersMore?: boolean;
  /** NGINX takes it once per block ("is duplicate" otherwise). */
  once?: boolean;
  args: ArgsRule;
  /** The grammar in one line, for docs/snippets.md. */
  syntax: string;
}

// ---------------------------------------------------------------------------------------------
// Variables

/** Variables a value may use: request and connection facts NGINX computes, none that reads a file. */
export const SNIPPET_VARIABLES: ReadonlySet<string> = new Set([
  'host', 'http_host', 'remote_addr', 'remote_port', 'realip_remote_addr', 'proxy_add_x_forwarded_for', 'scheme', 'https',
  'request_uri', 'args', 'query_string', 'is_args', 'request_id', 'request_method', 'server_name', 'server_port',
  'server_protocol', 'content_type', 'content_length', 'ssl_protocol', 'ssl_cipher', 'ssl_server_name',
  'ssl_client_verify', 'ssl_client_s_dn', 'ssl_client_i_dn', 'upstream_addr', 'upstream_status', 'status',
  'msec', 'time_iso8601', 'time_local',
]);
/** Families of variables: request headers, query arguments, cookies, response and upstream headers. */
const VARIABLE_FAMILIES = /^(?:http|arg|cookie|sent_http|upstream_http)_[A-Za-z0-9_]{1,64}$/;

/** Why a variable is refused, or null. `$uri` and captures are decoded (%0D%0A becomes a line break). */
export function checkSnippetVariable(name: string): string | null {
  if (SNIPPET_VARIABLES.has(name) || VARIABLE_FAMILIES.test(name)) return null;
  if (name === 'uri' || name === 'document_uri' || /^[0-9]+$/.test(name)) {
    return `$${name} is not allowed: it holds the decoded path, where %0D%0A is a line break (use $request_uri)`;
  }
  return `$${name} is not allowed: values may use $host, $remote_addr, $scheme, $request_uri, $request_id, $http_<name>, $arg_<name>, $cookie_<name> and the other variables listed in docs/snippets.md`;
}

// ---------------------------------------------------------------------------------------------
// Argument grammars

/** RFC 9110 token characters, without `$` (NGINX would read a variable). */
const TOKEN = /^[A-Za-z0-9!#%&'*+.^_`|~-]{1,128}$/;
const STATUS_LIST = /^[1-5][0-9]{2}(?: [1-5][0-9]{2}){0,31}$/;
const MIME = "[A-Za-z0-9!#&^_.+-]{1,64}/(?:\\*|[A-Za-z0-9!#&^_.+-]{1,64})";
const TYPE_LIST = new RegExp(`^${MIME}(?: ${MIME}){0,31}$`);
/** The units of NGINX's time values (ngx_parse_time), in the only order it accepts them, in seconds. */
const TIME_UNITS: readonly [string, number][] = [['y', 31_536_000], ['M', 2_592_000], ['w', 604_800], ['d', 86_400], ['h', 3_600], ['m', 60], ['s', 1]];

/**
 * Seconds of a time as `expires` reads it (`1h30m`, `-1`, `90`), or null: numbers with units from
 * years down to seconds, each unit once and in that order (NGINX refuses `1m1h` and `ms` here),
 * an optional leading `-`.
 */
export function parseExpiresTime(v: string): number | null {
  const m = /^(-?)((?:[0-9]{1,6}[yMwdhms])+|[0-9]{1,9})$/.exec(v);
  if (!m) return null;
  if (/^[0-9]+$/.test(m[2]!)) return Number(m[2]);
  let total = 0;
  let next = 0;
  for (const part of m[2]!.matchAll(/([0-9]+)([yMwdhms])/g)) {
    const i = TIME_UNITS.findIndex(([u]) => u === part[2]);
    if (i < next) return null;
    next = i + 1;
    total += Number(part[1]) * TIME_UNITS[i]![1];
  }
  return total;
}
const MAX_VALUE = 4096;

const ordinal = (i: number): string => ['first', 'second', 'third', 'fourth', 'fifth'][i] ?? `${i + 1}th`;
const shown = (s: string): string => JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);

/** A header name: token characters, no variable. */
function headerName(w: Word, what: string): string | null {
  if (w.variables.length > 0 || !TOKEN.test(w.value)) return `${what} ${shown(w.value)} must be a header name (token characters: A-Z a-z 0-9 and ! # % & ' * + . ^ _ \` | ~ -)`;
  return null;
}

/** A header value: printable ASCII (the reader refused the rest), variables from the list only. */
function headerValue(value: string, variables: Word['variables'], what: string): string | null {
  if (value.length > MAX_VALUE) return `${what} must be at most ${MAX_VALUE} characters`;
  for (const v of variables) {
    const reason = checkSnippetVariable(v.name);
    if (reason) return `${what}: ${reason}`;
  }
  return null;
}

/** Header names wharf's locations already send to the backend: a second one would be sent beside it. */
const WHARF_REQUEST_HEADERS: Record<string, string> = {
  host: 'use the nginx.ingress.kubernetes.io/upstream-vhost annotation',
  'x-forwarded-prefix': 'use the nginx.ingress.kubernetes.io/x-forwarded-prefix annotation',
  'x-real-ip': 'wharf sends the client address itself',
  'x-forwarded-for': 'wharf sends it itself',
  'x-forwarded-proto': 'wharf sends it itself',
  'x-forwarded-host': 'wharf sends it itself',
  'x-forwarded-port': 'wharf sends it itself',
  'x-original-forwarded-for': 'wharf sends it itself',
  upgrade: 'wharf forwards WebSocket upgrades itself',
  connection: 'wharf forwards WebSocket upgrades itself',
  'ssl-client-cert': 'use the nginx.ingress.kubernetes.io/auth-tls-pass-certificate-to-upstream annotation',
  'ssl-client-verify': 'wharf sends it with auth-tls-secret',
  'ssl-client-subject-dn': 'wharf sends it with auth-tls-secret',
  'ssl-client-issuer-dn': 'wharf sends it with auth-tls-secret',
};
/** The headers the external-auth subrequest location sets itself. */
const WHARF_AUTH_HEADERS = new Set(['content-length', 'x-original-url', 'x-original-method', 'x-auth-request-redirect', 'x-real-ip', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);

/** `proxy_set_header` / `grpc_set_header NAME VALUE`, never a header wharf sets in that place. */
const setHeader: ArgsRule = (args, context) => {
  if (args.length !== 2) return `takes a header name and a value (2 arguments), not ${args.length}`;
  const reason = headerName(args[0]!, 'the header name') ?? headerValue(args[1]!.value, args[1]!.variables, 'the value');
  if (reason) return reason;
  const name = args[0]!.value.toLowerCase();
  if (context === 'auth') {
    if (WHARF_AUTH_HEADERS.has(name)) return `${args[0]!.value} is set by wharf for the auth request`;
  } else if (WHARF_REQUEST_HEADERS[name]) {
    return `${args[0]!.value} is set by wharf: ${WHARF_REQUEST_HEADERS[name]}`;
  }
  return null;
};

/** `NAME` alone (proxy_hide_header, proxy_pass_header). */
const oneHeaderName: ArgsRule = (args) => {
  if (args.length !== 1) return `takes one header name, not ${args.length} arguments`;
  return headerName(args[0]!, 'the header name');
};

/** `add_header NAME VALUE [always]`. */
const addHeader: ArgsRule = (args) => {
  if (args.length < 2 || args.length > 3) return `takes a header name, a value and optionally "always" (2 or 3 arguments), not ${args.length}`;
  if (args.length === 3 && (args[2]!.value !== 'always' || args[2]!.variables.length > 0)) return `the third argument must be "always", not ${shown(args[2]!.value)}`;
  return headerName(args[0]!, 'the header name') ?? headerValue(args[1]!.value, args[1]!.variables, 'the value');
};

/**
 * The `-s STATUSES`, `-t TYPES` and `-r` options of the more_* directives (each as its own argument
 * followed by its list), allowed first; returns where the headers start, or the reason.
 */
function moreOptions(args: readonly Word[], allowed: string): number | string {
  let i = 0;
  while (i < args.length && args[i]!.value.startsWith('-')) {
    const opt = args[i]!.value;
    if (!allowed.split('').some((o) => opt === `-${o}`)) {
      const names = allowed.split('').map((o) => `-${o}`).join(', ');
      return `option ${shown(opt)} is not allowed (${names} only, each as its own argument)`;
    }
    if (opt === '-r') {
      i++;
      continue;
    }
    const list = args[i + 1];
    if (!list || list.variables.length > 0) return `option ${opt} needs a list as the next argument`;
    if (opt === '-s' && !STATUS_LIST.test(list.value)) return `${shown(list.value)} after -s must be status codes separated by spaces (e.g. "404 500")`;
    if (opt === '-t' && !TYPE_LIST.test(list.value)) return `${shown(list.value)} after -t must be content types separated by spaces (e.g. "text/html application/json")`;
    i += 2;
  }
  return i;
}

/** `more_set_headers` / `more_set_input_headers [options] "Name: value"…`. */
function moreSet(options: string): ArgsRule {
  return (args) => {
    const start = moreOptions(args, options);
    if (typeof start === 'string') return start;
    if (start === args.length) return 'needs at least one "Name: value" argument';
    for (let i = start; i < args.length; i++) {
      const w = args[i]!;
      const colon = w.value.indexOf(':');
      const name = colon < 0 ? w.value : w.value.slice(0, colon);
      if (colon < 0 || !TOKEN.test(name) || w.value.slice(0, colon).includes('$')) {
        return `the ${ordinal(i)} argument ${shown(w.value)} must be "Name: value" with a header name of token characters`;
      }
      const reason = headerValue(w.value.slice(colon + 1), w.variables, `the value of ${name}`);
      if (reason) return reason;
    }
    return null;
  };
}

/** `more_clear_headers` / `more_clear_input_headers [options] Name…` (a trailing `*` matches a prefix). */
function moreClear(options: string): ArgsRule {
  return (args) => {
    const start = moreOptions(args, options);
    if (typeof start === 'string') return start;
    if (start === args.length) return 'needs at least one header name';
    for (let i = start; i < args.length; i++) {
      const w = args[i]!;
      const name = w.value.endsWith('*') ? w.value.slice(0, -1) : w.value;
      if (w.variables.length > 0 || !TOKEN.test(name) || name.includes('*')) return `the ${ordinal(i)} argument ${shown(w.value)} must be a header name (token characters, optionally ending in "*")`;
    }
    return null;
  };
}

/** `expires [modified] TIME | @TIME-OF-DAY | epoch | max | off`, without variables. */
const expires: ArgsRule = (args) => {
  if (args.some((a) => a.variables.length > 0)) return 'takes no variables';
  const values = args.map((a) => a.value);
  const time = values[values.length - 1];
  if (values.length === 2 && values[0] !== 'modified') return `the first of two arguments must be "modified", not ${shown(values[0]!)}`;
  if (values.length === 1 && ['epoch', 'max', 'off'].includes(time!)) return null;
  const usage = 'takes a time such as 1h, 30d or 1h30m (units y M w d h m s, largest first; optionally after "modified"), a time of day such as @15h30m, epoch, max or off';
  if (values.length < 1 || values.length > 2 || time === undefined) return usage;
  if (values.length === 1 && time.startsWith('@')) {
    const daily = parseExpiresTime(time.slice(1));
    if (daily === null || time.startsWith('@-')) return usage;
    if (daily > 86_400) return `the time of day ${shown(time)} must be at most 24 hours`;
    return null;
  }
  return parseExpiresTime(time) === null ? usage : null;
};

/** The allowlist, by directive name. */
export const SNIPPET_DIRECTIVES: Readonly<Record<string, DirectiveRule>> = {
  add_header: { contexts: ['location', 'server'], args: addHeader, syntax: 'add_header NAME VALUE [always]' },
  more_set_headers: { contexts: ['location', 'server'], headersMore: true, args: moreSet('st'), syntax: 'more_set_headers [-s "CODES"] [-t "TYPES"] "NAME: VALUE"…' },
  more_clear_headers: { contexts: ['location', 'server'], headersMore: true, args: moreClear('st'), syntax: 'more_clear_headers [-s "CODES"] [-t "TYPES"] NAME[*]…' },
  more_set_input_headers: { contexts: ['location', 'server'], headersMore: true, args: moreSet('rt'), syntax: 'more_set_input_headers [-r] [-t "TYPES"] "NAME: VALUE"…' },
  more_clear_input_headers: { contexts: ['location', 'server'], headersMore: true, args: moreClear('t'), syntax: 'more_clear_input_headers [-t "TYPES"] NAME[*]…' },
  proxy_set_header: { contexts: ['location', 'auth'], args: setHeader, syntax: 'proxy_set_header NAME VALUE' },
  grpc_set_header: { contexts: ['location'], args: setHeader, syntax: 'grpc_set_header NAME VALUE' },
  proxy_hide_header: { contexts: ['location', 'server'], args: oneHeaderName, syntax: 'proxy_hide_header NAME' },
  proxy_pass_header: { contexts: ['location', 'server'], args: oneHeaderName, syntax: 'proxy_pass_header NAME' },
  expires: { contexts: ['location', 'server'], once: true, args: expires, syntax: 'expires [modified] TIME; or @TIME, epoch, max, off' },
};

const WHERE: Record<SnippetContext, string> = {
  location: 'configuration-snippet',
  server: 'server-snippet',
  auth: 'auth-snippet',
};

/** Why a directive on the allowlist cannot go in this kind of snippet. */
function wrongContext(name: string, rule: DirectiveRule, context: SnippetContext): string {
  const fits = rule.contexts.map((c) => WHERE[c]).join(' or ');
  // Measured with NGINX 1.22 and headers-more 0.34: in the auth subrequest, more_set_input_headers
  // changes the client's request that reaches the backend, and more_clear_input_headers drops the connection.
  if (context === 'auth' && name.endsWith('_input_headers')) return `${name} cannot go in auth-snippet: in the auth request it changes the client's own request: use proxy_set_header, or put it in ${fits}`;
  if (context === 'auth') return `${name} has no effect in auth-snippet (the auth service's answer never reaches the client): put it in ${fits}`;
  if (context === 'server') return `${name} has no effect in server-snippet (every wharf location sets its own): put it in ${fits}`;
  return `${name} belongs in ${fits}`;
}

const at = (p: SnippetPosition): string => `line ${p.line}, column ${p.column}`;

/** At most this many directives in one snippet (a snippet is a few headers, not a config file). */
export const MAX_SNIPPET_DIRECTIVES = 64;

/**
 * Parses one snippet for `context`: the directives to write, or a one-line message naming the first
 * refused directive, its position, why, and what to use instead.
 */
export function parseSnippet(text: string, context: SnippetContext, opts: SnippetOptions): SnippetResult {
  const read = tokenizeSnippet(text);
  if (!read.ok) {
    // Name the directive the unreadable text belongs to when it is refused anyway (a Lua block).
    const partial = snippetStatements(read.tokens);
    const unfinished = !partial.ok && partial.name !== undefined ? [{ name: partial.name, at: partial.at, block: false }] : [];
    for (const s of [...partial.statements, ...unfinished]) {
      const refused = refuseName(s.name, s.block, context, opts);
      if (refused) return { ok: false, message: `${at(s.at)}: ${refused}` };
    }
    return { ok: false, message: `${at(read.at)}: ${read.reason}` };
  }
  const grouped = snippetStatements(read.tokens);
  if (!grouped.ok) return { ok: false, message: `${at(grouped.at)}: ${grouped.reason}` };
  if (grouped.statements.length > MAX_SNIPPET_DIRECTIVES) return { ok: false, message: `has ${grouped.statements.length} directives; at most ${MAX_SNIPPET_DIRECTIVES} are allowed` };
  const directives: SnippetDirective[] = [];
  for (const s of grouped.statements) {
    const where = `${at(s.at)}: `;
    const refused = refuseName(s.name, s.block, context, opts);
    if (refused) return { ok: false, message: where + refused };
    const rule = SNIPPET_DIRECTIVES[s.name]!;
    if (rule.once && directives.some((d) => d.name === s.name)) return { ok: false, message: `${where}${s.name}: given twice (NGINX takes it once)` };
    const reason = rule.args(s.args, context);
    if (reason) return { ok: false, message: `${where}${s.name}: ${reason}` };
    directives.push({ name: s.name, args: s.args.map((a) => a.value) });
  }
  if (directives.length === 0) return { ok: false, message: 'holds no directive (remove the annotation)' };
  return { ok: true, directives };
}

/** Why a directive is refused by its name alone (a block, not on the allowlist, wrong snippet, no module), or null. */
function refuseName(name: string, block: boolean, context: SnippetContext, opts: SnippetOptions): string | null {
  if (block) return `${name} { … }: blocks are not allowed in snippets${INSTEAD[name] ? ` (${INSTEAD[name]})` : ''}`;
  const rule = Object.hasOwn(SNIPPET_DIRECTIVES, name) ? SNIPPET_DIRECTIVES[name]! : undefined;
  if (!rule) return refusal(name, Object.keys(SNIPPET_DIRECTIVES));
  if (!rule.contexts.includes(context)) return wrongContext(name, rule, context);
  if (rule.headersMore && !opts.headersMore) {
    return `${name} needs NGINX's headers-more module (Debian's libnginx-mod-http-headers-more-filter), which this wharf does not have: use add_header or proxy_set_header`;
  }
  return null;
}

/** The allowlist as rows (directive, where it may go, grammar, module), for the docs and their test. */
export function snippetAllowlist(): { directive: string; snippets: string[]; syntax: string; headersMore: boolean }[] {
  return Object.entries(SNIPPET_DIRECTIVES).map(([directive, r]) => ({
    directive,
    snippets: r.contexts.map((c) => WHERE[c]),
    syntax: r.syntax,
    headersMore: r.headersMore === true,
  }));
}

/**
 * The snippet policy of an installation: off when the handler runs with `--snippets off` or the
 * ConfigMap sets `allow-snippet-annotations: "false"`, else safe (the allowlist).
 */
export function snippetPolicy(settings: ControllerSettings, global: GlobalSettings): SnippetPolicy {
  const headersMore = settings.headersMore ?? true;
  if (settings.snippets === 'off') return { mode: 'off', headersMore, offBy: 'wharf handler --snippets off' };
  if (global.allowSnippetAnnotations === false) return { mode: 'off', headersMore, offBy: 'the ConfigMap sets allow-snippet-annotations to "false"' };
  return { mode: 'safe', headersMore };
}
