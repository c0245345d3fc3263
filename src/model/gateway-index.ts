// The Gateway API objects of the cluster and what the model concludes from them: a Translation per
// HTTPRoute (merged per host with the Ingresses' by the routing index) and the status of every
// GatewayClass, Gateway and HTTPRoute wharf serves. Recomputed as a whole when one of them, a
// Namespace, or a Service or Secret they may reference changes: O(Gateway API objects), which the
// routing index then narrows to the routes and hosts whose result differs. Pure.
import { objectKey, type ObjectKey } from './cluster-state.ts';
import type { GatewayApiObject, GRPCRoute, Gateway, GatewayClass, HTTPRoute, Namespace, ReferenceGrant, TCPRoute, TLSRoute, UDPRoute } from './gateway-schemas.ts';
import { translateTLSRoute } from './translate-tlsroute.ts';
import { translateL4Route } from './translate-l4route.ts';
import { translateGRPCRoute } from './translate-grpcroute.ts';
import { defaultServerTls, servedClasses, servedListeners, type ServedListener } from './gateway-listeners.ts';
import type { Tls } from './types.ts';
import { GATEWAY_CONTROLLER_NAME, type GatewayClassStatus, type GatewayStatus, type RouteStatus } from './gateway-status.ts';
import type { NginxPorts } from './listener-ports.ts';
import type { Secret, Service } from './schemas.ts';
import type { TlsMaterial } from './secrets.ts';
import type { Translation } from './translate-ingress.ts';
import { translateHTTPRoute, type RouteKindName, type RouteWorld } from './translate-httproute.ts';

/** Everything the Gateway API objects lead to at one moment. */
export interface GatewayResult {
  /** By route key (translate-httproute.ts routeKey). */
  translations: Map<ObjectKey, Translation>;
  classes: GatewayClassStatus[];
  gateways: GatewayStatus[];
  /** By route key. */
  routes: Map<ObjectKey, RouteStatus>;
  /** The default server's certificate on 443 (gateway-listeners.ts defaultServerTls). */
  defaultTls: Tls | null;
}

/** What one route's change changed (GatewayStore.routeChanged). */
export interface RouteChange {
  result: GatewayResult;
  /** The route's key among the translations. */
  routeKey: ObjectKey;
  /** gatewayObjectKey of every status that may differ: the route's, and the Gateways it joined or left. */
  statusKeys: string[];
}

/** The key of any Gateway API object or Namespace among the store's objects: `Kind namespace/name`. */
export const gatewayObjectKey = (kind: string, namespace: string, name: string): string => `${kind} ${namespace}/${name}`;

export class GatewayStore {
  private readonly classes = new Map<string, GatewayClass>();
  private readonly gateways = new Map<ObjectKey, Gateway>();
  private readonly routes = new Map<ObjectKey, HTTPRoute>();
  private readonly grpcRoutes = new Map<ObjectKey, GRPCRoute>();
  private readonly tlsRoutes = new Map<ObjectKey, TLSRoute>();
  private readonly tcpRoutes = new Map<ObjectKey, TCPRoute>();
  private readonly udpRoutes = new Map<ObjectKey, UDPRoute>();
  private readonly grants = new Map<ObjectKey, ReferenceGrant>();
  private readonly namespaces = new Map<string, Namespace>();
  private readonly nginxPorts: NginxPorts | undefined;
  /** --enable-ssl-passthrough: TLS listeners (Passthrough, 443) are served. */
  private readonly sslPassthrough: boolean;

  constructor(nginxPorts?: NginxPorts, sslPassthrough = false) {
    this.nginxPorts = nginxPorts;
    this.sslPassthrough = sslPassthrough;
  }

  /** True when there is a route or Gateway to translate (Services and Secrets matter only then). */
  get active(): boolean {
    return this.routes.size > 0 || this.grpcRoutes.size > 0 || this.tlsRoutes.size > 0 || this.tcpRoutes.size > 0 || this.udpRoutes.size > 0 || this.gateways.size > 0;
  }

  /** Every object held, by gatewayObjectKey. */
  objects(): Map<string, GatewayApiObject> {
    const out = new Map<string, GatewayApiObject>();
    for (const o of [...this.classes.values(), ...this.gateways.values(), ...this.routes.values(), ...this.grpcRoutes.values(), ...this.tlsRoutes.values(), ...this.tcpRoutes.values(), ...this.udpRoutes.values(), ...this.grants.values(), ...this.namespaces.values()]) {
      out.set(gatewayObjectKey(o.kind, o.metadata.namespace, o.metadata.name), o);
    }
    return out;
  }

