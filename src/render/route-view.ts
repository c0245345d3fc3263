// What routes add to the view of a server (view.ts): choosing between the routes that share a path
// by their conditions (headers, query, method), weighted backends, header changes, redirects and
// path rewrites. Everything is decided by data NGINX evaluates (`map`, `split_clients`, named
// locations reached through error_page), never by `if`: one map per condition, one selection map per
// shared path, and a named location per route. A Location without conditions, weights or filters
// (every Ingress location) gets nothing from here, so its output is what it always was.
import type { Location, PathChange, RequestCondition } from '../model/types.ts';
import { shortId } from './names.ts';
import { RESERVED_PREFIX } from '../model/grammar.ts';

/** The upstream name a weighted share gets when its backend cannot be used: the balancer answers 500. */
export const INVALID_UPSTREAM = 'wharf.invalid';

/** What a route's location does besides what every location does (BodyView.route). */
export interface RouteView {
  /** The selection map's variable: this location only hands the request to a named location. */
  dispatch: string | null;
  /** The split_clients variable that names the upstream (weighted backends). */
  weighted: string | null;
  /** Answer with this status and nothing else (500: no usable backend; 404: no route's conditions hold). */
  fail: 404 | 500 | null;
  /** In order: removals (value ''), replacements, then additions (`variable` from an append map). */
  requestHeaders: { name: string; value: string; variable: string | null }[];
  responseHeaders: { hide: string[]; add: { name: string; value: string }[] } | null;
  /** RequestMirror: the internal locations (ServerView.mirrorLocations) a copy of each request goes to. */
  mirrors: string[];
  redirect: {
    code: number;
    url: { scheme: string | null; host: string | null; port: number | null; rewritten: boolean };
    rewrite: { regex: string; target: string } | null;
  } | null;
}

/** The http-level data of a server's routes (route-maps.liquid). */
export interface RouteMapsView {
  conditions: { name: string; source: string; regex: string }[];
  selections: { name: string; source: string[]; entries: { pattern: string; target: string }[]; fallback: string }[];
  appends: { name: string; value: string; variable: string }[];
  splits: { name: string; parts: { percent: string; upstream: string }[] }[];
  /** RequestMirror's sampling: `name` is 1 for `percent` of the requests, at random, else 0. */
  mirrorSamples: { name: string; percent: string }[];
}

export function emptyRouteMaps(): RouteMapsView {
  return { conditions: [], selections: [], appends: [], splits: [], mirrorSamples: [] };
}

const escapeRegex = (s: string): string => s.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');

