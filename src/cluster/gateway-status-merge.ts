// The Gateway API status wharf writes, computed from what the model concluded (gateway-status.ts)
// and what the object's status holds now: each condition gets the observedGeneration of the object
// the conclusion was drawn from and keeps its lastTransitionTime while its status stays the same;
// a Gateway gets the published addresses; a route's `status.parents` keeps every entry of another
// controller as it is and replaces only wharf's. Pure (the clock is an argument), so every replica
// computes the same status, and "nothing changed" means "no write".
import { isDeepStrictEqual } from 'node:util';
import { GATEWAY_CONTROLLER_NAME, type Condition, type GatewayClassStatus, type GatewayStatus, type ParentRef, type RouteStatus } from '../model/gateway-status.ts';
import type { LoadBalancerIngress } from './status-address.ts';

/** A condition as the API stores it (metav1.Condition). */
export interface StatusCondition extends Condition {
  observedGeneration: number;
  lastTransitionTime: string;
}

/** One entry of a Gateway's `status.addresses`. */
export interface GatewayStatusAddress {
  type: 'IPAddress' | 'Hostname';
  value: string;
}

type Json = Record<string, unknown>;

/** metav1.Time: RFC 3339 in whole seconds. */
export function metaTime(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

const conditionsIn = (value: unknown): Json[] => (Array.isArray(value) ? value.filter((c): c is Json => !!c && typeof c === 'object') : []);

/**
 * The conditions to write: the model's, in its order, each with `generation`, and with the
 * lastTransitionTime of the current condition of the same type when its status did not change.
 */
export function mergeConditions(desired: readonly Condition[], current: unknown, generation: number, now: string): StatusCondition[] {
  const held = conditionsIn(current);
  return desired.map((c) => {
    const before = held.find((h) => h.type === c.type);
    const kept = before && before.status === c.status && typeof before.lastTransitionTime === 'string' ? before.lastTransitionTime : now;
    return { type: c.type, status: c.status, reason: c.reason, message: c.message, observedGeneration: generation, lastTransitionTime: kept };
  });
}

/** wharf's addresses as a Gateway publishes them (the Ingress status's addresses, typed). */
export function gatewayAddresses(addresses: readonly LoadBalancerIngress[]): GatewayStatusAddress[] {
  return addresses.flatMap((a): GatewayStatusAddress[] => (a.ip ? [{ type: 'IPAddress', value: a.ip }] : a.hostname ? [{ type: 'Hostname', value: a.hostname }] : []));
}

/** The status after a write, and whether it differs from the current one (no write when it does not). */
export interface NextStatus {
  status: Json;
  changed: boolean;
}

/** Only the fields given are compared: what else the status holds is not wharf's to write. */
function next(current: Json, fields: Json): NextStatus {
  const changed = Object.entries(fields).some(([k, v]) => !isDeepStrictEqual(current[k], v));
  return { status: fields, changed };
}

export function nextGatewayClassStatus(s: GatewayClassStatus, current: Json, now: string): NextStatus {
  return next(current, { conditions: mergeConditions(s.conditions, current.conditions, s.ref.generation, now) });
}

/**
 * A Gateway's status: conditions, listeners (conditions matched by listener name), and addresses;
 * `addresses` null (the publish Service not known yet) leaves the current addresses alone.
 */
export function nextGatewayStatus(s: GatewayStatus, current: Json, addresses: readonly GatewayStatusAddress[] | null, now: string): NextStatus {
  const heldListeners = conditionsIn(current.listeners);
  const fields: Json = {
    conditions: mergeConditions(s.conditions, current.conditions, s.ref.generation, now),
    listeners: s.listeners.map((l) => ({
      name: l.name,
      supportedKinds: l.supportedKinds.map((k) => ({ group: k.group, kind: k.kind })),
      attachedRoutes: l.attachedRoutes,
      conditions: mergeConditions(l.conditions, heldListeners.find((h) => h.name === l.name)?.conditions, s.ref.generation, now),
    })),
  };
  if (addresses) fields.addresses = addresses.map((a) => ({ ...a }));
  return next(current, fields);
}

/** A parentRef with the specification's defaults filled in, for matching entries. */
function parentKey(p: Partial<ParentRef> | undefined, routeNamespace: string): string {
  return JSON.stringify([p?.group ?? 'gateway.networking.k8s.io', p?.kind ?? 'Gateway', p?.namespace ?? routeNamespace, p?.name ?? '', p?.sectionName ?? '', p?.port ?? 0]);
}

/**
 * A route's `status.parents`: the entries of other controllers first, untouched and in their
 * order, then wharf's, one per parent the model reports, in its order.
 */
export function nextRouteStatus(s: RouteStatus, current: Json, now: string): NextStatus {
  const held = conditionsIn(current.parents);
  const others = held.filter((p) => p.controllerName !== GATEWAY_CONTROLLER_NAME);
  const ours = held.filter((p) => p.controllerName === GATEWAY_CONTROLLER_NAME);
  const ns = s.ref.namespace;
  const parents = s.parents.map((p) => {
    const before = ours.find((o) => parentKey(o.parentRef as Partial<ParentRef>, ns) === parentKey(p.parentRef, ns));
    const parentRef: Json = { group: p.parentRef.group, kind: p.parentRef.kind, namespace: p.parentRef.namespace, name: p.parentRef.name };
    if (p.parentRef.sectionName !== undefined) parentRef.sectionName = p.parentRef.sectionName;
    if (p.parentRef.port !== undefined) parentRef.port = p.parentRef.port;
    return { parentRef, controllerName: GATEWAY_CONTROLLER_NAME, conditions: mergeConditions(p.conditions, before?.conditions, s.ref.generation, now) };
  });
  // A route wharf never wrote about and has nothing to say about stays as it is.
  if (ours.length === 0 && parents.length === 0) return { status: { parents: held }, changed: false };
  return next(current, { parents: [...others, ...parents] });
}
