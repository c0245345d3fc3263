// The cluster's objects with the indexes that make changes cheap: one Translation per Ingress,
// host → Ingresses, Secret/Service → Ingresses, Service → EndpointSlices, and the upstream names.
// After one object changes, `upsert`/`remove` say which hosts, upstreams and settings may have
// changed, and `server(host)` rebuilds one host in O(that host). Pure data: no I/O, no clock.
import { objectKey, type ClusterState, type ControllerSettings, type ObjectKey } from './cluster-state.ts';
import { endpointsFor, serviceKeyOfSlice } from './endpoints.ts';
import { defaultCertificate, type DefaultCertificate } from './default-certificate.ts';
import { parseGlobalSettings } from './global-settings.ts';
import { DEFAULT_BACKEND_USER, defaultBackendRef } from './global-default-backend.ts';
import { hostSettingsDigest } from './settings-table.ts';
import { mergeHost, type MergedHost } from './merge-host.ts';
import { resolveNames, type NameLookup } from './server-names.ts';
import { cmp, compareProblems } from './problems.ts';
import type { ConfigMap, EndpointSlice, Ingress, IngressClass, KubeKind, KubeObject, Secret, Service } from './schemas.ts';
import { clientCaOf, htpasswdOf, proxySslOf, tlsMaterial, type TlsMaterial } from './secrets.ts';
import { snippetPolicy } from './snippet-rules.ts';
import { runSteps } from './steps.ts';
import { DEFAULT_HOST, translateIngress, translationSteps, type TranslateContext, type Translation } from './translate-ingress.ts';
import type { GlobalSettings, ObjectRef, Problem, RoutingModel, Server, ServiceBackend, Tls } from './types.ts';
import { GatewayStore, gatewayObjectKey, translationFingerprint, type GatewayResult } from './gateway-index.ts';
import { gatewayProblems } from './validate-gateway.ts';
import type { GatewayApiObject } from './gateway-schemas.ts';
import type { GatewayClassStatus, GatewayStatus, RouteStatus } from './gateway-status.ts';
import { plainUpstreamName, UpstreamNames, upstreamRefKey, type Rename, type UpstreamRef } from './upstreams.ts';
import { STREAM_USER, StreamState } from './stream-state.ts';
import { mergeStreamRoutes, streamPortWarnings, type StreamHolders } from './stream-routes.ts';
import type { RouteKindName } from './translate-httproute.ts';
import { BoundedCache, compactMerged, compactTranslation } from './compact.ts';

/** Merged hosts kept at once (about 0.7 KB each for a host of one Ingress). */
const MERGED_CACHE = 4096;

/** What one change may have changed: re-render these, re-send these endpoint sets. */
export interface Affected {
  /** Hosts whose Server may differ (sorted); `server(host)` null means the host is gone. */
  hosts: string[];
  /** The default server (rules without a host, spec.defaultBackend) may differ. */
  defaultServer: boolean;
  /** The global settings (the ConfigMap) changed. */
  global: boolean;
  /** The TCP and UDP services (their ConfigMaps, or an upstream name they use) may differ. */
  streams?: boolean;
  /** Upstreams whose endpoint set may differ, or that appeared or went away (sorted). */
  upstreams: string[];
  /** Ingresses whose problems or hosts may differ (sorted keys): for Events and status. */
  ingresses: ObjectKey[];
  /**
   * Gateway API objects whose status changed (sorted `Kind namespace/name`, GatewayClass with an
   * empty namespace): hand `gatewayStatus(kind, namespace, name)` of each to the status writer.
   */
  gatewayObjects: string[];
}

class Collector {
  readonly hosts = new Set<string>();
  /** Names (server-alias, from-to-www-redirect) that changed Ingresses claimed before or claim now. */
  readonly names = new Set<string>();
  readonly upstreams = new Set<string>();
  readonly ingresses = new Set<ObjectKey>();
  readonly gatewayObjects = new Set<string>();
  global = false;
  streams = false;
  done(): Affected {
    const hosts = [...this.hosts].filter((h) => h !== DEFAULT_HOST).sort(cmp);
    return {
      hosts,
      defaultServer: this.hosts.has(DEFAULT_HOST),
      global: this.global,
      ...(this.streams ? { streams: true } : {}),
      upstreams: [...this.upstreams].sort(cmp),
      // Route keys ("HTTPRoute ns/name") share the index's translations; they are reported as Gateway API objects.
      ingresses: [...this.ingresses].filter((k) => !k.includes(' ')).sort(cmp),
      gatewayObjects: [...this.gatewayObjects].sort(cmp),
    };
  }
}

function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(value);
}

function removeFrom<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}

/** The route a route key (`Kind namespace/name`) names. */
function routeOfKey(key: ObjectKey): { kind: RouteKindName; namespace: string; name: string } {
  const space = key.indexOf(' ');
  const slash = key.indexOf('/');
  return { kind: key.slice(0, space) as RouteKindName, namespace: key.slice(space + 1, slash), name: key.slice(slash + 1) };
}

