// At start, the agent asks the handler tier for everything it should serve (the same JSON as
// POST /v1/batch) and applies it as the complete desired state, in one reload. The handler tier may
// not be up yet: the agent retries with backoff until it gets a valid snapshot or stops.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.ts';
import { Batch } from '../protocol/agent-api.ts';
import { describeIssues, type BatchResult } from './api.ts';

export interface SnapshotOptions {
  url: string;
  token: string;
  logger: Logger;
  signal: AbortSignal;
  apply: (batch: Batch) => Promise<BatchResult>;
  firstDelayMs?: number;
  maxDelayMs?: number;
}

/** Fetches and validates one snapshot; throws with a message saying what was wrong. */
export async function fetchSnapshot(url: string, token: string, signal: AbortSignal): Promise<Batch> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, signal });
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${(await res.text()).slice(0, 200)}`);
  let data: unknown;
  try {
    data = await res.json();
  } catch (e) {
    throw new Error(`GET ${url}: malformed JSON: ${(e as Error).message}`);
  }
  const parsed = Batch.safeParse(data, { reportInput: true });
  if (!parsed.success) throw new Error(`GET ${url}: not a snapshot: ${describeIssues(parsed.error.issues).slice(0, 5).join('; ')}`);
  return { ...parsed.data, complete: true };
}

/** Retries until a snapshot is applied; null when stopped first. */
export async function fetchSnapshotUntilDone(o: SnapshotOptions): Promise<BatchResult | null> {
  let delay = o.firstDelayMs ?? 250;
  for (let attempt = 1; !o.signal.aborted; attempt++) {
    try {
      const batch = await fetchSnapshot(o.url, o.token, o.signal);
      const result = await o.apply(batch);
      o.logger.info('snapshot applied', { url: o.url, fragments: batch.fragments.length, endpoints: batch.endpoints.length, version: result.version });
      return result;
    } catch (e) {
      if (o.signal.aborted) return null;
      o.logger.warn('cannot get the snapshot yet; retrying', { url: o.url, attempt, retryInMs: delay, error: e });
      await sleep(delay, undefined, { signal: o.signal }).catch(() => undefined);
      delay = Math.min(delay * 2, o.maxDelayMs ?? 15_000);
    }
  }
  return null;
}
