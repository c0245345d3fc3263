// One TLSRoute → a Translation whose hosts are passed through (the same per-host merge as an
// Ingress with ssl-passthrough: passthrough.ts) and its status per parent, as an HTTPRoute's: the
// TLS listeners (Passthrough, on 443) it attaches to by sectionName, port, allowedRoutes and
// hostname, its hostnames intersected with theirs, and its backend (a Service in its namespace, or
// elsewhere with a ReferenceGrant). Its hosts get no HTTP location: only their SNI is routed. Pure.
import { objectKey } from './cluster-state.ts';
import { condition, type ServedListener } from './gateway-listeners.ts';
import { GATEWAY_GROUP, type TLSRoute } from './gateway-schemas.ts';
import type { ParentRef, RouteParentStatus, RouteStatus } from './gateway-status.ts';
import { checkHost } from './grammar.ts';
import { ProblemList } from './problems.ts';
import { chooseBackend } from './translate-l4route.ts';
import { parentAcceptance, routeKey, type RouteWorld } from './translate-httproute.ts';
import type { Translation } from './translate-ingress.ts';
import type { LocationSettings, ObjectRef } from './types.ts';

/** A passthrough location's settings: none apply (NGINX never reads the requests). */
const SETTINGS: LocationSettings = Object.freeze({ backendProtocol: 'HTTPS', sslRedirect: false, forceSslRedirect: false });

/** Translates one TLSRoute against the served listeners. */
export function translateTLSRoute(route: TLSRoute, listeners: readonly ServedListener[], world: RouteWorld): { translation: Translation; status: RouteStatus; attached: ServedListener[] } {
  const ns = route.metadata.namespace;
  const ref: ObjectRef = { kind: 'TLSRoute', namespace: ns, name: route.metadata.name, ...(route.metadata.uid ? { uid: route.metadata.uid } : {}) };
  const created = route.metadata.creationTimestamp ? Date.parse(route.metadata.creationTimestamp) : NaN;
  const list = new ProblemList(ref);
  const t: Translation = {
    key: routeKey('TLSRoute', ns, route.metadata.name), ref, created: Number.isNaN(created) ? Infinity : created,
    uid: '', handled: false, rejected: false, problems: [], candidates: [], canaries: [], tls: new Map(), hosts: [],
    secrets: [], services: [], upstreamRefs: [], serverAliases: [], fromToWww: false, names: [], clientAuth: null, serverSnippet: null,
    deepWildcards: true, passthrough: true,
  };
  const status: RouteStatus = { ref: { kind: 'TLSRoute', namespace: ns, name: route.metadata.name, generation: route.metadata.generation }, parents: [] };
  route.spec.hostnames.forEach((h, i) => {
    const bad = checkHost(h);
    if (bad) list.invalid('InvalidHostname', `spec.hostnames[${i}]`, h, bad);
  });

  // The backend: the first Service that resolves and has a weight (translate-l4route.ts).
  const { backend, field: backendField, services, unresolved } = chooseBackend('TLSRoute', route.spec.rules[0]!.backendRefs, ns, world, list);

  const hosts = new Set<string>();
  const attached: ServedListener[] = [];
  route.spec.parentRefs.forEach((p) => {
    if (p.group !== GATEWAY_GROUP || p.kind !== 'Gateway') return;
    const parentRef: ParentRef = { group: p.group, kind: p.kind, namespace: p.namespace ?? ns, name: p.name, ...(p.sectionName !== undefined ? { sectionName: p.sectionName } : {}), ...(p.port !== undefined ? { port: p.port } : {}) };
    const ofGateway = listeners.filter((l) => l.gatewayKey === objectKey(parentRef.namespace, p.name));
    if (ofGateway.length === 0) return; // a Gateway of a class wharf does not serve (or none): not ours to report
    const { accepted, matching } = parentAcceptance(ofGateway, p, world, ns, 'TLSRoute', route.spec.hostnames);
    for (const { l, names } of matching) {
      attached.push(l);
      for (const name of names) hosts.add(name);
    }
    const resolved = unresolved ? condition('ResolvedRefs', false, unresolved.reason, unresolved.message) : condition('ResolvedRefs', true, 'ResolvedRefs', 'references resolved');
    status.parents.push({ parentRef, conditions: [accepted, resolved] } satisfies RouteParentStatus);
  });

  const chosen = backend;
  if (chosen) {
    for (const host of hosts) {
      t.candidates.push({ host, location: { path: '/', match: 'Prefix', backend: chosen, settings: SETTINGS, source: ref }, sslRedirect: undefined, field: backendField, fallback: false, passthroughOnly: true });
    }
    t.upstreamRefs = [{ namespace: chosen.namespace, service: chosen.service, port: chosen.port }];
  }
  t.problems = list.items;
  t.rejected = list.hasErrors;
  if (t.rejected) {
    const first = list.items.find((p) => p.severity === 'error')!;
    for (const p of status.parents) p.conditions[0] = condition('Accepted', false, 'UnsupportedValue', first.message);
    t.candidates = [];
  }
  t.handled = status.parents.length > 0;
  t.hosts = t.rejected ? [] : [...new Set(t.candidates.map((c) => c.host))].sort();
  t.services = services;
  return { translation: t, status, attached: t.rejected ? [] : attached };
}
