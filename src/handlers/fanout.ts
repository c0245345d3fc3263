// Fan-out: every desired change goes to every agent. Per agent, two lanes that never wait for each
// other: fragments (batched into POST /v1/batch, one request in flight: the agent reloads once per
// batch) and endpoints (a few requests in flight, never queued behind fragments: a lone endpoint set
// goes at once as PUT /v1/endpoints; sets that queued while the lane was busy go together in the
// next request, an endpoints-only POST /v1/batch, which the agent applies without a reload).
// Certificates ride in the fragment lane's batches, ahead of the fragments (a new TLS host's
// fragment and its certificate arrive together); the agent applies them without waiting for the
// reload, so they never wait behind one either.
//
// - Newest wins per key: a queued change is replaced by a newer revision of the same fragment or
//   upstream, so a burst of changes to one host costs one push.
// - Memory is bounded: a queue holds at most one entry per key, and when an agent is away (it does
//   not answer) or its queue outgrows the cap, the queue is dropped and the agent is marked to
//   receive the full snapshot (`complete: true`) instead: computed when it is sent, so waiting costs
//   nothing. That is also how an agent that was away catches up.
// - Failures are retried with exponential backoff and jitter; a change the agent refuses as
//   malformed (400) is logged and dropped (sending it again cannot help).
// - Full snapshots go to one agent at a time (#snapshotSlot): writing one costs the handler a
//   core and about a byte of garbage per byte sent (310 MB at 100,000 Ingresses), and two at once
//   (the two pods of an NGINX Deployment appearing together) took a handler with a 1 GiB
//   container's heap out of it under load, while each agent got its snapshot no sooner.
import type { Logger } from '../log.ts';
import type { Batch } from '../protocol/agent-api.ts';
import { AgentError, isSnapshotParts, type AgentClient, type AgentState, type OutgoingBatch } from './agent-client.ts';
import type { HandlerMetrics } from './metrics.ts';
import { AckWait, AgentAcks } from './push-acks.ts';

export type FragmentChange = Batch['fragments'][number];
export type EndpointChange = Batch['endpoints'][number];
export type CertificateChange = NonNullable<Batch['certificates']>[number];

/** A set of changes to push: what one event (or a relist) changed in the desired configuration. */
export interface DesiredUpdate {
  fragments: FragmentChange[];
  endpoints: EndpointChange[];
  /** Absent or empty for most changes: only TLS Secrets and TLS hosts change certificates. */
  certificates?: CertificateChange[];
}

/** Whether an update changes nothing. */
export function isEmptyUpdate(u: DesiredUpdate): boolean {
  return u.fragments.length === 0 && u.endpoints.length === 0 && !u.certificates?.length;
}

/** Appends `from` to `into` (the updates of several events, pushed as one). */
export function mergeUpdate(into: DesiredUpdate, from: DesiredUpdate): void {
  into.fragments.push(...from.fragments);
  into.endpoints.push(...from.endpoints);
  if (from.certificates?.length) (into.certificates ??= []).push(...from.certificates);
}

/** What the app needs from the fan-out (tests pass a recording one). */
export interface AgentSink {
  /** Queues the changes for every agent; returns at once. */
  publish(update: DesiredUpdate): void;
  /** Sets where the full snapshot comes from, and starts pushing (call once the view is listed). */
  start(snapshot: () => OutgoingBatch): void;
  /**
   * Anti-entropy: asks each reachable agent what it holds and publishes what `compare` finds
   * missing or outdated (after a relist: see DesiredConfig.reconcile).
   */
  reconcile(compare: (state: AgentState) => DesiredUpdate): Promise<void>;
  /** One entry per agent, for /readyz and logs. */
  status(): AgentStatus[];
  /** Resolves when every change is delivered (or the agent is away). For tests and shutdown. */
  idle(): Promise<void>;
  /**
   * Resolves once the pushes `publish` just started are written to their connections (a tick later):
   * POST /events answers after it, so an event's push leaves before its answer, not after.
   */
  handedOver?(): Promise<void>;
  /**
   * Called right after `publish(update)`: resolves once every healthy agent acknowledged the
   * update's changes, or after `withinMs` (push-acks.ts); when no agent is waited for, as handedOver.
   */
  acknowledged?(update: DesiredUpdate, withinMs: number): Promise<void>;
  close(): Promise<void>;
}

export interface AgentStatus {
  agent: string;
  up: boolean | null;
  queuedFragments: number;
  queuedEndpoints: number;
  lastError: string | null;
}

