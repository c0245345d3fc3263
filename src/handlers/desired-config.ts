// The configuration this replica wants every agent to have: one fragment per host plus `_main` and
// `_default`, and one endpoint set per upstream, each with a revision. Each change to the view
// recomputes exactly what it affects (the model's RoutingIndex says what): an Ingress → its old and
// new hosts, a Secret → the hosts using it, a Service → its Ingresses' hosts and its upstreams, the
// ConfigMap → `_main` (and the hosts, when a setting they use changed), an EndpointSlice → only its
// upstreams' endpoint sets, never a fragment. A TLS host's certificates (its name, its aliases, its
// www twin: src/render/certificates.ts) are sent apart from its fragment, so a renewed certificate
// (a changed Secret) changes certificates only: no fragment, no reload.
//
// ## Revisions: how any number of replicas, each seeing any subset of the events, agree
//
// A revision is `base × 4096 + bump × 1024 + h`: h is 10 bits of a hash of the content, bump (0–3)
// orders contents this replica computed at the same base, and base is the highest resourceVersion
// among
//   - the objects the fragment is made of (its Ingresses, TLS and auth Secrets, Services, the
//     ConfigMap; deleted ones by their tombstone's version),
//   - the change that made this replica recompute it (an object leaving a host counts here: its new
//     version or its deletion is newer than anything the old content was made of),
//   - the list's resourceVersion, when a relist recomputed it.
// Kubernetes resourceVersions are one growing counter for the whole cluster (etcd's revision), so
// content made from a newer view of the objects gets a higher revision, whichever replica computed
// it, and an agent (which ignores revisions not above the one it holds) keeps the newest content.
// Two replicas with the same view compute the same revision for the same bytes (h comes from the
// bytes), so their pushes are idempotent. Within a replica revisions only grow: when content
// changes without a newer base (a late, out-of-order event), bump goes up, staying below every
// revision of a newer base (so a bump never outranks a genuinely newer change). Replicas with
// different gaps in their views may disagree until they relist; after a relist at L, `reconcile`
// compares each agent's revisions with ours: a fragment whose content (h) differs and whose base is
// not above L is pushed again above it — the list is the truth as of L — so every agent converges
// once each replica has relisted, even when the replica that pushed stale content is gone. Endpoint
// sets follow the same rule (base: the change's version). What this cannot catch: two contents of
// one fragment with equal h (1 in 1024, and only between replicas whose views differ), and stale
// content a departed replica pushed with a base above every later list; both last until the next
// change of that fragment.
import { createHash } from 'node:crypto';
import { parseObject, sliceProblems, type EndpointSlice, type KubeObject as ModelObject, type RoutingIndex } from '../model/index.ts';
import type { Affected } from '../model/routing-index.ts';
import type { KubeKind } from '../model/schemas.ts';
import type { Location, Server } from '../model/types.ts';
import { DEFAULT_FRAGMENT, MAIN_FRAGMENT, UnsafeValueError, fragmentName, renderDefaultServer, renderHost, renderMain, serverCertificates, type Certificate, type Fragment } from '../render/index.ts';
import type { Batch } from '../protocol/agent-api.ts';
import { renderStreams } from '../render/stream.ts';
import type { Logger } from '../log.ts';
import { isKind, type ClusterView, type Kind, type KubeObject, type ObjectKey } from '../cluster/view.ts';
import type { AgentState } from './agent-client.ts';
import type { CertificateChange, DesiredUpdate, EndpointChange, FragmentChange } from './fanout.ts';
import type { HandlerMetrics } from './metrics.ts';
import { CertificateExpiry } from './certificate-expiry.ts';
import { TextPacker, type HeldText } from './packed-text.ts';

/** A snapshot whose fragments are read one by one (GET /snapshot); the rest as in `snapshot()`. */
export type SnapshotParts = Omit<Batch & { revision?: number }, 'fragments'> & { count: number; fragments(): Iterable<FragmentChange> };

