// What the model concludes about each Gateway API object, as data: the conditions the status writer
// publishes (src/cluster) and admission and Events report. Pure types; the translation of the
// Gateway API kinds fills them (one value per object), the cluster adapter adds what only it knows:
// lastTransitionTime (kept when a condition's status does not change), observedGeneration from the
// object it writes, and the addresses of the Service wharf publishes.

/** A status condition as the Gateway API defines it, without the fields the writer adds. */
export interface Condition {
  /** Accepted, Programmed, ResolvedRefs, Conflicted, … */
  type: string;
  status: 'True' | 'False' | 'Unknown';
  /** CamelCase, from the specification where it names one (NotAllowedByListeners, BackendNotFound, …). */
  reason: string;
  message: string;
}

/** The identity of a Gateway API object a status belongs to. */
export interface GatewayObjectRef {
  kind: 'GatewayClass' | 'Gateway' | 'HTTPRoute' | 'GRPCRoute' | 'TLSRoute' | 'TCPRoute' | 'UDPRoute';
  /** '' for the cluster-scoped GatewayClass. */
  namespace: string;
  name: string;
  /** metadata.generation of the object the conclusions were drawn from (observedGeneration). */
  generation: number;
}

export interface GatewayClassStatus {
  ref: GatewayObjectRef;
  conditions: Condition[];
}

export interface ListenerStatus {
  name: string;
  supportedKinds: { group: string; kind: string }[];
  attachedRoutes: number;
  conditions: Condition[];
}

export interface GatewayStatus {
  ref: GatewayObjectRef;
  conditions: Condition[];
  /** In the order of spec.listeners. */
  listeners: ListenerStatus[];
}

/** A parentRef as the route wrote it, defaults filled in (group gateway.networking.k8s.io, kind Gateway, the route's namespace). */
export interface ParentRef {
  group: string;
  kind: string;
  namespace: string;
  name: string;
  sectionName?: string;
  port?: number;
}

export interface RouteParentStatus {
  parentRef: ParentRef;
  conditions: Condition[];
}

export interface RouteStatus {
  ref: GatewayObjectRef;
  /** One entry per parentRef that names a Gateway of a class wharf serves, in spec order. */
  parents: RouteParentStatus[];
}

/** The controllerName wharf answers for in GatewayClass.spec.controllerName and route parent statuses. */
export const GATEWAY_CONTROLLER_NAME = 'wharf.io/gateway-controller';
