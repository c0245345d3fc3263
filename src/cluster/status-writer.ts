// Writes what wharf concluded about each Ingress back to the cluster: `status.loadBalancer.ingress`
// (wharf's address for the Ingresses it handles, cleared for those it stops handling) and Events
// (AddedOrUpdated, AddedOrUpdatedWithWarning, Rejected). The handler says what it concluded
// (`set(verdict)`); this writer keeps its own watch of the Ingresses (with their status, which the
// model leaves out; of each it keeps only its identity, version and addresses) and of the publish
// Service, compares, and writes only what differs, only for the Ingresses this replica owns
// (status-members.ts). Status patches carry the resourceVersion they
// were computed from (409 on a concurrent change: read again, compare again).
//
// RBAC, beyond the reads of kubernetes-resources.ts: networking.k8s.io ingresses/status: patch;
// "" events: create, get, patch (in every namespace with Ingresses); "" services: get, list, watch
// (the publish Service, read by name); coordination.k8s.io leases: get, list, create, update, delete
// (in the handler's own namespace: a Role).
import * as k8s from '@kubernetes/client-node';
import type { Logger } from '../log.ts';
import { apiFailure, describeApiError, type KubeClients } from './kubernetes-client.ts';
import { toWire, type StreamSpec } from './kubernetes-resources.ts';
import { ReconcileQueue } from './reconcile-queue.ts';
import { StreamWatcher, type StreamEvent, type StreamWatcherOptions } from './kubernetes-watch.ts';
import { addressesOfService, formatAddresses, normalizeAddresses, sameAddresses, type LoadBalancerIngress } from './status-address.ts';
import { EventRecorder } from './status-events.ts';
import type { Ownership } from './status-members.ts';
import { eventFor, statusUpdate, type IngressVerdict } from './status-verdict.ts';
import { compareVersions, type KubeObject } from './view.ts';

/** Where wharf's address comes from: its Service (--publish-service) or fixed (--publish-address). */
export type PublishSource = { service: { namespace: string; name: string } } | { addresses: LoadBalancerIngress[] };

export interface IngressStatusWriterOptions {
  clients: KubeClients;
  log: Logger;
  publish: PublishSource;
  ownership: Ownership;
  /** This replica's name, the Events' reportingInstance. */
  instance: string;
  /** Only Ingresses of this namespace (the adapter's scope); default all. */
  namespace?: string;
  /** Objects reconciled at once (each is one or two API calls). */
  concurrency?: number;
  /** Delay before a failed write is tried again. */
  retryMs?: number;
  watch?: Pick<StreamWatcherOptions, 'backoff' | 'watchTimeoutSeconds' | 'pageSize'>;
}

const keyOf = (namespace: string, name: string) => `${namespace}/${name}`;

/**
 * What the writer keeps of an Ingress: who it is, its version, and its current addresses (the
 * patches and Events need no more). The handler's view holds the rest, once.
 */
function statusRecord(o: KubeObject): KubeObject {
  const { name, namespace, uid, resourceVersion, generation } = o.metadata;
  const loadBalancer = (o.status as { loadBalancer?: unknown } | undefined)?.loadBalancer;
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: { name, namespace, uid, resourceVersion, generation },
    ...(loadBalancer !== undefined ? { status: { loadBalancer } } : {}),
  };
}

export class IngressStatusWriter {
  /** Writes done and refused, for logs, metrics and tests. */
  readonly stats = { statusWrites: 0, events: 0, conflicts: 0, failures: 0 };
  readonly #o: IngressStatusWriterOptions;
  readonly #log: Logger;
  readonly #recorder: EventRecorder;
  readonly #watchers: StreamWatcher[] = [];
  #ingresses = new Map<string, KubeObject>();
  #verdicts = new Map<string, IngressVerdict>();
  #addresses: LoadBalancerIngress[] | null;
  /** uid → what the last Event said (generation, reason, message): say it once. */
  #said = new Map<string, string>();
  readonly #work: ReconcileQueue;
  #stopped = false;
  #listed = new Set<StreamSpec>();
  #onStarted!: () => void;
  readonly #started = new Promise<void>((r) => (this.#onStarted = r));