/** A regex that matches `s` literally, written with letters, digits, `/`, `_`, `-` and `\xHH` only. */
export function literalRegex(s: string): string {
  let out = '';
  for (const ch of s) {
    if (/[A-Za-z0-9/_-]/.test(ch)) out += ch;
    else out += `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** The NGINX variable a condition tests, and the regex that says it holds. */
export function conditionRegex(c: RequestCondition): { source: string; regex: string } {
  switch (c.on) {
    case 'header':
      return { source: `http_${c.name.toLowerCase().replace(/-/g, '_')}`, regex: c.match === 'Exact' ? `^${literalRegex(c.value)}$` : c.value };
    case 'query':
      return {
        source: 'args',
        regex: c.match === 'Exact' ? `(?:^|&)${literalRegex(c.name)}=${literalRegex(c.value)}(?:&|$)` : `(?:^|&)${literalRegex(c.name)}=(?:${c.value})`,
      };
    case 'method':
      return { source: 'request_method', regex: `^${literalRegex(c.value)}$` };
    case 'scheme':
      return { source: 'scheme', regex: `^${literalRegex(c.value)}$` };
    case 'path':
      if (c.match === 'Exact') return { source: 'uri', regex: `^${literalRegex(c.value)}$` };
      if (c.match === 'Prefix') return { source: 'uri', regex: c.value === '/' ? '^/' : `^${literalRegex(c.value)}(?:/|$)` };
      return { source: 'uri', regex: `(?i)^${c.value}` };
  }
}

/**
 * The `rewrite` regex and replacement of a path change on a location (its path is `path`, matched as
 * `match`): the whole path, or the part a Prefix matched (element-wise: `/foo` → `/bar` makes
 * `/foo/x` `/bar/x`; a replacement ending in `/` never doubles it).
 */
export function pathRewrite(change: PathChange, path: string, match: Location['match']): { regex: string; target: string } {
  if (change.type === 'ReplaceFullPath' || match !== 'Prefix') return { regex: '^', target: change.value };
  const r = change.value;
  if (path === '/') return { regex: '^/(.*)$', target: r.endsWith('/') ? `${r}$1` : `${r}/$1` };
  if (r.endsWith('/')) return { regex: `^${escapeRegex(path)}/?(.*)$`, target: `${r}$1` };
  return { regex: `^${escapeRegex(path)}(/.*)?$`, target: `${r}$1` };
}

/** Per-server state of route rendering: the maps, and the names already given. */
export interface RouteCtx {
  fragment: string;
  maps: RouteMapsView;
  conditionNames: Map<string, string>;
  /** The server's mirror targets (ServerView.mirrorLocations), one per upstream and share. */
  mirrorLocations: MirrorTarget[];
}

/** An internal location a RequestMirror copy goes to: its upstream, and the sample variable (1: copy) when not every request is. */
export interface MirrorTarget {
  uri: string;
  upstream: string;
  sample: string | null;
}

/** Where a server's internal mirror locations live (paths there are refused in routes and Ingresses). */
const MIRROR_PREFIX = `${RESERVED_PREFIX}/mirror/`;

/** The shares of weighted backends as split_clients writes them (the last takes the rest). */
function splitParts(shares: { upstream: string; weight: number }[]): { percent: string; upstream: string }[] {
  const total = shares.reduce((n, s) => n + s.weight, 0);
  const parts: { percent: string; upstream: string }[] = [];
  shares.forEach((s, i) => {
    if (i === shares.length - 1) parts.push({ percent: '*', upstream: s.upstream });
    else {
      const hundredths = Math.floor((s.weight * 10_000) / total);
      if (hundredths > 0) parts.push({ percent: `${(hundredths / 100).toFixed(2)}%`, upstream: s.upstream });
    }
  });
  return parts;
}

/** The route part of a location's body; null for a location without weights or filters (Ingress). */
export function routeOf(loc: Location, rc: RouteCtx, id: string): { route: RouteView | null; upstream: string | null } {
  const upstream = loc.backend?.upstream ?? null;
  if (!loc.backends && !loc.filters) return { route: null, upstream };
  const route: RouteView = { dispatch: null, weighted: null, fail: null, requestHeaders: [], responseHeaders: null, mirrors: [], redirect: null };
  let chosen = upstream;
  const f = loc.filters ?? {};
  if (f.redirect) {
    const r = f.redirect;
    route.redirect = {
      code: r.code,
      url: { scheme: r.scheme, host: r.hostname, port: r.port, rewritten: r.path !== null },
      rewrite: r.path ? pathRewrite(r.path, loc.path, loc.match) : null,
    };
  } else if (loc.backends) {
    const shares = loc.backends.filter((b) => b.weight > 0).map((b) => ({ upstream: b.backend?.upstream ?? INVALID_UPSTREAM, weight: b.weight }));
    if (shares.length === 0 || shares.every((s) => s.upstream === INVALID_UPSTREAM)) route.fail = 500;
    else if (shares.length === 1 || shares.every((s) => s.upstream === shares[0]!.upstream)) chosen = shares[0]!.upstream;
    else {
      const name = `wharf_w_${shortId(`${rc.fragment} ${id}`)}`;
      rc.maps.splits.push({ name, parts: splitParts(shares) });
      route.weighted = name;
      chosen = null;
    }
  }
  if (f.requestHeaders) {
    const h = f.requestHeaders;
    for (const name of h.remove) route.requestHeaders.push({ name, value: '', variable: null });
    for (const s of h.set) route.requestHeaders.push({ name: s.name, value: s.value, variable: null });
    for (const a of h.add) {
      const variable = `wharf_a_${shortId(`${rc.fragment} ${id} ${a.name}`)}`;
      rc.maps.appends.push({ name: a.name, value: a.value, variable });
      route.requestHeaders.push({ name: a.name, value: a.value, variable });
    }
  }
  for (const m of f.mirrors ?? []) {
    const share = m.percent === undefined ? '' : ` ${m.percent.toFixed(2)}%`;
    const uri = `${MIRROR_PREFIX}${shortId(m.upstream + share)}`;
    if (!rc.mirrorLocations.some((l) => l.uri === uri)) {
      let sample: string | null = null;
      if (m.percent !== undefined) {
        sample = `wharf_m_${shortId(`${rc.fragment} ${uri}`)}`;
        rc.maps.mirrorSamples.push({ name: sample, percent: `${m.percent.toFixed(2)}%` });
      }
      rc.mirrorLocations.push({ uri, upstream: m.upstream, sample });
    }
    if (!route.mirrors.includes(uri)) route.mirrors.push(uri);
  }
  if (f.responseHeaders) {
    const h = f.responseHeaders;
    route.responseHeaders = {
      hide: [...h.remove, ...h.set.map((s) => s.name)],
      add: [...h.set, ...h.add],
    };
  }
  return { route, upstream: chosen };
}

/** The variable of a condition's map (one per distinct condition on a server). */
function conditionVariable(c: RequestCondition, rc: RouteCtx): string {
  const { source, regex } = conditionRegex(c);
  const key = `${source} ${regex}`;
  let name = rc.conditionNames.get(key);
  if (!name) {
    name = `wharf_c_${shortId(`${rc.fragment} ${key}`)}`;
    rc.conditionNames.set(key, name);
    rc.maps.conditions.push({ name, source, regex });
  }
  return name;
}

/**
 * The selection map of a shared path: `candidates` in precedence order (the last may have no
 * conditions: it is the default), `named` their named locations. Returns the map's variable.
 */
export function selection(id: string, candidates: Location[], named: string[], noRoute: string, rc: RouteCtx): string {
  const vars: string[] = [];
  const bitOf = new Map<string, number>();
  const needs = candidates.map((loc) =>
    (loc.conditions ?? []).map((c) => {
      const v = conditionVariable(c, rc);
      let i = bitOf.get(v);
      if (i === undefined) {
        i = vars.length;
        bitOf.set(v, i);
        vars.push(v);
      }
      return i;
    }),
  );
  const entries: { pattern: string; target: string }[] = [];
  let fallback = noRoute;
  candidates.forEach((loc, i) => {
    if (!loc.conditions?.length) {
      fallback = named[i]!;
      return;
    }
    const bits = vars.map(() => '.');
    for (const b of needs[i]!) bits[b] = '1';
    entries.push({ pattern: `^${bits.join('')}$`, target: named[i]! });
  });
  const name = `wharf_s_${shortId(`${rc.fragment} ${id}`)}`;
  rc.maps.selections.push({ name, source: vars, entries, fallback });
  return name;
}

/**
 * The locations a request that reaches `loc`'s NGINX location may also be for, after `loc`'s own
 * group: those of shorter Prefix paths that contain it (element-wise). From a regex location, every
 * Prefix location, with its path as a condition (NGINX cannot say which it matched).
 */
export function ancestors(loc: Location, groups: readonly Location[][]): Location[] {
  const out: Location[] = [];
  for (const g of groups) {
    const first = g[0]!;
    if (first.match !== 'Prefix' || (first.path === loc.path && loc.match !== 'Exact')) continue;
    if (loc.match === 'Regex') {
      for (const l of g) out.push({ ...l, conditions: [...(l.conditions ?? []), { on: 'path', name: '', match: 'Prefix', value: l.path }] });
      continue;
    }
    const inside = first.path === '/' || loc.path === first.path || loc.path.startsWith(`${first.path}/`);
    if (inside) out.push(...g);
  }
  return out;
}
