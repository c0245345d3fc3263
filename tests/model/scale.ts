// A synthetic cluster at scale for benchmarks and the model's scale test: `ingresses` Ingresses
// over `hosts` hosts (several Ingresses per host, distinct paths), TLS on a quarter of the hosts,
// a Service per Ingress. Deterministic.
import { CERT, KEY } from './tls-fixture.ts';

export interface ScaleOptions {
  ingresses?: number;
  hosts?: number;
  tlsFraction?: number;
}

export function hostName(i: number): string {
  return `host-${i}.example.com`;
}

/** One Ingress of the synthetic cluster (change `variant` for an updated version of it). */
export function scaleIngress(i: number, hosts: number, tlsFraction: number, variant = 0) {
  const h = i % hosts;
  const ns = `team-${i % 50}`;
  const tls = h < hosts * tlsFraction;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: `app-${i}`,
      namespace: ns,
      uid: `uid-${i}`,
      creationTimestamp: new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString().replace('.000Z', 'Z'),
      annotations: {
        'nginx.ingress.kubernetes.io/proxy-body-size': `${8 + variant}m`,
        'nginx.ingress.kubernetes.io/proxy-read-timeout': '120',
        ...(i % 7 === 0 ? { 'nginx.ingress.kubernetes.io/enable-cors': 'true' } : {}),
        ...(i % 11 === 0 ? { 'nginx.ingress.kubernetes.io/use-regex': 'true' } : {}),
      },
    },
    spec: {
      ingressClassName: 'wharf',
      ...(tls ? { tls: [{ hosts: [hostName(h)], secretName: `cert-${h}` }] } : {}),
      rules: [
        {
          host: hostName(h),
          http: {
            paths: [
              { path: `/svc-${i}`, pathType: 'Prefix', backend: { service: { name: `svc-${i}`, port: { number: 80 } } } },
              { path: `/svc-${i}/exact`, pathType: 'Exact', backend: { service: { name: `svc-${i}`, port: { name: 'http' } } } },
              { path: i % 11 === 0 ? `/re-${i}/v[0-9]+/(.*)` : `/impl-${i}/`, pathType: 'ImplementationSpecific', backend: { service: { name: `svc-${i}`, port: { number: 80 } } } },
            ],
          },
        },
      ],
    },
  };
}

/** Every object of the synthetic cluster. */
export function scaleObjects(o: ScaleOptions = {}): unknown[] {
  const n = o.ingresses ?? 10_000;
  const hosts = o.hosts ?? 2_000;
  const tlsFraction = o.tlsFraction ?? 0.25;
  const out: unknown[] = [];
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  for (let i = 0; i < n; i++) {
    const ing = scaleIngress(i, hosts, tlsFraction);
    out.push(ing);
    out.push({ apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${i}`, namespace: ing.metadata.namespace }, spec: { ports: [{ name: 'http', port: 80 }] } });
  }
  for (let h = 0; h < hosts * tlsFraction; h++) {
    // Each Ingress's TLS Secret lives in its own namespace: one per namespace that uses host h.
    for (let i = h; i < n; i += hosts) {
      out.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `cert-${h}`, namespace: `team-${i % 50}` }, type: 'kubernetes.io/tls', data: { 'tls.crt': b64(CERT), 'tls.key': b64(KEY) } });
    }
  }
  return out;
}
