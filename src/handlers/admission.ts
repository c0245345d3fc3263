// The validating admission webhook, as pure functions: an AdmissionReview (admission.k8s.io/v1) in,
// the review's answer out. It validates with the model against the view; it never runs NGINX and
// never calls the API server. The HTTP side (body limit, JSON, status codes) is in app.ts.
import { z } from 'zod';
import type { Problem } from '../model/types.ts';

/** Validates one Ingress (as received, namespace filled in) against the cluster as the view holds it. */
export type IngressValidator = (ingress: Record<string, unknown>) => Problem[];

/** Kubernetes shows at most 120 characters of a warning; longer ones are cut by us, not by it. */
export const MAX_WARNING_LENGTH = 120;
/** A denial is one line; this keeps it readable when an object has many problems. */
const MAX_MESSAGE_LENGTH = 1024;

const GroupVersionKind = z.object({ group: z.string(), version: z.string(), kind: z.string() });

const AdmissionRequest = z.looseObject({
  uid: z.string({ error: 'Required value: the API server sends a uid with every review' }).min(1, 'Required value: must not be empty'),
  kind: GroupVersionKind,
  operation: z.enum(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']),
  namespace: z.string().optional(),
  name: z.string().optional(),
  object: z.unknown().optional(),
  oldObject: z.unknown().optional(),
  dryRun: z.boolean().optional(),
});

const AdmissionReview = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  request: AdmissionRequest.optional(),
});

export interface AdmissionResponse {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: {
    uid: string;
    allowed: boolean;
    status?: { code: number; message: string; reason: string };
    warnings?: string[];
  };
}

/** Why a review could not be read (→ 400): the field and what to fix. */
export class MalformedReview extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedReview';
  }
}

export type Decision = 'allowed' | 'allowed_with_warnings' | 'denied' | 'skipped';

/** The one-line, printable form of a text Kubernetes will show to a person. */
function oneLine(text: string, max: number): string {
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}

/**
 * A warning that fits Kubernetes' 120 characters. In `field: Invalid value: "v": reason` (and
 * `Not found`, `Unsupported value`) the field and the reason are what a person needs, so the quoted
 * value is shortened (`"abc..."`), or left out when even a few characters do not fit (then the
 * kind of problem too, which the reason says in words); only a field and reason longer than 120
 * together are cut at the end.
 */
export function shortWarning(message: string): string {
  const flat = oneLine(message, 4096);
  if (flat.length <= MAX_WARNING_LENGTH) return flat;
  const m = /^(\S+): (Invalid value|Not found|Unsupported value|Duplicate value): ("(?:[^"\\]|\\.)*"): (.*)$/.exec(flat);
  if (!m) return oneLine(flat, MAX_WARNING_LENGTH);
  const [, field, type, quoted, reason] = m as unknown as [string, string, string, string, string];
  const room = MAX_WARNING_LENGTH - `${field}: ${type}: : ${reason}`.length;
  const value = shortQuoted(quoted, room);
  if (value) return `${field}: ${type}: ${value}: ${reason}`;
  const withoutValue = `${field}: ${type}: ${reason}`;
  return withoutValue.length <= MAX_WARNING_LENGTH ? withoutValue : oneLine(`${field}: ${reason}`, MAX_WARNING_LENGTH);
}

/** A JSON-quoted value cut to at most `room` characters, quotes and "..." included; null when under 6. */
function shortQuoted(quoted: string, room: number): string | null {
  if (quoted.length <= room) return quoted;
  if (room < 6) return null;
  let text: string;
  try {
    text = JSON.parse(quoted) as string;
  } catch {
    return null;
  }
  // Cut the text, not its JSON form, so that no escape is split; shorter until it fits.
  for (let n = Math.min(text.length, room); n > 0; n--) {
    const cut = `${JSON.stringify(text.slice(0, n)).slice(0, -1)}..."`;
    if (cut.length <= room) return cut;
  }
  return null;
}

/** Reads the review or throws MalformedReview naming the field. */
export function readReview(json: unknown): z.infer<typeof AdmissionReview> & { request: z.infer<typeof AdmissionRequest> } {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new MalformedReview('(body): Invalid value: an AdmissionReview is a JSON object');
  const r = AdmissionReview.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new MalformedReview(`${i.path.join('.') || '(body)'}: ${i.message}`);
  }
  if (r.data.apiVersion !== 'admission.k8s.io/v1' || r.data.kind !== 'AdmissionReview') {
    throw new MalformedReview(
      `apiVersion/kind: Unsupported value: "${oneLine(r.data.apiVersion, 60)}"/"${oneLine(r.data.kind, 40)}": wharf reads admission.k8s.io/v1 AdmissionReview (set admissionReviewVersions: ["v1"] in the ValidatingWebhookConfiguration)`,
    );
  }
  if (!r.data.request) throw new MalformedReview('request: Required value: an AdmissionReview sent to a webhook carries the request to review');
  return r.data as ReturnType<typeof readReview>;
}

/** The Ingress under review, with what the API server fills in later (namespace, generated name). */
function ingressUnderReview(request: z.infer<typeof AdmissionRequest>): Record<string, unknown> {
  const object = request.object;
  if (typeof object !== 'object' || object === null || Array.isArray(object)) {
    throw new MalformedReview(`request.object: Required value: a ${request.operation} review carries the Ingress`);
  }
  const o = object as Record<string, unknown>;
  const metadata = typeof o.metadata === 'object' && o.metadata !== null ? { ...(o.metadata as Record<string, unknown>) } : {};
  if (!metadata.namespace && request.namespace) metadata.namespace = request.namespace;
  // On CREATE with generateName the name is not chosen yet; any valid name stands in for it.
  if (!metadata.name && typeof metadata.generateName === 'string') metadata.name = `${metadata.generateName}generated`.slice(0, 253);
  return { ...o, metadata };
}

/**
 * Answers one review: Ingress CREATE and UPDATE are validated (errors deny with 403 and the
 * problems in one line; warnings are passed on); everything else is allowed untouched.
 */
export function review(json: unknown, validate: IngressValidator, extraWarnings: string[] = []): { body: AdmissionResponse; decision: Decision } {
  const { request } = readReview(json);
  const answer = (allowed: boolean, rest: Partial<AdmissionResponse['response']> = {}): AdmissionResponse => ({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid: request.uid, allowed, ...rest },
  });
  const isIngress = request.kind.group === 'networking.k8s.io' && request.kind.kind === 'Ingress';
  if (!isIngress || (request.operation !== 'CREATE' && request.operation !== 'UPDATE')) {
    return { body: answer(true), decision: 'skipped' };
  }
  const problems = validate(ingressUnderReview(request));
  const errors = problems.filter((p) => p.severity === 'error');
  const warnings = [...problems.filter((p) => p.severity === 'warning').map((p) => p.message), ...extraWarnings].map(shortWarning);
  const withWarnings = warnings.length ? { warnings: [...new Set(warnings)] } : {};
  if (errors.length) {
    const message = oneLine(errors.map((p) => p.message).join('; '), MAX_MESSAGE_LENGTH);
    return { body: answer(false, { status: { code: 403, message, reason: 'Forbidden' }, ...withWarnings }), decision: 'denied' };
  }
  return { body: answer(true, withWarnings), decision: warnings.length ? 'allowed_with_warnings' : 'allowed' };
}
