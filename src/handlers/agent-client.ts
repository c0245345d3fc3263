// The handler tier's side of the agent API (docs/architecture.md "Agent API", src/protocol/agent-api.ts): one
// client per agent over node:http(s) with kept-alive connections, every call authenticated with the
// agent token and bounded by a timeout. Failures are thrown as AgentError, which says whether a retry
// can help. node:http rather than fetch: a call costs a fraction of the CPU (fetch builds Request,
// Headers and web streams per call), and its bytes reach the socket in the same tick (fetch writes
// a few promise turns later), which is what lets an event's push leave before its answer (app.ts).
// The endpoint lane's requests to a plain-HTTP agent take a shorter way still (agent-wire.ts).
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Batch, EndpointsPut, EndpointsResult, FragmentResult } from '../protocol/agent-api.ts';
import { WirePool } from './agent-wire.ts';
import type { SnapshotParts } from './desired-config.ts';
import { snapshotStream } from './snapshot-stream.ts';

/**
 * What a POST /v1/batch carries: a batch, or the full snapshot as parts, written as it is sent
 * (snapshot-stream.ts): at 100,000 Ingresses a snapshot is 310 MB of JSON, which built whole (every
 * fragment's text, then one string of it all) would take the handler past a 1 GiB container's heap.
 */
export type OutgoingBatch = Batch | SnapshotParts;

/** A snapshot sent in parts (its fragments are read one by one), not a batch in memory. */
export function isSnapshotParts(b: OutgoingBatch): b is SnapshotParts {
  return typeof b.fragments === 'function';
}

/** A batch of endpoint sets only (the fan-out's endpoint lane): no fragment, certificate or snapshot. */
function isEndpointsOnly(b: OutgoingBatch): boolean {
  return !isSnapshotParts(b) && b.fragments.length === 0 && !b.complete && !b.certificates?.length;
}

/** The batch itself, for a client that wants it whole (tests' in-memory agents). */
export function wholeBatch(b: OutgoingBatch): Batch {
  if (!isSnapshotParts(b)) return b;
  const { count: _count, fragments, ...rest } = b;
  return { ...rest, fragments: [...fragments()] };
}

/** A failed call: `retry` is false when sending the same thing again cannot succeed (a 400). */
export class AgentError extends Error {
  readonly status: number | null;
  readonly retry: boolean;
  constructor(message: string, status: number | null, retry: boolean, cause?: unknown) {
    super(message, { cause });
    this.name = 'AgentError';
    this.status = status;
    this.retry = retry;
  }
}

/** What the agent reports about its fragments (GET /v1/state), as far as the handler uses it. */
export interface AgentState {
  /** Tombstones (deleted: true) keep the revision of the delete. */
  fragments: { name: string; revision: number; status?: string; deleted?: boolean }[];
  /** `endpoints` is the count of endpoints, null for a deleted set. */
  endpoints?: { upstream: string; revision: number; endpoints?: number | null }[];
  /** Names and revisions of the certificates it holds (deleted: a tombstone). */
  certificates?: { name: string; revision: number; deleted?: boolean }[];
}

/** The calls the fan-out makes. An interface, so tests can put an in-memory agent behind it. */
export interface AgentClient {
  /** Where the agent is (its base URL); also its name in metrics and logs. */
  readonly url: string;
  /** The agent's results per change; for a full snapshot none are read (`{}`): only whether it was taken. */
  batch(batch: OutgoingBatch): Promise<{ fragments?: FragmentResult[]; endpoints?: EndpointsResult[] }>;
  putEndpoints(upstream: string, body: EndpointsPut): Promise<EndpointsResult>;
  deleteEndpoints(upstream: string, revision: number): Promise<EndpointsResult | null>;
  state(): Promise<AgentState>;
  /** Closes its connections, those with a request in flight too (the fan-out is closing, or the agent is gone). */
  close?(): void;
}

export interface HttpAgentClientOptions {
  url: string;
  token: string;
  timeoutMs?: number;
}

/**
 * The timeout of a streamed body (the full snapshot) bounds a stall, not the whole exchange: it
 * starts again each time the agent takes a chunk, and once more when the last byte is sent (then it
 * is the time the agent has to answer). At 100,000 Ingresses writing the snapshot takes 5-20 s, and
 * more on a busy machine: with the whole exchange held to 30 s, a push the agent had read whole and
 * answered was cut at 30 s and sent again (bench:scale with a CPU-heavy process beside it).
 */
function timeStreamed(stream: Readable, req: http.ClientRequest, timer: NodeJS.Timeout, settled: () => boolean): void {
  const progress = () => {
    if (!settled()) timer.refresh();
  };
  stream.on('data', progress);
  req.once('finish', progress);
}

/** What is kept of the agent's answer to a full snapshot: enough for an error's message. */
const SNAPSHOT_ANSWER_KEPT = 64 << 10;

/** Connections kept open to each agent: enough for the endpoint lane's pushes, a batch and a state read. */
const MAX_SOCKETS = 16;

