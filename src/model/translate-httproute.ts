// One HTTPRoute → what it contributes to the routing model (a Translation, as an Ingress's, so the
// same per-host merge weighs it against Ingresses and other routes) and its status per parent:
// which listeners it attaches to (sectionName, port, allowedRoutes, hostnames), its hostnames
// intersected with theirs, one Location per match and host, its backends (a Service in its
// namespace, or elsewhere with a ReferenceGrant) and filters. Pure.
import { objectKey, type ObjectKey } from './cluster-state.ts';
import { condition, granted, namespaceAllowed, type GatewayWorld, type ServedListener } from './gateway-listeners.ts';
import { GATEWAY_GROUP, type HTTPRoute, type PathModifier, type RouteFilter, type RouteRule } from './gateway-schemas.ts';
import type { Condition, ParentRef, RouteParentStatus, RouteStatus } from './gateway-status.ts';
import { checkHost, checkPlainPath, checkRegexPath } from './grammar.ts';
import { listenerHostKey, splitHostKey } from './listener-hosts.ts';
import { timeoutSettings } from './route-timeouts.ts';
import { ProblemList } from './problems.ts';
import { checkHeaderValueToWrite, checkMatchRegex, checkMatchValue, checkModifiedRequestHeader, checkRouteHeaderName } from './route-grammar.ts';
import type { Service } from './schemas.ts';
import { DEFAULT_HOST, normalizePrefix, type Candidate, type Translation } from './translate-ingress.ts';
import type { HeaderChanges, LocationSettings, Location, ObjectRef, PathChange, Problem, RequestCondition, RouteFilters, ServiceBackend, WeightedBackend } from './types.ts';
import type { UpstreamRef } from './upstreams.ts';

/** The route kinds wharf reads. */
export type RouteKindName = 'HTTPRoute' | 'GRPCRoute' | 'TLSRoute' | 'TCPRoute' | 'UDPRoute';

/** The key of a route among the index's translations (never an Ingress's `namespace/name`). */
export const routeKey = (kind: RouteKindName, namespace: string, name: string): ObjectKey => `${kind} ${namespace}/${name}`;

export interface RouteWorld extends GatewayWorld {
  services: ReadonlyMap<ObjectKey, Service>;
}

/** The hostname a listener and a route hostname both match (the more specific), or null. */
export function intersectHost(listener: string | undefined, route: string): string | null {
  if (listener === undefined || listener === route) return route;
  const suffix = (w: string) => w.slice(1); // "*.example.com" → ".example.com"
  const l = listener.startsWith('*.'), r = route.startsWith('*.');
  if (l && !r) return route.endsWith(suffix(listener)) ? route : null;
  if (r && !l) return listener.endsWith(suffix(route)) ? listener : null;
  if (l && r) return route.endsWith(suffix(listener)) ? route : listener.endsWith(suffix(route)) ? listener : null;
  return null;
}

/** The first problem of a rule's backendRefs, as ResolvedRefs says it. */
export interface Unresolved {
  reason: 'BackendNotFound' | 'InvalidKind' | 'RefNotPermitted';
  message: string;
}

/** What kind of route is translated: an HTTPRoute, or a GRPCRoute in HTTPRoute form (translate-grpcroute.ts). */
export interface RouteKind {
  kind: 'HTTPRoute' | 'GRPCRoute';
  /** How its backends are spoken to. */
  protocol: 'HTTP' | 'GRPC';
  /** Problems the conversion to HTTPRoute form found (with the GRPCRoute's own field paths). */
  problems?: Problem[];
}

const HTTP_ROUTE: RouteKind = { kind: 'HTTPRoute', protocol: 'HTTP' };

