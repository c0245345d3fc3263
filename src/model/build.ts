// The model's whole-state entry points: build the routing model, validate one Ingress for the
// admission webhook, and turn plain objects into a ClusterState (tests, local mode).
import { objectKey, type ClusterState, type ControllerSettings } from './cluster-state.ts';
import { LEGACY_CLASS_ANNOTATION } from './ingress-class.ts';
import { rawLimitProblems } from './object-limits.ts';
import { RoutingIndex } from './routing-index.ts';
import { runSteps } from './steps.ts';
import { parseIngress, parseObject, type ConfigMap, type EndpointSlice, type Ingress, type IngressClass, type Secret, type Service } from './schemas.ts';
import type { Problem, RoutingModel } from './types.ts';
import { gatewayObjectKey } from './gateway-index.ts';
import type { GatewayApiObject } from './gateway-schemas.ts';

/** The routing model of a state: deterministic (same state, same model, sorted throughout). */
export function buildModel(state: ClusterState, settings: ControllerSettings): RoutingModel {
  const index = state instanceof RoutingIndex && state.settings === settings ? state : new RoutingIndex(settings, state);
  return index.model();
}

/**
 * The admission webhook's check of one Ingress (as it arrives, unparsed): every Problem it would
 * have in the model, errors (deny) and warnings. The same translation and merge as buildModel, so
 * what it allows is exactly what renders. Ingresses that are not wharf's get no Problems. Pass a
 * RoutingIndex as the state for speed (O(the Ingress's hosts)); a plain state is indexed first.
 */
export function validateIngress(obj: unknown, state: ClusterState, settings: ControllerSettings): Problem[] {
  return runSteps(validationSteps(obj, state, settings));
}

/**
 * validateIngress in steps, each a small part of the work (the size check, the parse, the
 * translation, one host's merge): the handler runs a large review a few milliseconds at a time and
 * lets other requests run in between. Pure like the rest: it only yields.
 */
export function* validationSteps(obj: unknown, state: ClusterState, settings: ControllerSettings): Generator<void, Problem[]> {
  const index = state instanceof RoutingIndex && state.settings === settings ? state : new RoutingIndex(settings, state);
  const over = rawLimitProblems(obj, index.ingressClasses, settings);
  if (over.length) return over;
  yield;
  const parsed = parseIngress(obj);
  if (!parsed.ok) return mightBeOurs(obj, settings) ? parsed.problems : [];
  yield;
  return yield* index.validationSteps(parsed.value);
}

/**
 * The admission webhook's check of one Gateway API object (GatewayClass, Gateway, HTTPRoute,
 * GRPCRoute, ReferenceGrant, as it arrives): schema errors, then what only the model can say
 * (validate-gateway.ts).
 */
export function validateGatewayObject(obj: unknown, state: ClusterState, settings: ControllerSettings): Problem[] {
  const index = state instanceof RoutingIndex && state.settings === settings ? state : new RoutingIndex(settings, state);
  const parsed = parseObject(obj);
  if (!parsed.ok) return index.mightServeGatewayObject(obj) ? parsed.problems : [];
  const o = parsed.value;
  if (o.kind !== 'GatewayClass' && o.kind !== 'Gateway' && o.kind !== 'HTTPRoute' && o.kind !== 'GRPCRoute' && o.kind !== 'TLSRoute' && o.kind !== 'TCPRoute' && o.kind !== 'UDPRoute' && o.kind !== 'ReferenceGrant') return [];
  return index.validateParsedGatewayObject(o);
}

/** For an Ingress too malformed to parse: false only when its class clearly names another controller's class. */
function mightBeOurs(obj: unknown, settings: ControllerSettings): boolean {
  const o = obj as { spec?: { ingressClassName?: unknown }; metadata?: { annotations?: Record<string, unknown> } } | null;
  const named = o?.spec?.ingressClassName ?? o?.metadata?.annotations?.[LEGACY_CLASS_ANNOTATION];
  return typeof named !== 'string' || named === settings.ingressClassName;
}

/**
 * A ClusterState from plain objects (YAML/JSON as kubectl would apply them). Objects that do not
 * parse are left out and their Problems returned; the last ConfigMap given is the global one.
 */
export function stateFromObjects(objects: readonly unknown[]): { state: ClusterState; problems: Problem[] } {
  const ingresses = new Map<string, Ingress>();
  const ingressClasses = new Map<string, IngressClass>();
  const services = new Map<string, Service>();
  const endpointSlices = new Map<string, EndpointSlice>();
  const secrets = new Map<string, Secret>();
  let configMap: ConfigMap | null = null;
  const configMaps = new Map<string, ConfigMap>();
  const gatewayApi = new Map<string, GatewayApiObject>();
  const problems: Problem[] = [];
  for (const raw of objects) {
    const parsed = parseObject(raw);
    if (!parsed.ok) {
      problems.push(...parsed.problems);
      continue;
    }
    const o = parsed.value;
    const key = objectKey(o.metadata.namespace, o.metadata.name);
    switch (o.kind) {
      case 'Ingress':
        ingresses.set(key, o);
        break;
      case 'IngressClass':
        ingressClasses.set(o.metadata.name, o);
        break;
      case 'Service':
        services.set(key, o);
        break;
      case 'EndpointSlice':
        endpointSlices.set(key, o);
        break;
      case 'Secret':
        secrets.set(key, o);
        break;
      case 'ConfigMap':
        configMap = o;
        configMaps.set(key, o);
        break;
      default:
        gatewayApi.set(gatewayObjectKey(o.kind, o.metadata.namespace, o.metadata.name), o);
    }
  }
  return { state: { ingresses, ingressClasses, services, endpointSlices, secrets, configMap, gatewayApi, configMaps }, problems };
}
