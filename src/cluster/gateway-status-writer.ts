// Writes what wharf concluded about each Gateway API object back to the cluster, with the Ingress
// status writer's scheme (status-writer.ts): the handler says what it concluded (`set(status)`,
// the model's GatewayClassStatus / GatewayStatus / RouteStatus); this writer keeps its own watch of
// GatewayClasses, Gateways, HTTPRoutes and GRPCRoutes (of each only its identity, version,
// generation and status) and of the publish Service, computes the status to write
// (gateway-status-merge.ts), and writes only when it differs, only for the objects this replica
// owns (status-members.ts), only when the conclusion is about the generation the object has now.
// Every patch carries the resourceVersion it was computed from (409 on a concurrent change, another
// controller's route parent entry included: read again, compute again), so what others wrote is
// never overwritten.
//
// RBAC, beyond the reads of kubernetes-resources.ts: gateway.networking.k8s.io gatewayclasses/status,
// gateways/status, httproutes/status, grpcroutes/status: patch.
import * as k8s from '@kubernetes/client-node';
import type { Logger } from '../log.ts';
import type { GatewayClassStatus, GatewayStatus, RouteStatus } from '../model/gateway-status.ts';
import { gatewayAddresses, metaTime, nextGatewayClassStatus, nextGatewayStatus, nextRouteStatus, type GatewayStatusAddress, type NextStatus } from './gateway-status-merge.ts';
import { apiFailure, describeApiError, type KubeClients } from './kubernetes-client.ts';
import { toWire, type StreamSpec } from './kubernetes-resources.ts';
import { ReconcileQueue } from './reconcile-queue.ts';
import { StreamWatcher, type StreamEvent, type StreamWatcherOptions } from './kubernetes-watch.ts';
import { addressesOfService, formatAddresses, normalizeAddresses } from './status-address.ts';
import type { Ownership } from './status-members.ts';
import type { PublishSource } from './status-writer.ts';
import { API_VERSIONS, compareVersions, type KubeObject } from './view.ts';

/** What the model concludes about one object: the writer's whole input. */
export type GatewayApiStatus = GatewayClassStatus | GatewayStatus | RouteStatus;
type StatusKind = GatewayApiStatus['ref']['kind'];

/** What the handler calls: the narrow interface the writer offers it. */
export interface GatewayStatusSink {
  /** The model's conclusion about one object: call it after every recompute that may change it. */
  set(status: GatewayApiStatus): void;
  /** The handler no longer knows the object (deleted). */
  forget(kind: StatusKind, namespace: string, name: string): void;
}

export interface GatewayStatusWriterOptions {
  clients: KubeClients;
  log: Logger;
  publish: PublishSource;
  ownership: Ownership;
  /** Only objects of this namespace (GatewayClasses are cluster-scoped); default all. */
  namespace?: string;
  concurrency?: number;
  /** Delay before a failed write is tried again. */
  retryMs?: number;
  /** The clock of lastTransitionTime (tests). */
  now?: () => Date;
  watch?: Pick<StreamWatcherOptions, 'backoff' | 'watchTimeoutSeconds' | 'pageSize' | 'notServedRetryMs'>;
}

const PLURALS: Record<StatusKind, string> = { GatewayClass: 'gatewayclasses', Gateway: 'gateways', HTTPRoute: 'httproutes', GRPCRoute: 'grpcroutes', TLSRoute: 'tlsroutes', TCPRoute: 'tcproutes', UDPRoute: 'udproutes' };
const KINDS = Object.keys(PLURALS) as StatusKind[];
const GROUP = 'gateway.networking.k8s.io';
const MERGE_PATCH = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

const keyOf = (kind: string, namespace: string, name: string) => `${kind}/${namespace}/${name}`;

/** What the writer keeps of an object: identity, version, generation and status. */
function record(o: KubeObject): KubeObject {
  const { name, namespace, uid, resourceVersion, generation } = o.metadata;
  return { apiVersion: o.apiVersion, kind: o.kind, metadata: { name, namespace, uid, resourceVersion, generation }, status: (o.status as object | undefined) ?? {} };
}