/** The cluster state plus indexes; also a ClusterState itself (read-only maps). */
export class RoutingIndex implements ClusterState {
  readonly settings: ControllerSettings;
  private readonly _ingresses = new Map<ObjectKey, Ingress>();
  private readonly _classes = new Map<string, IngressClass>();
  private readonly _services = new Map<ObjectKey, Service>();
  private readonly _slices = new Map<ObjectKey, EndpointSlice>();
  private readonly _secrets = new Map<ObjectKey, Secret>();
  private _configMap: ConfigMap | null = null;
  /** The TCP and UDP services ConfigMaps and what they route (stream-state.ts). */
  private readonly stream: StreamState;
  /** The TCPRoutes and UDPRoutes that route some stream port (keys of `translations`). */
  private readonly streamRoutes = new Set<ObjectKey>();

  private readonly translations = new Map<ObjectKey, Translation>();
  private readonly hostIngresses = new Map<string, Set<ObjectKey>>();
  private readonly secretUsers = new Map<ObjectKey, Set<ObjectKey>>();
  private readonly serviceUsers = new Map<ObjectKey, Set<ObjectKey>>();
  private readonly serviceSlices = new Map<ObjectKey, Set<ObjectKey>>();
  /** Name → Ingresses whose server-alias or from-to-www-redirect may claim it. */
  private readonly nameClaims = new Map<string, Set<ObjectKey>>();
  private readonly names = new UpstreamNames();
  /** Merged hosts, recomputed when missing: the recent ones only (compact.ts). */
  private readonly merged = new BoundedCache<string, MergedHost>(MERGED_CACHE);
  /** Hosts that ask for names, with the names resolved against the other hosts (server-names.ts). */
  private readonly named = new Map<string, MergedHost>();
  private readonly lookup: NameLookup = {
    merged: (host) => this.mergedHost(host),
    claimants: (name) => this.claimantHosts(name, null),
  };
  private globalSettings: GlobalSettings;
  private globalProblems: Problem[];
  /** --default-backend-service's upstream while its Service has a port (global-default-backend.ts). */
  private defaultBackend: UpstreamRef | null = null;
  private readonly tlsMemo = new WeakMap<Secret, TlsMaterial>();
  /**
   * The last usable certificate and key of each TLS Secret: when a change breaks them (a key that
   * does not match its certificate), hosts keep serving these, with a warning, rather than lose TLS.
   * Only what this index saw: one that starts with the broken Secret serves the hosts without TLS.
   */
  private readonly usableTls = new Map<ObjectKey, Extract<TlsMaterial, { ok: true }>>();
  private readonly htpasswdMemo = new WeakMap<Secret, ReturnType<typeof htpasswdOf>>();
  private readonly caMemo = new WeakMap<Secret, ReturnType<typeof clientCaOf>>();
  private readonly proxySslMemo = new WeakMap<Secret, ReturnType<typeof proxySslOf>>();
  private defaultCert: { secret: Secret | undefined; value: DefaultCertificate | null } | null = null;
  private readonly ctx: TranslateContext;
  private readonly gateway: GatewayStore;
  private gatewayResult: GatewayResult = { translations: new Map(), classes: [], gateways: [], routes: new Map(), defaultTls: null };
  private gatewayStatuses = new Map<string, { json: string; status: GatewayClassStatus | GatewayStatus | RouteStatus }>();
  /** Inside batch(): the Gateway API translation waits for the end of the batch. */
  private gatewayDeferred: 'no' | 'clean' | 'dirty' = 'no';

  constructor(settings: ControllerSettings, state?: ClusterState) {
    this.settings = settings;
    this.gateway = new GatewayStore(settings.nginxPorts, settings.sslPassthrough === true);
    this.stream = new StreamState(settings, this.names);
    this.ctx = {
      settings,
      ingressClasses: this._classes,
      services: this._services,
      secrets: this._secrets,
      tlsOf: (s) => this.memo(this.tlsMemo, s, (x) => this.tlsOrPrevious(x)),
      htpasswdOf: (s) => this.memo(this.htpasswdMemo, s, htpasswdOf),
      clientCaOf: (s) => this.memo(this.caMemo, s, clientCaOf),
      proxySslOf: (s) => this.memo(this.proxySslMemo, s, proxySslOf),
      snippetPolicy: () => snippetPolicy(this.settings, this.globalSettings),
      defaultCertificate: () => this.defaultCertificate(),
    };
    ({ settings: this.globalSettings, problems: this.globalProblems } = parseGlobalSettings(null, this.settings));
    if (!state) return;
    for (const c of state.ingressClasses.values()) this._classes.set(c.metadata.name, c);
    for (const [k, s] of state.services) this._services.set(k, s);
    for (const [k, s] of state.secrets) this._secrets.set(k, s);
    for (const [k, s] of state.endpointSlices) this.putSlice(k, s);
    if (state.configMap && !this.stream.owns(objectKey(state.configMap.metadata.namespace, state.configMap.metadata.name))) this.putConfigMap(state.configMap);
    this.refreshDefaultBackend(new Collector());
    for (const [k, ing] of state.ingresses) {
      this._ingresses.set(k, ing);
      this.retranslate(k, new Collector());
    }
    if (state.gatewayApi?.size) {
      for (const o of state.gatewayApi.values()) this.gateway.put(o.kind, o.metadata.namespace, o.metadata.name, o);
      this.regateway(new Collector());
    }
    for (const [k, cm] of state.configMaps ?? []) if (this.stream.owns(k)) this.stream.put(k, cm, this.gateway.objects(), new Collector());
  }