/** Revisions are base × SLOT + bump × HASH + 10 bits of the content's hash. */
export const SLOT = 4096;
const HASH = 1024;
const MAX_BUMP = SLOT / HASH - 1;
/** Bases above this would overflow a safe integer revision (resourceVersions up to ~2.2e12 fit). */
const MAX_BASE = Math.floor(Number.MAX_SAFE_INTEGER / SLOT) - 1;

/** A fragment as held: its text packed (packed-text.ts), rebuilt into a change when it is sent. */
interface HeldFragment {
  revision: number;
  config: HeldText;
  files: Fragment['files'];
  digest: string;
}

/** Most fragments have no files: one empty object for all of them. */
const NO_FILES: Fragment['files'] = Object.freeze({}) as Fragment['files'];

interface HeldEndpoints {
  change: Extract<EndpointChange, { endpoints: string[] }>;
  digest: string;
}

interface HeldCertificate {
  change: Extract<CertificateChange, { cert: string }>;
  digest: string;
  /** The host whose server needs it (a name belongs to one host: aliases are names no other host has). */
  host: string;
}

function digestOf(f: Fragment): string {
  const h = createHash('sha256').update(f.config);
  for (const [name, file] of Object.entries(f.files)) h.update(`\0${name}\0${file.secret ? 1 : 0}\0`).update(file.content);
  return h.digest('hex');
}

const lowBits = (digest: string): number => parseInt(digest.slice(0, 3), 16) % HASH;

/** The content hash part of a revision: equal for equal bytes. */
export const contentBits = (revision: number): number => revision % HASH;

/** The smallest revision with hash bits `low` above `revision`: a bump in its base, or the next base. */
export function above(revision: number, low: number): number {
  const base = Math.floor(revision / SLOT);
  const bump = Math.floor((revision % SLOT) / HASH);
  return bump < MAX_BUMP ? base * SLOT + (bump + 1) * HASH + low : (base + 1) * SLOT + low;
}

/** The revision for new content: base × SLOT + h, and always above what this replica held. */
export function nextRevision(base: number, low: number, held: number | undefined): number {
  const revision = Math.min(Math.max(base, 0), MAX_BASE) * SLOT + low;
  return held !== undefined && revision <= held ? above(held, low) : revision;
}

/** Referenced kinds before the kinds that refer to them. */
const RELIST_ORDER: Record<Kind, number> = {
  IngressClass: 0,
  GatewayClass: 0,
  ConfigMap: 1,
  Namespace: 1,
  Service: 2,
  Secret: 3,
  ReferenceGrant: 3,
  EndpointSlice: 4,
  Gateway: 4,
  Ingress: 5,
  HTTPRoute: 5,
  GRPCRoute: 5,
  TLSRoute: 5,
  TCPRoute: 5,
  UDPRoute: 5,
};

function emptyUpdate(): DesiredUpdate {
  return { fragments: [], endpoints: [] };
}

export interface DesiredConfigOptions {
  index: RoutingIndex;
  view: ClusterView;
  log: Logger;
  metrics: HandlerMetrics;
  /** `namespace/name` of the global ConfigMap (a contributor to every fragment). */
  configMap?: string;
}

/** This replica's desired configuration, kept in step with the view. */
export class DesiredConfig {
  readonly #index: RoutingIndex;
  readonly #view: ClusterView;
  readonly #log: Logger;
  readonly #metrics: HandlerMetrics;
  readonly #configMap: ObjectKey | null;
  readonly #fragments = new Map<string, HeldFragment>();
  readonly #packer = new TextPacker();
  /** False while a first list is computed: new fragments are held, not also returned (see `relisted`). */
  #fragmentChanges = true;
  readonly #endpoints = new Map<string, HeldEndpoints>();
  /** Revisions of deleted fragments and endpoint sets, so a re-creation goes above them. */
  readonly #deletedFragments = new Map<string, number>();
  readonly #deletedEndpoints = new Map<string, number>();
  readonly #certificates = new Map<string, HeldCertificate>();
  readonly #deletedCertificates = new Map<string, number>();
  /** Host → the certificate names its server needs now. */
  readonly #hostCertificates = new Map<string, string[]>();
  /** The stream fragments (TCP and UDP service ports) held now. */
  #streamFragments = new Set<string>();
  /** nginx_ingress_controller_ssl_expire_time_seconds, per TLS host rendered. */
  readonly #expiry: CertificateExpiry;
  /** The counts the `desired` gauge shows (fragments, endpoints); -1: not set yet. */
  readonly #shownCounts: [number, number] = [-1, -1];

