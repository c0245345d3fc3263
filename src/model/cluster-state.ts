// The input of the model's pure functions: the objects of the cluster wharf reads, already parsed,
// and the controller's own settings. The handler tier's view of the cluster produces a ClusterState.
import type { NginxPorts } from './listener-ports.ts';
import type { ObjectLimits } from './object-limits.ts';
import type { GatewayApiObject } from './gateway-schemas.ts';
import type { ConfigMap, EndpointSlice, Ingress, IngressClass, Secret, Service } from './schemas.ts';

/** `namespace/name`: the key of every namespaced object in a ClusterState. */
export type ObjectKey = string;

/** The key of a namespaced object. */
export function objectKey(namespace: string, name: string): ObjectKey {
  return `${namespace}/${name}`;
}

/** Splits `namespace/name` (IngressClasses are keyed by name alone). */
export function splitKey(key: ObjectKey): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** Every object the model reads, parsed by src/model/schemas.ts. */
export interface ClusterState {
  /** Keyed `namespace/name`. */
  readonly ingresses: ReadonlyMap<ObjectKey, Ingress>;
  /** Keyed by name (cluster-scoped). */
  readonly ingressClasses: ReadonlyMap<string, IngressClass>;
  readonly services: ReadonlyMap<ObjectKey, Service>;
  readonly endpointSlices: ReadonlyMap<ObjectKey, EndpointSlice>;
  readonly secrets: ReadonlyMap<ObjectKey, Secret>;
  /** wharf's global settings ConfigMap, or null when there is none (defaults apply). */
  readonly configMap: ConfigMap | null;
  /** Every ConfigMap by `namespace/name`, for the TCP and UDP services ConfigMaps (absent: none). */
  readonly configMaps?: ReadonlyMap<ObjectKey, ConfigMap>;
  /** Gateway API objects and Namespaces, by `Kind namespace/name` (absent: none). */
  readonly gatewayApi?: ReadonlyMap<string, GatewayApiObject>;
}

/** What this wharf installation is: which Ingresses are its own. */
export interface ControllerSettings {
  /** IngressClass `spec.controller` value that means "wharf". */
  controllerName: string;
  /** Name of the IngressClass wharf serves (also matched against the legacy annotation). */
  ingressClassName: string;
  /** Handle Ingresses that name no class at all, even when no IngressClass is marked default. */
  watchIngressWithoutClass: boolean;
  /**
   * `namespace/name` of the global settings ConfigMap. When set, RoutingIndex ignores other
   * ConfigMaps; when unset, it takes any ConfigMap it is given as the global one.
   */
  configMap?: ObjectKey;
  /**
   * Snippet annotations (configuration-, server-, auth-snippet): `safe` accepts the directives of
   * the allowlist (snippet-rules.ts), `off` denies every snippet. Absent: `safe`.
   */
  snippets?: 'off' | 'safe';
  /** NGINX has the headers-more module, so more_* directives may be used in snippets. Absent: true. */
  headersMore?: boolean;
  /** NGINX has the brotli module, so the ConfigMap's enable-brotli applies. Absent: true. */
  brotli?: boolean;
  /**
   * `namespace/name` of the Service that answers what no rule matches and renders error pages for
   * every Ingress (--default-backend-service, as ingress-nginx's flag). Absent: none.
   */
  defaultBackendService?: ObjectKey;
  /** How large one Ingress may be (rules, paths, hosts); absent: defaultObjectLimits. */
  limits?: ObjectLimits;
  /**
   * `namespace/name` of the kubernetes.io/tls Secret the default server presents, and TLS hosts
   * without a usable certificate of their own (--default-ssl-certificate). Absent: none.
   */
  defaultSslCertificate?: ObjectKey;
  /**
   * NGINX's own HTTP and HTTPS ports, where Gateway listeners on 80 and 443 are served; a listener on
   * another port P is served on P + (httpPort − 80) (listener-ports.ts). Absent: 80 and 443.
   */
  nginxPorts?: NginxPorts;
  /**
   * --enable-ssl-passthrough (ingress-nginx's flag): the agents route TLS on their HTTPS port by SNI,
   * so the ssl-passthrough annotation applies (passthrough.ts). Absent: the annotation is ignored.
   */
  sslPassthrough?: boolean;
  /** `namespace/name` of ingress-nginx's TCP services ConfigMap (--tcp-services-configmap); absent: none. */
  tcpServicesConfigMap?: ObjectKey;
  /** `namespace/name` of the UDP services ConfigMap (--udp-services-configmap); absent: none. */
  udpServicesConfigMap?: ObjectKey;
}

export const CONTROLLER_NAME = 'wharf.io/ingress-controller';

/** The settings a default installation runs with. */
export const defaultControllerSettings: ControllerSettings = Object.freeze({
  controllerName: CONTROLLER_NAME,
  ingressClassName: 'wharf',
  watchIngressWithoutClass: false,
});

/** An empty state, to build from in tests and at start. */
export function emptyState(): ClusterState {
  return {
    ingresses: new Map(),
    ingressClasses: new Map(),
    services: new Map(),
    endpointSlices: new Map(),
    secrets: new Map(),
    configMap: null,
  };
}