  /** Adds, replaces (obj) or removes (null) an object. */
  put(kind: GatewayApiObject['kind'], namespace: string, name: string, obj: GatewayApiObject | null): void {
    const key = objectKey(namespace, name);
    const set = <T>(map: Map<string, T>, k: string) => (obj ? map.set(k, obj as T) : map.delete(k));
    switch (kind) {
      case 'GatewayClass': set(this.classes, name); break;
      case 'Gateway': set(this.gateways, key); break;
      case 'HTTPRoute': set(this.routes, key); break;
      case 'GRPCRoute': set(this.grpcRoutes, key); break;
      case 'TLSRoute': set(this.tlsRoutes, key); break;
      case 'TCPRoute': set(this.tcpRoutes, key); break;
      case 'UDPRoute': set(this.udpRoutes, key); break;
      case 'ReferenceGrant': set(this.grants, key); break;
      case 'Namespace': set(this.namespaces, name); break;
    }
  }

  /**
   * What the model would conclude about `o` if it replaced its current version, against everything
   * else as it is: O(Gateways + the object), never the other routes.
   */
  check(o: GatewayApiObject, services: ReadonlyMap<ObjectKey, Service>, secrets: ReadonlyMap<ObjectKey, Secret>, tlsOf: (s: Secret) => TlsMaterial): GatewayCheck {
    const key = objectKey(o.metadata.namespace, o.metadata.name);
    const classes = o.kind === 'GatewayClass' ? new Map([...this.classes, [o.metadata.name, o]]) : this.classes;
    const gateways = o.kind === 'Gateway' ? new Map([...this.gateways, [key, o]]) : this.gateways;
    const grants = o.kind === 'ReferenceGrant' ? new Map([...this.grants, [key, o]]) : this.grants;
    const world = { classes, gateways, grants, namespaces: this.namespaces, secrets, services, tlsOf, nginxPorts: this.nginxPorts, sslPassthrough: this.sslPassthrough };
    const { served, statuses: classStatuses } = servedClasses(world);
    if (o.kind === 'GatewayClass') return { translation: null, status: classStatuses.find((s) => s.ref.name === o.metadata.name) ?? null };
    if (o.kind === 'ReferenceGrant' || o.kind === 'Namespace') return { translation: null, status: null };
    const { listeners, statuses } = servedListeners(world, served);
    if (o.kind === 'Gateway') return { translation: null, status: statuses.get(key) ?? null };
    const { translation, status } = translateRoute(o, listeners, world);
    return { translation: status.parents.length > 0 ? translation : null, status: status.parents.length > 0 ? status : null };
  }

  /**
   * Whether an object too malformed to parse could be wharf's: a GatewayClass naming wharf's
   * controller, a Gateway of such a class, a route with a parentRef to such a Gateway (by name, in its
   * namespace or the one it names). Others' objects are not wharf's to deny.
   */
  mightServe(raw: unknown): boolean {
    const o = raw as { kind?: unknown; metadata?: { namespace?: unknown }; spec?: { controllerName?: unknown; gatewayClassName?: unknown; parentRefs?: unknown } } | null;
    const servedClass = (name: unknown) => typeof name === 'string' && this.classes.get(name)?.spec.controllerName === GATEWAY_CONTROLLER_NAME;
    if (o?.kind === 'GatewayClass') return o.spec?.controllerName === GATEWAY_CONTROLLER_NAME;
    if (o?.kind === 'Gateway') return servedClass(o.spec?.gatewayClassName);
    if (o?.kind !== 'HTTPRoute' && o?.kind !== 'GRPCRoute' && o?.kind !== 'TLSRoute' && o?.kind !== 'TCPRoute' && o?.kind !== 'UDPRoute') return false;
    const ns = typeof o.metadata?.namespace === 'string' ? o.metadata.namespace : 'default';
    const refs = Array.isArray(o.spec?.parentRefs) ? (o.spec.parentRefs as { name?: unknown; namespace?: unknown }[]) : [];
    return refs.some((r) => {
      const gw = this.gateways.get(objectKey(typeof r?.namespace === 'string' ? r.namespace : ns, String(r?.name)));
      return gw !== undefined && servedClass(gw.spec.gatewayClassName);
    });
  }

  /** The last full translation's world and listeners, and the listeners each route attaches to. */
  private last: { world: RouteWorld; listeners: ServedListener[]; attached: Map<ObjectKey, Set<ServedListener>>; result: GatewayResult } | null = null;

  /** Whether a Gateway listener names this Secret as its certificate (only then does a Secret matter here). */
  usesSecret(namespace: string, name: string): boolean {
    for (const gw of this.gateways.values()) {
      for (const l of gw.spec.listeners) {
        for (const ref of l.tls?.certificateRefs ?? []) if (ref.name === name && (ref.namespace ?? gw.metadata.namespace) === namespace) return true;
      }
    }
    return false;
  }

