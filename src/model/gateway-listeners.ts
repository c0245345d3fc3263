// GatewayClasses and Gateways → the listeners wharf serves, with their status: which classes are
// wharf's (controllerName), each listener's protocol, hostname, TLS certificate (a Secret in the
// Gateway's namespace, or elsewhere with a ReferenceGrant) and the routes it allows. Pure.
import { objectKey, type ObjectKey } from './cluster-state.ts';
import { GATEWAY_GROUP, type Gateway, type GatewayClass, type LabelSelector, type Listener, type Namespace, type ReferenceGrant } from './gateway-schemas.ts';
import { GATEWAY_CONTROLLER_NAME, type Condition, type GatewayClassStatus, type GatewayStatus, type ListenerStatus } from './gateway-status.ts';
import { IDENTITY_PORTS, listenerPort, type NginxPorts } from './listener-ports.ts';
import { checkHost } from './grammar.ts';
import type { Secret } from './schemas.ts';
import type { TlsMaterial } from './secrets.ts';
import type { Tls } from './types.ts';

/** A listener of a served Gateway, as routes attach to it. */
export interface ServedListener {
  gateway: Gateway;
  gatewayKey: ObjectKey;
  listener: Listener;
  index: number;
  /**
   * TLS: Passthrough on 443, beside HTTPS, through the SNI router of --enable-ssl-passthrough.
   * TCP, UDP: a port of the stream side, whose one route is a StreamRoute (translate-l4route.ts).
   */
  protocol: 'HTTP' | 'HTTPS' | 'TLS' | 'TCP' | 'UDP';
  /**
   * An HTTP listener on a port of its own that takes GRPCRoutes only: served as HTTP/2 cleartext
   * with prior knowledge (h2c), which NGINX cannot offer beside HTTP/1.1 on one port.
   */
  h2c: boolean;
  /** Null when the listener is not usable (its status says why): routes cannot attach. */
  usable: boolean;
  tls: Tls | null;
  /** Route kinds it allows (HTTPRoute unless allowedRoutes.kinds says otherwise). */
  kinds: string[];
  status: ListenerStatus;
}

export interface GatewayWorld {
  classes: ReadonlyMap<string, GatewayClass>;
  gateways: ReadonlyMap<ObjectKey, Gateway>;
  grants: ReadonlyMap<ObjectKey, ReferenceGrant>;
  namespaces: ReadonlyMap<string, Namespace>;
  secrets: ReadonlyMap<ObjectKey, Secret>;
  tlsOf(secret: Secret): TlsMaterial;
  /** NGINX's HTTP and HTTPS ports (ControllerSettings.nginxPorts); absent: 80 and 443. */
  nginxPorts?: NginxPorts;
  /** --enable-ssl-passthrough: TLS listeners (Passthrough) on 443 are served (ControllerSettings.sslPassthrough). */
  sslPassthrough?: boolean;
}

export const condition = (type: string, ok: boolean, reason: string, message: string): Condition => ({ type, status: ok ? 'True' : 'False', reason, message });

/** True when a ReferenceGrant in `toNamespace` lets `from` (group, kind, namespace) refer to `to` (group, kind, name). */
export function granted(grants: ReadonlyMap<ObjectKey, ReferenceGrant>, from: { group: string; kind: string; namespace: string }, to: { group: string; kind: string; namespace: string; name: string }): boolean {
  for (const g of grants.values()) {
    if (g.metadata.namespace !== to.namespace) continue;
    if (!g.spec.from.some((f) => f.group === from.group && f.kind === from.kind && f.namespace === from.namespace)) continue;
    if (g.spec.to.some((t) => t.group === to.group && t.kind === to.kind && (t.name === undefined || t.name === to.name))) return true;
  }
  return false;
}

/** Whether a Namespace's labels satisfy a label selector. */
export function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels)) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions) {
    const has = Object.hasOwn(labels, e.key);
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
    if (e.operator === 'In' && !(has && e.values.includes(labels[e.key]!))) return false;
    if (e.operator === 'NotIn' && has && e.values.includes(labels[e.key]!)) return false;
  }
  return true;
}