  /** The Gateway API objects and Namespaces held, by `Kind namespace/name`. */
  get gatewayApi(): ReadonlyMap<string, GatewayApiObject> {
    return this.gateway.objects();
  }

  /**
   * Redoes the Gateway API translation, then re-indexes the routes whose Translation changed and
   * notes the objects whose status changed.
   */
  private regateway(out: Collector, route?: { kind: RouteKindName; namespace: string; name: string }): void {
    if (this.gatewayDeferred !== 'no') {
      this.gatewayDeferred = 'dirty';
      return;
    }
    // One route changed: only it is translated again (its listeners' counts move), not every route.
    const change = route ? this.gateway.routeChanged(route.kind, route.namespace, route.name) : null;
    if (change) {
      this.gatewayResult = change.result;
      if (translationFingerprint(this.translations.get(change.routeKey)) !== translationFingerprint(change.result.translations.get(change.routeKey))) this.retranslate(change.routeKey, out);
      for (const key of change.statusKeys) {
        const [kind, rest] = [key.slice(0, key.indexOf(' ')), key.slice(key.indexOf(' ') + 1)];
        const status = kind === 'Gateway' ? change.result.gateways.find((g) => `${g.ref.namespace}/${g.ref.name}` === rest) : change.result.routes.get(key);
        const json = status ? JSON.stringify(status) : undefined;
        if (this.gatewayStatuses.get(key)?.json === json) continue;
        out.gatewayObjects.add(key);
        if (status) this.gatewayStatuses.set(key, { json: json!, status });
        else this.gatewayStatuses.delete(key);
      }
      return;
    }
    const before = this.gatewayResult.translations;
    const tlsBefore = this.gatewayResult.defaultTls;
    this.gatewayResult = this.gateway.translate(this._services, this._secrets, this.ctx.tlsOf);
    const tlsAfter = this.gatewayResult.defaultTls;
    if (JSON.stringify(tlsBefore) !== JSON.stringify(tlsAfter)) {
      // The default server presents another certificate, or none: it is rendered again.
      out.hosts.add(DEFAULT_HOST);
      this.merged.delete(DEFAULT_HOST);
    }
    const after = this.gatewayResult.translations;
    for (const key of new Set([...before.keys(), ...after.keys()])) {
      if (translationFingerprint(before.get(key)) !== translationFingerprint(after.get(key))) this.retranslate(key, out);
    }
    const next = new Map<string, { json: string; status: GatewayClassStatus | GatewayStatus | RouteStatus }>();
    for (const status of [...this.gatewayResult.classes, ...this.gatewayResult.gateways, ...this.gatewayResult.routes.values()]) {
      next.set(gatewayObjectKey(status.ref.kind, status.ref.namespace, status.ref.name), { json: JSON.stringify(status), status });
    }
    for (const key of new Set([...this.gatewayStatuses.keys(), ...next.keys()])) {
      if (this.gatewayStatuses.get(key)?.json !== next.get(key)?.json) out.gatewayObjects.add(key);
    }
    this.gatewayStatuses = next;
  }

  /**
   * Applies many changes (a relist) with the Gateway API translation done once at the end rather
   * than after each: `changes` runs its upserts and removes, and the result is what they all
   * affected, the routes' hosts and statuses included.
   */
  batch(changes: (index: this) => Affected[]): Affected {
    this.gatewayDeferred = 'clean';
    let results: Affected[];
    try {
      results = changes(this);
    } finally {
      const dirty = (this.gatewayDeferred as string) === 'dirty';
      this.gatewayDeferred = 'no';
      if (dirty) {
        const out = new Collector();
        this.regateway(out);
        this.spreadNames(out);
        for (const h of out.hosts) for (const k of this.hostIngresses.get(h) ?? []) out.ingresses.add(k);
        results = [...(results! ?? []), out.done()];
      }
    }
    const set = (f: (a: Affected) => string[]) => [...new Set(results.flatMap(f))].sort(cmp);
    return {
      hosts: set((a) => a.hosts),
      defaultServer: results.some((a) => a.defaultServer),
      global: results.some((a) => a.global),
      ...(results.some((a) => a.streams) ? { streams: true } : {}),
      upstreams: set((a) => a.upstreams),
      ingresses: set((a) => a.ingresses),
      gatewayObjects: set((a) => a.gatewayObjects),
    };
  }

