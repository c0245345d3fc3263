// Which handler replica writes the status (and records the Events) of which Ingress. Every replica
// holds a Lease of its own (coordination.k8s.io/v1, one per replica, renewed every R), lists the
// Leases of its peers, and the owner of an Ingress is the live replica with the highest hash of
// (Ingress UID, replica name) — rendezvous hashing: every replica computes the same owner from the
// same members, work spreads evenly, and when a replica joins or leaves only its share moves. No
// leader, so no single point of failure and no failover pause for everyone.
//
// Why not one Lease per Ingress: 10,000 Ingresses would be 10,000 Lease renewals every few seconds.
// Why not one leader: all writes on one replica, and all of them paused while leadership moves.
//
// Why two replicas never write one object at the same time (R: renew interval, L: lease duration ≥ 3R):
// - A replica writes only while its own Lease is fresh (last successful renewal < L − R ago, measured
//   when the request was sent) and its list of peers is fresh (listed < 2R ago). A replica cut off
//   from the API server stops writing by itself within L − R.
// - Peers take a replica as gone only when its renewTime has not changed for L since they observed
//   the last change (measured on their own clock, after the observation), i.e. after it stopped.
// - A new replica starts writing only 3R after its Lease exists, when every writing peer (whose
//   list is < 2R old) has it in its list; so any two writers see each other, and the rendezvous
//   order of (uid, A) and (uid, B) cannot make both of them the owner.
// Renew and list failures only ever stop writes; an in-flight write must finish within R.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import * as k8s from '@kubernetes/client-node';
import type { Logger } from '../log.ts';
import { apiFailure, describeApiError, type KubeClients } from './kubernetes-client.ts';

/** Who may write an object's status now. A single replica without Leases: `{ owns: () => true, onChange() {} }`. */
export interface Ownership {
  owns(uid: string): boolean;
  /** Called when ownership may have moved (members joined or left): re-check everything. */
  onChange(listener: () => void): void;
}

export const MEMBER_LABEL = 'wharf.io/status-writers';

export interface MembershipOptions {
  clients: KubeClients;
  /** Where the Leases live: the handler's own namespace. */
  namespace: string;
  log: Logger;
  /** This replica's name (default: POD_NAME, else the host name). */
  identity?: string;
  /** Replicas that share the work carry the same group (one per installation; default wharf-status). */
  group?: string;
  renewIntervalMs?: number;
  /** How long a silent replica still counts as alive (at least 3 renew intervals). */
  leaseDurationMs?: number;
}

interface Peer {
  renewTime: string;
  observedAt: number;
  durationMs: number;
  name: string;
  resourceVersion: string;
}

const microTime = (ms: number) => new k8s.V1MicroTime(ms);

/** A DNS-1123 name for this replica's Lease. */
export function leaseName(group: string, identity: string): string {
  const clean = `${group}-${identity}`.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return clean.slice(0, 253).replace(/[^a-z0-9]+$/, '');
}

/** The rendezvous weight of (uid, replica): the highest wins the object. */
export function weight(uid: string, identity: string): string {
  return createHash('sha256').update(uid).update('\0').update(identity).digest('hex').slice(0, 16);
}

export class ReplicaMembership implements Ownership {
  readonly identity: string;
  readonly #o: Required<Omit<MembershipOptions, 'identity'>>;
  readonly #log: Logger;
  readonly #lease: string;
  #peers = new Map<string, Peer>();
  #ownVersion: string | null = null;
  #joinedAt = 0;
  #renewedAt = 0;
  #refreshedAt = 0;
  #members: string[] = [];
  #owners = new Map<string, boolean>();
  #listeners: (() => void)[] = [];
  #timer: NodeJS.Timeout | null = null;
  #running = false;
  #tick: Promise<void> | null = null;
  /** owns() said no because this replica was not active: tell the listeners once it is again. */
  #refusedInactive = false;

  constructor(options: MembershipOptions) {
    this.identity = options.identity ?? process.env.POD_NAME ?? hostname();
    const renew = options.renewIntervalMs ?? 5000;
    this.#o = { ...options, group: options.group ?? 'wharf-status', renewIntervalMs: renew, leaseDurationMs: Math.max(options.leaseDurationMs ?? 20_000, 3 * renew) };
    this.#lease = leaseName(this.#o.group, this.identity);
    this.#log = options.log.child({ part: 'status-members', identity: this.identity });
  }