/** The GatewayClasses wharf serves (by name) and every class's status (wharf's only). */
export function servedClasses(world: GatewayWorld): { served: Set<string>; statuses: GatewayClassStatus[] } {
  const served = new Set<string>();
  const statuses: GatewayClassStatus[] = [];
  for (const c of [...world.classes.values()].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))) {
    if (c.spec.controllerName !== GATEWAY_CONTROLLER_NAME) continue;
    served.add(c.metadata.name);
    statuses.push({
      ref: { kind: 'GatewayClass', namespace: '', name: c.metadata.name, generation: c.metadata.generation },
      conditions: [condition('Accepted', true, 'Accepted', `served by ${GATEWAY_CONTROLLER_NAME}`)],
    });
  }
  return { served, statuses };
}

/** A Gateway's age for port conflicts between Gateways: creationTimestamp, then namespace/name. */
export function olderFirst(a: { gateway: Gateway; gatewayKey: ObjectKey }, b: { gateway: Gateway; gatewayKey: ObjectKey }): number {
  const t = (g: Gateway) => {
    const ms = g.metadata.creationTimestamp ? Date.parse(g.metadata.creationTimestamp) : NaN;
    return Number.isNaN(ms) ? Infinity : ms;
  };
  return t(a.gateway) - t(b.gateway) || (a.gatewayKey < b.gatewayKey ? -1 : a.gatewayKey > b.gatewayKey ? 1 : 0);
}

/**
 * The protocol each port is served with: one per port, as NGINX has one socket per port (TLS on it
 * or not). 80 is HTTP and 443 HTTPS (the Ingresses' ports); any other port takes the protocol of the
 * oldest Gateway with a valid listener there.
 */
function portProtocols(all: readonly ServedListener[]): Map<string, { protocol: ServedAs; gateway: Gateway }> {
  const owners = new Map<string, { protocol: ServedAs; gateway: Gateway }>();
  for (const l of [...all].filter((x) => x.usable).sort(olderFirst)) {
    if (!owners.has(socketOf(l))) owners.set(socketOf(l), { protocol: servedAs(l), gateway: l.gateway });
  }
  return owners;
}

/** How NGINX's socket for a listener's port speaks: TLS, HTTP/1.1, HTTP/2 cleartext, or a stream. */
type ServedAs = 'HTTPS' | 'HTTP' | 'h2c (HTTP/2 cleartext)' | 'TCP' | 'UDP';
// A TLS listener (Passthrough, on 443 only) shares the HTTPS socket: the SNI router in front splits them.
const servedAs = (l: ServedListener): ServedAs => (l.protocol === 'HTTPS' || l.protocol === 'TLS' ? 'HTTPS' : l.protocol === 'TCP' || l.protocol === 'UDP' ? l.protocol : l.h2c ? 'h2c (HTTP/2 cleartext)' : 'HTTP');
/** The socket a listener needs: a UDP port is another socket than the TCP port of the same number. */
const socketOf = (l: ServedListener): string => `${l.protocol === 'UDP' ? 'udp' : 'tcp'} ${l.listener.port}`;
const stream = (l: ServedListener): boolean => l.protocol === 'TCP' || l.protocol === 'UDP';