  /** What wharf concludes about a GatewayClass, Gateway or HTTPRoute it serves (null: not one of its own). */
  gatewayStatus(kind: string, namespace: string, name: string): GatewayClassStatus | GatewayStatus | RouteStatus | null {
    return this.gatewayStatuses.get(gatewayObjectKey(kind, kind === 'GatewayClass' ? '' : namespace, name))?.status ?? null;
  }

  /** Every status wharf concludes for the Gateway API objects it serves. */
  gatewayStatusList(): { classes: GatewayClassStatus[]; gateways: GatewayStatus[]; routes: RouteStatus[] } {
    const { classes, gateways, routes } = this.gatewayResult;
    // Sorted by key: a route changed alone goes to the end of the map.
    return { classes, gateways, routes: [...routes.entries()].sort(([a], [b]) => cmp(a, b)).map(([, r]) => r) };
  }

  /** --default-ssl-certificate's Secret as the model uses it (the same object while the Secret is). */
  private defaultCertificate(): DefaultCertificate | null {
    const key = this.settings.defaultSslCertificate;
    if (key === undefined) return null;
    const secret = this._secrets.get(key);
    if (!this.defaultCert || this.defaultCert.secret !== secret) this.defaultCert = { secret, value: defaultCertificate(key, this._secrets, this.ctx.tlsOf) };
    return this.defaultCert.value;
  }

  private tlsOrPrevious(secret: Secret): TlsMaterial {
    const key = objectKey(secret.metadata.namespace, secret.metadata.name);
    const m = tlsMaterial(secret);
    if (m.ok) {
      this.usableTls.set(key, m);
      return m;
    }
    const previous = this.usableTls.get(key);
    return previous && secret.type === 'kubernetes.io/tls' ? { ...previous, refused: m.reason } : m;
  }

  private memo<T>(cache: WeakMap<Secret, T>, secret: Secret, compute: (s: Secret) => T): T {
    let v = cache.get(secret);
    if (v === undefined) cache.set(secret, (v = compute(secret)));
    return v;
  }

  // ClusterState
  get ingresses(): ReadonlyMap<ObjectKey, Ingress> {
    return this._ingresses;
  }
  get ingressClasses(): ReadonlyMap<string, IngressClass> {
    return this._classes;
  }
  get services(): ReadonlyMap<ObjectKey, Service> {
    return this._services;
  }
  get endpointSlices(): ReadonlyMap<ObjectKey, EndpointSlice> {
    return this._slices;
  }
  get secrets(): ReadonlyMap<ObjectKey, Secret> {
    return this._secrets;
  }
  get configMap(): ConfigMap | null {
    return this._configMap;
  }

  /** Adds or replaces an object (parsed by schemas.ts). */
  upsert(obj: KubeObject): Affected {
    return this.apply(obj.kind, obj.metadata.namespace, obj.metadata.name, obj);
  }

  /** Removes an object; removing one that is not there changes nothing. */
  remove(kind: KubeKind, namespace: string, name: string): Affected {
    return this.apply(kind, kind === 'IngressClass' || kind === 'GatewayClass' || kind === 'Namespace' ? '' : namespace, name, null);
  }