  constructor(options: IngressStatusWriterOptions) {
    this.#o = options;
    this.#work = new ReconcileQueue({
      reconcile: (key) => this.#reconcile(key),
      onFailure: (key, e) => {
        this.stats.failures++;
        this.#log.warn('could not write the status or Event of an Ingress; trying again later', { ingress: key, error: e.message });
      },
      ...(options.concurrency ? { concurrency: options.concurrency } : {}),
      ...(options.retryMs ? { retryMs: options.retryMs } : {}),
    });
    this.#log = options.log.child({ part: 'status' });
    this.#recorder = new EventRecorder(options.clients, options.instance);
    this.#addresses = 'addresses' in options.publish ? normalizeAddresses(options.publish.addresses) : null;
    const make = (spec: StreamSpec) =>
      new StreamWatcher({ ...options.watch, clients: options.clients, spec, log: options.log, onEvent: (e) => this.#onEvent(e) });
    this.#watchers.push(make({ kind: 'Ingress', namespace: options.namespace ?? '' }));
    if ('service' in options.publish) {
      const { namespace, name } = options.publish.service;
      this.#watchers.push(make({ kind: 'Service', namespace, fieldSelector: `metadata.name=${name}` }));
    }
    options.ownership.onChange(() => this.#queueAll());
  }

  /** Starts watching; resolves once the Ingresses (and the publish Service) have been listed. */
  start(): Promise<void> {
    for (const w of this.#watchers) w.start();
    return this.#started;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const drained = this.#work.stop();
    await Promise.all(this.#watchers.map((w) => w.stop()));
    await drained;
  }

  /** The handler's conclusion about an Ingress: call it after every recompute that may change it. */
  set(verdict: IngressVerdict): void {
    const key = keyOf(verdict.namespace, verdict.name);
    this.#verdicts.set(key, verdict);
    this.#queue(key);
  }

  /** The handler no longer knows the Ingress (deleted). */
  forget(namespace: string, name: string): void {
    this.#verdicts.delete(keyOf(namespace, name));
  }

  /** The Ingress resourceVersion this writer has seen up to (its watch). */
  get seenVersion(): string {
    return this.#watchers[0]!.resourceVersion;
  }

  /** The addresses being published (null while the publish Service is unknown). */
  get addresses(): LoadBalancerIngress[] | null {
    return this.#addresses;
  }

  /** Resolves when nothing is queued or being written (failed writes waiting for a retry excepted). */
  idle(): Promise<void> {
    return this.#work.idle();
  }

  #onEvent(e: StreamEvent): void {
    if (e.spec.kind === 'Service') return this.#onService(e);
    if (e.type === 'listed') {
      for (const o of e.gone) this.#dropIngress(keyOf(o.metadata.namespace ?? '', o.metadata.name));
      for (const o of e.items) this.#keepIngress(o);
      this.#markListed(e.spec);
      return;
    }
    const { change } = e;
    if (change.action === 'delete') this.#dropIngress(keyOf(change.key.namespace, change.key.name));
    else this.#keepIngress(change.object!);
  }

  #markListed(spec: StreamSpec): void {
    this.#listed.add(spec);
    if (this.#listed.size === this.#watchers.length) this.#onStarted();
  }

  #keepIngress(listed: KubeObject): void {
    const o = statusRecord(listed);
    const key = keyOf(o.metadata.namespace ?? '', o.metadata.name);
    const held = this.#ingresses.get(key);
    // Our own patch's answer may be newer than a watch event still on its way.
    if (held && held.metadata.uid === o.metadata.uid && compareVersions(o.metadata.resourceVersion ?? '', held.metadata.resourceVersion ?? '') === -1) return;
    this.#ingresses.set(key, o);
    this.#queue(key);
  }

  #dropIngress(key: string): void {
    const held = this.#ingresses.get(key);
    if (held?.metadata.uid) this.#said.delete(held.metadata.uid);
    this.#ingresses.delete(key);
  }

  #onService(e: StreamEvent): void {
    let service: KubeObject | null;
    if (e.type === 'listed') {
      service = e.items[0] ?? null;
      this.#markListed(e.spec);
    } else service = e.change.action === 'delete' ? null : e.change.object!;
    const next = service ? addressesOfService(service) : null;
    const prev = this.#addresses;
    if ((next === null) === (prev === null) && (next === null || sameAddresses(next, prev!))) return;
    this.#addresses = next;
    this.#log.info('publishing a new address', { addresses: next ? formatAddresses(next) : '(publish Service not found: status left as it is)' });
    this.#queueAll();
  }

  #queueAll(): void {
    for (const key of this.#ingresses.keys()) this.#queue(key);
  }

  #queue(key: string): void {
    this.#work.add(key);
  }

  async #reconcile(key: string): Promise<void> {
    for (let conflicts = 0; ; conflicts++) {
      const ingress = this.#ingresses.get(key);
      const verdict = this.#verdicts.get(key);
      if (!ingress || !verdict || this.#stopped) return;
      const uid = ingress.metadata.uid ?? '';
      if (verdict.uid && verdict.uid !== uid) return; // about an earlier Ingress of that name: wait for the handler
      if (!this.#o.ownership.owns(uid)) return;
      const current = normalizeAddresses((ingress.status as { loadBalancer?: { ingress?: unknown } } | undefined)?.loadBalancer?.ingress);
      const next = statusUpdate(verdict, this.#addresses, current);
      if (next) {
        const outcome = await this.#patchStatus(ingress, next);
        if (outcome === 'conflict') {
          if (conflicts >= 3) throw new Error('the Ingress keeps changing under the status writes');
          continue;
        }
        if (outcome === 'gone') return;
        if (!this.#o.ownership.owns(uid)) return; // ownership moved during the write: the new owner says it
      }
      await this.#recordEvent(ingress, verdict);
      return;
    }
  }

  async #patchStatus(ingress: KubeObject, next: LoadBalancerIngress[]): Promise<'written' | 'conflict' | 'gone'> {
    const { name, namespace = 'default', resourceVersion } = ingress.metadata;
    const key = keyOf(namespace, name);
    // A merge patch with the version it was computed from: the API server refuses it (409) when the
    // Ingress changed since, instead of overwriting a status someone else just wrote.
    const body = { metadata: { resourceVersion }, status: { loadBalancer: { ingress: next.length ? next : null } } };
    try {
      const written = await this.#o.clients.networking.patchNamespacedIngressStatus({ name, namespace, body }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
      this.stats.statusWrites++;
      this.#keepWritten(toWire('Ingress', written));
      this.#log.debug('status written', { ingress: key, addresses: formatAddresses(next) });
      return 'written';
    } catch (e) {
      const code = apiFailure(e).code;
      if (code === 404) {
        this.#dropIngress(key);
        return 'gone';
      }
      if (code !== 409) throw new Error(`writing the status of Ingress ${key}: ${describeApiError(e)}`, { cause: e });
      this.stats.conflicts++;
      try {
        this.#keepWritten(toWire('Ingress', await this.#o.clients.networking.readNamespacedIngress({ name, namespace })));
        return 'conflict';
      } catch (err) {
        if (apiFailure(err).code === 404) {
          this.#dropIngress(key);
          return 'gone';
        }
        throw new Error(`reading Ingress ${key} after a conflicting status write: ${describeApiError(err)}`, { cause: err });
      }
    }
  }

  /** Holds an Ingress read or written by this writer (without queueing it again). */
  #keepWritten(written: KubeObject): void {
    const o = statusRecord(written);
    const key = keyOf(o.metadata.namespace ?? '', o.metadata.name);
    const held = this.#ingresses.get(key);
    if (!held || held.metadata.uid !== o.metadata.uid || compareVersions(o.metadata.resourceVersion ?? '', held.metadata.resourceVersion ?? '') !== -1) this.#ingresses.set(key, o);
  }

  async #recordEvent(ingress: KubeObject, verdict: IngressVerdict): Promise<void> {
    const event = eventFor(verdict);
    if (!event) return;
    const generation = (ingress.metadata as { generation?: number }).generation;
    // The handler has not seen this generation yet: its verdict is about an older spec.
    if (verdict.generation !== undefined && generation !== undefined && verdict.generation !== generation) return;
    const uid = ingress.metadata.uid ?? '';
    const said = `${generation ?? ''}\0${event.reason}\0${event.message}`;
    if (this.#said.get(uid) === said) return;
    await this.#recorder.record(ingress, event);
    this.#said.set(uid, said);
    this.stats.events++;
  }
}
