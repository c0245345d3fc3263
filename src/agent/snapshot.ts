// At start, the agent asks the handler tier for everything it should serve (the same JSON as
// POST /v1/batch) and applies it as the complete desired state, in one reload. The handler tier may
// not be up yet: the agent retries with backoff until it gets a valid snapshot or stops.
//
// The snapshot is not held to --max-batch-size. That limit bounds what callers push into the agent's
// API; the snapshot is what the agent itself asks its configured source for, the whole desired
// state, whose size is the cluster's (about 3 KB a host: 310 MB at 100,000 Ingresses). Refused, it
// would be asked for again and refused again forever, and the agent would never be ready: a cluster
// that grew past the flag would take down every NGINX pod that restarts. Its bound is what the agent
// can parse at all: JSON text of at most V8's longest string.
import { constants } from 'node:buffer';
// node:http(s), not fetch: fetch would load Node's undici into the agent for this one request.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.ts';
import { Batch } from '../protocol/agent-api.ts';
import { describeIssues, type BatchResult } from './api.ts';
import { http, https } from './node-http.ts';

export interface SnapshotOptions {
  url: string;
  token: string;
  logger: Logger;
  signal: AbortSignal;
  apply: (batch: Batch) => Promise<BatchResult>;
  /** The largest snapshot accepted (default: the longest JSON text the agent can parse, SNAPSHOT_MAX_BYTES). */
  maxBytes?: number;
  firstDelayMs?: number;
  maxDelayMs?: number;
}

/** The largest snapshot the agent takes: its text must fit in one string to be parsed. */
export const SNAPSHOT_MAX_BYTES = constants.MAX_STRING_LENGTH;

/** GET `url` with the bearer token: status and body (at most `limit` bytes). */
function get(url: string, token: string, signal: AbortSignal, limit: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const client = url.startsWith('https:') ? https() : http;
    const req = client.get(url, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, signal, timeout: 60_000 }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > limit) req.destroy(new Error(`GET ${url}: larger than ${limit} bytes, the most this agent can parse as one snapshot`));
        else chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks, size).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within 60 s`)));
    req.on('error', reject);
  });
}

/** Fetches and validates one snapshot; throws with a message saying what was wrong. */
export async function fetchSnapshot(url: string, token: string, signal: AbortSignal, maxBytes = SNAPSHOT_MAX_BYTES): Promise<Batch> {
  const res = await get(url, token, signal, maxBytes);
  if (res.status < 200 || res.status > 299) throw new Error(`GET ${url}: ${res.status} ${res.body.slice(0, 200)}`);
  let data: unknown;
  try {
    data = JSON.parse(res.body);
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
      const batch = await fetchSnapshot(o.url, o.token, o.signal, o.maxBytes);
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