  private apply(kind: KubeKind, namespace: string, name: string, obj: KubeObject | null): Affected {
    const out = new Collector();
    const key = objectKey(namespace, name);
    switch (kind) {
      case 'Ingress':
        if (obj) this._ingresses.set(key, obj as Ingress);
        else this._ingresses.delete(key);
        this.retranslate(key, out);
        break;
      case 'IngressClass':
        if (obj) this._classes.set(name, obj as IngressClass);
        else this._classes.delete(name);
        for (const k of [...this._ingresses.keys()]) this.retranslate(k, out);
        break;
      case 'Service':
        if (obj) this._services.set(key, obj as Service);
        else this._services.delete(key);
        for (const k of [...(this.serviceUsers.get(key) ?? [])]) {
          if (!k.includes(' ')) this.retranslate(k, out);
          // A route that names this Service (resolved or not): that route alone.
          else this.regateway(out, routeOfKey(k));
        }
        this.serviceUpstreams(key, out);
        if (key === this.settings.defaultBackendService) this.refreshDefaultBackend(out);
        break;
      case 'Secret':
        if (obj) this._secrets.set(key, obj as Secret);
        else {
          this._secrets.delete(key);
          this.usableTls.delete(key);
        }
        for (const k of [...(this.secretUsers.get(key) ?? [])]) if (!k.includes(' ')) this.retranslate(k, out);
        // The default server presents the default certificate.
        if (key === this.settings.defaultSslCertificate) out.hosts.add(DEFAULT_HOST);
        // Listener certificates: every route may attach differently.
        if (this.gateway.usesSecret(namespace, name)) this.regateway(out);
        break;
      case 'HTTPRoute':
      case 'GRPCRoute':
      case 'TLSRoute':
      case 'TCPRoute':
      case 'UDPRoute':
        this.gateway.put(kind, namespace, name, obj as GatewayApiObject | null);
        this.regateway(out, { kind, namespace, name });
        break;
      case 'GatewayClass':
      case 'Gateway':
      case 'ReferenceGrant':
      case 'Namespace':
        this.gateway.put(kind, namespace, name, obj as GatewayApiObject | null);
        this.regateway(out);
        // Gateway listeners' ports (of wharf's classes) are not the services ConfigMaps' to take.
        if (kind === 'Gateway' || kind === 'GatewayClass') this.stream.refresh(this.gateway.objects(), out);
        break;
      case 'EndpointSlice': {
        const old = this._slices.get(key);
        const oldService = old ? serviceKeyOfSlice(old) : null;
        if (old) this.dropSlice(key, old);
        if (obj) this.putSlice(key, obj as EndpointSlice);
        const newService = obj ? serviceKeyOfSlice(obj as EndpointSlice) : null;
        for (const s of new Set([oldService, newService])) if (s) this.serviceUpstreams(s, out);
        break;
      }
      case 'ConfigMap': {
        // The TCP and UDP services ConfigMaps are never the global one.
        if (this.stream.owns(key)) {
          this.stream.put(key, obj as ConfigMap | null, this.gateway.objects(), out);
          break;
        }
        if (this.settings.configMap !== undefined && key !== this.settings.configMap) break;
        const before = hostSettingsDigest(this.globalSettings);
        const snippetsOff = this.globalSettings.allowSnippetAnnotations === false;
        if (obj) this.putConfigMap(obj as ConfigMap);
        else {
          this._configMap = null;
          ({ settings: this.globalSettings, problems: this.globalProblems } = parseGlobalSettings(null, this.settings));
          this.refreshDefaultBackend(null);
        }
        out.global = true;
        // allow-snippet-annotations decides whether Ingresses with snippets are accepted at all.
        if (snippetsOff !== (this.globalSettings.allowSnippetAnnotations === false)) {
          for (const k of [...this._ingresses.keys()]) this.retranslate(k, out);
        }
        // Settings only `_main` uses (settings-table.ts) re-render no host.
        if (hostSettingsDigest(this.globalSettings) !== before) this.everyServer(out);
        break;
      }
    }
    this.spreadNames(out);
    // Problems of every Ingress on a changed host may differ (a conflict won or lost).
    for (const h of out.hosts) for (const k of this.hostIngresses.get(h) ?? []) out.ingresses.add(k);
    return out.done();
  }

  private putConfigMap(cm: ConfigMap): void {
    this._configMap = cm;
    ({ settings: this.globalSettings, problems: this.globalProblems } = parseGlobalSettings(cm, this.settings));
    this.refreshDefaultBackend(null);
  }

  /** Every server (the default one too) may differ: a setting they all use changed. */
  private everyServer(out: Collector): void {
    for (const h of this.hostIngresses.keys()) out.hosts.add(h);
    out.hosts.add(DEFAULT_HOST);
    this.merged.clear();
    this.named.clear();
  }

  /**
   * Resolves --default-backend-service against its Service again and puts it into the global
   * settings; with `out`, a change of its upstream is noted (its endpoint set, every server).
   */
  private refreshDefaultBackend(out: Collector | null): void {
    const ref = defaultBackendRef(this.settings.defaultBackendService, this._services);
    const old = this.defaultBackend;
    const before = JSON.stringify(this.globalSettings.defaultBackend);
    if ((old && upstreamRefKey(old)) !== (ref && upstreamRefKey(ref))) {
      const renamed: Rename[] = [];
      if (ref) {
        renamed.push(...this.names.add(ref, DEFAULT_BACKEND_USER));
        out?.upstreams.add(this.names.nameOf(ref));
      }
      if (old) {
        out?.upstreams.add(this.names.nameOf(old));
        renamed.push(...this.names.remove(old, DEFAULT_BACKEND_USER));
      }
      this.defaultBackend = ref;
      if (out) this.noteRenames(renamed, out);
    }
    if (ref) this.globalSettings.defaultBackend = { upstream: this.names.nameOf(ref), ...ref };
    else delete this.globalSettings.defaultBackend;
    if (out && JSON.stringify(this.globalSettings.defaultBackend) !== before) {
      out.global = true;
      this.everyServer(out);
    }
  }

  /** Upstreams renamed by a collision appearing or going away: their users' hosts render again. */
  private noteRenames(renamed: Rename[], out: Collector): void {
    for (const { ref, from, to } of renamed) {
      out.upstreams.add(from);
      out.upstreams.add(to);
      for (const user of this.names.usersOf(ref)) {
        // A stream port's upstream name is in its fragment.
        if (user === STREAM_USER || this.streamRoutes.has(user)) out.streams = true;
        out.ingresses.add(user);
        for (const h of this.translations.get(user)?.hosts ?? []) out.hosts.add(h);
      }
    }
  }

  private putSlice(key: ObjectKey, slice: EndpointSlice): void {
    this._slices.set(key, slice);
    const svc = serviceKeyOfSlice(slice);
    if (svc) addTo(this.serviceSlices, svc, key);
  }