/** Translates one HTTPRoute (or a GRPCRoute in its form) against the served listeners. */
export function translateHTTPRoute(route: HTTPRoute, listeners: readonly ServedListener[], world: RouteWorld, as: RouteKind = HTTP_ROUTE): { translation: Translation; status: RouteStatus; attached: ServedListener[] } {
  const ns = route.metadata.namespace;
  const ref: ObjectRef = { kind: as.kind, namespace: ns, name: route.metadata.name, ...(route.metadata.uid ? { uid: route.metadata.uid } : {}) };
  const created = route.metadata.creationTimestamp ? Date.parse(route.metadata.creationTimestamp) : NaN;
  const list = new ProblemList(ref);
  const t: Translation = {
    key: routeKey(as.kind, ns, route.metadata.name), ref, created: Number.isNaN(created) ? Infinity : created,
    // Conflicts between routes go to the older, then by namespace/name (the key), not by uid.
    uid: '', handled: false, rejected: false, problems: [], candidates: [], canaries: [], tls: new Map(), hosts: [],
    secrets: [], services: [], upstreamRefs: [], serverAliases: [], fromToWww: false, names: [], clientAuth: null, serverSnippet: null, deepWildcards: true,
  };
  list.items.push(...(as.problems ?? []));
  const status: RouteStatus = { ref: { kind: as.kind, namespace: ns, name: route.metadata.name, generation: route.metadata.generation }, parents: [] };
  route.spec.hostnames.forEach((h, i) => {
    const bad = checkHost(h);
    if (bad) list.invalid('InvalidHostname', `spec.hostnames[${i}]`, h, bad);
  });

  // Rules first: their locations (without a host) and the ResolvedRefs they lead to.
  const refs = new Map<string, UpstreamRef>();
  const services = new Set<ObjectKey>();
  let unresolved: Unresolved | null = null;
  const rules = route.spec.rules.map((rule, ri) => {
    const backends = rule.backendRefs.map((b, bi): WeightedBackend => {
      const field = `spec.rules[${ri}].backendRefs[${bi}]`;
      // Every Service it names, found or not: its coming or going translates this route again.
      if (b.group === '' && b.kind === 'Service') services.add(objectKey(b.namespace ?? ns, b.name));
      const r = resolveBackend(b, ns, world, field, as.kind);
      if ('reason' in r) {
        unresolved ??= r;
        return { backend: null, weight: b.weight };
      }
      services.add(objectKey(r.namespace, r.service));
      refs.set(`${r.namespace}/${r.service}/${r.port}`, { namespace: r.namespace, service: r.service, port: r.port });
      return { backend: r, weight: b.weight };
    });
    const filters = filtersOf(rule, ri, list);
    const timeouts = timeoutSettings(rule.timeouts, `spec.rules[${ri}]`, list);
    // RequestMirror: the mirrored backend resolves as a backendRef does; one that does not is left out.
    rule.filters.forEach((f, fi) => {
      if (f.type !== 'RequestMirror' || !f.requestMirror) return;
      const field = `spec.rules[${ri}].filters[${fi}].requestMirror.backendRef`;
      if (as.protocol === 'GRPC') {
        list.add('warning', 'UnsupportedFilter', field, `${field}: RequestMirror is not supported on a GRPCRoute yet; requests are not mirrored`);
        return;
      }
      const r = resolveBackend({ ...f.requestMirror.backendRef, weight: 1 }, ns, world, field, as.kind);
      if ('reason' in r) {
        unresolved ??= r;
        return;
      }
      // percent or fraction: the share of requests copied, to the hundredth of a percent (0: none).
      const m = f.requestMirror;
      const share = m.fraction ? (m.fraction.numerator / m.fraction.denominator) * 100 : (m.percent ?? 100);
      const percent = Math.min(100, Math.round(share * 100) / 100);
      if (m.fraction && m.fraction.numerator > m.fraction.denominator) {
        list.invalid('InvalidFilter', `spec.rules[${ri}].filters[${fi}].requestMirror.fraction.numerator`, m.fraction.numerator, `must not be above the denominator (${m.fraction.denominator})`);
        return;
      }
      if (percent <= 0) return;
      services.add(objectKey(r.namespace, r.service));
      refs.set(`${r.namespace}/${r.service}/${r.port}`, { namespace: r.namespace, service: r.service, port: r.port });
      (filters.filters.mirrors ??= []).push(percent < 100 ? { ...r, percent } : r);
    });
    return { rule, ri, backends, filters, timeouts };
  });

  const hosts = new Set<string>();
  const attached: ServedListener[] = [];
  // Per host, the listeners the route reaches it through (in parentRef order): its locations are
  // made once all parentRefs are weighed, so they say which protocols they are served on.
  const through = new Map<string, ServedListener[]>();
  route.spec.parentRefs.forEach((p, pi) => {
    if (p.group !== GATEWAY_GROUP || p.kind !== 'Gateway') return;
    const parentRef: ParentRef = { group: p.group, kind: p.kind, namespace: p.namespace ?? ns, name: p.name, ...(p.sectionName !== undefined ? { sectionName: p.sectionName } : {}), ...(p.port !== undefined ? { port: p.port } : {}) };
    const gwKey = objectKey(parentRef.namespace, p.name);
    const ofGateway = listeners.filter((l) => l.gatewayKey === gwKey);
    if (ofGateway.length === 0 && !world.gateways.has(gwKey)) return;
    if (ofGateway.length === 0) return; // a Gateway of a class wharf does not serve: not ours to report
    const { accepted, matching } = parentAcceptance(ofGateway, p, world, ns, as.kind, route.spec.hostnames);
    for (const { l, names } of matching) {
      attached.push(l);
      for (const name of names) {
        // A listener on its own port: its own server (listener-hosts.ts), TLS even without a name.
        const host = listenerHostKey(name, l.listener.port, l.h2c);
        hosts.add(host);
        if (l.tls && host !== DEFAULT_HOST && !t.tls.has(host)) t.tls.set(host, { tls: l.tls, field: `spec.parentRefs[${pi}]` });
        const ls = through.get(host);
        if (!ls) through.set(host, [l]);
        else if (!ls.includes(l)) ls.push(l);
      }
    }
    const resolved = unresolved ? condition('ResolvedRefs', false, unresolved.reason, unresolved.message) : condition('ResolvedRefs', true, 'ResolvedRefs', 'references resolved');
    status.parents.push({ parentRef, conditions: [accepted, resolved] } satisfies RouteParentStatus);
  });
  const parsed = new Map<string, ReturnType<typeof matchOf>>();
  for (const [host, ls] of through) addHostCandidates(t, rules, host, ls, parsed, list, as.protocol);

  t.problems = list.items;
  t.rejected = list.hasErrors;
  if (t.rejected) {
    // A value NGINX cannot be given safely: nothing of the route is served, and its status says why.
    const first = list.items.find((p) => p.severity === 'error')!;
    for (const p of status.parents) p.conditions[0] = condition('Accepted', false, 'UnsupportedValue', first.message);
  }
  t.handled = status.parents.length > 0;
  if (t.rejected) t.candidates = [];
  t.hosts = t.rejected ? [] : [...hosts].sort();
  t.services = [...services].sort();
  t.upstreamRefs = [...refs.values()];
  return { translation: t, status, attached: t.rejected ? [] : attached };
}