export interface FanoutOptions {
  clients: AgentClient[];
  log: Logger;
  metrics: HandlerMetrics;
  /** Fragment bytes queued per agent before it is switched to a snapshot. Default 64 MiB. */
  maxQueuedBytes?: number;
  /** Endpoint sets queued per agent before it is switched to a snapshot. Default 50,000. */
  maxQueuedEndpoints?: number;
  /** Largest fragment batch in bytes. Default 8 MiB. */
  maxBatchBytes?: number;
  /** Endpoint requests in flight per agent (each carries every set waiting, up to the caps below). Default 4. */
  endpointConcurrency?: number;
  /** Endpoint sets in one request. Default 512. */
  maxEndpointBatch?: number;
  /** Bytes of endpoint sets (about) in one request. Default 1 MiB (the agent takes 2 MiB per set, 128 MiB per batch). */
  maxEndpointBatchBytes?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

const sizeOf = (f: FragmentChange): number => {
  if ('deleted' in f) return 64;
  let n = f.config.length + 64;
  for (const file of Object.values(f.files)) n += file.content.length;
  return n;
};

const certificateSize = (c: CertificateChange): number => ('deleted' in c ? 64 : c.cert.length + c.key.length + 64);

const endpointSize = (e: EndpointChange): number => {
  if ('deleted' in e) return 64;
  let n = 64;
  for (const x of e.endpoints) n += x.length + 3;
  return n;
};

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** One agent: its two lanes and its state. */
class AgentLink {
  readonly client: AgentClient;
  readonly fragments = new Map<string, FragmentChange>();
  readonly endpoints = new Map<string, EndpointChange>();
  readonly certificates = new Map<string, CertificateChange>();
  queuedBytes = 0;
  needsSnapshot = true;
  snapshotInFlight = false;
  up: boolean | null = null;
  lastError: string | null = null;
  failures = 0;
  fragmentLaneBusy = false;
  endpointsInFlight = 0;
  /** The endpoint lane waits until then after a failure (backoff). */
  endpointsPausedUntil = 0;
  endpointsTimer: NodeJS.Timeout | null = null;
  /** No longer an agent (discovery dropped it): its loops stop. */
  removed = false;
  /** The queue depths the metrics show (fragments, endpoints); -1: not set yet. */
  shownQueues: [number, number] = [-1, -1];
  /** What POST /events waits for from this agent (push-acks.ts). */
  readonly acks = new AgentAcks();
  constructor(client: AgentClient) {
    this.client = client;
  }
  get quiet(): boolean {
    return !this.fragmentLaneBusy && this.endpointsInFlight === 0 && this.fragments.size === 0 && this.endpoints.size === 0 && this.certificates.size === 0 && !this.needsSnapshot;
  }
  dropQueues(): void {
    this.acks.release();
    this.fragments.clear();
    this.certificates.clear();
    this.endpoints.clear();
    this.queuedBytes = 0;
  }
}

/** The fan-out over HTTP agent clients. */
export class AgentFanout implements AgentSink {
  #links: AgentLink[];
  readonly #o: Required<Omit<FanoutOptions, 'clients'>>;
  #snapshot: (() => OutgoingBatch) | null = null;
  #closed = false;
  #waiters: (() => void)[] = [];
  /** Settles when the full snapshot being sent (if any) is answered: the next one waits for it. */
  #snapshotTail: Promise<void> = Promise.resolve();

  constructor(options: FanoutOptions) {
    this.#o = {
      maxQueuedBytes: 64 << 20,
      maxQueuedEndpoints: 50_000,
      maxBatchBytes: 8 << 20,
      endpointConcurrency: 4,
      maxEndpointBatch: 512,
      maxEndpointBatchBytes: 1 << 20,
      minBackoffMs: 100,
      maxBackoffMs: 10_000,
      ...options,
    };
    this.#links = options.clients.map((c) => new AgentLink(c));
  }

