// Every stream port of the model from its two sources: the tcp-services and udp-services entries
// (stream-state.ts) and the TCPRoutes and UDPRoutes on Gateway listeners (translate-l4route.ts).
// One port, one route: a listener takes one route, the oldest (creationTimestamp, then
// namespace/name), as the Gateway API's conformance tests ask (every route attached is Accepted and
// counted in attachedRoutes, only the oldest gets connections); the newer ones get a warning that
// says which route holds the port. An entry never shares a port with a listener: stream-services.ts
// refuses the entry. Pure.
import type { GatewayApiObject } from './gateway-schemas.ts';
import { cmp } from './problems.ts';
import type { Translation } from './translate-ingress.ts';
import type { ObjectRef, Problem, RoutingModel, StreamRoute } from './types.ts';
import type { UpstreamRef } from './upstreams.ts';

type Streams = NonNullable<RoutingModel['streams']>;

/** The stream ports (sorted by protocol, then port) and the warnings of the routes that lost one. */
export function mergeStreamRoutes(entries: Streams, routes: Iterable<Translation>, nameOf: (r: UpstreamRef) => string): { streams: Streams; problems: Problem[] } {
  const taken = new Map<string, StreamRoute>();
  for (const e of entries) taken.set(`${e.protocol} ${e.port}`, e);
  const out: Streams = [...entries];
  const problems: Problem[] = [];
  const ordered = [...routes].filter((t) => !t.rejected && t.streams?.length).sort((a, b) => a.created - b.created || cmp(a.key, b.key));
  for (const t of ordered) {
    for (const s of t.streams!) {
      const key = `${s.protocol} ${s.port}`;
      const holder = taken.get(key);
      if (holder) {
        const message = `${s.field}: ${s.protocol} listener port ${s.port} routes its connections to older ${holder.source.kind} ${holder.source.namespace}/${holder.source.name}: a ${s.protocol} listener takes one route, the oldest, and this one gets none there`;
        problems.push({ object: t.ref, severity: 'warning', reason: 'RouteConflict', field: s.field, message });
        continue;
      }
      taken.set(key, s);
      out.push({ ...s, upstream: nameOf(s.backend) });
    }
  }
  out.sort((a, b) => cmp(a.protocol, b.protocol) || a.port - b.port);
  return { streams: out, problems };
}

/** Who routes a stream port now (`TCP 9000`): a services ConfigMap's entry or a route, with its age. */
export type StreamHolders = ReadonlyMap<string, { source: ObjectRef; field: string; created: number }>;

/**
 * Admission's warnings about stream ports for a Gateway or a TCPRoute/UDPRoute as it would be: a
 * route whose listener's port an older route holds gets no connections there; a Gateway listener
 * on a port a services ConfigMap's entry routes takes that port from it.
 */
export function streamPortWarnings(o: GatewayApiObject, t: Translation | null, holders: StreamHolders): Problem[] {
  const ref: ObjectRef = { kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name };
  const out: Problem[] = [];
  const warn = (field: string, message: string) => out.push({ object: ref, severity: 'warning', reason: 'PortConflict', field, message: `${field}: ${message}` });
  if (o.kind === 'Gateway') {
    o.spec.listeners.forEach((l, i) => {
      // A TCP port (any listener but a UDP one) or a UDP port, as stream-state.ts's httpPortsOf weighs them.
      const h = holders.get(`${l.protocol === 'UDP' ? 'UDP' : 'TCP'} ${l.port}`);
      if (h?.source.kind !== 'ConfigMap') return;
      warn(`spec.listeners[${i}].port`, `port ${l.port} is routed by ConfigMap ${h.source.namespace}/${h.source.name} (${h.field}); this listener takes it and that entry is no longer served`);
    });
    return out;
  }
  for (const s of t?.streams ?? []) {
    const h = holders.get(`${s.protocol} ${s.port}`);
    if (!h || (h.source.kind === ref.kind && h.source.namespace === ref.namespace && h.source.name === ref.name)) continue;
    if (h.source.kind !== 'ConfigMap' && h.created > t!.created) continue;
    warn(s.field, `${s.protocol} listener port ${s.port} routes its connections to older ${h.source.kind} ${h.source.namespace}/${h.source.name}: a ${s.protocol} listener takes one route, the oldest, and this one would get none there`);
  }
  return out;
}
