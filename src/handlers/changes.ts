// From validated CloudEvents (or a list) to changes of the view, and from applied changes to what the
// agents must receive. The HTTP side (auth, limits, status codes) is in app.ts; this is the pipeline
// in between: read referenced objects, parse every object for the model (all before anything is
// applied, so a batch is all or nothing), apply in order, collect the recomputed fragments.
import { HTTPException } from 'hono/http-exception';
import { CLUSTER_SCOPED, formatKey, type Change, type ClusterReader, type ClusterView, type Kind, type KubeObject, type ObjectKey } from '../cluster/view.ts';
import type { PrepareItems } from '../cluster/view-relist.ts';
import type { Logger } from '../log.ts';
import { MalformedEvents, type ReceivedEvent } from './cloudevents.ts';
import { parseForModel, type DesiredConfig } from './desired-config.ts';
import { mergeUpdate, type DesiredUpdate } from './fanout.ts';
import type { HandlerMetrics } from './metrics.ts';

/** Per-event outcome in the /events response. */
export interface EventResult {
  id: string;
  object: string;
  result: 'applied' | 'duplicate' | 'stale' | 'ignored' | 'gone' | 'invalid';
  reason?: string;
}

interface Resolved {
  event: ReceivedEvent;
  change: Change | null;
  /** Set when there is nothing to apply (a referenced object gone, or unreadable by the model). */
  result?: EventResult;
}

const keyOfParsed = (o: KubeObject): ObjectKey => ({ kind: o.kind as Kind, namespace: CLUSTER_SCOPED.has(o.kind as Kind) ? '' : (o.metadata.namespace ?? 'default'), name: o.metadata.name });

/**
 * Reads referenced objects and parses every object. Throws HTTPException 400 (a malformed object:
 * the sender's data is wrong, not retried) or 503 (the reader failed: retry later).
 */
export async function resolveEvents(received: ReceivedEvent[], reader: ClusterReader | null, log: Logger): Promise<Resolved[]> {
  const problems: string[] = [];
  const out = await Promise.all(
    received.map(async (event, i): Promise<Resolved> => {
      const prefix = received.length > 1 ? `[${i}].` : '';
      if (event.ref) {
        const key = { kind: event.ref.kind, namespace: event.ref.namespace, name: event.ref.name };
        const what = formatKey(key);
        if (event.action === 'delete') {
          return { event, change: { action: 'delete', key, ...(event.ref.resourceVersion ? { resourceVersion: event.ref.resourceVersion } : {}) } };
        }
        if (!reader) {
          problems.push(`${prefix}type: Unsupported value: "${event.type}": this handler has no cluster reader to read the referenced object; send Resource-mode events`);
          return { event, change: null };
        }
        let object: KubeObject | null;
        try {
          object = await reader.get(key);
        } catch (e) {
          throw new HTTPException(503, { message: `reading ${what} for a reference event: ${(e as Error).message}; retry later` });
        }
        if (!object) return { event, change: null, result: { id: event.id, object: what, result: 'gone', reason: 'the object no longer exists' } };
        const parsed = parseForModel(object);
        if (!parsed.ok) {
          log.warn('a referenced object does not parse; ignored', { object: what, problems: parsed.problems });
          return { event, change: null, result: { id: event.id, object: what, result: 'invalid', reason: parsed.problems.join('; ') } };
        }
        return { event, change: { action: event.action, key, resourceVersion: parsed.value.metadata.resourceVersion!, object: parsed.value } };
      }
      if (event.action === 'delete') {
        // A delete needs the object's identity and version only; senders may send just metadata.
        const o = event.object!;
        return { event, change: { action: 'delete', key: keyOfParsed(o), resourceVersion: o.metadata.resourceVersion! } };
      }
      const parsed = parseForModel(event.object);
      if (!parsed.ok) {
        problems.push(...parsed.problems.map((p) => `${prefix}data.${p}`));
        return { event, change: null };
      }
      return { event, change: { action: event.action, key: keyOfParsed(parsed.value), resourceVersion: event.object!.metadata.resourceVersion!, object: parsed.value } };
    }),
  );
  if (problems.length) throw new MalformedEvents(problems);
  return out;
}

export interface ApplyDeps {
  view: ClusterView;
  desired: DesiredConfig;
  metrics: HandlerMetrics;
  onChange?: (key: ObjectKey) => void;
}

/** Applies resolved events in order; returns each event's result and what the agents must receive. */
export function applyEvents(resolved: Resolved[], deps: ApplyDeps): { results: EventResult[]; update: DesiredUpdate } {
  const results: EventResult[] = [];
  const update: DesiredUpdate = { fragments: [], endpoints: [] };
  for (const { event, change, result } of resolved) {
    if (!change) {
      results.push(result!);
      deps.metrics.events.inc({ type: event.type, result: result!.result });
      continue;
    }
    const applied = deps.view.apply(change);
    deps.metrics.events.inc({ type: event.type, result: applied.outcome });
    const what = formatKey(change.key);
    if (applied.outcome !== 'applied') {
      results.push({ id: event.id, object: what, result: applied.outcome, reason: applied.reason });
      continue;
    }
    results.push({ id: event.id, object: what, result: 'applied' });
    deps.onChange?.(change.key);
    mergeUpdate(update, deps.desired.applied(change.key, applied.current, deps.view.versionOf(change.key)));
  }
  return { results, update };
}

/**
 * A relist's PrepareItems: parses listed objects for the model, reusing what the view holds at the
 * same resourceVersion (most of a relist) and yielding to requests between chunks of parsing.
 */
export function parseListed(view: ClusterView, log: Logger, skipped: { count: number }): PrepareItems {
  return async (kind, items) => {
    const out: KubeObject[] = [];
    for (const [i, item] of items.entries()) {
      const name = item.metadata?.name;
      const held = name ? view.get({ kind, namespace: CLUSTER_SCOPED.has(kind) ? '' : (item.metadata.namespace ?? 'default'), name }) : null;
      if (held && item.metadata.resourceVersion && held.metadata.resourceVersion === item.metadata.resourceVersion) {
        out.push(held);
        continue;
      }
      if (i % 256 === 255) await new Promise((r) => setImmediate(r));
      const parsed = parseForModel(item);
      if (parsed.ok) out.push(parsed.value);
      else {
        skipped.count++;
        log.warn('a listed object does not parse; left out', { kind, name, namespace: item.metadata?.namespace, problems: parsed.problems.slice(0, 3) });
      }
    }
    return out;
  };
}