  /**
   * Replaces the set of agents (discovery from the view): new ones get the full snapshot, gone ones
   * are forgotten. Agents present before and after keep their queues.
   */
  setClients(clients: AgentClient[]): void {
    const before = new Map(this.#links.map((l) => [l.client.url, l]));
    const next: AgentLink[] = [];
    for (const c of clients) {
      const link = before.get(c.url) ?? new AgentLink(c);
      before.delete(c.url);
      next.push(link);
    }
    for (const gone of before.values()) {
      gone.removed = true;
      gone.dropQueues();
      gone.client.close?.();
      if (gone.endpointsTimer) clearTimeout(gone.endpointsTimer);
      this.#o.metrics.agentUp.remove({ agent: gone.client.url });
      this.#o.log.info('agent removed', { agent: gone.client.url });
    }
    this.#links = next;
    for (const link of next) this.#kick(link);
  }

  start(snapshot: () => OutgoingBatch): void {
    this.#snapshot = snapshot;
    for (const link of this.#links) this.#kick(link);
  }

  publish(update: DesiredUpdate): void {
    for (const link of this.#links) {
      // An agent due for a snapshot gets everything with it: queueing would only cost memory.
      if (link.needsSnapshot) continue;
      for (const f of update.fragments) {
        const queued = link.fragments.get(f.name);
        if (queued && queued.revision >= f.revision) continue;
        if (queued) link.queuedBytes -= sizeOf(queued);
        link.fragments.set(f.name, f);
        link.queuedBytes += sizeOf(f);
      }
      for (const e of update.endpoints) {
        const queued = link.endpoints.get(e.upstream);
        if (queued && queued.revision >= e.revision) continue;
        link.endpoints.set(e.upstream, e);
      }
      for (const c of update.certificates ?? []) {
        const queued = link.certificates.get(c.name);
        if (queued && queued.revision >= c.revision) continue;
        if (queued) link.queuedBytes -= certificateSize(queued);
        link.certificates.set(c.name, c);
        link.queuedBytes += certificateSize(c);
      }
      if (link.queuedBytes > this.#o.maxQueuedBytes || link.endpoints.size > this.#o.maxQueuedEndpoints) {
        this.#o.log.warn('agent queue over its cap; the agent will get the full snapshot instead', { agent: link.client.url, bytes: link.queuedBytes, endpoints: link.endpoints.size });
        link.dropQueues();
        link.needsSnapshot = true;
      }
      this.#kick(link);
    }
  }

  async reconcile(compare: (state: AgentState) => DesiredUpdate): Promise<void> {
    for (const link of this.#links) {
      if (this.#closed || link.needsSnapshot || link.up === false) continue;
      let state: AgentState;
      try {
        state = await link.client.state();
      } catch (e) {
        this.#o.log.warn('could not read the agent state to compare; the next relist tries again', { agent: link.client.url, error: (e as Error).message });
        continue;
      }
      const update = compare(state);
      if (!isEmptyUpdate(update)) {
        this.#o.log.info('agent differs from the desired configuration after a relist; pushing again', { agent: link.client.url, fragments: update.fragments.length, endpoints: update.endpoints.length, certificates: update.certificates?.length ?? 0 });
        this.publish(update);
      }
    }
  }

  status(): AgentStatus[] {
    return this.#links.map((l) => ({ agent: l.client.url, up: l.up, queuedFragments: l.fragments.size, queuedEndpoints: l.endpoints.size, lastError: l.lastError }));
  }

  handedOver(): Promise<void> {
    // node:http writes a request on a kept-alive connection in the next tick (agent-client.ts); a
    // tick queued after it resolves once that happened.
    return new Promise((r) => process.nextTick(r));
  }

  acknowledged(update: DesiredUpdate, withinMs: number): Promise<void> {
    const wait = new AckWait();
    for (const link of this.#links) if (this.#waitsFor(link)) link.acks.expectUpdate(update, wait);
    // Nothing to wait for: the answer still follows the push onto the wire.
    if (!wait.expecting) return this.handedOver();
    wait.arm(withinMs);
    return wait.done;
  }

  /** Healthy: answering, nothing failing or retrying, no snapshot due or on its way, not slow. */
  #waitsFor(link: AgentLink): boolean {
    return link.up === true && link.failures === 0 && !link.needsSnapshot && !link.snapshotInFlight && !link.acks.lagging && !link.removed && !this.#closed;
  }

  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((r) => this.#waiters.push(r));
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const l of this.#links) {
      l.dropQueues();
      if (l.endpointsTimer) clearTimeout(l.endpointsTimer);
      l.client.close?.();
    }
    this.#notify();
  }

  #isIdle(): boolean {
    return this.#closed || this.#links.every((l) => l.quiet || l.up === false);
  }

  #notify(): void {
    // Set when they change only: this runs several times per event, and a labelled set costs a hash.
    for (const l of this.#links) {
      if (l.shownQueues[0] !== l.fragments.size) this.#o.metrics.pushQueue.set({ agent: l.client.url, lane: 'fragments' }, (l.shownQueues[0] = l.fragments.size));
      if (l.shownQueues[1] !== l.endpoints.size) this.#o.metrics.pushQueue.set({ agent: l.client.url, lane: 'endpoints' }, (l.shownQueues[1] = l.endpoints.size));
    }
    for (const l of this.#links) if (l.acks.lagging && l.quiet && l.up === true && l.failures === 0) l.acks.caughtUp();
    if (this.#waiters.length && this.#isIdle()) for (const w of this.#waiters.splice(0)) w();
  }

  #kick(link: AgentLink): void {
    if (!this.#snapshot || this.#closed || link.removed) return;
    if (!link.fragmentLaneBusy && (link.needsSnapshot || link.fragments.size || link.certificates.size)) void this.#runFragments(link);
    this.#runEndpoints(link);
    this.#notify();
  }

  /**
   * Waits until no other agent's full snapshot is in flight, and takes the turn: the function it
   * resolves with gives it back (more calls do nothing), once the snapshot is answered or failed.
   */
  async #snapshotSlot(): Promise<() => void> {
    const previous = this.#snapshotTail;
    let release!: () => void;
    this.#snapshotTail = new Promise<void>((r) => (release = r));
    await previous;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      release();
    };
  }

