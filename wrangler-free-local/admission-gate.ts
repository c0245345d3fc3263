// Local mode stands in for the API server, and an API server asks the validating webhook before it
// accepts an Ingress. So does local mode: every added or changed Ingress goes to the handler's real
// POST /admission, and a denied one is not applied (the file stays, the previous version serves).
// The handler runs in local mode's own process, so the review is handed to its HTTP application
// (every middleware and the route as over a socket) without the socket: at start-up every Ingress
// of the folder is reviewed, and the HTTP client and server were half of each review's CPU.
import { randomUUID } from 'node:crypto';

/** The handler's HTTP application (Hono's fetch). */
export type HandlerFetch = (request: Request) => Response | Promise<Response>;

export interface Verdict {
  allowed: boolean;
  /** The denial, one line, naming the field and the reason. */
  message?: string;
  warnings: string[];
}

/** Sends an AdmissionReview (admission.k8s.io/v1) for an Ingress create or update. */
export async function reviewIngress(handler: HandlerFetch, object: Record<string, unknown>, previous: Record<string, unknown> | null): Promise<Verdict> {
  const meta = object.metadata as { name: string; namespace?: string };
  const review = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: { group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' },
      resource: { group: 'networking.k8s.io', version: 'v1', resource: 'ingresses' },
      operation: previous ? 'UPDATE' : 'CREATE',
      name: meta.name,
      namespace: meta.namespace ?? 'default',
      object,
      ...(previous ? { oldObject: previous } : {}),
    },
  };
  const response = await handler(new Request('http://handler/admission', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(review) }));
  const [status, text] = [response.status, await response.text()];
  if (status !== 200) throw new Error(`the admission webhook answered ${status}: ${text.slice(0, 300)}`);
  const answer = JSON.parse(text) as { response?: { allowed?: boolean; status?: { message?: string }; warnings?: string[] } };
  const r = answer.response ?? {};
  return { allowed: r.allowed === true, message: r.status?.message, warnings: r.warnings ?? [] };
}
