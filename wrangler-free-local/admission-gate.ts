// Local mode stands in for the API server, and an API server asks the validating webhook before it
// accepts an Ingress. So does local mode: every added or changed Ingress goes to the handler's real
// POST /admission, and a denied one is not applied (the file stays, the previous version serves).
import { randomUUID } from 'node:crypto';
import http from 'node:http';

// Reviews go over kept-alive connections of node:http: at start-up every Ingress of the folder is
// reviewed, and fetch costs several times the CPU per request.
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 16 });

export interface Verdict {
  allowed: boolean;
  /** The denial, one line, naming the field and the reason. */
  message?: string;
  warnings: string[];
}

/** Sends an AdmissionReview (admission.k8s.io/v1) for an Ingress create or update. */
export async function reviewIngress(handlerUrl: string, object: Record<string, unknown>, previous: Record<string, unknown> | null): Promise<Verdict> {
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
  const { status, text } = await post(`${handlerUrl}/admission`, JSON.stringify(review));
  if (status !== 200) throw new Error(`the admission webhook answered ${status}: ${text.slice(0, 300)}`);
  const answer = JSON.parse(text) as { response?: { allowed?: boolean; status?: { message?: string }; warnings?: string[] } };
  const r = answer.response ?? {};
  return { allowed: r.allowed === true, message: r.status?.message, warnings: r.warnings ?? [] };
}

function post(url: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent: keepAlive, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