  #backoffMs(link: AgentLink): number {
    const ceiling = Math.min(this.#o.maxBackoffMs, this.#o.minBackoffMs * 2 ** Math.min(link.failures - 1, 20));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  /** Records a failure; an agent that does not answer at all is switched to a snapshot. */
  #failed(link: AgentLink, lane: 'fragments' | 'endpoints', e: unknown): void {
    // Requests cut by close() (or by the agent's removal) are no news about the agent.
    if (this.#closed || link.removed) return;
    const err = e instanceof AgentError ? e : new AgentError((e as Error).message, null, true, e);
    link.failures += 1;
    link.lastError = err.message;
    link.acks.release();
    this.#o.metrics.pushFailures.inc({ agent: link.client.url, lane });
    const away = err.status === null || err.status === 502 || err.status === 504;
    if (away) {
      if (link.up !== false) this.#o.log.warn('agent away; it will get the full snapshot when it answers again', { agent: link.client.url, error: err.message });
      link.up = false;
      this.#o.metrics.agentUp.set({ agent: link.client.url }, 0);
      link.dropQueues();
      link.needsSnapshot = true;
    } else {
      this.#o.log.warn('push to agent failed; retrying', { agent: link.client.url, lane, error: err.message, attempt: link.failures });
    }
  }

  #succeeded(link: AgentLink): void {
    // Set when it changes only: this runs once per push, and a labelled set costs a hash.
    if (link.up !== true) {
      this.#o.log.info('agent answers', { agent: link.client.url });
      this.#o.metrics.agentUp.set({ agent: link.client.url }, 1);
    }
    link.up = true;
    link.failures = 0;
    link.lastError = null;
    link.endpointsPausedUntil = 0;
  }

