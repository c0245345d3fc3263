// Connecting to the Kubernetes API with @kubernetes/client-node: where the credentials come from
// (a kubeconfig file, KUBECONFIG, or the Pod's service account), and the typed API clients wharf
// uses. Loading this module loads the client (868 modules): import it only where a cluster is used.
import { existsSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * Loads credentials: `path` when given, else KUBECONFIG, else ~/.kube/config, else the Pod's service
 * account (in-cluster). Throws with what to do when there is none, instead of client-node's silent
 * fallback to http://localhost:8080.
 */
export function loadKubeConfig(path?: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  try {
    if (path) kc.loadFromFile(path);
    else kc.loadFromDefault();
  } catch (e) {
    throw new Error(`reading the kubeconfig ${path ?? process.env.KUBECONFIG ?? '~/.kube/config'}: ${(e as Error).message}`, { cause: e });
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`the kubeconfig ${path ?? process.env.KUBECONFIG ?? ''} has no current context with a cluster: set current-context`);
  if (!path && !process.env.KUBECONFIG && cluster.name === 'cluster' && cluster.server === 'http://localhost:8080' && !existsSync(SERVICE_ACCOUNT_TOKEN)) {
    throw new Error('no Kubernetes credentials: set KUBECONFIG (or --kubeconfig), or run in a Pod with a service account token');
  }
  return kc;
}

/** The typed clients wharf calls (object-parameter API of client-node 2.x). */
export interface KubeClients {
  kubeConfig: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  networking: k8s.NetworkingV1Api;
  discovery: k8s.DiscoveryV1Api;
  coordination: k8s.CoordinationV1Api;
  /** The Gateway API's kinds (CRDs: no typed client). */
  custom: k8s.CustomObjectsApi;
}

export function makeClients(kubeConfig: k8s.KubeConfig): KubeClients {
  return {
    kubeConfig,
    core: kubeConfig.makeApiClient(k8s.CoreV1Api),
    networking: kubeConfig.makeApiClient(k8s.NetworkingV1Api),
    discovery: kubeConfig.makeApiClient(k8s.DiscoveryV1Api),
    coordination: kubeConfig.makeApiClient(k8s.CoordinationV1Api),
    custom: kubeConfig.makeApiClient(k8s.CustomObjectsApi),
  };
}

// Read without the client (src/cluster/api-failure.ts); exported here too for the cluster code.
export { apiFailure, describeApiError, type ApiFailure } from './api-failure.ts';