/** The agent client over HTTP. */
export function httpAgentClient(options: HttpAgentClientOptions): AgentClient {
  const base = options.url.replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(base);
  } catch {
    throw new Error(`agent URL ${JSON.stringify(options.url)} is not a URL (expected e.g. http://10.0.0.5:7071)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`agent URL ${options.url}: use http:// or https://`);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const secure = parsed.protocol === 'https:';
  const transport = secure ? https : http;
  const agent = secure ? new https.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS }) : new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS });
  const target = { hostname: parsed.hostname.replace(/^\[|\]$/g, ''), port: parsed.port || (secure ? 443 : 80), basePath: parsed.pathname.replace(/\/+$/, '') };
  const authorization = `Bearer ${options.token}`;
  // The endpoint lane's requests (small, on the path of every endpoint change) over plain HTTP go
  // through agent-wire.ts, the rest through node:http(s).
  const wire = secure ? null : new WirePool({ hostname: target.hostname, port: Number(target.port), headers: `host: ${parsed.host}\r\nauthorization: ${authorization}\r\n`, timeoutMs, maxSockets: MAX_SOCKETS });
  /** After close(): no request starts, none is sent again. */
  let closed = false;

  /** One exchange; `retried`: a kept-alive connection the agent had closed is tried once on a new one. */
  // `keepBytes`: the answer's text kept, at most (the rest is read and dropped).
  function exchange(method: string, path: string, body: string | (() => Readable) | undefined, retried: boolean, keepBytes = Infinity): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      if (closed) {
        reject(Object.assign(new Error('the client is closed'), { code: 'ECLOSED' }));
        return;
      }
      const headers: Record<string, string | number> = { authorization };
      if (body !== undefined) headers['content-type'] = 'application/json';
      // A streamed body goes chunked; a string with its length.
      if (typeof body === 'string') headers['content-length'] = Buffer.byteLength(body);
      /** Answered or failed: the timer is not started again. */
      let settled = false;
      const req = transport.request({ agent, hostname: target.hostname, port: target.port, method, path: target.basePath + path, headers }, (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on('data', (c: Buffer) => {
          if (kept >= keepBytes) return;
          chunks.push(c);
          kept += c.length;
        });
        res.on('end', () => {
          settled = true;
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', (e) => {
          settled = true;
          clearTimeout(timer);
          reject(e);
        });
      });
      const timer = setTimeout(() => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
      timer.unref();
      req.on('error', (e: NodeJS.ErrnoException) => {
        settled = true;
        clearTimeout(timer);
        // Every agent call is idempotent (revisions), so sending it again on a new connection is safe.
        if (!retried && !closed && req.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) resolve(exchange(method, path, body, true, keepBytes));
        else reject(e);
      });
      if (typeof body === 'function') {
        // Written as the socket takes it (pipe waits for drain): a few hundred fragments are text at a time.
        const stream = body();
        stream.once('error', (e) => req.destroy(e));
        timeStreamed(stream, req, timer, () => settled);
        stream.pipe(req);
      } else req.end(body);
    });
  }

  /** `endpointLane`: one of the endpoint lane's requests (agent-wire.ts, when the agent is plain HTTP). */
  async function call<T>(method: string, path: string, value?: unknown, endpointLane = false): Promise<T> {
    const what = `${method} ${base}${path}`;
    let answer: { status: number; text: string };
    // A snapshot in parts is serialized as it is sent, again if it must be sent again.
    const snapshot = value !== undefined && isSnapshotParts(value as OutgoingBatch);
    const body = value === undefined ? undefined : snapshot ? () => Readable.fromWeb(snapshotStream(value as SnapshotParts) as WebReadableStream<Uint8Array>) : JSON.stringify(value);
    try {
      // The agent's answer to a full snapshot lists every fragment (9 MB at 100,000 Ingresses) and
      // nobody reads it: parsed, it was tens of MB for a handler whose heap the view nearly fills.
      // Its status says what matters; the start of its text is kept for an error's message.
      answer = endpointLane && wire && typeof body !== 'function' ? await wire.request(method, target.basePath + path, body) : await exchange(method, path, body, false, snapshot ? SNAPSHOT_ANSWER_KEPT : Infinity);
    } catch (e) {
      throw new AgentError(`${what}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, null, true, e);
    }
    const { status, text } = answer;
    if (status < 200 || status > 299) {
      // 400/413/422: this exact body can never be accepted. 401/403: a token problem an operator fixes,
      // so keep retrying (with backoff) rather than drop changes.
      const retry = !(status === 400 || status === 413 || status === 422);
      throw new AgentError(`${what}: ${status} ${text.slice(0, 300)}`, status, retry);
    }
    if (!text || snapshot) return (snapshot ? {} : null) as T;
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new AgentError(`${what}: answered ${status} with a body that is not JSON: ${text.slice(0, 100)}`, status, true, e);
    }
  }

  return {
    url: base,
    batch: (batch) => call('POST', '/v1/batch', batch, isEndpointsOnly(batch)),
    putEndpoints: (upstream, body) => call('PUT', `/v1/endpoints/${encodeURIComponent(upstream)}`, body, true),
    deleteEndpoints: (upstream, revision) => call('DELETE', `/v1/endpoints/${encodeURIComponent(upstream)}?revision=${revision}`, undefined, true),
    state: () => call('GET', '/v1/state'),
    // A kept-alive connection with a request in flight would hold the process open after a stop.
    close: () => {
      closed = true;
      agent.destroy();
      wire?.close();
    },
  };
}