/** The listeners of every Gateway of a served class, and each such Gateway's status (attachedRoutes filled in later). */
export function servedListeners(world: GatewayWorld, served: ReadonlySet<string>): { listeners: ServedListener[]; statuses: Map<ObjectKey, GatewayStatus> } {
  const listeners: ServedListener[] = [];
  const statuses = new Map<ObjectKey, GatewayStatus>();
  const keys = [...world.gateways.keys()].sort();
  const byGateway = new Map<ObjectKey, ServedListener[]>();
  for (const key of keys) {
    const gw = world.gateways.get(key)!;
    if (!served.has(gw.spec.gatewayClassName)) continue;
    byGateway.set(key, gw.spec.listeners.map((l, index) => listenerOf(world, gw, key, l, index)));
  }
  const owners = portProtocols([...byGateway.values()].flat());
  for (const [key, mine] of byGateway) {
    const gw = world.gateways.get(key)!;
    const ns = gw.metadata.namespace;
    // Two listeners on one port with the same hostname (or both none) conflict: neither is served.
    // So do two on one port with different protocols, and a listener whose port an older Gateway
    // serves with the other protocol.
    // A TCP or UDP listener has no hostname: another listener on its socket is a clash of protocols
    // (the specification: they are not distinct), or a twin when it is one of its own protocol.
    for (const a of mine) {
      const sameSocket = (b: ServedListener) => b !== a && socketOf(b) === socketOf(a);
      const twin = mine.find((b) => sameSocket(b) && (b.listener.hostname ?? '') === (a.listener.hostname ?? '') && (servedAs(b) === servedAs(a) || (!stream(a) && !stream(b))));
      const protocolClash = mine.find((b) => sameSocket(b) && servedAs(b) !== servedAs(a));
      const owner = owners.get(socketOf(a));
      const otherGateway = owner && owner.gateway !== gw && owner.protocol !== servedAs(a) ? owner : undefined;
      const conflicted = twin !== undefined || protocolClash !== undefined || otherGateway !== undefined;
      a.status.conditions.splice(2, 0, twin || protocolClash
        ? condition('Conflicted', true, twin ? 'HostnameConflict' : 'ProtocolConflict', `listener ${(twin ?? protocolClash)!.listener.name} uses the same port${twin ? (stream(a) ? ` and protocol (${a.protocol} listeners are told apart by port alone)` : ' and hostname') : ' with another protocol'}`)
        : otherGateway
          ? condition('Conflicted', true, 'ProtocolConflict', `port ${a.listener.port} is served with ${otherGateway.protocol} for the older Gateway ${otherGateway.gateway.metadata.namespace}/${otherGateway.gateway.metadata.name}`)
          : condition('Conflicted', false, 'NoConflicts', 'no conflicts'));
      if (conflicted) a.usable = false;
      // Not programmed: the first condition that says why, in its own words.
      const why = a.status.conditions.find((c) => (c.type === 'Conflicted' ? c.status === 'True' : c.status === 'False'));
      a.status.conditions.push(a.usable
        ? condition('Programmed', true, 'Programmed', 'served by NGINX')
        : condition('Programmed', false, why?.reason === 'PortUnavailable' ? 'PortUnavailable' : 'Invalid', `not served: ${why?.message ?? 'see the other conditions'}`));
    }
    listeners.push(...mine);
    const valid = mine.every((l) => l.usable);
    statuses.set(key, {
      ref: { kind: 'Gateway', namespace: ns, name: gw.metadata.name, generation: gw.metadata.generation },
      conditions: [
        condition('Accepted', true, valid ? 'Accepted' : 'ListenersNotValid', valid ? 'accepted' : 'some listeners are not valid'),
        condition('Programmed', mine.some((l) => l.usable), mine.some((l) => l.usable) ? 'Programmed' : 'Invalid', 'served by NGINX on its listeners\' ports'),
      ],
      listeners: mine.map((l) => l.status),
    });
  }
  return { listeners, statuses };
}

/** The route kind of each stream protocol: one, of the same name. */
const STREAM_KINDS: Partial<Record<string, string[]>> = { TCP: ['TCPRoute'], UDP: ['UDPRoute'] };

