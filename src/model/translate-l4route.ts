// One TCPRoute or UDPRoute → the stream ports it routes (a StreamRoute per TCP or UDP listener it
// attaches to, the same model a tcp-services or udp-services entry makes, rendered by the same
// render/stream.ts) and its status per parent, as an HTTPRoute's: the listeners it attaches to by
// sectionName, port and allowedRoutes (parentAcceptance), and its backend (a Service in its
// namespace, or elsewhere with a ReferenceGrant). A listener takes one route: when several attach,
// the oldest gets the connections (the RoutingIndex weighs them: stream-routes.ts). Pure.
import { objectKey, type ObjectKey } from './cluster-state.ts';
import { condition, type ServedListener } from './gateway-listeners.ts';
import { GATEWAY_GROUP, type RouteRule, type TCPRoute, type UDPRoute } from './gateway-schemas.ts';
import type { ParentRef, RouteParentStatus, RouteStatus } from './gateway-status.ts';
import { ProblemList } from './problems.ts';
import { parentAcceptance, resolveBackend, routeKey, type RouteWorld, type Unresolved } from './translate-httproute.ts';
import type { Translation } from './translate-ingress.ts';
import type { ObjectRef, ServiceBackend, StreamRoute } from './types.ts';

/** The backendRefs of a rule as the L4 routes (TLSRoute, TCPRoute, UDPRoute) read them. */
type BackendRefs = readonly Omit<RouteRule['backendRefs'][number], 'filters'>[];

/** The one Service an L4 route sends its connections to, and what its backendRefs name and lack. */
export interface ChosenBackend {
  backend: ServiceBackend | null;
  /** Where it is in the route (`spec.rules[0].backendRefs[1]`). */
  field: string;
  /** Every Service named, found or not: its change translates the route again. */
  services: ObjectKey[];
  /** The first backendRef that does not resolve, as ResolvedRefs says it. */
  unresolved: Unresolved | null;
}

/**
 * The first backendRef that resolves and has a weight: a stream upstream holds one Service's
 * endpoints (the agent's endpoint file and upstream group are per Service port), so weights between
 * Services are not split; every other backendRef with a weight gets a warning that says so.
 */
export function chooseBackend(kind: 'TLSRoute' | 'TCPRoute' | 'UDPRoute', refs: BackendRefs, ns: string, world: RouteWorld, list: ProblemList): ChosenBackend {
  const out: ChosenBackend = { backend: null, field: '', services: [], unresolved: null };
  const services = new Set<ObjectKey>();
  refs.forEach((b, bi) => {
    const field = `spec.rules[0].backendRefs[${bi}]`;
    if (b.group === '' && b.kind === 'Service') services.add(objectKey(b.namespace ?? ns, b.name));
    const r = resolveBackend(b, ns, world, field, kind);
    if ('reason' in r) {
      out.unresolved ??= r;
      return;
    }
    if (b.weight === 0) return;
    if (out.backend) {
      list.add('warning', 'UnsupportedValue', field, `${field}: ignored: a ${kind} sends its connections to one Service (the first with a weight), ${out.backend.namespace}/${out.backend.service}`);
      return;
    }
    out.backend = r;
    out.field = field;
  });
  out.services = [...services].sort();
  return out;
}

/** Translates one TCPRoute or UDPRoute against the served listeners. */
export function translateL4Route(route: TCPRoute | UDPRoute, listeners: readonly ServedListener[], world: RouteWorld): { translation: Translation; status: RouteStatus; attached: ServedListener[] } {
  const kind = route.kind;
  const protocol = kind === 'TCPRoute' ? 'TCP' : 'UDP';
  const ns = route.metadata.namespace;
  const ref: ObjectRef = { kind, namespace: ns, name: route.metadata.name, ...(route.metadata.uid ? { uid: route.metadata.uid } : {}) };
  const created = route.metadata.creationTimestamp ? Date.parse(route.metadata.creationTimestamp) : NaN;
  const list = new ProblemList(ref);
  const t: Translation = {
    key: routeKey(kind, ns, route.metadata.name), ref, created: Number.isNaN(created) ? Infinity : created,
    uid: '', handled: false, rejected: false, problems: [], candidates: [], canaries: [], tls: new Map(), hosts: [],
    secrets: [], services: [], upstreamRefs: [], serverAliases: [], fromToWww: false, names: [], clientAuth: null, serverSnippet: null,
    streams: [],
  };
  const status: RouteStatus = { ref: { kind, namespace: ns, name: route.metadata.name, generation: route.metadata.generation }, parents: [] };
  const chosen = chooseBackend(kind, route.spec.rules[0]!.backendRefs, ns, world, list);

  const ports = new Map<number, StreamRoute>();
  const attached: ServedListener[] = [];
  route.spec.parentRefs.forEach((p, pi) => {
    if (p.group !== GATEWAY_GROUP || p.kind !== 'Gateway') return;
    const parentRef: ParentRef = { group: p.group, kind: p.kind, namespace: p.namespace ?? ns, name: p.name, ...(p.sectionName !== undefined ? { sectionName: p.sectionName } : {}), ...(p.port !== undefined ? { port: p.port } : {}) };
    const ofGateway = listeners.filter((l) => l.gatewayKey === objectKey(parentRef.namespace, p.name));
    if (ofGateway.length === 0) return; // a Gateway of a class wharf does not serve (or none): not ours to report
    const { accepted, matching } = parentAcceptance(ofGateway, p, world, ns, kind, []);
    for (const { l } of matching) {
      attached.push(l);
      const port = l.listener.port;
      if (!chosen.backend || ports.has(port)) continue;
      const b = chosen.backend;
      ports.set(port, { protocol, port, backend: { namespace: b.namespace, service: b.service, port: b.port }, proxyProtocol: { fromClient: false, toBackend: false }, source: ref, field: `spec.parentRefs[${pi}]` });
    }
    const u = chosen.unresolved;
    const resolved = u ? condition('ResolvedRefs', false, u.reason, u.message) : condition('ResolvedRefs', true, 'ResolvedRefs', 'references resolved');
    status.parents.push({ parentRef, conditions: [accepted, resolved] } satisfies RouteParentStatus);
  });

  t.problems = list.items;
  t.handled = status.parents.length > 0;
  t.services = chosen.services;
  t.streams = [...ports.values()].sort((a, b) => a.port - b.port);
  if (chosen.backend && t.streams.length > 0) t.upstreamRefs = [{ namespace: chosen.backend.namespace, service: chosen.backend.service, port: chosen.backend.port }];
  return { translation: t, status, attached };
}