  constructor(options: DesiredConfigOptions) {
    this.#index = options.index;
    this.#view = options.view;
    this.#log = options.log;
    this.#metrics = options.metrics;
    this.#expiry = new CertificateExpiry(options.metrics.registry, options.index.settings.ingressClassName);
    const cm = options.configMap?.split('/');
    this.#configMap = cm && cm.length === 2 ? { kind: 'ConfigMap', namespace: cm[0]!, name: cm[1]! } : null;
  }

  get index(): RoutingIndex {
    return this.#index;
  }

  /**
   * The view applied a change of `key` (previous → current, either null): update the model and
   * recompute what it affects. `version` is the change's resourceVersion (numeric, 0 if unknown).
   */
  applied(key: ObjectKey, current: KubeObject | null, version: number): DesiredUpdate {
    this.#reportSlice(current);
    const affected = current
      ? this.#index.upsert(current as unknown as ModelObject)
      : this.#index.remove(key.kind as KubeKind, key.namespace, key.name);
    return this.#recompute(affected, version);
  }

  /** Says what of a new or changed EndpointSlice is not routed (an FQDN slice, a wrong address). */
  #reportSlice(current: KubeObject | null): void {
    if (current?.kind !== 'EndpointSlice') return;
    for (const problem of sliceProblems(current as unknown as EndpointSlice)) this.#log.warn(problem);
  }

  /**
   * A relist replaced objects: apply them all to the model, recompute what they affect with base ≥ L.
   * `changes: false` (the first list, before any agent is told: they get the snapshot) leaves the
   * fragments out of the returned update: at 100,000 Ingresses their text was 290 MB held at once.
   */
  relisted(changed: { key: ObjectKey; current: KubeObject | null }[], listVersion: number, changes = true): DesiredUpdate {
    this.#fragmentChanges = changes;
    try {
      return this.#relisted(changed, listVersion);
    } finally {
      this.#fragmentChanges = true;
    }
  }

  #relisted(changed: { key: ObjectKey; current: KubeObject | null }[], listVersion: number): DesiredUpdate {
    // Objects others refer to first, Ingresses and routes last: each Ingress is then translated once,
    // not again for every IngressClass, Service and Secret that arrives after it; the Gateway API
    // objects are translated once, at the end of the batch.
    const ordered = [...changed].sort((x, y) => RELIST_ORDER[x.key.kind] - RELIST_ORDER[y.key.kind]);
    const all = this.#index.batch((index) =>
      ordered.map((c) => {
        this.#reportSlice(c.current);
        return c.current ? index.upsert(c.current as unknown as ModelObject) : index.remove(c.key.kind as KubeKind, c.key.namespace, c.key.name);
      }),
    );
    // The first list (nothing held yet) computes `_main` and `_default` even from an empty cluster.
    if (!this.#fragments.has(MAIN_FRAGMENT)) all.global = true;
    if (!this.#fragments.has(DEFAULT_FRAGMENT)) all.defaultServer = true;
    // Tombstones older than the list are not needed any more: anything recomputed now is ≥ L.
    for (const [n, r] of this.#deletedFragments) if (r < listVersion * SLOT) this.#deletedFragments.delete(n);
    for (const [n, r] of this.#deletedEndpoints) if (r < listVersion * SLOT) this.#deletedEndpoints.delete(n);
    for (const [n, r] of this.#deletedCertificates) if (r < listVersion * SLOT) this.#deletedCertificates.delete(n);
    return this.#recompute(all, listVersion);
  }

  /**
   * Everything an agent needs to converge from nothing (GET /snapshot, reconnects). `completeUpTo`:
   * the resourceVersion V this replica's view is complete as of (every write up to V seen). The
   * snapshot then carries revision V × SLOT: the agent removes a fragment the snapshot does not name
   * only when it holds it below that revision, i.e. made from objects no newer than V, which this
   * view knows. Content another replica made from something newer (base ≥ V: equal is kept too, to
   * be safe) stays until a replica whose view knows it says otherwise, so a replica with an older
   * view cannot delete newer fragments. Without V (0: no list yet, --no-list) the revision is 0: the
   * view is complete as of nothing, so its snapshot removes nothing (what it has seen deleted it sent
   * as deletions). A snapshot without a revision would remove everything it does not name, at the
   * revisions the agent held: a replica fed by events that had not seen them yet (another replica
   * had) wiped them, and its own later puts of the same revisions were stale, for good.
   */
  snapshot(completeUpTo = 0, withFragments = true): Batch & { revision?: number } {
    const batch: Batch & { revision?: number } = {
      fragments: withFragments ? [...this.#fragments].map(([name, f]) => this.#changeOf(name, f)) : [],
      endpoints: [...this.#endpoints.values()].map((e) => e.change),
      // Always a list, even empty: the agent then removes the certificates it does not name.
      certificates: [...this.#certificates.values()].map((c) => c.change),
      complete: true,
    };
    batch.revision = Math.min(Math.max(completeUpTo, 0), MAX_BASE) * SLOT;
    return batch;
  }

  /**
   * The snapshot as GET /snapshot streams it (snapshot-stream.ts): the same content as `snapshot()`,
   * taken at this moment, but each fragment's text unpacked only when it is written, so the whole
   * desired state (310 MB at 100,000 Ingresses) is never held as text at once.
   */
  snapshotParts(completeUpTo = 0): SnapshotParts {
    const held = [...this.#fragments].map(([name, f]) => ({ name, revision: f.revision, config: f.config, files: f.files }));
    const packer = this.#packer;
    const { fragments: _none, ...rest } = this.snapshot(completeUpTo, false);
    return {
      ...rest,
      count: held.length,
      *fragments() {
        for (const f of held) yield { name: f.name, revision: f.revision, config: packer.unpack(f.config), files: f.files };
      },
    };
  }

  /** Desired fragment by name (tests, debugging). */
  fragment(name: string): FragmentChange | undefined {
    const held = this.#fragments.get(name);
    return held && this.#changeOf(name, held);
  }

  /** A held fragment as it is sent: its text unpacked. */
  #changeOf(name: string, held: HeldFragment): Extract<FragmentChange, { config: string }> {
    return { name, revision: held.revision, config: this.#packer.unpack(held.config), files: held.files };
  }

  endpointSet(upstream: string): EndpointChange | undefined {
    return this.#endpoints.get(upstream)?.change;
  }

  certificate(name: string): CertificateChange | undefined {
    return this.#certificates.get(name)?.change;
  }

  counts(): { fragments: number; endpoints: number } {
    return { fragments: this.#fragments.size, endpoints: this.#endpoints.size };
  }

  /**
   * Anti-entropy after a relist at `listVersion` (L): where an agent holds different content (other
   * low bits) made from objects no newer than L, this replica's content (the truth as of L) gets a
   * revision above both and is pushed again; fragments the agent holds that nobody wants any more
   * are deleted. Content with a base above L is left alone: its replica saw something after L.
   */
  reconcile(agent: AgentState, listVersion: number): DesiredUpdate {
    const update = emptyUpdate();
    const base = Math.min(listVersion, MAX_BASE);
    // A base above L means that replica saw something after our list: it knows more, leave it.
    const newer = (base + 1) * SLOT;
    /** Our revision again, raised to the list and above theirs; null when theirs needs no answer. */
    const answer = (ours: number, theirs: number | undefined): number | null => {
      if (theirs === ours) return null;
      if (theirs !== undefined && (contentBits(theirs) === contentBits(ours) || theirs >= newer)) return null;
      let next = Math.max(ours, base * SLOT + contentBits(ours));
      if (theirs !== undefined && next <= theirs) next = above(theirs, contentBits(ours));
      return next;
    };
    const theirs = new Map(agent.fragments.filter((f) => !f.deleted).map((f) => [f.name, f.revision]));
    for (const [name, held] of this.#fragments) {
      const next = answer(held.revision, theirs.get(name));
      if (next === null) continue;
      held.revision = next;
      update.fragments.push(this.#changeOf(name, held));
    }
    for (const [name, revision] of theirs) {
      if (this.#fragments.has(name) || revision >= newer) continue;
      const next = nextRevision(base, 0, Math.max(revision, this.#deletedFragments.get(name) ?? 0));
      this.#deletedFragments.set(name, next);
      update.fragments.push({ name, revision: next, deleted: true });
    }
    if (agent.endpoints) {
      const eps = new Map(agent.endpoints.filter((e) => e.endpoints !== null).map((e) => [e.upstream, e.revision]));
      for (const [upstream, held] of this.#endpoints) {
        const next = answer(held.change.revision, eps.get(upstream));
        if (next === null) continue;
        held.change = { ...held.change, revision: next };
        update.endpoints.push(held.change);
      }
    }
    if (agent.certificates) {
      const certs = new Map(agent.certificates.filter((c) => !c.deleted).map((c) => [c.name, c.revision]));
      for (const [name, held] of this.#certificates) {
        const next = answer(held.change.revision, certs.get(name));
        if (next === null) continue;
        held.change = { ...held.change, revision: next };
        (update.certificates ??= []).push(held.change);
      }
    }
    return update;
  }

  #recompute(affected: Affected, trigger: number): DesiredUpdate {
    const started = performance.now();
    const update = emptyUpdate();
    const global = this.#index.global();
    if (affected.global) this.#setFragment(update, MAIN_FRAGMENT, () => renderMain(global), this.#versionOf(this.#configMap), trigger);
    if (affected.defaultServer) {
      const d = this.#index.defaultServer();
      // The default certificate's Secret contributes (--default-ssl-certificate, or an HTTPS Gateway
      // listener on 443 without a hostname): a renewal is newer content.
      this.#setFragment(update, DEFAULT_FRAGMENT, () => renderDefaultServer(d, global), this.#contributors(d.sources, d.locations, { tls: d.tls ?? null }), trigger);
    }
    for (const host of affected.hosts) {
      const server = this.#index.server(host);
      const name = fragmentName(host);
      if (!server) this.#setFragment(update, name, null, 0, trigger);
      else this.#setFragment(update, name, () => renderHost(server, global), this.#contributors(server.sources, server.locations, server), trigger);
      const secret = server?.tls?.secret;
      this.#setCertificates(update, host, server ? serverCertificates(server) : [], secret ? this.#view.versionOf({ kind: 'Secret', namespace: secret.namespace, name: secret.name }) : 0, trigger);
      this.#expiry.set(host, server);
    }
    if (affected.hosts.length || affected.defaultServer || affected.global) this.#metrics.renderSeconds.observe((performance.now() - started) / 1000);
    if (affected.streams) this.#setStreams(update, trigger);
    for (const upstream of affected.upstreams) this.#setEndpoints(update, upstream, this.#index.endpoints(upstream), trigger);
    // Set when they change only (a labelled set costs a hash; an endpoint change changes neither).
    if (this.#shownCounts[0] !== this.#fragments.size) this.#metrics.desired.set({ what: 'fragments' }, (this.#shownCounts[0] = this.#fragments.size));
    if (this.#shownCounts[1] !== this.#endpoints.size) this.#metrics.desired.set({ what: 'endpoints' }, (this.#shownCounts[1] = this.#endpoints.size));
    return update;
  }

  /** The TCP and UDP service ports: one fragment each, made of the services ConfigMaps, the TCPRoutes and UDPRoutes, and their Services. */
  #setStreams(update: DesiredUpdate, trigger: number): void {
    const routes = this.#index.streams();
    let v = 0;
    for (const key of [this.#index.settings.tcpServicesConfigMap, this.#index.settings.udpServicesConfigMap]) {
      const [namespace, name] = key?.split('/') ?? [];
      if (namespace !== undefined && name !== undefined) v = Math.max(v, this.#view.versionOf({ kind: 'ConfigMap', namespace, name }));
    }
    for (const r of routes) {
      v = Math.max(v, this.#view.versionOf({ kind: 'Service', namespace: r.backend.namespace, name: r.backend.service }));
      // A TCPRoute's or UDPRoute's port: the route is a source too.
      if (r.source.kind === 'TCPRoute' || r.source.kind === 'UDPRoute') v = Math.max(v, this.#view.versionOf({ kind: r.source.kind, namespace: r.source.namespace, name: r.source.name }));
    }
    const fragments = renderStreams(routes);
    const names = new Set(fragments.map((f) => f.name));
    for (const name of this.#streamFragments) if (!names.has(name)) this.#setFragment(update, name, null, v, trigger);
    for (const f of fragments) this.#setFragment(update, f.name, () => f, v, trigger);
    this.#streamFragments = names;
  }

  #versionOf(key: ObjectKey | null): number {
    return key ? this.#view.versionOf(key) : 0;
  }

  /** The highest resourceVersion among the objects a server is made of. */
  #contributors(sources: Server['sources'], locations: Location[], server?: Pick<Server, 'tls'>): number {
    let v = this.#versionOf(this.#configMap);
    const see = (kind: Kind, namespace: string, name: string) => {
      v = Math.max(v, this.#view.versionOf({ kind, namespace, name }));
    };
    // Sources are Ingresses and routes, both kinds of the view.
    for (const s of sources) see(s.kind as Kind, s.namespace, s.name);
    // --default-backend-service's Service: every server's fallback and error pages name it.
    const fallback = this.#index.global().defaultBackend;
    if (fallback) see('Service', fallback.namespace, fallback.service);
    if (server?.tls) see('Secret', server.tls.secret.namespace, server.tls.secret.name);
    for (const l of locations) {
      if (l.backend) see('Service', l.backend.namespace, l.backend.service);
      for (const w of l.backends ?? []) if (w.backend) see('Service', w.backend.namespace, w.backend.service);
      if (l.canary) {
        see('Service', l.canary.backend.namespace, l.canary.backend.service);
        see('Ingress', l.canary.source.namespace, l.canary.source.name);
      }
      if (l.settings.basicAuth) see('Secret', l.settings.basicAuth.secret.namespace, l.settings.basicAuth.secret.name);
    }
    return v;
  }

  #setFragment(update: DesiredUpdate, name: string, render: (() => Fragment) | null, contributors: number, trigger: number): void {
    const held = this.#fragments.get(name);
    let fragment: Fragment | null = null;
    if (render) {
      try {
        fragment = render();
      } catch (e) {
        if (!(e instanceof UnsafeValueError)) throw new Error(`rendering fragment ${name}: ${(e as Error).message}`, { cause: e });
        // The model should have refused the value first; keep serving what was there.
        this.#log.error('a value was refused while rendering; the fragment keeps its previous content', { fragment: name, error: e.message });
        return;
      }
    }
    const base = Math.max(contributors, trigger);
    if (!fragment) {
      if (!held) return;
      this.#fragments.delete(name);
      const revision = nextRevision(base, 0, held.revision);
      this.#deletedFragments.set(name, revision);
      update.fragments.push({ name, revision, deleted: true });
      return;
    }
    const digest = digestOf(fragment);
    if (held && held.digest === digest) return;
    const revision = nextRevision(base, lowBits(digest), held?.revision ?? this.#deletedFragments.get(name));
    const files = Object.keys(fragment.files).length ? fragment.files : NO_FILES;
    this.#fragments.set(name, { revision, config: this.#packer.pack(fragment.config), files, digest });
    this.#deletedFragments.delete(name);
    if (this.#fragmentChanges) update.fragments.push({ name, revision, config: fragment.config, files: fragment.files });
  }

  /** The certificates `host` needs now: new or changed ones pushed, the ones it no longer needs deleted. */
  #setCertificates(update: DesiredUpdate, host: string, certificates: Certificate[], secretVersion: number, trigger: number): void {
    const before = this.#hostCertificates.get(host) ?? [];
    if (before.length === 0 && certificates.length === 0) return;
    const base = Math.max(secretVersion, trigger);
    const names = new Set(certificates.map((c) => c.name));
    for (const name of before) {
      const held = this.#certificates.get(name);
      if (names.has(name) || !held || held.host !== host) continue;
      this.#certificates.delete(name);
      const revision = nextRevision(base, 0, held.change.revision);
      this.#deletedCertificates.set(name, revision);
      (update.certificates ??= []).push({ name, revision, deleted: true });
    }
    for (const c of certificates) {
      const held = this.#certificates.get(c.name);
      const digest = createHash('sha256').update(c.cert).update('\0').update(c.key).digest('hex');
      if (held && held.digest === digest) {
        held.host = host;
        continue;
      }
      const revision = nextRevision(base, lowBits(digest), held?.change.revision ?? this.#deletedCertificates.get(c.name));
      const change = { name: c.name, revision, cert: c.cert, key: c.key };
      this.#certificates.set(c.name, { change, digest, host });
      this.#deletedCertificates.delete(c.name);
      (update.certificates ??= []).push(change);
    }
    if (names.size) this.#hostCertificates.set(host, [...names]);
    else this.#hostCertificates.delete(host);
  }

  #setEndpoints(update: DesiredUpdate, upstream: string, endpoints: string[] | null, trigger: number): void {
    const held = this.#endpoints.get(upstream);
    if (!endpoints) {
      if (!held) return;
      this.#endpoints.delete(upstream);
      const revision = nextRevision(trigger, 0, held.change.revision);
      this.#deletedEndpoints.set(upstream, revision);
      update.endpoints.push({ upstream, revision, deleted: true });
      return;
    }
    const digest = createHash('sha256').update(endpoints.join(' ')).digest('hex');
    if (held && held.digest === digest) return;
    const revision = nextRevision(trigger, lowBits(digest), held?.change.revision ?? this.#deletedEndpoints.get(upstream));
    const change = { upstream, revision, endpoints };
    this.#endpoints.set(upstream, { change, digest });
    this.#deletedEndpoints.delete(upstream);
    update.endpoints.push(change);
  }
}

/** What parseForModel made: given again (a list parsed page by page, then replaced), it is taken as it is. */
const parsedForModel = new WeakSet<object>();

/** Parses an object for the model (and the view); problems come back as `field: reason` lines. */
export function parseForModel(object: unknown): { ok: true; value: KubeObject } | { ok: false; problems: string[] } {
  if (typeof object === 'object' && object !== null && parsedForModel.has(object)) return { ok: true, value: object as KubeObject };
  const parsed = parseObject(object);
  if (!parsed.ok) {
    // A kind the view reads that the model does not translate (its only problem is the kind): held
    // as it is, nothing is rendered from it, and its events are not refused as malformed.
    const only = parsed.problems.length === 1 && parsed.problems[0]!.field === 'kind';
    if (only && isKind((object as { kind?: unknown } | null)?.kind)) return { ok: true, value: object as KubeObject };
    return { ok: false, problems: parsed.problems.map((p) => p.message) };
  }
  parsedForModel.add(parsed.value);
  return { ok: true, value: parsed.value as unknown as KubeObject };
}

/**
 * The handler's watch feed keeps listed objects parsed, page by page (StreamWatcherOptions.prepare):
 * an object that does not parse is kept as it is, and refused with its problems when the list is
 * applied, as before.
 */
export function preparedForModel(object: KubeObject): KubeObject {
  const parsed = parseForModel(object);
  return parsed.ok ? parsed.value : object;
}