/** The hosts a route gets through a listener: its hostnames intersected with the listener's ([DEFAULT_HOST]: every host). */
/**
 * Whether a route attaches to a parentRef of its Gateway (`ofGateway`: that Gateway's served
 * listeners), as the Accepted condition says it, and through which listeners with which of its
 * hostnames (empty unless accepted). One reading for every route kind.
 */
export function parentAcceptance(
  ofGateway: readonly ServedListener[],
  p: { sectionName?: string | undefined; port?: number | undefined },
  world: GatewayWorld,
  ns: string,
  kind: string,
  hostnames: readonly string[],
): { accepted: Condition; matching: Array<{ l: ServedListener; names: string[] }> } {
  const named = ofGateway.filter((l) => (p.sectionName === undefined || l.listener.name === p.sectionName) && (p.port === undefined || l.listener.port === p.port));
  if (named.length === 0) return { accepted: condition('Accepted', false, 'NoMatchingParent', 'no listener of the Gateway has this sectionName and port'), matching: [] };
  const allowed = named.filter((l) => l.usable && namespaceAllowed(world, l, ns) && l.kinds.includes(kind));
  const matching = allowed.map((l) => ({ l, names: hostsFor(l, hostnames) })).filter((x) => x.names.length > 0);
  if (!named.some((l) => l.usable)) return { accepted: condition('Accepted', false, 'NotAllowedByListeners', 'no listener it names is served (the Gateway\'s listener status says why)'), matching: [] };
  if (allowed.length === 0) return { accepted: condition('Accepted', false, 'NotAllowedByListeners', 'no listener allows routes from this namespace or of this kind'), matching: [] };
  if (matching.length === 0) return { accepted: condition('Accepted', false, 'NoMatchingListenerHostname', 'no hostname of the route matches a listener\'s'), matching: [] };
  return { accepted: condition('Accepted', true, 'Accepted', 'accepted'), matching };
}

