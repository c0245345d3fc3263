// The filters of what routes add to a location (src/render/route-view.ts): the `map`s and
// `split_clients` that choose between a path's routes and backends inside NGINX, header changes and
// redirects. Like every filter (filters.ts), each checks its value for the exact place it lands in
// and throws UnsafeValueError otherwise.
import { filters, NginxText, UnsafeValueError } from './filters.ts';

type Filter = (value: unknown, ...args: unknown[]) => NginxText;

function text(filter: string, value: unknown): string {
  const s = value instanceof NginxText ? value.text : value;
  if (typeof s !== 'string' && typeof s !== 'number') throw new UnsafeValueError(filter, s, 'not a string');
  return String(s);
}

const quote = (s: string): string => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

/** Regexes as the model writes them for maps: printable ASCII without spaces, quotes, `;` or `#`. */
const REGEX = /^[\x21-\x7e]{1,2048}$/;
const REGEX_BAD = /["';#]/;
const VAR_NAME = /^[a-z_][a-z0-9_]{0,63}$/;
const WORD = /^[A-Za-z0-9_]{1,64}$/;
const PLAIN_STRING = /^[\x20-\x7e]{0,1024}$/;
const PLAIN_STRING_BAD = /["\\$;{}#]/;
const HEADER_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DNS_NAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`);
const PATTERN = /^\^[01.]{1,256}\$$/;
const PERCENT = /^(?:\*|(?:100|[1-9]?\d)(?:\.\d{1,2})?%)$/;

function plain(filter: string, value: unknown): string {
  const s = text(filter, value);
  if (!PLAIN_STRING.test(s) || PLAIN_STRING_BAD.test(s)) {
    throw new UnsafeValueError(filter, s, 'not printable ASCII without quotes, "\\", "$", ";", braces or "#"');
  }
  return s;
}

/** Where a redirect of a route sends to (RouteRedirectView), as the `return` URL. */
interface RedirectParts {
  scheme: string | null;
  host: string | null;
  port: number | null;
  /** The location rewrote $uri to the new path first: the URL ends in `$uri$is_args$args`. */
  rewritten: boolean;
}

export const routeFilters: Record<string, Filter> = {
  // The key of a map entry that is a regex: `"~<regex>"`, case-sensitive.
  nginx_map_regex: (value) => {
    const s = text('nginx_map_regex', value);
    if (!REGEX.test(s) || REGEX_BAD.test(s)) throw new UnsafeValueError('nginx_map_regex', s, 'not a regex of printable ASCII without spaces, quotes, ";" or "#"');
    return new NginxText(quote(`~${s}`));
  },
  // The source of a selection map: wharf's own variables, concatenated: `"${a}${b}"`.
  nginx_map_source: (value) => {
    if (!Array.isArray(value) || value.length === 0 || value.length > 256) throw new UnsafeValueError('nginx_map_source', value, 'not a list of 1 to 256 variables');
    return new NginxText(quote(value.map((v) => {
      const s = text('nginx_map_source', v);
      if (!VAR_NAME.test(s)) throw new UnsafeValueError('nginx_map_source', s, 'not a variable name of [a-z0-9_]');
      return `\${${s}}`;
    }).join('')));
  },
  // Which conditions a route needs, as a map key over the selection source: `"~^1.1$"`.
  nginx_bit_pattern: (value) => {
    const s = text('nginx_bit_pattern', value);
    if (!PATTERN.test(s)) throw new UnsafeValueError('nginx_bit_pattern', s, 'not a pattern of ^[01.]$');
    return new NginxText(quote(`~${s}`));
  },
  // A named location: `@name`.
  nginx_named_location: (value) => {
    const s = text('nginx_named_location', value);
    if (!WORD.test(s)) throw new UnsafeValueError('nginx_named_location', s, 'not a location name of [A-Za-z0-9_]');
    return new NginxText(`@${s}`);
  },
  // A share of split_clients: "33.33%".
  nginx_percent: (value) => {
    const s = text('nginx_percent', value);
    if (!PERCENT.test(s)) throw new UnsafeValueError('nginx_percent', s, 'not a percentage with at most two decimals, or *');
    return new NginxText(s);
  },
  // A header value written as is, double-quoted: printable ASCII without `$` (no variable is expanded).
  nginx_header_value: (value) => new NginxText(quote(plain('nginx_header_value', value))),
  // The value of an added request header after the client's own: `"$http_name,value"`.
  nginx_header_append: (value) => {
    const v = value as { name?: unknown; value?: unknown } | null;
    if (typeof v !== 'object' || v === null) throw new UnsafeValueError('nginx_header_append', value, 'not a header');
    const name = text('nginx_header_append', v.name);
    if (!HEADER_NAME.test(name)) throw new UnsafeValueError('nginx_header_append', name, 'not a header name of [A-Za-z0-9-]');
    return new NginxText(quote(`$http_${name.toLowerCase().replace(/-/g, '_')},${plain('nginx_header_append', v.value)}`));
  },
  // A redirect's target: scheme, host and port as the route says (or the request's), then the path.
  nginx_route_redirect: (value) => {
    const r = value as RedirectParts | null;
    if (typeof r !== 'object' || r === null) throw new UnsafeValueError('nginx_route_redirect', value, 'not a redirect');
    if (r.scheme !== null && r.scheme !== 'http' && r.scheme !== 'https') throw new UnsafeValueError('nginx_route_redirect', r.scheme, 'not http or https');
    if (r.host !== null && !(typeof r.host === 'string' && DNS_NAME.test(r.host))) throw new UnsafeValueError('nginx_route_redirect', r.host, 'not a lowercase DNS name');
    if (r.port !== null && !(Number.isInteger(r.port) && r.port >= 1 && r.port <= 65535)) throw new UnsafeValueError('nginx_route_redirect', r.port, 'not a port');
    const url = `${r.scheme ?? '$scheme'}://${r.host ?? '$host'}${r.port === null ? '' : `:${r.port}`}${r.rewritten ? '$uri$is_args$args' : '$request_uri'}`;
    return new NginxText(quote(url));
  },
};

// Every route filter is registered with the others; a name may not shadow an existing one.
for (const name of Object.keys(routeFilters)) {
  if (name in filters) throw new Error(`route filter ${name} shadows a filter of filters.ts`);
}
