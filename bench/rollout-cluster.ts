// The rollout benchmark's cluster: the Kubernetes objects (the Service being rolled out, its Ingress
// and EndpointSlice, and thousands of unrelated TLS Ingresses with their Secrets), and the event
// source that posts them to the handler tier as CloudEvents, each with a newer resourceVersion, the
// way the API server and an ApiServerSource would.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { send } from './handler-process.ts';

export const NAMESPACE = 'shop';
/** The Service being rolled out, its Ingress host and the upstream name the agent gets. */
export const SERVICE = 'web';
export const APP_HOST = 'app.rollout.test';
export const UPSTREAM = `${NAMESPACE}-${SERVICE}-80`;

/** An endpoint of the EndpointSlice: a pod's IP and its conditions. */
export interface SliceEndpoint {
  ip: string;
  pod: string;
  state: 'ready' | 'terminating';
}

type KubeObject = { apiVersion: string; kind: string; metadata: Record<string, unknown> } & Record<string, unknown>;

/** A certificate and key for *.rollout.test (RSA 2048, as most clusters still use). */
export function certificate(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-rollout-cert-'));
  try {
    const r = spawnSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=*.rollout.test',
      '-addext', 'subjectAltName=DNS:*.rollout.test', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl req (a certificate for the TLS Ingresses) failed: ${r.stderr}`);
    return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const service = (name: string, targetPort: number): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: NAMESPACE },
  spec: { ports: [{ name: 'http', port: 80, targetPort }] },
});

export function ingress(name: string, host: string, serviceName: string, o: { tlsSecret?: string; annotations?: Record<string, string> } = {}): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: NAMESPACE, creationTimestamp: '2026-01-01T00:00:00Z', ...(o.annotations ? { annotations: o.annotations } : {}) },
    spec: {
      ingressClassName: 'wharf',
      ...(o.tlsSecret ? { tls: [{ hosts: [host], secretName: o.tlsSecret }] } : {}),
      rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: serviceName, port: { number: 80 } } } }] } }],
    },
  };
}

export const tlsSecret = (name: string, pair: { cert: string; key: string }): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  type: 'kubernetes.io/tls',
  metadata: { name, namespace: NAMESPACE },
  data: { 'tls.crt': Buffer.from(pair.cert).toString('base64'), 'tls.key': Buffer.from(pair.key).toString('base64') },
});

/**
 * The Service's EndpointSlice as the EndpointSlice controller writes it: ready pods, and terminating
 * pods with ready=false, serving=true, terminating=true (a deleted pod is no longer listed).
 */
export function endpointSlice(endpoints: SliceEndpoint[], port: number): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${SERVICE}-7f9c2`, namespace: NAMESPACE, labels: { 'kubernetes.io/service-name': SERVICE } },
    addressType: 'IPv4',
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: e.state === 'ready' ? { ready: true, serving: true, terminating: false } : { ready: false, serving: true, terminating: true },
      targetRef: { kind: 'Pod', namespace: NAMESPACE, name: e.pod },
    })),
    ports: [{ name: 'http', port, protocol: 'TCP' }],
  };
}

/**
 * Posts objects to the handler's /events as an ApiServerSource would (Knative resource events,
 * binary mode), stamping each with the next resourceVersion. Posts are serialized, as a watch
 * delivers them; `post` resolves with the time (monotonic ms) the handler accepted the event.
 */
export class EventSource {
  private readonly url: string;
  private readonly token: string;
  private resourceVersion = 1000;
  private seq = 0;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(o: { handlerUrl: string; token: string }) {
    this.url = `${o.handlerUrl}/events`;
    this.token = o.token;
  }

  private stamp(object: KubeObject): KubeObject {
    return { ...object, metadata: { ...object.metadata, resourceVersion: String(++this.resourceVersion) } };
  }

  /** The initial list: every object as an add, in batches. */
  async addAll(objects: KubeObject[], batchSize = 400): Promise<void> {
    for (let i = 0; i < objects.length; i += batchSize) {
      const batch = objects.slice(i, i + batchSize).map((o) => ({
        specversion: '1.0', id: `rollout-${++this.seq}`, source: 'bench/rollout', type: 'dev.knative.apiserver.resource.add', datacontenttype: 'application/json', data: this.stamp(o),
      }));
      const r = await send(this.url, 'POST', { 'content-type': 'application/cloudevents-batch+json', authorization: `Bearer ${this.token}` }, JSON.stringify(batch));
      if (r.status !== 200) throw new Error(`loading objects into the handler: ${r.status} ${r.body.slice(0, 500)}`);
      const bad = (JSON.parse(r.body) as { results?: { result: string }[] }).results?.filter((x) => x.result !== 'applied') ?? [];
      if (bad.length) throw new Error(`loading objects into the handler: ${JSON.stringify(bad.slice(0, 3))}`);
    }
  }

  /** One update event; resolves with the monotonic time the handler answered 200. */
  update(object: KubeObject): Promise<{ sentAt: number; acceptedAt: number }> {
    const stamped = this.stamp(object);
    const id = `rollout-${++this.seq}`;
    const run = async () => {
      const sentAt = nowMs();
      const r = await send(this.url, 'POST', {
        'ce-specversion': '1.0', 'ce-id': id, 'ce-source': 'bench/rollout', 'ce-type': 'dev.knative.apiserver.resource.update',
        'content-type': 'application/json', authorization: `Bearer ${this.token}`,
      }, JSON.stringify(stamped));
      const acceptedAt = nowMs();
      if (r.status !== 200) throw new Error(`event ${id} (${stamped.kind} ${String(stamped.metadata.name)}): handler answered ${r.status}: ${r.body.slice(0, 300)}`);
      return { sentAt, acceptedAt };
    };
    const p = this.chain.then(run);
    this.chain = p.catch(() => undefined);
    return p;
  }
}

/** The machine's monotonic clock in ms: the same in every process, so times compare across them. */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
