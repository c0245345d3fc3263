// The validating admission webhook, as pure functions: an AdmissionReview (admission.k8s.io/v1) in,
// the review's answer out. It validates with the model against the view; it never runs NGINX and
// never calls the API server. The HTTP side (body limit, JSON, status codes) is in admission-http.ts.
import { z } from 'zod';
import type { Problem } from '../model/types.ts';
import { collapseWarnings } from './warning-collapse.ts';

/**
 * Validates one object (as received, namespace filled in) against the cluster as the view holds it:
 * an Ingress, or one of the Gateway API kinds in REVIEWED.
 */
export type ObjectValidator = (object: Record<string, unknown>, kind: ReviewedKind) => Problem[];

/** What the webhook reviews, by API group: everything else is allowed untouched. */
const REVIEWED = {
  // The core group: the TCP and UDP services ConfigMaps (any other ConfigMap is allowed untouched).
  '': ['ConfigMap'],
  'networking.k8s.io': ['Ingress'],
  'gateway.networking.k8s.io': ['GatewayClass', 'Gateway', 'HTTPRoute', 'GRPCRoute', 'TLSRoute', 'TCPRoute', 'UDPRoute', 'ReferenceGrant'],
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
// Compiled once (as the model's schemas are): a generated check first, zod's own parser, and so
// its messages, for what the check refuses.
const compiledReview = z.compile(AdmissionReview);

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
 * value is shortened (`"abc..."`), or left out when even a few characters do not fit, and then the
 * kind of problem too if the rest still does not fit (the reason says it in words); only a field and
 * reason longer than 120 together are cut at the end.
 */
export function shortWarning(message: string): string {
  const flat = oneLine(message, 4096);
  if (flat.length <= MAX_WARNING_LENGTH) return flat;
  // `N times: ` is the count of a collapsed warning (warning-collapse.ts): it stays with the field.
  const m = /^(\S+): ((?:\d+ times: )?)(Invalid value|Not found|Unsupported value|Duplicate value): ("(?:[^"\\]|\\.)*"): (.*)$/.exec(flat);
  if (!m) return oneLine(flat, MAX_WARNING_LENGTH);
  const [, field, count, type, quoted, reason] = m as unknown as [string, string, string, string, string, string];
  const room = MAX_WARNING_LENGTH - `${field}: ${count}${type}: : ${reason}`.length;
  const value = shortQuoted(quoted, room);
  if (value) return `${field}: ${count}${type}: ${value}: ${reason}`;
  const withoutValue = `${field}: ${count}${type}: ${reason}`;
  return withoutValue.length <= MAX_WARNING_LENGTH ? withoutValue : oneLine(`${field}: ${count}${reason}`, MAX_WARNING_LENGTH);
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
  const r = compiledReview.safeParse(json);
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

/** What a review asks: an object to validate, or nothing to check (the answer is ready). */
export type ReviewTarget =
  | { object: Record<string, unknown>; kind: ReviewedKind; answer: (problems: Problem[], extraWarnings?: string[]) => { body: AdmissionResponse; decision: Decision } }
  | { object: null; answer: () => { body: AdmissionResponse; decision: Decision } };

/**
 * Reads one review (or throws MalformedReview): CREATE and UPDATE of an Ingress or a Gateway API
 * kind are to be validated (errors deny with 403 and the problems in one line; warnings are passed
 * on); everything else is allowed untouched. Validating is the caller's, so that it may take its
 * time over a large object.
 */
export function reviewTarget(json: unknown): ReviewTarget {
  const { request } = readReview(json);
  const answer = (allowed: boolean, rest: Partial<AdmissionResponse['response']> = {}): AdmissionResponse => ({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid: request.uid, allowed, ...rest },
  });
  const kind = reviewedKind(request.kind);
  if (!kind || (request.operation !== 'CREATE' && request.operation !== 'UPDATE')) {
    return { object: null, answer: () => ({ body: answer(true), decision: 'skipped' }) };
  }
  return {
    object: objectUnderReview(request, kind),
    kind,
    answer: (problems, extraWarnings = []) => {
      // Most reviews have no problem at all: nothing to sort, collapse or shorten.
      if (problems.length === 0 && extraWarnings.length === 0) return { body: answer(true), decision: 'allowed' };
      const errors = problems.filter((p) => p.severity === 'error');
      const warnings = [...collapseWarnings(problems.filter((p) => p.severity === 'warning')), ...extraWarnings].map(shortWarning);
      const withWarnings = warnings.length ? { warnings: [...new Set(warnings)] } : {};
      if (errors.length) {
        const message = oneLine(errors.map((p) => p.message).join('; '), MAX_MESSAGE_LENGTH);
        return { body: answer(false, { status: { code: 403, message, reason: 'Forbidden' }, ...withWarnings }), decision: 'denied' };
      }
      return { body: answer(true, withWarnings), decision: warnings.length ? 'allowed_with_warnings' : 'allowed' };
    },
  };
}

/** Answers one review at once (reviewTarget, then `validate` on its object). */
export function review(json: unknown, validate: ObjectValidator, extraWarnings: string[] = []): { body: AdmissionResponse; decision: Decision } {
  const target = reviewTarget(json);
  return target.object === null ? target.answer() : target.answer(validate(target.object, target.kind), extraWarnings);
}
