// Connecting to the Kubernetes API with @kubernetes/client-node: where the credentials come from
// (a kubeconfig file, KUBECONFIG, or the Pod's service account), the typed API clients wharf uses,
// and API errors turned into one readable line (client-node's own message dumps every header).
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

/** An API error as wharf reasons about it: the HTTP code, Kubernetes' reason, and its message. */
export interface ApiFailure {
  code: number;
  reason: string;
  message: string;
}

/** Reads an error from client-node (ApiException, a watch's failed request) or the network; null code 0. */
export function apiFailure(e: unknown): ApiFailure {
  if (e instanceof k8s.ApiException) {
    let body: unknown = e.body;
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body);
      } catch {
        // a non-JSON body (a proxy's error page): keep the text
      }
    }
    const status = typeof body === 'object' && body !== null ? (body as { reason?: string; message?: string }) : {};
    return { code: e.code, reason: status.reason ?? '', message: status.message ?? (typeof body === 'string' ? body.slice(0, 300) : `HTTP ${e.code}`) };
  }
  const err = e as { statusCode?: number; message?: string; cause?: { message?: string; code?: string } };
  if (typeof err?.statusCode === 'number') return { code: err.statusCode, reason: '', message: err.message ?? `HTTP ${err.statusCode}` };
  const cause = err?.cause?.code ?? err?.cause?.message;
  return { code: 0, reason: '', message: `${err?.message ?? String(e)}${cause ? ` (${cause})` : ''}` };
}

/** `HTTP 403 Forbidden: secrets is forbidden: …` or the network error, for logs and wrapped errors. */
export function describeApiError(e: unknown): string {
  const f = apiFailure(e);
  return f.code ? `HTTP ${f.code}${f.reason ? ` ${f.reason}` : ''}: ${f.message}` : f.message;
}
