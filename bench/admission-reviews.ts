// The Ingresses and AdmissionReviews of the admission benchmarks (bench/admission.ts over HTTP,
// bench/admission-parts.ts in process): one host and two paths each, to SERVICES Services.
// Reviews mix new hosts (allowed), hosts an older Ingress of the view holds (warnings) and a
// snippet (denied), seven, two and one in ten.

/** The Services the Ingresses route to (`svc-0` … in `default`). */
export const SERVICES = 500;

let resourceVersion = 1;

/** A resourceVersion not given before in this process (the view compares them per object). */
export const nextResourceVersion = (): string => String(resourceVersion++);

/** A Service of the view. */
export const benchService = (s: number): object => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${s}`, namespace: 'default', resourceVersion: nextResourceVersion() }, spec: { ports: [{ name: 'http', port: 80 }] } });

/** An Ingress of wharf's class with one host and two paths, as the view holds it (resourceVersion and creationTimestamp set). */
export const benchIngress = (name: string, host: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name, namespace: 'default', resourceVersion: nextResourceVersion(), creationTimestamp: '2026-01-01T00:00:00Z', annotations: { 'nginx.ingress.kubernetes.io/proxy-body-size': '8m' }, ...extra },
  spec: {
    ingressClassName: 'wharf',
    rules: [
      {
        host,
        http: {
          paths: [
            { path: '/', pathType: 'Prefix', backend: { service: { name: `svc-${host.length % SERVICES}`, port: { number: 80 } } } },
            { path: '/api', pathType: 'Prefix', backend: { service: { name: `svc-${(host.length + 1) % SERVICES}`, port: { number: 80 } } } },
          ],
        },
      },
    ],
  },
});

/** What a review names of its object's kind: group, kind and resource (version v1). */
export interface ReviewedKind {
  group: string;
  kind: string;
  resource: string;
}

export const INGRESS_KIND: ReviewedKind = { group: 'networking.k8s.io', kind: 'Ingress', resource: 'ingresses' };

/** The body of an AdmissionReview of `object` (in `default` unless its metadata says), as the API server sends it. */
export function admissionReview(uid: string, reviewed: ReviewedKind, operation: 'CREATE' | 'UPDATE', object: { metadata: { name: string; namespace?: string } }): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: reviewed.group, version: 'v1', kind: reviewed.kind },
      resource: { group: reviewed.group, version: 'v1', resource: reviewed.resource },
      operation,
      namespace: object.metadata.namespace ?? 'default',
      name: object.metadata.name,
      object,
      userInfo: { username: 'bench' },
    },
  });
}

/**
 * The body of review `i` of `ingressReview`'s mix with every Ingress of another IngressClass: the
 * webhook reads it and checks its schema, and the model has nothing to check (another controller's),
 * so it is allowed. Beside the floor it measures the webhook's own path, without the model's check.
 */
export function foreignClassReview(i: number, ingresses: number): string {
  const body = JSON.parse(ingressReview(i, ingresses)) as { request: { object: { spec: { ingressClassName: string } } } };
  body.request.object.spec.ingressClassName = 'another-controller';
  return JSON.stringify(body);
}

/** The body of review `i` of a new Ingress, against a view of `ingresses` Ingresses named `host-N.example.com`. */
export function ingressReview(i: number, ingresses: number): string {
  const kind = i % 10;
  let object;
  if (kind < 7) object = benchIngress(`new-${i}`, `fresh-${i}.example.com`);
  else if (kind < 9) object = benchIngress(`new-${i}`, `host-${i % ingresses}.example.com`); // held by an older Ingress: a warning
  else object = benchIngress(`new-${i}`, `bad-${i}.example.com`, { annotations: { 'nginx.ingress.kubernetes.io/configuration-snippet': 'return 200;' } }); // denied
  const { resourceVersion: _rv, creationTimestamp: _created, ...metadata } = object.metadata;
  return admissionReview(`uid-${i}`, INGRESS_KIND, 'CREATE', { ...object, metadata });
}
