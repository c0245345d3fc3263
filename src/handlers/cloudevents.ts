// CloudEvents in, typed changes out. The `cloudevents` SDK parses the three HTTP modes (binary,
// structured, batch), but it does not validate what wharf relies on: it even invents an `id` and a
// `specversion` when they are missing. So the attributes are checked on the wire first, the SDK
// parses, and the data is then checked per event type. Nothing reaches the view unless every event
// of the request passed (a batch is all or nothing, so a retry cannot half-apply it twice).
//
// The common case skips the SDK: a binary event with a JSON object body and plain attributes, or a
// structured event whose data is an object. There the SDK's result is the checked attributes and the
// parsed body, and it costs more than the rest of an endpoint event's handling (it builds two
// ValidationErrors, stack and all, for every JSON payload it parses); `sdkEquivalent` says when the
// shortcut gives exactly what the SDK would, errors included.
//
// Event types understood:
//   dev.knative.apiserver.resource.{add,update,delete}  data: the whole object (Knative, Resource mode)
//   dev.knative.apiserver.ref.{add,update,delete}       data: {apiVersion, kind, name, namespace, resourceVersion?}
//   io.wharf.resource.{add,update,delete}               data: the whole object (wharf's own sources)
import { HTTP, type CloudEventV1 } from 'cloudevents';
import { z } from 'zod';
import { API_VERSIONS, CLUSTER_SCOPED, KINDS, isKind, type ChangeAction, type Kind, type KubeObject } from '../cluster/view.ts';

export const EVENT_TYPE = /^(dev\.knative\.apiserver\.resource|dev\.knative\.apiserver\.ref|io\.wharf\.resource)\.(add|update|delete)$/;

/** A reference to an object, as Knative sends it in Reference mode. */
export interface ObjectReference {
  apiVersion: string;
  kind: Kind;
  name: string;
  namespace: string;
  resourceVersion?: string;
}

/** One validated event. */
export type ReceivedEvent = {
  id: string;
  source: string;
  type: string;
  action: ChangeAction;
} & ({ object: KubeObject; ref?: undefined } | { ref: ObjectReference; object?: undefined });

/** Why a request is not acceptable: each entry reads `field: reason`. */
export class MalformedEvents extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.length === 1 ? problems[0] : `${problems.length} problems: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? '; …' : ''}`);
    this.name = 'MalformedEvents';
    this.problems = problems;
  }
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const objectName = z.string().min(1).max(253).regex(DNS_SUBDOMAIN, 'must be a lowercase DNS subdomain (a-z, 0-9, "-" and ".")');
const namespaceName = z.string().min(1).max(63).regex(DNS_LABEL, 'must be a lowercase DNS label (a-z, 0-9 and "-")');
const resourceVersion = z.string().min(1).max(64).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

/** Context attributes, as found on the wire (headers in binary mode, JSON members otherwise). */
const Attributes = z.object({
  specversion: z.literal('1.0', { error: 'wharf accepts CloudEvents 1.0 only' }),
  id: z.string().min(1, 'must not be empty').max(1024),
  source: z.string().min(1, 'must not be empty').max(4096),
  type: z.string().regex(EVENT_TYPE, `wharf understands dev.knative.apiserver.resource.*, dev.knative.apiserver.ref.* and io.wharf.resource.* (add, update, delete)`),
});

const KubeObjectShape = z.looseObject({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  metadata: z.looseObject({
    name: objectName,
    namespace: namespaceName.optional(),
    resourceVersion,
    uid: z.string().max(128).optional(),
    creationTimestamp: z.string().max(64).optional(),
  }),
});

const ReferenceShape = z.looseObject({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  name: objectName,
  namespace: namespaceName.optional(),
  resourceVersion: resourceVersion.optional(),
});

/** Formats zod issues as `prefix.path: reason` lines; a missing field reads `Required value`. */
function issues(prefix: string, error: z.ZodError, raw: unknown): string[] {
  return error.issues.map((i) => {
    const path = [prefix, ...i.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))].filter(Boolean).join('.').replace(/\.\[/g, '[');
    let value: unknown = raw;
    for (const p of i.path) value = value && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[p as PropertyKey] : undefined;
    if (value === undefined) return `${path || '(event)'}: Required value`;
    const shown = typeof value === 'string' ? `${JSON.stringify(value.length > 80 ? value.slice(0, 80) + '…' : value)}: ` : '';
    return `${path || '(event)'}: Invalid value: ${shown}${i.message}`;
  });
}