function listenerOf(world: GatewayWorld, gw: Gateway, gatewayKey: ObjectKey, l: Listener, index: number): ServedListener {
  const status: ListenerStatus = { name: l.name, supportedKinds: [], attachedRoutes: 0, conditions: [] };
  const out: ServedListener = { gateway: gw, gatewayKey, listener: l, index, protocol: 'HTTP', h2c: false, usable: true, tls: null, kinds: [], status };
  const fail = (type: string, reason: string, message: string) => {
    out.usable = false;
    return condition(type, false, reason, message);
  };
  let accepted = condition('Accepted', true, 'Accepted', 'accepted');
  let resolved = condition('ResolvedRefs', true, 'ResolvedRefs', 'references resolved');
  if (l.protocol === 'HTTP' || l.protocol === 'HTTPS' || l.protocol === 'TCP' || l.protocol === 'UDP') out.protocol = l.protocol;
  else if (l.protocol === 'TLS') {
    out.protocol = 'TLS';
    const why = tlsListenerProblem(l, world.sslPassthrough === true);
    if (why) accepted = fail('Accepted', why.reason, why.message);
  } else accepted = fail('Accepted', 'UnsupportedProtocol', `protocol ${l.protocol} is not supported (HTTP, HTTPS, TLS, TCP, UDP are)`);
  // 80 and 443 are NGINX's own HTTP and HTTPS ports (the Ingresses'); any other port is served on
  // the port listener-ports.ts says, unless there is none. A UDP port is a socket of its own: 80 and
  // 443 too (moved as NGINX's HTTP and HTTPS ports are).
  if (out.protocol === 'TLS') {
    // Checked above: 443 only.
  } else if (out.usable && out.protocol !== 'UDP' && (l.port === 80 || l.port === 443) && out.protocol !== (l.port === 80 ? 'HTTP' : 'HTTPS')) {
    accepted = fail('Accepted', 'PortUnavailable', `port ${l.port} is wharf's ${l.port === 80 ? 'HTTP' : 'HTTPS'} port`);
  } else if (out.usable) {
    const at = listenerPort(l.port, world.nginxPorts ?? IDENTITY_PORTS);
    if (!at.ok) accepted = fail('Accepted', 'PortUnavailable', at.reason);
  }
  if (l.hostname !== undefined && checkHost(l.hostname) !== null) accepted = fail('Accepted', 'UnsupportedValue', `hostname ${JSON.stringify(l.hostname)}: ${checkHost(l.hostname)}`);
  // Route kinds: HTTPRoute, and GRPCRoute on HTTPS listeners: gRPC needs HTTP/2, which NGINX speaks
  // in cleartext (h2c, prior knowledge) only on a port that speaks nothing else. So an HTTP listener
  // on a port of its own that asks for GRPCRoutes only is served as h2c, and takes GRPCRoutes only.
  const asked = l.allowedRoutes.kinds;
  const grpcOnly = asked.length > 0 && asked.every((k) => k.group === GATEWAY_GROUP && k.kind === 'GRPCRoute');
  out.h2c = out.protocol === 'HTTP' && l.protocol === 'HTTP' && l.port !== 80 && l.port !== 443 && grpcOnly;
  const known = STREAM_KINDS[l.protocol] ?? (l.protocol === 'TLS' ? ['TLSRoute'] : l.protocol === 'HTTPS' ? ['HTTPRoute', 'GRPCRoute'] : out.h2c ? ['GRPCRoute'] : ['HTTPRoute']);
  out.kinds = asked.length === 0 ? known : asked.filter((k) => k.group === GATEWAY_GROUP && known.includes(k.kind)).map((k) => k.kind);
  status.supportedKinds = out.kinds.map((kind) => ({ group: GATEWAY_GROUP, kind }));
  if (asked.length > 0 && out.kinds.length < asked.length) resolved = condition('ResolvedRefs', false, 'InvalidRouteKinds', 'HTTP listeners take HTTPRoute (GRPCRoute alone on a port other than 80: h2c), HTTPS listeners both, TLS listeners TLSRoute, TCP listeners TCPRoute, UDP listeners UDPRoute');
  if (out.protocol === 'HTTPS' && out.usable) {
    const tlsCfg = l.tls;
    if (!tlsCfg || tlsCfg.certificateRefs.length === 0) accepted = fail('Accepted', 'UnsupportedValue', 'an HTTPS listener needs tls.certificateRefs');
    else if (tlsCfg.mode !== 'Terminate') accepted = fail('Accepted', 'UnsupportedValue', `tls.mode ${tlsCfg.mode} is not supported (Terminate is)`);
    else {
      const ref = tlsCfg.certificateRefs[0]!;
      const ns = ref.namespace ?? gw.metadata.namespace;
      const secret = world.secrets.get(objectKey(ns, ref.name));
      if (ref.group !== '' || ref.kind !== 'Secret') resolved = fail('ResolvedRefs', 'InvalidCertificateRef', `certificateRefs[0] must be a core Secret, not ${ref.group || 'core'}/${ref.kind}`);
      else if (ns !== gw.metadata.namespace && !granted(world.grants, { group: GATEWAY_GROUP, kind: 'Gateway', namespace: gw.metadata.namespace }, { group: '', kind: 'Secret', namespace: ns, name: ref.name })) {
        resolved = fail('ResolvedRefs', 'RefNotPermitted', `Secret ${ns}/${ref.name} is in another namespace and no ReferenceGrant allows it`);
      } else if (!secret) resolved = fail('ResolvedRefs', 'InvalidCertificateRef', `Secret ${ns}/${ref.name} not found`);
      else {
        const m = world.tlsOf(secret);
        if (!m.ok) resolved = fail('ResolvedRefs', 'InvalidCertificateRef', `Secret ${ns}/${ref.name}: ${m.reason}`);
        else {
          out.tls = { secret: { kind: 'Secret', namespace: ns, name: ref.name }, cert: m.cert, key: m.key, names: m.names };
          // The Secret's new content was refused: the previous certificate serves, and the status says why.
          if (m.refused) resolved = condition('ResolvedRefs', true, 'ResolvedRefs', `Secret ${ns}/${ref.name}: ${m.refused}; its previous certificate keeps serving`);
        }
      }
    }
  }
  status.conditions.push(accepted, resolved);
  return out;
}

