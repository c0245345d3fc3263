// At start, the agent asks the handler tier for everything it should serve (the same JSON as
// POST /v1/batch) and applies it as the complete desired state, in one reload. The handler tier may
// not be up yet: the agent retries with backoff until it gets a valid snapshot or stops.
//
// The snapshot is not held to --max-batch-size. That limit bounds what callers push into the agent's
// API; the snapshot is what the agent itself asks its configured source for, the whole desired
// state, whose size is the cluster's (about 3 KB a host: 310 MB at 100,000 Ingresses). Refused, it
// would be asked for again and refused again forever, and the agent would never be ready: a cluster
// that grew past the flag would take down every NGINX pod that restarts. It is read as it arrives
// (batch-reader.ts), so its size is not bounded by the longest string V8 can hold: SNAPSHOT_MAX_BYTES
// only stops a source that never ends.
// node:http(s), not fetch: fetch would load Node's undici into the agent for this one request.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.ts';
import type { Batch } from '../protocol/agent-api.ts';
import { describeIssues, type BatchResult } from './api.ts';
import { BatchReader, type BatchReading } from './batch-reader.ts';
import { http, https } from './node-http.ts';

export interface SnapshotOptions {
  url: string;
  token: string;
  logger: Logger;
  signal: AbortSignal;
  apply: (batch: Batch) => Promise<BatchResult>;
  /** The largest snapshot accepted (default SNAPSHOT_MAX_BYTES). */
  maxBytes?: number;
  firstDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * The largest snapshot the agent takes: 16 GiB, some five million hosts. What bounds a snapshot in
 * practice is the agent's memory: about the snapshot's size once read.
 */
export const SNAPSHOT_MAX_BYTES = 16 * 2 ** 30;

/** What the first 200 characters of an answer other than 2xx are kept for: the error message. */
const ERROR_TEXT = 200;

/**
 * GET `url` with the bearer token (at most `limit` bytes): a 2xx body read as a batch, as it
 * arrives; another status with the start of its body.
 */
function get(url: string, token: string, signal: AbortSignal, limit: number): Promise<{ status: number; reading: BatchReading | null; text: string }> {
  return new Promise((resolve, reject) => {
    const client = url.startsWith('https:') ? https() : http;
    const req = client.get(url, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, signal, timeout: 60_000 }, (res) => {
      const status = res.statusCode ?? 0;
      const ok = status >= 200 && status <= 299;
      const reader = ok ? new BatchReader() : null;
      let text = '';
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > limit) req.destroy(new Error(`GET ${url}: larger than ${limit} bytes, the most this agent takes as one snapshot`));
        else if (reader) reader.pushBytes(c);
        else if (text.length < ERROR_TEXT) text += c.toString('utf8');
      });
      res.on('end', () => resolve(reader ? { status, reading: reader.end(), text: '' } : { status, reading: null, text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within 60 s`)));
    req.on('error', reject);
  });
}

/** Fetches and validates one snapshot; throws with a message saying what was wrong. */
export async function fetchSnapshot(url: string, token: string, signal: AbortSignal, maxBytes = SNAPSHOT_MAX_BYTES): Promise<Batch> {
  const res = await get(url, token, signal, maxBytes);
  if (!res.reading) throw new Error(`GET ${url}: ${res.status} ${res.text.slice(0, ERROR_TEXT)}`);
  const r = res.reading;
  if (r.ok) return { ...r.batch, complete: true };
  if ('malformed' in r) throw new Error(`GET ${url}: malformed JSON: ${r.malformed}`);
  throw new Error(`GET ${url}: not a snapshot: ${describeIssues(r.issues).slice(0, 5).join('; ')}`);
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