/** Checks kind, apiVersion and namespace against what wharf reads; returns problems. */
function checkKind(prefix: string, kind: string, apiVersion: string, namespace: string | undefined): string[] {
  if (!isKind(kind)) {
    return [`${prefix}.kind: Unsupported value: ${JSON.stringify(kind)}: wharf reads ${KINDS.join(', ')}; configure the event source to send only those`];
  }
  if (apiVersion !== API_VERSIONS[kind]) {
    return [`${prefix}.apiVersion: Unsupported value: ${JSON.stringify(apiVersion)}: wharf reads ${kind} as ${API_VERSIONS[kind]}`];
  }
  if (!CLUSTER_SCOPED.has(kind) && !namespace) return [`${prefix}.namespace: Required value: a ${kind} lives in a namespace`];
  return [];
}

/** What wharf reads of a parsed event: the SDK's CloudEvent, or the same fields read without it. */
type ParsedEvent = Pick<CloudEventV1<unknown>, 'id' | 'source' | 'type' | 'data'>;

/** Validates the data of one parsed event against its type. */
function toReceived(event: ParsedEvent, prefix: string, problems: string[]): ReceivedEvent | null {
  const [, family, action] = EVENT_TYPE.exec(event.type)!;
  const base = { id: event.id, source: event.source, type: event.type, action: action as ChangeAction };
  let data: unknown = event.data;
  if (typeof data === 'string' && /^\s*[{[]/.test(data)) {
    try {
      data = JSON.parse(data);
    } catch (e) {
      problems.push(`${prefix}data: Invalid value: not JSON: ${(e as Error).message}`);
      return null;
    }
  }
  if (data === undefined || data === null) {
    problems.push(`${prefix}data: Required value: a ${event.type} event carries ${family === 'dev.knative.apiserver.ref' ? 'a reference to the object' : 'the whole object'}`);
    return null;
  }
  if (typeof data !== 'object' || Array.isArray(data) || ArrayBuffer.isView(data)) {
    problems.push(`${prefix}data: Invalid value: expected a JSON object (datacontenttype application/json)`);
    return null;
  }
  if (family === 'dev.knative.apiserver.ref') {
    const r = ReferenceShape.safeParse(data);
    if (!r.success) {
      problems.push(...issues(`${prefix}data`, r.error, data));
      return null;
    }
    const found = checkKind(`${prefix}data`, r.data.kind, r.data.apiVersion, r.data.namespace);
    if (found.length) {
      problems.push(...found);
      return null;
    }
    const kind = r.data.kind as Kind;
    const ref: ObjectReference = { apiVersion: r.data.apiVersion, kind, name: r.data.name, namespace: CLUSTER_SCOPED.has(kind) ? '' : r.data.namespace! };
    if (r.data.resourceVersion) ref.resourceVersion = r.data.resourceVersion;
    return { ...base, ref };
  }
  const o = KubeObjectShape.safeParse(data);
  if (!o.success) {
    problems.push(...issues(`${prefix}data`, o.error, data));
    return null;
  }
  const found = checkKind(`${prefix}data`, o.data.kind, o.data.apiVersion, o.data.metadata.namespace);
  if (found.length) {
    problems.push(...found.map((p) => p.replace(`${prefix}data.namespace`, `${prefix}data.metadata.namespace`)));
    return null;
  }
  return { ...base, object: data as KubeObject };
}

/** Reads the context attributes of one structured event (a JSON object) or reports what is wrong. */
function checkAttributes(raw: unknown, prefix: string, problems: string[]): boolean {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push(`${prefix || '(body)'}: Invalid value: a CloudEvent is a JSON object`);
    return false;
  }
  if ('data_base64' in raw) {
    problems.push(`${prefix}data_base64: Forbidden: send the object as JSON in "data"`);
    return false;
  }
  const a = Attributes.safeParse(raw);
  if (!a.success) problems.push(...issues(prefix.replace(/\.$/, ''), a.error, raw));
  return a.success;
}

function sdkParse(headers: Record<string, string>, body: unknown, prefix: string, problems: string[]): CloudEventV1<unknown> | null {
  try {
    const parsed = HTTP.toEvent({ headers, body });
    if (Array.isArray(parsed)) throw new Error('expected one event');
    return parsed as CloudEventV1<unknown>;
  } catch (e) {
    problems.push(`${prefix || '(event)'}: Invalid value: ${(e as Error).message}${(e as { errors?: unknown[] }).errors ? ` ${JSON.stringify((e as { errors?: unknown[] }).errors).slice(0, 300)}` : ''}`);
    return null;
  }
}

/** Content types for which the SDK parses a binary event's body as JSON (its parserByContentType, exactly). */
const SDK_JSON_TYPES = new Set(['application/json', 'application/json; charset=utf-8']);
/** Attributes the SDK reads in a special way (schemaurl is refused on 1.0, a base64 encoding decoded): left to it. */
const SDK_SPECIAL = new Set(['schemaurl', 'datacontentencoding', 'data_base64']);
const EXTENSION_NAME = /^[a-z0-9]+$/;

/**
 * A binary event the SDK would turn into exactly {attributes, JSON.parse(body)}: a JSON object body
 * under a content type its JSON parser takes, and no attribute it treats specially.
 */
function binaryShortcut(flat: Record<string, string>, body: string): boolean {
  if (body.charCodeAt(0) !== 0x7b /* { */ || !SDK_JSON_TYPES.has(flat['content-type'] ?? '')) return false;
  for (const k in flat) {
    if (k.charCodeAt(0) !== 0x63 || !k.startsWith('ce-')) continue;
    const name = k.slice(3);
    if (!EXTENSION_NAME.test(name) || SDK_SPECIAL.has(name)) return false;
  }
  return true;
}

/** A structured event (attributes already checked) the SDK would turn into its own members, data as it is. */
function structuredShortcut(raw: Record<string, unknown>): boolean {
  if (typeof raw.data !== 'object' || raw.data === null || ArrayBuffer.isView(raw.data)) return false;
  for (const k of SDK_SPECIAL) if (k in raw) return false;
  return true;
}

/** Request headers as the Web (a Headers) or node:http (lower-case names, repeated ones as arrays) give them. */
export type EventHeaders = Headers | Record<string, string | string[] | undefined>;

function flatten(headers: EventHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  if (headers instanceof Headers) headers.forEach((v, k) => (flat[k.toLowerCase()] = v));
  else for (const k in headers) {
    const v = headers[k];
    if (v !== undefined) flat[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return flat;
}

/**
 * Parses and validates the body of POST /events. Throws MalformedEvents (→ 400, not retried) with
 * every problem found, field by field.
 */
export function parseEvents(headers: EventHeaders, body: string): ReceivedEvent[] {
  const problems: string[] = [];
  const events: ReceivedEvent[] = [];
  const flat = flatten(headers);
  const contentType = (flat['content-type'] ?? '').toLowerCase();

  if (contentType.startsWith('application/cloudevents-batch+json') || contentType.startsWith('application/cloudevents+json')) {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch (e) {
      throw new MalformedEvents([`(body): Invalid value: malformed JSON: ${(e as Error).message}`]);
    }
    const batch = contentType.startsWith('application/cloudevents-batch+json');
    if (batch && !Array.isArray(json)) throw new MalformedEvents(['(body): Invalid value: a batch is a JSON array of CloudEvents']);
    const items = batch ? (json as unknown[]) : [json];
    if (batch && items.length === 0) throw new MalformedEvents(['(body): Invalid value: the batch is empty']);
    items.forEach((raw, i) => {
      const prefix = batch ? `[${i}].` : '';
      if (!checkAttributes(raw, prefix, problems)) return;
      const event = structuredShortcut(raw as Record<string, unknown>) ? (raw as ParsedEvent) : sdkParse({ 'content-type': 'application/cloudevents+json' }, raw, prefix, problems);
      if (!event) return;
      const received = toReceived(event, prefix, problems);
      if (received) events.push(received);
    });
  } else if (flat['ce-id'] !== undefined || flat['ce-type'] !== undefined || flat['ce-source'] !== undefined || flat['ce-specversion'] !== undefined) {
    const attributes = { specversion: flat['ce-specversion'], id: flat['ce-id'], source: flat['ce-source'], type: flat['ce-type'] };
    const a = Attributes.safeParse(attributes);
    if (!a.success) throw new MalformedEvents(issues('', a.error, attributes).map((p) => `ce-${p}`));
    if (body && contentType && !/^application\/(json|[a-z0-9.+-]*\+json)\b/.test(contentType)) {
      throw new MalformedEvents([`content-type: Unsupported value: ${JSON.stringify(contentType)}: send the object as application/json`]);
    }
    let event: ParsedEvent | null;
    if (binaryShortcut(flat, body)) {
      try {
        event = { id: a.data.id, source: a.data.source, type: a.data.type, data: JSON.parse(body) };
      } catch (e) {
        // As the SDK's JSON parser reports it (sdkParse).
        problems.push(`(event): Invalid value: ${(e as Error).message}`);
        event = null;
      }
    } else event = sdkParse(flat, body || undefined, '', problems);
    const received = event && toReceived(event, '', problems);
    if (received) events.push(received);
  } else {
    throw new MalformedEvents([
      '(request): Invalid value: not a CloudEvent: send ce-* headers (binary mode), or Content-Type application/cloudevents+json (structured) or application/cloudevents-batch+json (batch)',
    ]);
  }
  if (problems.length) throw new MalformedEvents(problems);
  return events;
}