/**
 * The certificate the default server presents on 443 (to names no host has): that of the oldest
 * Gateway's HTTPS listener on 443 without a hostname, which takes every name; null when there is
 * none (the default server then refuses the handshake).
 */
export function defaultServerTls(listeners: readonly ServedListener[]): Tls | null {
  const all = listeners.filter((l) => l.usable && l.protocol === 'HTTPS' && l.listener.port === 443 && l.listener.hostname === undefined && l.tls);
  return [...all].sort(olderFirst)[0]?.tls ?? null;
}

/** Whether a route in `routeNamespace` may attach to a listener, by its allowedRoutes.namespaces. */
export function namespaceAllowed(world: GatewayWorld, l: ServedListener, routeNamespace: string): boolean {
  const from = l.listener.allowedRoutes.namespaces;
  if (from.from === 'All') return true;
  if (from.from === 'Same') return routeNamespace === l.gateway.metadata.namespace;
  const ns = world.namespaces.get(routeNamespace);
  // Kubernetes labels every Namespace with its name.
  return from.selector !== undefined && selects(from.selector, { ...(ns?.metadata.labels ?? {}), 'kubernetes.io/metadata.name': routeNamespace });
}

/**
 * Why a TLS listener cannot be served, or null: wharf passes TLS through (mode Passthrough) on 443
 * only, through the agents' SNI router, which --enable-ssl-passthrough turns on.
 */
function tlsListenerProblem(l: Listener, enabled: boolean): { reason: string; message: string } | null {
  if (!enabled) return { reason: 'UnsupportedProtocol', message: 'protocol TLS needs wharf\'s --enable-ssl-passthrough (the agents route TLS on 443 by SNI)' };
  if ((l.tls?.mode ?? 'Terminate') !== 'Passthrough') return { reason: 'UnsupportedValue', message: `tls.mode ${l.tls?.mode ?? 'Terminate'} is not supported on a TLS listener (Passthrough is)` };
  if (l.port !== 443) return { reason: 'PortUnavailable', message: `port ${l.port}: TLS listeners are served on 443 only (NGINX's HTTPS port, where the SNI router is)` };
  return null;
}