export function hostsFor(l: ServedListener, hostnames: readonly string[]): string[] {
  if (hostnames.length === 0) return [l.listener.hostname ?? DEFAULT_HOST];
  const out = new Set<string>();
  for (const h of hostnames) {
    const i = intersectHost(l.listener.hostname, h);
    if (i !== null && checkHost(i) === null) out.add(i);
  }
  return [...out];
}

/** A backendRef's Service port, or why it cannot be used (the L4 routes' too: translate-l4route.ts). */
export function resolveBackend(b: Omit<RouteRule['backendRefs'][number], 'filters'>, ns: string, world: RouteWorld, field: string, kind: RouteKindName): ServiceBackend | Unresolved {
  if (b.group !== '' || b.kind !== 'Service') return { reason: 'InvalidKind', message: `${field}: ${b.group || 'core'}/${b.kind} is not a supported backend kind (Service is)` };
  const target = b.namespace ?? ns;
  if (target !== ns && !granted(world.grants, { group: GATEWAY_GROUP, kind, namespace: ns }, { group: '', kind: 'Service', namespace: target, name: b.name })) {
    return { reason: 'RefNotPermitted', message: `${field}: Service ${target}/${b.name} is in another namespace and no ReferenceGrant allows it` };
  }
  const svc = world.services.get(objectKey(target, b.name));
  if (!svc) return { reason: 'BackendNotFound', message: `${field}: Service ${target}/${b.name} not found` };
  if (b.port === undefined) return { reason: 'BackendNotFound', message: `${field}.port: required for a Service` };
  if (!svc.spec.ports.some((p) => p.port === b.port)) return { reason: 'BackendNotFound', message: `${field}.port: Service ${target}/${b.name} has no port ${b.port}` };
  return { upstream: '', namespace: target, service: b.name, port: b.port };
}

function pathChange(m: PathModifier, field: string, list: ProblemList): PathChange | null {
  const value = m.type === 'ReplaceFullPath' ? m.replaceFullPath : m.replacePrefixMatch;
  const f = `${field}.${m.type === 'ReplaceFullPath' ? 'replaceFullPath' : 'replacePrefixMatch'}`;
  if (value === undefined) {
    list.required('InvalidFilter', f, `required with type ${m.type}`);
    return null;
  }
  const bad = checkPlainPath(value);
  if (bad) {
    list.invalid('InvalidFilter', f, value, bad);
    return null;
  }
  return { type: m.type, value };
}

function headerChanges(h: { set: { name: string; value: string }[]; add: { name: string; value: string }[]; remove: string[] }, field: string, list: ProblemList, request: boolean): HeaderChanges {
  const nameCheck = request ? checkModifiedRequestHeader : checkRouteHeaderName;
  const ok = (kind: 'set' | 'add', i: number, x: { name: string; value: string }) => {
    const badName = nameCheck(x.name);
    if (badName) list.invalid('InvalidFilter', `${field}.${kind}[${i}].name`, x.name, badName);
    const badValue = checkHeaderValueToWrite(x.value);
    if (badValue) list.invalid('InvalidFilter', `${field}.${kind}[${i}].value`, x.value, badValue);
    return !badName && !badValue;
  };
  return {
    set: h.set.filter((x, i) => ok('set', i, x)),
    add: h.add.filter((x, i) => ok('add', i, x)),
    remove: h.remove.filter((n, i) => {
      const bad = nameCheck(n);
      if (bad) list.invalid('InvalidFilter', `${field}.remove[${i}]`, n, bad);
      return !bad;
    }),
  };
}