  private dropSlice(key: ObjectKey, slice: EndpointSlice): void {
    this._slices.delete(key);
    const svc = serviceKeyOfSlice(slice);
    if (svc) removeFrom(this.serviceSlices, svc, key);
  }

  /** Upstreams of a Service, whose endpoints may have changed. */
  private serviceUpstreams(serviceKey: ObjectKey, out: Collector): void {
    for (const ref of this.names.refsOfService(serviceKey)) out.upstreams.add(this.names.nameOf(ref));
  }

  /** Redoes one Ingress's Translation and every index that depends on it. */
  private retranslate(key: ObjectKey, out: Collector): void {
    const old = this.translations.get(key);
    // Route keys ("HTTPRoute ns/name") take the Gateway API translation's result; others are Ingresses.
    const ingress = key.includes(' ') ? undefined : this._ingresses.get(key);
    const next = key.includes(' ') ? this.gatewayResult.translations.get(key) : ingress ? compactTranslation(translateIngress(ingress, this.ctx)) : undefined;
    if (!old && !next) return;
    out.ingresses.add(key);
    if (old?.streams || next?.streams) {
      if (JSON.stringify(old?.streams ?? []) !== JSON.stringify(next?.streams ?? []) || old?.rejected !== next?.rejected) out.streams = true;
      if (next?.streams?.length) this.streamRoutes.add(key);
      else this.streamRoutes.delete(key);
    }
    const renamed: Rename[] = [];
    if (old) {
      for (const h of old.hosts) {
        removeFrom(this.hostIngresses, h, key);
        out.hosts.add(h);
      }
      for (const s of old.secrets) removeFrom(this.secretUsers, s, key);
      for (const s of old.services) removeFrom(this.serviceUsers, s, key);
      for (const n of old.names) {
        removeFrom(this.nameClaims, n, key);
        out.names.add(n);
      }
    }
    // The new references are added before the old ones are dropped, so a triple kept across the
    // change is never momentarily unused (which could rename its collision group back and forth).
    if (next) {
      this.translations.set(key, next);
      for (const h of next.hosts) {
        addTo(this.hostIngresses, h, key);
        out.hosts.add(h);
      }
      for (const s of next.secrets) addTo(this.secretUsers, s, key);
      for (const s of next.services) addTo(this.serviceUsers, s, key);
      for (const n of next.names) {
        addTo(this.nameClaims, n, key);
        out.names.add(n);
      }
      for (const r of next.upstreamRefs) {
        const fresh = this.names.usersOf(r).size === 0;
        renamed.push(...this.names.add(r, key));
        if (fresh) out.upstreams.add(this.names.nameOf(r));
      }
    } else {
      this.translations.delete(key);
    }
    if (old) {
      const kept = new Set((next?.upstreamRefs ?? []).map(upstreamRefKey));
      for (const r of old.upstreamRefs) {
        if (kept.has(upstreamRefKey(r))) continue;
        const name = this.names.nameOf(r);
        renamed.push(...this.names.remove(r, key));
        if (this.names.usersOf(r).size === 0) out.upstreams.add(name);
      }
    }
    this.noteRenames(renamed, out);
    // The default backend's own name may have moved with a collision.
    if (this.defaultBackend && renamed.some((r) => upstreamRefKey(r.ref) === upstreamRefKey(this.defaultBackend!))) this.refreshDefaultBackend(out);
    for (const h of out.hosts) {
      this.merged.delete(h);
      this.named.delete(h);
    }
  }

  /**
   * Adds the hosts whose names may have moved: those asking for a name that a changed host asked for
   * before or asks for now, or for a changed host itself (which may have started or stopped being
   * served). Their own merges are unchanged, so this does not cascade further.
   */
  private spreadNames(out: Collector): void {
    if (this.nameClaims.size === 0) return;
    const names = new Set(out.names);
    for (const h of out.hosts) {
      names.add(h);
      for (const k of this.hostIngresses.get(h) ?? []) for (const n of this.translations.get(k)!.names) names.add(n);
    }
    for (const n of names) {
      for (const h of this.claimantHosts(n, null)) {
        if (out.hosts.has(h)) continue;
        out.hosts.add(h);
        this.named.delete(h);
      }
    }
  }

  /** Hosts of the Ingresses that may claim `name` (without the Ingress `except`). */
  private *claimantHosts(name: string, except: ObjectKey | null): Iterable<string> {
    for (const k of this.nameClaims.get(name) ?? []) {
      if (k === except) continue;
      for (const h of this.translations.get(k)!.hosts) if (h !== DEFAULT_HOST) yield h;
    }
  }

  /** The default server's certificate when it has one (an HTTPS listener on 443 without a hostname). */
  private defaultTlsFor(host: string): Tls | null {
    return host === DEFAULT_HOST ? this.gatewayResult.defaultTls : null;
  }

