// The validating admission webhook, as pure functions: an AdmissionReview (admission.k8s.io/v1) in,
// the review's answer out. It validates with the model against the view; it never runs NGINX and
// never calls the API server. The HTTP side (body limit, JSON, status codes) is in app.ts.
import { z } from 'zod';
import type { Problem } from '../model/types.ts';

/**
 * Validates one object (as received, namespace filled in) against the cluster as the view holds it:
 * an Ingress, or one of the Gateway API kinds in REVIEWED.
 */
export type ObjectValidator = (object: Record<string, unknown>, kind: ReviewedKind) => Problem[];

/** What the webhook reviews, by API group: everything else is allowed untouched. */
const REVIEWED = {
  'networking.k8s.io': ['Ingress'],
  'gateway.networking.k8s.io': ['GatewayClass', 'Gateway', 'HTTPRoute', 'GRPCRoute', 'ReferenceGrant'],
} as const;
export type ReviewedKind = (typeof REVIEWED)[keyof typeof REVIEWED][number];

function reviewedKind(kind: { group: string; kind: string }): ReviewedKind | null {
  const kinds = (REVIEWED as Record<string, readonly string[]>)[kind.group];
  return kinds?.includes(kind.kind) ? (kind.kind as ReviewedKind) : null;
}

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
 * A warning that fits Kubernetes' 120 characters: when `field: Invalid value: "v": reason` is too
 * long, the quoted value goes first (the field and the reason are what a person needs); anything
 * still too long is cut at the end.
 */
export function shortWarning(message: string): string {
  const flat = oneLine(message, 4096);
  if (flat.length <= MAX_WARNING_LENGTH) return flat;
  const m = /^(\S+): Invalid value: (?:"(?:[^"\\]|\\.)*"|\S+): (.*)$/.exec(flat);
  return oneLine(m ? `${m[1]}: ${m[2]}` : flat, MAX_WARNING_LENGTH);
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

/** The object under review, with what the API server fills in later (namespace, generated name). */
function objectUnderReview(request: z.infer<typeof AdmissionRequest>, kind: ReviewedKind): Record<string, unknown> {
  const object = request.object;
  if (typeof object !== 'object' || object === null || Array.isArray(object)) {
    throw new MalformedReview(`request.object: Required value: a ${request.operation} review carries the ${kind}`);
  }
  const o = object as Record<string, unknown>;
  const metadata = typeof o.metadata === 'object' && o.metadata !== null ? { ...(o.metadata as Record<string, unknown>) } : {};
  if (!metadata.namespace && request.namespace) metadata.namespace = request.namespace;
  // On CREATE with generateName the name is not chosen yet; any valid name stands in for it.
  if (!metadata.name && typeof metadata.generateName === 'string') metadata.name = `${metadata.generateName}generated`.slice(0, 253);
  return { ...o, metadata };
}

/**
 * Answers one review: CREATE and UPDATE of an Ingress or a Gateway API kind are validated (errors
 * deny with 403 and the problems in one line; warnings are passed on); everything else is allowed
 * untouched.
 */
export function review(json: unknown, validate: ObjectValidator, extraWarnings: string[] = []): { body: AdmissionResponse; decision: Decision } {
  const { request } = readReview(json);
  const answer = (allowed: boolean, rest: Partial<AdmissionResponse['response']> = {}): AdmissionResponse => ({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid: request.uid, allowed, ...rest },
  });
  const kind = reviewedKind(request.kind);
  if (!kind || (request.operation !== 'CREATE' && request.operation !== 'UPDATE')) {
    return { body: answer(true), decision: 'skipped' };
  }
  const problems = validate(objectUnderReview(request, kind), kind);
  const errors = problems.filter((p) => p.severity === 'error');
  const warnings = [...problems.filter((p) => p.severity === 'warning').map((p) => p.message), ...extraWarnings].map(shortWarning);
  const withWarnings = warnings.length ? { warnings: [...new Set(warnings)] } : {};
  if (errors.length) {
    const message = oneLine(errors.map((p) => p.message).join('; '), MAX_MESSAGE_LENGTH);
    return { body: answer(false, { status: { code: 403, message, reason: 'Forbidden' }, ...withWarnings }), decision: 'denied' };
  }
  return { body: answer(true, withWarnings), decision: warnings.length ? 'allowed_with_warnings' : 'allowed' };
}