/** A rule's filters as the model's RouteFilters (the redirect's port is the listener's business: see addCandidates). */
function filtersOf(rule: RouteRule, ri: number, list: ProblemList): { filters: RouteFilters; redirect: RouteFilter['requestRedirect']; rewriteHost: string | undefined } {
  const out: RouteFilters = {};
  let redirect: RouteFilter['requestRedirect'];
  let rewriteHost: string | undefined;
  rule.filters.forEach((f, fi) => {
    const field = `spec.rules[${ri}].filters[${fi}]`;
    switch (f.type) {
      case 'RequestHeaderModifier':
        if (f.requestHeaderModifier) out.requestHeaders = headerChanges(f.requestHeaderModifier, `${field}.requestHeaderModifier`, list, true);
        break;
      case 'ResponseHeaderModifier':
        if (f.responseHeaderModifier) out.responseHeaders = headerChanges(f.responseHeaderModifier, `${field}.responseHeaderModifier`, list, false);
        break;
      case 'RequestRedirect':
        redirect = f.requestRedirect;
        if (redirect?.hostname !== undefined && (redirect.hostname.startsWith('*') || checkHost(redirect.hostname))) list.invalid('InvalidFilter', `${field}.requestRedirect.hostname`, redirect.hostname, checkHost(redirect.hostname) ?? 'must not be a wildcard');
        if (redirect && ![301, 302, 303, 307, 308].includes(redirect.statusCode)) list.invalid('InvalidFilter', `${field}.requestRedirect.statusCode`, redirect.statusCode, 'must be one of 301, 302, 303, 307, 308');
        if (redirect?.path) {
          const c = pathChange(redirect.path, `${field}.requestRedirect.path`, list);
          if (c) out.redirect = { scheme: null, hostname: null, port: null, path: c, code: 302 };
        }
        break;
      case 'RequestMirror':
        break; // resolved with the backends (translateHTTPRoute)
      case 'URLRewrite':
        if (f.urlRewrite?.hostname !== undefined) {
          const bad = f.urlRewrite.hostname.startsWith('*') ? 'must not be a wildcard' : checkHost(f.urlRewrite.hostname);
          if (bad) list.invalid('InvalidFilter', `${field}.urlRewrite.hostname`, f.urlRewrite.hostname, bad);
          else rewriteHost = f.urlRewrite.hostname;
        }
        if (f.urlRewrite?.path) {
          const c = pathChange(f.urlRewrite.path, `${field}.urlRewrite.path`, list);
          if (c) out.rewritePath = c;
        }
        break;
      default:
        list.invalid('UnsupportedFilter', `${field}.type`, f.type, 'is not supported yet (RequestHeaderModifier, ResponseHeaderModifier, RequestRedirect, URLRewrite and RequestMirror are)');
    }
  });
  return { filters: out, redirect, rewriteHost };
}

/** The conditions and path of one match, or null with a problem when a value cannot be served. */
function matchOf(m: RouteRule['matches'][number], field: string, list: ProblemList): { path: string; match: Location['match']; conditions: RequestCondition[] } | null {
  let path = m.path.value;
  let match: Location['match'];
  const bad = m.path.type === 'RegularExpression' ? checkRegexPath(path) : checkPlainPath(path);
  if (bad) {
    list.invalid('InvalidMatch', `${field}.path.value`, path, bad);
    return null;
  }
  if (m.path.type === 'Exact') match = 'Exact';
  else if (m.path.type === 'PathPrefix') {
    match = 'Prefix';
    path = normalizePrefix(path);
  } else match = 'Regex';
  const conditions: RequestCondition[] = [];
  let ok = true;
  m.headers.forEach((h, i) => {
    const f = `${field}.headers[${i}]`;
    const badName = checkRouteHeaderName(h.name);
    const badValue = h.type === 'Exact' ? checkMatchValue(h.value) : checkMatchRegex(h.value);
    if (badName) list.invalid('InvalidMatch', `${f}.name`, h.name, badName);
    if (badValue) list.invalid('InvalidMatch', `${f}.value`, h.value, badValue);
    // Only the first of several matches of one header name counts (the specification's rule).
    if (!badName && !badValue && !conditions.some((c) => c.on === 'header' && c.name === h.name.toLowerCase())) conditions.push({ on: 'header', name: h.name.toLowerCase(), match: h.type, value: h.value });
    ok &&= !badName && !badValue;
  });
  m.queryParams.forEach((q, i) => {
    const f = `${field}.queryParams[${i}]`;
    const badName = checkMatchValue(q.name) ?? (/[&=\s]/.test(q.name) ? 'must not contain "&", "=" or spaces' : null);
    const badValue = q.type === 'Exact' ? checkMatchValue(q.value) : checkMatchRegex(q.value);
    if (badName) list.invalid('InvalidMatch', `${f}.name`, q.name, badName);
    if (badValue) list.invalid('InvalidMatch', `${f}.value`, q.value, badValue);
    if (!badName && !badValue && !conditions.some((c) => c.on === 'query' && c.name === q.name)) conditions.push({ on: 'query', name: q.name, match: q.type, value: q.value });
    ok &&= !badName && !badValue;
  });
  if (m.method) conditions.push({ on: 'method', name: '', match: 'Exact', value: m.method });
  return ok ? { path, match, conditions } : null;
}