export class GatewayStatusWriter implements GatewayStatusSink {
  /** Writes done, refused and skipped, for logs, metrics and tests. */
  readonly stats = { statusWrites: 0, unchanged: 0, conflicts: 0, failures: 0 };
  readonly #o: GatewayStatusWriterOptions;
  readonly #log: Logger;
  readonly #watchers: StreamWatcher[] = [];
  #objects = new Map<string, KubeObject>();
  #wanted = new Map<string, GatewayApiStatus>();
  #addresses: GatewayStatusAddress[] | null;
  readonly #work: ReconcileQueue;
  #stopped = false;
  #listed = new Set<StreamSpec>();
  #onStarted!: () => void;
  readonly #started = new Promise<void>((r) => (this.#onStarted = r));

  constructor(options: GatewayStatusWriterOptions) {
    this.#o = options;
    this.#work = new ReconcileQueue({
      reconcile: (key) => this.#reconcile(key),
      onFailure: (key, e) => {
        this.stats.failures++;
        this.#log.warn('could not write the status of a Gateway API object; trying again later', { object: key, error: e.message });
      },
      ...(options.concurrency ? { concurrency: options.concurrency } : {}),
      ...(options.retryMs ? { retryMs: options.retryMs } : {}),
    });
    this.#log = options.log.child({ part: 'gateway-status' });
    this.#addresses = 'addresses' in options.publish ? gatewayAddresses(normalizeAddresses(options.publish.addresses)) : null;
    // A kind whose API is not served counts as listed (empty): the writer starts without it.
    const make = (spec: StreamSpec) =>
      new StreamWatcher({ ...options.watch, clients: options.clients, spec, log: options.log, onEvent: (e) => this.#onEvent(e), onNotServed: () => this.#markListed(spec) });
    for (const kind of KINDS) this.#watchers.push(make({ kind, namespace: kind === 'GatewayClass' ? '' : (options.namespace ?? ''), optional: true }));
    if ('service' in options.publish) {
      const { namespace, name } = options.publish.service;
      this.#watchers.push(make({ kind: 'Service', namespace, fieldSelector: `metadata.name=${name}` }));
    }
    options.ownership.onChange(() => this.#queueAll());
  }

  /** Starts watching; resolves once every kind (and the publish Service) has been listed. */
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

  set(status: GatewayApiStatus): void {
    const { kind, namespace, name } = status.ref;
    const key = keyOf(kind, namespace, name);
    this.#wanted.set(key, status);
    this.#queue(key);
  }

  forget(kind: StatusKind, namespace: string, name: string): void {
    this.#wanted.delete(keyOf(kind, namespace, name));
  }

  /** The addresses Gateways get (null while the publish Service is unknown). */
  get addresses(): GatewayStatusAddress[] | null {
    return this.#addresses;
  }

  /** Resolves when nothing is queued or being written (failed writes waiting for a retry excepted). */
  idle(): Promise<void> {
    return this.#work.idle();
  }

  #onEvent(e: StreamEvent): void {
    if (e.spec.kind === 'Service') return this.#onService(e);
    if (e.type === 'listed') {
      for (const o of e.gone) this.#objects.delete(keyOf(e.spec.kind, o.metadata.namespace ?? '', o.metadata.name));
      for (const o of e.items) this.#keep(o, true);
      this.#markListed(e.spec);
      return;
    }
    const { change } = e;
    if (change.action === 'delete') this.#objects.delete(keyOf(change.key.kind, change.key.namespace, change.key.name));
    else this.#keep(change.object!, true);
  }

  #markListed(spec: StreamSpec): void {
    this.#listed.add(spec);
    if (this.#listed.size === this.#watchers.length) this.#onStarted();
  }

  /** Holds an object seen by a watch (queued) or read or written here (not queued again). */
  #keep(seen: KubeObject, queue: boolean): void {
    const o = record(seen);
    const key = keyOf(o.kind, o.metadata.namespace ?? '', o.metadata.name);
    const held = this.#objects.get(key);
    // Our own patch's answer may be newer than a watch event still on its way.
    if (held && held.metadata.uid === o.metadata.uid && compareVersions(o.metadata.resourceVersion ?? '', held.metadata.resourceVersion ?? '') === -1) return;
    this.#objects.set(key, o);
    if (queue) this.#queue(key);
  }

  #onService(e: StreamEvent): void {
    let service: KubeObject | null;
    if (e.type === 'listed') {
      service = e.items[0] ?? null;
      this.#markListed(e.spec);
    } else service = e.change.action === 'delete' ? null : e.change.object!;
    const next = service ? gatewayAddresses(addressesOfService(service)) : null;
    if (JSON.stringify(next) === JSON.stringify(this.#addresses)) return;
    this.#addresses = next;
    this.#log.info('publishing a new Gateway address', { addresses: service ? formatAddresses(addressesOfService(service)) : '(publish Service not found: addresses left as they are)' });
    for (const key of this.#objects.keys()) if (key.startsWith('Gateway/')) this.#queue(key);
  }

  #queueAll(): void {
    for (const key of this.#wanted.keys()) this.#queue(key);
  }

  #queue(key: string): void {
    this.#work.add(key);
  }

  #next(wanted: GatewayApiStatus, current: Record<string, unknown>): NextStatus {
    const now = metaTime((this.#o.now ?? (() => new Date()))());
    switch (wanted.ref.kind) {
      case 'GatewayClass':
        return nextGatewayClassStatus(wanted as GatewayClassStatus, current, now);
      case 'Gateway':
        return nextGatewayStatus(wanted as GatewayStatus, current, this.#addresses, now);
      default:
        return nextRouteStatus(wanted as RouteStatus, current, now);
    }
  }

  async #reconcile(key: string): Promise<void> {
    for (let conflicts = 0; ; conflicts++) {
      const object = this.#objects.get(key);
      const wanted = this.#wanted.get(key);
      if (!object || !wanted || this.#stopped) return;
      // About another generation than the object's: the handler (or this watch) has not caught up yet.
      if (wanted.ref.generation !== (object.metadata as { generation?: number }).generation) return;
      if (!this.#o.ownership.owns(object.metadata.uid ?? '')) return;
      const next = this.#next(wanted, object.status as Record<string, unknown>);
      if (!next.changed) {
        this.stats.unchanged++;
        return;
      }
      const outcome = await this.#patch(wanted.ref.kind, object, next.status);
      if (outcome !== 'conflict') return;
      if (conflicts >= 3) throw new Error('the object keeps changing under the status writes');
    }
  }

  async #patch(kind: StatusKind, object: KubeObject, status: Record<string, unknown>): Promise<'written' | 'conflict' | 'gone'> {
    const { name, namespace = '', resourceVersion } = object.metadata;
    const key = keyOf(kind, namespace, name);
    const target = { group: GROUP, version: API_VERSIONS[kind].split('/')[1]!, plural: PLURALS[kind], name };
    const body = { metadata: { resourceVersion }, status };
    try {
      const written =
        kind === 'GatewayClass'
          ? await this.#o.clients.custom.patchClusterCustomObjectStatus({ ...target, body }, MERGE_PATCH)
          : await this.#o.clients.custom.patchNamespacedCustomObjectStatus({ ...target, namespace, body }, MERGE_PATCH);
      this.stats.statusWrites++;
      this.#keep(toWire(kind, written), false);
      this.#log.debug('status written', { object: key });
      return 'written';
    } catch (e) {
      const code = apiFailure(e).code;
      if (code === 404) {
        this.#objects.delete(key);
        return 'gone';
      }
      if (code !== 409) throw new Error(`writing the status of ${kind} ${namespace ? `${namespace}/` : ''}${name}: ${describeApiError(e)}`, { cause: e });
      this.stats.conflicts++;
      try {
        const read =
          kind === 'GatewayClass' ? await this.#o.clients.custom.getClusterCustomObject(target) : await this.#o.clients.custom.getNamespacedCustomObject({ ...target, namespace });
        this.#keep(toWire(kind, read), false);
        return 'conflict';
      } catch (err) {
        if (apiFailure(err).code === 404) {
          this.#objects.delete(key);
          return 'gone';
        }
        throw new Error(`reading ${kind} ${key} after a conflicting status write: ${describeApiError(err)}`, { cause: err });
      }
    }
  }
}