  /** Translates every route and concludes every status. */
  translate(services: ReadonlyMap<ObjectKey, Service>, secrets: ReadonlyMap<ObjectKey, Secret>, tlsOf: (s: Secret) => TlsMaterial): GatewayResult {
    const world = { classes: this.classes, gateways: this.gateways, grants: this.grants, namespaces: this.namespaces, secrets, services, tlsOf, nginxPorts: this.nginxPorts, sslPassthrough: this.sslPassthrough };
    const { served, statuses: classes } = servedClasses(world);
    const { listeners, statuses } = servedListeners(world, served);
    const translations = new Map<ObjectKey, Translation>();
    const routes = new Map<ObjectKey, RouteStatus>();
    const attachedOf = new Map<ObjectKey, Set<ServedListener>>();
    const all = [...this.routes.values(), ...this.grpcRoutes.values(), ...this.tlsRoutes.values(), ...this.tcpRoutes.values(), ...this.udpRoutes.values()];
    all.sort((a, b) => (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0) || objectKey(a.metadata.namespace, a.metadata.name).localeCompare(objectKey(b.metadata.namespace, b.metadata.name)));
    for (const route of all) {
      const { translation, status, attached } = translateRoute(route, listeners, world);
      if (status.parents.length === 0) continue;
      translations.set(translation.key, translation);
      routes.set(translation.key, status);
      const set = new Set(attached);
      attachedOf.set(translation.key, set);
      for (const l of set) l.status.attachedRoutes++;
    }
    const result = { translations, classes, gateways: [...statuses.values()], routes, defaultTls: defaultServerTls(listeners) };
    this.last = { world, listeners, attached: attachedOf, result };
    return result;
  }

  /**
   * One route was put or removed: translates it alone against the listeners of the last full
   * translation (nothing else it depends on changed) and moves the attachedRoutes counts of the
   * listeners it joined or left. O(the route + the listeners); null when there was no full
   * translation yet. The returned result is the last one, updated in place.
   */
  routeChanged(kind: RouteKindName, namespace: string, name: string): RouteChange | null {
    if (!this.last) return null;
    const { world, listeners, attached, result } = this.last;
    const key = `${kind} ${namespace}/${name}`;
    const stores = { HTTPRoute: this.routes, GRPCRoute: this.grpcRoutes, TLSRoute: this.tlsRoutes, TCPRoute: this.tcpRoutes, UDPRoute: this.udpRoutes };
    const route = (stores[kind] as Map<ObjectKey, HTTPRoute | GRPCRoute | TLSRoute | TCPRoute | UDPRoute>).get(objectKey(namespace, name));
    const before = attached.get(key) ?? new Set<ServedListener>();
    let after = new Set<ServedListener>();
    result.translations.delete(key);
    result.routes.delete(key);
    attached.delete(key);
    if (route) {
      const { translation, status, attached: joined } = translateRoute(route, listeners, world);
      if (status.parents.length > 0) {
        result.translations.set(key, translation);
        result.routes.set(key, status);
        after = new Set(joined);
        attached.set(key, after);
      }
    }
    const gateways = new Set<Gateway>();
    for (const l of before) if (!after.has(l)) (l.status.attachedRoutes--, gateways.add(l.gateway));
    for (const l of after) if (!before.has(l)) (l.status.attachedRoutes++, gateways.add(l.gateway));
    const statusKeys = [gatewayObjectKey(kind, namespace, name), ...[...gateways].map((g) => gatewayObjectKey('Gateway', g.metadata.namespace, g.metadata.name))];
    return { result, routeKey: key, statusKeys };
  }
}

/** What admission needs to check one Gateway API object against the others (GatewayStore.check). */
export interface GatewayCheck {
  /** The route's Translation (HTTPRoute only), as if it replaced its current version. */
  translation: Translation | null;
  /** Its status as if it replaced its current version (GatewayClass, Gateway, HTTPRoute). */
  status: GatewayClassStatus | GatewayStatus | RouteStatus | null;
}

/** A Translation's content as one comparable string (its tls Map included). */
export function translationFingerprint(t: Translation | undefined): string {
  if (!t) return '';
  return JSON.stringify({ ...t, tls: [...t.tls.entries()] });
}

/** Translates a route of any kind wharf serves. */
function translateRoute(route: HTTPRoute | GRPCRoute | TLSRoute | TCPRoute | UDPRoute, listeners: readonly ServedListener[], world: RouteWorld): ReturnType<typeof translateHTTPRoute> {
  if (route.kind === 'HTTPRoute') return translateHTTPRoute(route, listeners, world);
  if (route.kind === 'GRPCRoute') return translateGRPCRoute(route, listeners, world);
  if (route.kind === 'TCPRoute' || route.kind === 'UDPRoute') return translateL4Route(route, listeners, world);
  return translateTLSRoute(route, listeners, world);
}