type TranslatedRule = { rule: RouteRule; ri: number; backends: WeightedBackend[]; filters: ReturnType<typeof filtersOf>; timeouts: Partial<LocationSettings> };

/**
 * The Locations of a route on one host, reached through `ls` (its listeners there, at least one). A
 * route is served only on the protocols of the listeners it attached to: when they are not both
 * HTTP and HTTPS, each Location has the listener's scheme as a condition (plain HTTP to a route of
 * an HTTPS listener is not served by it). When both, and the Locations would be the same through
 * either, they have no such condition. The first listener of a protocol sets the redirect port.
 */
function addHostCandidates(t: Translation, rules: readonly TranslatedRule[], host: string, ls: readonly ServedListener[], parsed: Map<string, ReturnType<typeof matchOf>>, list: ProblemList, protocol: RouteKind['protocol']): void {
  const firstOf = (p: ServedListener['protocol']) => ls.find((l) => l.protocol === p);
  const http = firstOf('HTTP'), https = firstOf('HTTPS');
  const through = (l: ServedListener) => rules.flatMap((r) => candidatesOf(t.ref, r, host, l, parsed, list, protocol));
  if (http && https) {
    const a = through(http), b = through(https);
    if (JSON.stringify(a) === JSON.stringify(b)) {
      t.candidates.push(...a);
      return;
    }
    t.candidates.push(...withScheme(a, 'http'), ...withScheme(b, 'https'));
    return;
  }
  const only = (http ?? https)!;
  // A server of a listener's own port has listeners of one protocol: no scheme to tell apart.
  if (splitHostKey(host).port !== null) {
    t.candidates.push(...through(only));
    return;
  }
  t.candidates.push(...withScheme(through(only), only.protocol === 'HTTP' ? 'http' : 'https'));
}

/** Candidates whose Locations also require the request's scheme. */
function withScheme(cs: Candidate[], scheme: 'http' | 'https'): Candidate[] {
  return cs.map((c) => ({ ...c, location: { ...c.location, conditions: [...(c.location.conditions ?? []), { on: 'scheme', name: '', match: 'Exact', value: scheme }] } }));
}

/** The Locations of a rule on one host through one listener (each match parsed once: its problems are reported once). */
function candidatesOf(source: ObjectRef, r: TranslatedRule, host: string, l: ServedListener, parsedMatches: Map<string, ReturnType<typeof matchOf>>, list: ProblemList, protocol: RouteKind['protocol']): Candidate[] {
  const out: Candidate[] = [];
  r.rule.matches.forEach((m, mi) => {
    const field = `spec.rules[${r.ri}].matches[${mi}]`;
    if (!parsedMatches.has(field)) parsedMatches.set(field, matchOf(m, field, list));
    const parsed = parsedMatches.get(field);
    if (!parsed) return;
    const filters: RouteFilters = { ...r.filters.filters };
    const rd = r.filters.redirect;
    if (rd) {
      // No port: the scheme's own when the route sets a scheme, else the listener's; a port that is
      // the scheme's default is not written (http://example.org/x, not :80).
      const scheme = rd.scheme ?? null;
      let port: number | null = rd.port ?? (scheme ? null : l.listener.port);
      const effective = scheme ?? l.protocol.toLowerCase();
      if ((effective === 'http' && port === 80) || (effective === 'https' && port === 443)) port = null;
      filters.redirect = { scheme, hostname: rd.hostname ?? null, port, path: filters.redirect?.path ?? null, code: rd.statusCode as 301 | 302 | 303 | 307 | 308 };
    }
    const location: Location = {
      path: parsed.path,
      match: parsed.match,
      ...(parsed.match === 'Regex' ? { caseSensitive: true } : {}),
      backend: null,
      backends: r.backends,
      settings: { ...r.timeouts, backendProtocol: protocol, sslRedirect: false, forceSslRedirect: false, ...(r.filters.rewriteHost ? { upstreamVhost: r.filters.rewriteHost } : {}) },
      source,
      ...(parsed.conditions.length > 0 ? { conditions: parsed.conditions } : {}),
      ...(hasFilters(filters) ? { filters } : {}),
    };
    out.push({ host, location, sslRedirect: false, field, fallback: false });
  });
  return out;
}

function hasFilters(f: RouteFilters): boolean {
  return f.redirect !== undefined || f.requestHeaders !== undefined || f.responseHeaders !== undefined || f.rewritePath !== undefined || f.mirrors !== undefined;
}
