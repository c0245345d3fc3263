// What wharf tells a user about one Ingress, decided from what the handler concluded (is it ours,
// which Problems does the model report, did NGINX refuse the fragment carrying it): the Event to
// record and the load-balancer status to write. Pure, so every replica decides the same thing.
import type { Problem } from '../model/types.ts';
import { sameAddresses, type LoadBalancerIngress } from './status-address.ts';

/** The handler's conclusion about one Ingress (set after every recompute that may change it). */
export interface IngressVerdict {
  namespace: string;
  name: string;
  /** The Ingress the verdict was made from: an Event is recorded only for the generation it describes. */
  uid?: string;
  generation?: number;
  /** Its class selects wharf (model: RoutingIndex.handles). */
  handled: boolean;
  /** The model's problems of this Ingress (RoutingIndex.problemsOf): errors reject it, warnings are reported. */
  problems: readonly Problem[];
  /** NGINX's error line, when the agent quarantined a fragment this Ingress contributes to. */
  nginxError?: string | null;
}

/** The part of the model's RoutingIndex a verdict is read from (keys are `namespace/name`). */
export interface VerdictSource {
  handles(ingressKey: string): boolean;
  problemsOf(ingressKey: string): Problem[];
}

/**
 * The verdict about one Ingress as the handler's model holds it: call after every recompute for the
 * Ingresses it affected (RoutingIndex's `Affected.ingresses`), with NGINX's error when the agent
 * quarantined the Ingress's host fragment.
 */
export function verdictOf(index: VerdictSource, ingress: { metadata: { namespace?: string; name: string; uid?: string; generation?: number } }, nginxError?: string | null): IngressVerdict {
  const namespace = ingress.metadata.namespace ?? 'default';
  const key = `${namespace}/${ingress.metadata.name}`;
  const v: IngressVerdict = { namespace, name: ingress.metadata.name, handled: index.handles(key), problems: index.problemsOf(key) };
  if (ingress.metadata.uid) v.uid = ingress.metadata.uid;
  if (ingress.metadata.generation !== undefined) v.generation = ingress.metadata.generation;
  if (nginxError) v.nginxError = nginxError;
  return v;
}

export type EventReason = 'AddedOrUpdated' | 'AddedOrUpdatedWithWarning' | 'Rejected';

/** A Kubernetes Event about an Ingress, before it has a name and timestamps. */
export interface IngressEvent {
  reason: EventReason;
  type: 'Normal' | 'Warning';
  message: string;
}

/** Events are read in `kubectl describe`: long lists of problems are cut, not dropped. */
export const MAX_EVENT_MESSAGE = 1024;

function cut(text: string): string {
  return text.length <= MAX_EVENT_MESSAGE ? text : `${text.slice(0, MAX_EVENT_MESSAGE - 1)}…`;
}

/** The Event for a handled Ingress (null for one wharf does not handle: it gets nothing from wharf). */
export function eventFor(v: IngressVerdict): IngressEvent | null {
  if (!v.handled) return null;
  const who = `${v.namespace}/${v.name}`;
  const errors = v.problems.filter((p) => p.severity === 'error').map((p) => p.message);
  const warnings = v.problems.filter((p) => p.severity === 'warning').map((p) => p.message);
  if (v.nginxError) errors.push(`NGINX refused the configuration that carries it: ${v.nginxError}`);
  if (errors.length) return { reason: 'Rejected', type: 'Warning', message: cut(`${who} was rejected: ${errors.join('; ')}`) };
  if (warnings.length) {
    return { reason: 'AddedOrUpdatedWithWarning', type: 'Warning', message: cut(`Configuration for ${who} was added or updated with warnings: ${warnings.join('; ')}`) };
  }
  return { reason: 'AddedOrUpdated', type: 'Normal', message: `Configuration for ${who} was added or updated` };
}

/**
 * The `status.loadBalancer.ingress` to write, or null to leave it as it is. A handled Ingress gets
 * wharf's addresses; an Ingress wharf does not handle (any more) is cleared only when it shows
 * wharf's addresses, so the status another controller wrote is never touched. Unknown addresses
 * (the publish Service not seen yet) write nothing.
 */
export function statusUpdate(v: IngressVerdict, addresses: LoadBalancerIngress[] | null, current: LoadBalancerIngress[]): LoadBalancerIngress[] | null {
  if (!addresses) return null;
  if (v.handled) return sameAddresses(current, addresses) ? null : addresses;
  return current.length > 0 && sameAddresses(current, addresses) ? [] : null;
}