  private mergedHost(host: string): MergedHost {
    let m = this.merged.get(host);
    if (!m) {
      const contributors = [...(this.hostIngresses.get(host) ?? [])].map((k) => this.translations.get(k)!);
      m = compactMerged(mergeHost(host, contributors, this.globalSettings, (r) => this.names.nameOf(r), this.defaultTlsFor(host)));
      this.merged.set(host, m);
    }
    return m;
  }

  /** A host's merge with its server-alias and from-to-www-redirect names resolved. */
  private hostResult(host: string): MergedHost {
    const m = this.mergedHost(host);
    if (m.names.length === 0) return m;
    let r = this.named.get(host);
    if (!r) {
      r = { ...m, ...resolveNames(host, m, this.lookup) };
      this.named.set(host, r);
    }
    return r;
  }

  /** The Server of one host, or null when no accepted Ingress serves it. O(that host, and the hosts claiming its names). */
  server(host: string): Server | null {
    if (host === DEFAULT_HOST) return null;
    return this.hostResult(host).server;
  }

  /** The default server: rules without a host, then spec.defaultBackend of the oldest Ingress. */
  defaultServer(): RoutingModel['defaultServer'] {
    const s = this.mergedHost(DEFAULT_HOST).server;
    const tls = this.defaultCertificate()?.tls ?? this.gatewayResult.defaultTls ?? null;
    return s ? { locations: s.locations, sources: s.sources, tls } : { locations: [], sources: [], tls };
  }

  /** Settings from the ConfigMap (defaults when there is none). */
  global(): GlobalSettings {
    return this.globalSettings;
  }

  /** Every host some accepted Ingress claims, sorted (the default server excluded). */
  hosts(): string[] {
    return [...this.hostIngresses.keys()].filter((h) => h !== DEFAULT_HOST).sort(cmp);
  }

  /** Hosts an Ingress contributes to now (DEFAULT_HOST "" for the default server). */
  hostsOf(ingressKey: ObjectKey): string[] {
    return this.translations.get(ingressKey)?.hosts ?? [];
  }

  /** Ingresses that reference a Secret (TLS or basic auth). */
  ingressesUsingSecret(secretKey: ObjectKey): ObjectKey[] {
    return [...(this.secretUsers.get(secretKey) ?? [])].sort(cmp);
  }

  /** Ingresses whose backends point to a Service. */
  ingressesUsingService(serviceKey: ObjectKey): ObjectKey[] {
    return [...(this.serviceUsers.get(serviceKey) ?? [])].sort(cmp);
  }

  /** True when wharf handles this Ingress (its class selects wharf). */
  handles(ingressKey: ObjectKey): boolean {
    return this.translations.get(ingressKey)?.handled ?? false;
  }

  /** Every upstream an accepted Ingress references (conflict losers included), sorted by name. */
  upstreams(): ServiceBackend[] {
    return this.names
      .refs()
      .map((r) => ({ upstream: this.names.nameOf(r), namespace: r.namespace, service: r.service, port: r.port }))
      .sort((a, b) => cmp(a.upstream, b.upstream));
  }

  /** The endpoints of an upstream by name, or null when no Ingress uses that name. */
  endpoints(upstream: string): string[] | null {
    const ref = this.names.refOf(upstream);
    if (!ref) return null;
    const serviceKey = objectKey(ref.namespace, ref.service);
    const slices = [...(this.serviceSlices.get(serviceKey) ?? [])].map((k) => this._slices.get(k)!);
    return endpointsFor(this._services.get(serviceKey), ref.port, slices);
  }

  /** Problems of one Ingress: its own, and the conflicts it lost on its hosts. */
  problemsOf(ingressKey: ObjectKey): Problem[] {
    const t = this.translations.get(ingressKey);
    if (!t || !t.handled) return [];
    const out = [...t.problems];
    for (const h of t.hosts) out.push(...this.hostResult(h).problems.filter((p) => p.object.namespace === t.ref.namespace && p.object.name === t.ref.name));
    return out.sort(compareProblems);
  }

  /**
   * The TCP and UDP service ports (the services ConfigMaps' and the TCPRoutes' and UDPRoutes'), with
   * their upstream names (sorted by protocol, then port).
   */
  streams(): NonNullable<RoutingModel['streams']> {
    return this.mergedStreams().streams;
  }

  private mergedStreams(): ReturnType<typeof mergeStreamRoutes> {
    const routes = [...this.streamRoutes].map((k) => this.translations.get(k)!);
    return mergeStreamRoutes(this.stream.routes(), routes, (r) => this.names.nameOf(r));
  }

  /** The problems of the TCP and UDP services ConfigMaps (admission, Events). */
  streamProblems(): Problem[] {
    return this.stream.problems();
  }

  /** Who routes each stream port now, with its age (stream-routes.ts streamPortWarnings). */
  private streamHolders(): StreamHolders {
    const out = new Map<string, { source: ObjectRef; field: string; created: number }>();
    for (const s of this.streams()) {
      const t = s.source.kind === 'ConfigMap' ? undefined : this.translations.get(`${s.source.kind} ${s.source.namespace}/${s.source.name}`);
      out.set(`${s.protocol} ${s.port}`, { source: s.source, field: s.field, created: t?.created ?? -Infinity });
    }
    return out;
  }

