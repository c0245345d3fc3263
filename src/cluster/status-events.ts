// Records Kubernetes Events (core/v1, what `kubectl describe ingress` shows) about Ingresses (and
// wharf's ConfigMap: its refused keys). An Event's name is derived from what it says (the object's
// UID, reason, message), so saying the same thing
// again — after a restart, or by the replica that took an Ingress over — bumps the count of the
// existing Event ("x3 over 10m") instead of piling up copies, as client-go's correlator does.
import { createHash } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { apiFailure, describeApiError, type KubeClients } from './kubernetes-client.ts';
import type { IngressEvent } from './status-verdict.ts';
import type { KubeObject } from './view.ts';

/** Who reports: `source.component` and `reportingComponent` of every Event. */
export const REPORTING_COMPONENT = 'wharf.io/ingress-controller';

/** The Event's name: `<ingress>.<16 hex digits of what it says>`. */
export function eventName(ingress: KubeObject, event: { reason: string; message: string }): string {
  const digest = createHash('sha256').update(`${ingress.metadata.uid ?? ''}\0${event.reason}\0${event.message}`).digest('hex').slice(0, 16);
  return `${ingress.metadata.name.slice(0, 236).replace(/[.-]+$/, '')}.${digest}`;
}

export class EventRecorder {
  readonly #clients: KubeClients;
  readonly #instance: string;

  /** `instance`: this replica's name (the Event's reportingInstance). */
  constructor(clients: KubeClients, instance: string) {
    this.#clients = clients;
    this.#instance = instance;
  }

  /**
   * Records `event` about `ingress` (or another object: its kind and apiVersion are used, an
   * Ingress's by default); returns the Event's name. Throws with context when the API refuses.
   */
  async record(ingress: KubeObject, event: Omit<IngressEvent, 'reason'> & { reason: string }): Promise<string> {
    const kind = ingress.kind || 'Ingress';
    const namespace = ingress.metadata.namespace ?? 'default';
    const name = eventName(ingress, event);
    const now = new Date();
    const body: k8s.CoreV1Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: kind === 'Ingress' ? 'networking.k8s.io/v1' : (ingress.apiVersion ?? 'v1'),
        kind,
        name: ingress.metadata.name,
        namespace,
        ...(ingress.metadata.uid ? { uid: ingress.metadata.uid } : {}),
        ...(ingress.metadata.resourceVersion ? { resourceVersion: ingress.metadata.resourceVersion } : {}),
      },
      reason: event.reason,
      message: event.message,
      type: event.type,
      source: { component: 'wharf' },
      reportingComponent: REPORTING_COMPONENT,
      reportingInstance: this.#instance,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    const core = this.#clients.core;
    try {
      await core.createNamespacedEvent({ namespace, body });
      return name;
    } catch (e) {
      if (apiFailure(e).code !== 409) throw new Error(`recording the ${event.reason} Event of ${kind} ${namespace}/${ingress.metadata.name}: ${describeApiError(e)}`, { cause: e });
    }
    // Said before: count it again.
    try {
      const existing = await core.readNamespacedEvent({ name, namespace });
      const patch = { metadata: { resourceVersion: existing.metadata.resourceVersion }, count: (existing.count ?? 1) + 1, lastTimestamp: now.toISOString() };
      await core.patchNamespacedEvent({ name, namespace, body: patch }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
      return name;
    } catch (e) {
      throw new Error(`counting the repeated ${event.reason} Event ${namespace}/${name}: ${describeApiError(e)}`, { cause: e });
    }
  }
}
