// ingress-nginx's constant labels of the request metrics, from the pod the agent runs in: dashboards
// select on them (controller_class, controller_namespace, controller_pod).
import { hostname } from 'node:os';
import { CONTROLLER_NAME } from '../model/cluster-state.ts';
import type { ControllerLabels } from './request-metrics.ts';

/** The controller's name, POD_NAMESPACE (empty when unset) and POD_NAME (else the host name). */
export function defaultControllerLabels(env: NodeJS.ProcessEnv = process.env): ControllerLabels {
  return {
    controller_class: CONTROLLER_NAME,
    controller_namespace: env.POD_NAMESPACE ?? '',
    controller_pod: env.POD_NAME ?? hostname(),
  };
}