  /**
   * The admission webhook's check of a ConfigMap: the problems it would have as the TCP or UDP
   * services ConfigMap (none for any other ConfigMap).
   */
  validateConfigMap(cm: ConfigMap): Problem[] {
    return this.stream.validate(cm, this.gateway.objects());
  }

  /** Every problem: Ingresses (own and conflicts) and the ConfigMap, sorted. */
  problems(): Problem[] {
    const out: Problem[] = [...this.globalProblems, ...this.stream.problems(), ...this.mergedStreams().problems];
    for (const t of this.translations.values()) if (t.handled) out.push(...t.problems);
    for (const h of this.hostIngresses.keys()) out.push(...this.hostResult(h).problems);
    return out.sort(compareProblems);
  }

  /** The whole routing model. */
  model(): RoutingModel {
    const servers: Server[] = [];
    for (const h of this.hosts()) {
      const s = this.server(h);
      if (s) servers.push(s);
    }
    const streams = this.streams();
    return { servers, defaultServer: this.defaultServer(), global: this.globalSettings, upstreams: this.upstreams(), problems: this.problems(), ...(streams.length ? { streams } : {}) };
  }

  /**
   * Admission: the Problems an Ingress would have if it replaced its current version, through the
   * same translation and merge as the config, against the current state. O(its hosts).
   */
  validateParsedIngress(ingress: Ingress): Problem[] {
    return runSteps(this.validationSteps(ingress));
  }

  /**
   * validateParsedIngress in steps: it yields after the translation and after each host's merge, so
   * a caller can let other work run between steps while a large Ingress is checked (the handler
   * does, for large reviews). Each host is merged against the state as it is at that step.
   */
  *validationSteps(ingress: Ingress): Generator<void, Problem[]> {
    const t = yield* translationSteps(ingress, this.ctx);
    if (!t.handled) return [];
    yield;
    const out = [...t.problems];
    // The hosts t's change touches are merged as if t replaced its current version; others as they are.
    const hostsOfT = new Set(t.hosts);
    const touched = new Set(t.hosts);
    for (const h of this.translations.get(t.key)?.hosts ?? []) touched.add(h);
    const merges = new Map<string, MergedHost>();
    const merged = (h: string): MergedHost => {
      if (!touched.has(h)) return this.mergedHost(h);
      let m = merges.get(h);
      if (!m) {
        const contributors: Translation[] = [];
        for (const k of this.hostIngresses.get(h) ?? []) if (k !== t.key) contributors.push(this.translations.get(k)!);
        if (hostsOfT.has(h)) contributors.push(t);
        // Plain upstream names (no collision suffix): a review reports Problems, not names.
        m = mergeHost(h, contributors, this.globalSettings, plainUpstreamName, this.defaultTlsFor(h));
        merges.set(h, m);
      }
      return m;
    };
    const lookup: NameLookup = {
      merged,
      claimants: (name) => [...this.claimantHosts(name, t.key), ...(t.names.includes(name) ? t.hosts.filter((h) => h !== DEFAULT_HOST) : [])],
    };
    for (const h of t.hosts) {
      const m = merged(h);
      const { problems } = resolveNames(h, m, lookup);
      out.push(...problems.filter((p) => p.object.namespace === t.ref.namespace && p.object.name === t.ref.name));
      // Not kept for the whole check (a name lookup merges it again if needed): a large Ingress's
      // merges would otherwise all live until the end.
      merges.delete(h);
      yield;
    }
    return out.sort(compareProblems);
  }

  /**
   * Admission: the Problems of a Gateway API object (parsed) if it replaced its current version,
   * against the current state (validate-gateway.ts). O(Gateways + its hosts).
   */
  /** Admission: whether a Gateway API object that does not parse could be wharf's (GatewayStore.mightServe). */
  mightServeGatewayObject(raw: unknown): boolean {
    return this.gateway.mightServe(raw);
  }

  validateParsedGatewayObject(o: GatewayApiObject): Problem[] {
    const check = this.gateway.check(o, this._services, this._secrets, this.ctx.tlsOf);
    const ref: ObjectRef = { kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name };
    const contributors = (host: string) => [...(this.hostIngresses.get(host) ?? [])].map((k) => this.translations.get(k)!);
    // A Gateway of another controller takes no port (check.status is null for it).
    const streams = (o.kind === 'Gateway' && check.status) || o.kind === 'TCPRoute' || o.kind === 'UDPRoute' ? streamPortWarnings(o, check.translation, this.streamHolders()) : [];
    return [...gatewayProblems(ref, check, contributors, this.globalSettings), ...streams].sort(compareProblems);
  }

  /** The object reference of an Ingress key, if held. */
  refOf(ingressKey: ObjectKey): ObjectRef | undefined {
    return this.translations.get(ingressKey)?.ref;
  }
}