  /** Takes part: creates or renews this replica's Lease and lists the peers, then keeps doing so. */
  async start(): Promise<void> {
    this.#running = true;
    await (this.#tick = this.#round());
    this.#schedule();
  }

  /** Leaves: stops writing at once; with `release`, deletes the Lease so peers take over at their next round. */
  async stop(release = true): Promise<void> {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#tick;
    this.#joinedAt = 0;
    this.#notify();
    if (!release || !this.#ownVersion) return;
    try {
      await this.#o.clients.coordination.deleteNamespacedLease({ name: this.#lease, namespace: this.#o.namespace, body: { preconditions: { resourceVersion: this.#ownVersion } } });
    } catch (e) {
      if (apiFailure(e).code !== 404) this.#log.warn('could not release the Lease; peers take over once it expires', { error: describeApiError(e) });
    }
  }

  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  /** True while this replica may write at all (see the file comment for the rules). */
  get active(): boolean {
    const now = Date.now();
    const R = this.#o.renewIntervalMs;
    return this.#joinedAt > 0 && now - this.#joinedAt >= 3 * R && now - this.#renewedAt < this.#o.leaseDurationMs - R && now - this.#refreshedAt < 2 * R;
  }

  /** The replicas that currently share the work, this one included once it is active. */
  members(): string[] {
    return [...this.#members];
  }

  owns(uid: string): boolean {
    if (!this.active) {
      this.#refusedInactive = true;
      return false;
    }
    let mine = this.#owners.get(uid);
    if (mine === undefined) {
      let best = '';
      let owner = '';
      for (const m of this.#members) {
        const w = weight(uid, m);
        if (w > best) [best, owner] = [w, m];
      }
      mine = owner === this.identity;
      this.#owners.set(uid, mine);
    }
    return mine;
  }

  #schedule(): void {
    if (!this.#running) return;
    this.#timer = setTimeout(() => {
      this.#tick = this.#round().finally(() => this.#schedule());
    }, this.#o.renewIntervalMs);
    this.#timer.unref();
  }

  #notify(): void {
    for (const l of this.#listeners) {
      try {
        l();
      } catch (e) {
        this.#log.error('an ownership listener failed', { error: e });
      }
    }
  }

  async #round(): Promise<void> {
    const wasActive = this.active;
    await this.#renew();
    await this.#refresh();
    // Writes refused while this replica was briefly inactive (a slow round: its last list or renewal
    // grew too old) are not lost: once active again, everything is checked again.
    const refused = this.#refusedInactive && this.active;
    if (refused) this.#refusedInactive = false;
    const live = [...this.#peers.entries()].filter(([id, p]) => id !== this.identity && Date.now() - p.observedAt < p.durationMs).map(([id]) => id);
    const members = [...(this.active ? [this.identity] : []), ...live].sort();
    if (members.join('\0') !== this.#members.join('\0') || wasActive !== this.active || refused) {
      this.#members = members;
      this.#owners.clear();
      this.#log.info('status writers', { members });
      this.#notify();
    }
  }

  #body(now: number): k8s.V1Lease {
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.#lease, namespace: this.#o.namespace, labels: { [MEMBER_LABEL]: this.#o.group }, ...(this.#ownVersion ? { resourceVersion: this.#ownVersion } : {}) },
      spec: {
        holderIdentity: this.identity,
        leaseDurationSeconds: Math.ceil(this.#o.leaseDurationMs / 1000),
        acquireTime: microTime(this.#joinedAt || now),
        renewTime: microTime(now),
      },
    };
  }

  async #renew(): Promise<void> {
    const api = this.#o.clients.coordination;
    const sent = Date.now();
    try {
      let lease: k8s.V1Lease;
      if (this.#ownVersion) {
        lease = await api.replaceNamespacedLease({ name: this.#lease, namespace: this.#o.namespace, body: this.#body(sent) });
      } else {
        try {
          lease = await api.createNamespacedLease({ namespace: this.#o.namespace, body: this.#body(sent) });
        } catch (e) {
          if (apiFailure(e).code !== 409) throw e;
          // Our name's Lease is left from an earlier run of this replica: take it over.
          const existing = await api.readNamespacedLease({ name: this.#lease, namespace: this.#o.namespace });
          this.#ownVersion = existing.metadata?.resourceVersion ?? null;
          lease = await api.replaceNamespacedLease({ name: this.#lease, namespace: this.#o.namespace, body: this.#body(sent) });
        }
      }
      this.#ownVersion = lease.metadata?.resourceVersion ?? null;
      this.#renewedAt = sent;
      if (!this.#joinedAt) this.#joinedAt = sent;
    } catch (e) {
      const f = apiFailure(e);
      // Deleted (by a peer's clean-up after we were silent) or changed: start over; the join wait restarts.
      if (f.code === 404 || f.code === 409) {
        this.#ownVersion = null;
        this.#joinedAt = 0;
      }
      this.#log.warn('could not renew this replica\'s Lease; it writes no status until it can', { error: describeApiError(e) });
    }
  }

  async #refresh(): Promise<void> {
    const sent = Date.now();
    try {
      const list = await this.#o.clients.coordination.listNamespacedLease({ namespace: this.#o.namespace, labelSelector: `${MEMBER_LABEL}=${this.#o.group}` });
      const now = Date.now();
      const seen = new Set<string>();
      for (const lease of list.items) {
        const id = lease.spec?.holderIdentity;
        if (!id) continue;
        seen.add(id);
        const renewTime = String(lease.spec?.renewTime ?? '');
        const before = this.#peers.get(id);
        const durationMs = (lease.spec?.leaseDurationSeconds ?? 15) * 1000;
        const peer: Peer = { renewTime, observedAt: before && before.renewTime === renewTime ? before.observedAt : now, durationMs, name: lease.metadata!.name!, resourceVersion: lease.metadata?.resourceVersion ?? '' };
        this.#peers.set(id, peer);
        if (id !== this.identity && now - peer.observedAt > 3 * durationMs) await this.#collect(peer);
      }
      for (const id of [...this.#peers.keys()]) if (!seen.has(id)) this.#peers.delete(id);
      this.#refreshedAt = sent;
    } catch (e) {
      this.#log.warn('could not list the status writers; this replica writes no status until it can', { error: describeApiError(e) });
    }
  }

  /** Deletes the Lease of a replica silent for long (a Pod that is gone), unless it renewed meanwhile. */
  async #collect(peer: Peer): Promise<void> {
    try {
      await this.#o.clients.coordination.deleteNamespacedLease({ name: peer.name, namespace: this.#o.namespace, body: { preconditions: { resourceVersion: peer.resourceVersion } } });
      this.#log.info('removed the Lease of a replica that is gone', { lease: peer.name });
    } catch (e) {
      if (![404, 409].includes(apiFailure(e).code)) this.#log.warn('could not remove a stale Lease', { lease: peer.name, error: describeApiError(e) });
    }
  }
}