  async #runFragments(link: AgentLink): Promise<void> {
    link.fragmentLaneBusy = true;
    try {
      while (!this.#closed && !link.removed) {
        let batch: OutgoingBatch;
        let taken: FragmentChange[] = [];
        const takenCertificates: CertificateChange[] = [];
        let releaseSlot: (() => void) | null = null;
        if (link.needsSnapshot) {
          releaseSlot = await this.#snapshotSlot();
          if (this.#closed || link.removed) {
            releaseSlot();
            break;
          }
          // Taken now, so it holds everything desired so far; later changes queue behind it.
          batch = this.#snapshot!();
          link.dropQueues();
          link.needsSnapshot = false;
          link.snapshotInFlight = true;
        } else {
          if (link.fragments.size === 0 && link.certificates.size === 0) break;
          let bytes = 0;
          for (const c of link.certificates.values()) {
            if (takenCertificates.length && bytes + certificateSize(c) > this.#o.maxBatchBytes) break;
            takenCertificates.push(c);
            bytes += certificateSize(c);
          }
          for (const f of link.fragments.values()) {
            if ((taken.length || takenCertificates.length) && bytes + sizeOf(f) > this.#o.maxBatchBytes) break;
            taken.push(f);
            bytes += sizeOf(f);
          }
          batch = { fragments: taken, endpoints: [], ...(takenCertificates.length ? { certificates: takenCertificates } : {}), complete: false };
        }
        const started = performance.now();
        try {
          await link.client.batch(batch);
          this.#o.metrics.pushSeconds.observe({ agent: link.client.url, lane: 'fragments' }, (performance.now() - started) / 1000);
          this.#succeeded(link);
          link.acks.acknowledgeSent(taken, [], takenCertificates);
          for (const f of taken) {
            if (link.fragments.get(f.name) === f) {
              link.fragments.delete(f.name);
              link.queuedBytes -= sizeOf(f);
            }
          }
          for (const c of takenCertificates) {
            if (link.certificates.get(c.name) === c) {
              link.certificates.delete(c.name);
              link.queuedBytes -= certificateSize(c);
            }
          }
        } catch (e) {
          if (batch.complete) link.needsSnapshot = true;
          if (e instanceof AgentError && !e.retry) {
            this.#o.log.error('agent refused changes as malformed; dropped (a wharf bug: please report it)', { agent: link.client.url, error: e.message, fragments: isSnapshotParts(batch) ? [`the full snapshot (${batch.count} fragments)`] : batch.fragments.map((f) => f.name).slice(0, 20) });
            link.acks.acknowledgeSent(taken, [], takenCertificates);
            for (const f of taken) if (link.fragments.get(f.name) === f) link.fragments.delete(f.name);
            for (const c of takenCertificates) if (link.certificates.get(c.name) === c) link.certificates.delete(c.name);
            if (batch.complete) link.needsSnapshot = false;
            continue;
          }
          this.#failed(link, 'fragments', e);
          link.snapshotInFlight = false;
          // Another agent's snapshot need not wait for this one's backoff.
          releaseSlot?.();
          this.#notify();
          await sleep(this.#backoffMs(link));
        } finally {
          link.snapshotInFlight = false;
          releaseSlot?.();
        }
        this.#runEndpoints(link);
        this.#notify();
      }
    } finally {
      link.fragmentLaneBusy = false;
      this.#notify();
    }
  }

  #runEndpoints(link: AgentLink): void {
    const wait = link.endpointsPausedUntil - Date.now();
    if (wait > 0) {
      link.endpointsTimer ??= setTimeout(() => {
        link.endpointsTimer = null;
        this.#runEndpoints(link);
      }, wait).unref();
      return;
    }
    // While a snapshot is on its way (or due), it carries the endpoints: a separate push could race it.
    while (!this.#closed && !link.removed && !link.needsSnapshot && !link.snapshotInFlight && link.endpoints.size && link.endpointsInFlight < this.#o.endpointConcurrency) {
      // Everything waiting goes in this request (up to the caps): a burst costs a few requests.
      const taken: EndpointChange[] = [];
      let bytes = 0;
      for (const change of link.endpoints.values()) {
        const size = endpointSize(change);
        if (taken.length && (taken.length >= this.#o.maxEndpointBatch || bytes + size > this.#o.maxEndpointBatchBytes)) break;
        taken.push(change);
        bytes += size;
      }
      for (const change of taken) link.endpoints.delete(change.upstream);
      link.endpointsInFlight += 1;
      void this.#pushEndpoints(link, taken).finally(() => {
        link.endpointsInFlight -= 1;
        this.#runEndpoints(link);
        this.#notify();
      });
    }
  }

  /** One request: a lone set as PUT or DELETE, several as an endpoints-only batch. */
  async #sendEndpoints(link: AgentLink, changes: EndpointChange[]): Promise<void> {
    if (changes.length > 1) {
      await link.client.batch({ fragments: [], endpoints: changes, complete: false });
      return;
    }
    const change = changes[0]!;
    if ('deleted' in change) await link.client.deleteEndpoints(change.upstream, change.revision);
    else await link.client.putEndpoints(change.upstream, { revision: change.revision, endpoints: change.endpoints });
  }

  async #pushEndpoints(link: AgentLink, changes: EndpointChange[]): Promise<void> {
    const started = performance.now();
    try {
      await this.#sendEndpoints(link, changes);
      this.#o.metrics.pushSeconds.observe({ agent: link.client.url, lane: 'endpoints' }, (performance.now() - started) / 1000);
      this.#succeeded(link);
      link.acks.acknowledgeSent([], changes, []);
    } catch (e) {
      if (e instanceof AgentError && !e.retry) {
        // The agent checks a request in full before applying any of it: one malformed set refuses
        // the whole batch. Each set goes again on its own, so that only the malformed one is dropped.
        if (changes.length > 1) {
          for (const change of changes) await this.#pushEndpoints(link, [change]);
          return;
        }
        this.#o.log.error('agent refused an endpoint set as malformed; dropped (a wharf bug: please report it)', { agent: link.client.url, upstream: changes[0]!.upstream, error: e.message });
        link.acks.acknowledgeSent([], changes, []);
        return;
      }
      this.#failed(link, 'endpoints', e);
      if (link.needsSnapshot) {
        this.#kick(link);
        return;
      }
      // Put them back unless something newer was queued meanwhile, then wait before the lane goes on.
      for (const change of changes) {
        const queued = link.endpoints.get(change.upstream);
        if (!queued || queued.revision < change.revision) link.endpoints.set(change.upstream, change);
      }
      link.endpointsPausedUntil = Date.now() + this.#backoffMs(link);
    }
  }
}
