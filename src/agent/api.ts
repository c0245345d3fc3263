// The agent's HTTP API on node:http: fragments, endpoints, batches, state, and the unauthenticated
// health, readiness and metrics endpoints. Requests are checked in full before anything is applied:
// a bad name, a malformed body or a schema failure gets 400 naming the field and the reason.
//
// Plain node:http, not Hono as the handler tier: a Web-standard Request and Response per call would
// load Node's fetch implementation (undici) into the agent, which costs about 10 MB of memory beside
// NGINX for a handful of routes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import type { Logger } from '../log.ts';
import {
  type Batch,
  CERTIFICATE_NAME,
  CertificatePut,
  MAX_CERTIFICATE_BYTES,
  EndpointsPut,
  FRAGMENT_NAME,
  FragmentPut,
  UPSTREAM_NAME,
  type CertificateResult,
  type EndpointsResult,
  type FragmentResult,
} from '../protocol/agent-api.ts';
import { certificateAndKey } from '../model/secrets.ts';
import { checkBearer } from './auth.ts';
import { BatchReader } from './batch-reader.ts';

/** What the API drives; the Agent implements it (and local mode may call it directly). */
export interface AgentControl {
  putFragment(name: string, body: FragmentPut): FragmentResult;
  deleteFragment(name: string, revision: number): FragmentResult;
  putEndpoints(upstream: string, body: EndpointsPut): Promise<EndpointsResult>;
  deleteEndpoints(upstream: string, revision: number): Promise<EndpointsResult>;
  /** The pair is checked already (a matching key); the result says whether NGINX serves it. */
  putCertificate(name: string, body: CertificatePut): Promise<CertificateResult>;
  deleteCertificate(name: string, revision: number): Promise<CertificateResult>;
  applyBatch(batch: Batch): Promise<BatchResult>;
  /** Waits until these results are settled (applied, quarantined or superseded), bounded. */
  settle(results: BatchResult): Promise<BatchResult>;
  /** `summary`: versions and counts only, without the list of every fragment and endpoint set. */
  state(summary?: boolean): unknown;
  ready(): boolean;
  metrics(): Promise<{ contentType: string; text: string }>;
}

export interface BatchResult {
  version: number;
  fragments: FragmentResult[];
  endpoints: EndpointsResult[];
  /** Only when the batch carried certificates (or a complete batch removed some). */
  certificates?: CertificateResult[];
  /** From settle(): the reload that should have carried these failed; the agent retries it later. */
  failure?: { error: string; retryInMs: number };
}

export interface ApiLimits {
  fragmentBytes: number;
  endpointsBytes: number;
  batchBytes: number;
}

/**
 * A batch is at most a snapshot (the handler tier pushes one to an agent that is new or was away):
 * about 10 KB a host with several Ingresses and TLS (2,000 hosts of 10,000 Ingresses, a quarter with
 * TLS: 19.6 MB as JSON), 3.1 KB a host of one Ingress (100,000: 310 MB). 512 MiB takes the latter
 * at 100,000 with room. A batch is read as it arrives (batch-reader.ts), so `--max-batch-size` may
 * go past it: the agent then needs about the batch's size in memory. The snapshot an agent asks for
 * at start is not held to it (snapshot.ts).
 */
export const defaultLimits: ApiLimits = { fragmentBytes: 16 << 20, endpointsBytes: 2 << 20, batchBytes: 512 << 20 };

/**
 * How long a client may take. Its headers: 10 s, as the handler tier allows. Its body: as long as it
 * keeps coming, but no pause of 30 s. A whole-request limit would cut the full snapshot the handler
 * streams to a new agent (310 MB at 100,000 Ingresses, 5–60 s to write for a busy handler) and
 * make it send the snapshot again, forever; the handler's own timeout bounds a stall the same way.
 */
export const apiTimeouts = { headersMs: 10_000, bodyStallMs: 30_000, keepAliveMs: 5_000 };

/**
 * The API server's options: a slow or stuck client dropped as the handler tier drops it, not after
 * Node's 60 s (and its 30 s checking interval); no limit on the whole request (the body's stall is
 * readBody's).
 */
export const apiServerOptions = { headersTimeout: apiTimeouts.headersMs, requestTimeout: 0, keepAliveTimeout: apiTimeouts.keepAliveMs, connectionsCheckingInterval: 1000 } as const;

/** An answer other than success, thrown from anywhere in a request's handling. */
class ApiError extends Error {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Record<string, string>;
  constructor(status: number, body: Record<string, unknown> & { error: string }, headers: Record<string, string> = {}) {
    super(body.error);
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

function badRequest(message: string, details?: string[]): never {
  throw new ApiError(400, { error: message, ...(details ? { details } : {}) });
}

function fieldPath(path: PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || 'body';
}

function quote(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** zod issues as `field.path: Invalid value: "v": reason` lines. */
export function describeIssues(issues: z.core.$ZodIssue[]): string[] {
  return issues.map((i) => {
    const nested = 'issues' in i && Array.isArray(i.issues) && i.issues.length > 0 ? (i.issues[0] as z.core.$ZodIssue).message : null;
    const reason = (nested ?? i.message).replace(/^Invalid input: /, '');
    const input = 'input' in i && i.input !== undefined ? ` ${quote(i.input)}:` : '';
    return `${fieldPath(i.path)}: Invalid value:${input} ${reason}`;
  });
}

/**
 * A request's body, chunk by chunk to `onChunk`, refused with 413 past `limit` bytes (announced or
 * streamed). A body that stops coming for `stallMs` loses its connection (there is nobody to answer).
 */
function receive(req: IncomingMessage, limit: number, what: string, stallMs: number, onChunk: (chunk: Buffer) => void): Promise<void> {
  // The connection closes after a 413: the rest of the body is not read.
  const tooLarge = () => new ApiError(413, { error: `body: larger than ${limit} bytes, the limit for ${what}` }, { connection: 'close' });
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    let size = 0;
    let settled = false;
    // The answer cannot reach a client that stopped sending; the handler sees its push fail and retries.
    const stalled = setTimeout(() => {
      fail(new ApiError(408, { error: `body: nothing received for ${stallMs} ms` }, { connection: 'close' }));
      req.socket.destroy();
    }, stallMs);
    stalled.unref();
    const fail = (e: Error) => {
      clearTimeout(stalled);
      if (settled) return;
      settled = true;
      req.removeListener('data', onData);
      req.pause();
      reject(e);
    };
    const onData = (chunk: Buffer) => {
      stalled.refresh();
      size += chunk.length;
      if (size > limit) fail(tooLarge());
      else onChunk(chunk);
    };
    req.on('data', onData);
    req.once('error', fail);
    req.once('end', () => {
      clearTimeout(stalled);
      if (settled) return;
      settled = true;
      resolve();
    });
  });
}

/** The request body as text (receive's limits). */
async function readBody(req: IncomingMessage, limit: number, what: string, stallMs: number): Promise<string> {
  const chunks: Buffer[] = [];
  await receive(req, limit, what, stallMs, (chunk) => chunks.push(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A batch, read as it arrives (batch-reader.ts: never its whole text at once), or 400 naming what is
 * wrong, as parseBody says it.
 */
async function readBatch(req: IncomingMessage, limit: number, stallMs: number): Promise<Batch> {
  const reader = new BatchReader();
  await receive(req, limit, 'a batch (--max-batch-size)', stallMs, (chunk) => reader.pushBytes(chunk));
  const r = reader.end();
  if (r.ok) return r.batch;
  if ('malformed' in r) badRequest(`body: malformed JSON: ${r.malformed}`);
  invalidBody(r.issues);
}

const JSON_TYPE = /^application\/json\s*(;|$)/i;

/** A body-bearing call must say it sends JSON: anything else (a form post, text) gets 415. */
function requireJson(req: IncomingMessage): void {
  const type = req.headers['content-type'] ?? '';
  if (!JSON_TYPE.test(type)) throw new ApiError(415, { error: `Content-Type ${JSON.stringify(type)}: expected application/json` });
}

function parseBody<T>(text: string, schema: z.ZodType<T>): T {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    badRequest(`body: malformed JSON: ${(e as Error).message}`);
  }
  const r = schema.safeParse(data, { reportInput: true });
  if (!r.success) invalidBody(r.error.issues);
  return r.data;
}

/** 400 naming every invalid field. */
function invalidBody(issues: z.core.$ZodIssue[]): never {
  const details = describeIssues(issues);
  badRequest(details.length === 1 ? details[0]! : `${details.length} invalid fields: ${details.join('; ')}`, details);
}

/**
 * A certificate and its key as the agent stores them: the PEM chain and key normalized, or 400 naming
 * the field and why (a key that does not match its certificate never reaches NGINX). Never quotes them.
 */
function checkPair(field: string, body: { cert: string; key: string }): { cert: string; key: string } {
  const m = certificateAndKey(body.cert, body.key);
  if (!m.ok) {
    // The reasons name the Secret's keys: tls.crt is `cert` here, tls.key `key`.
    const which = m.reason.startsWith('tls.key') ? 'key' : 'cert';
    const reason = m.reason.replace(/^tls\.(crt|key) /, '').replace(/tls\.crt/g, 'cert').replace(/tls\.key/g, 'key');
    badRequest(`${field}${field ? '.' : ''}${which}: Invalid value: ${reason}`);
  }
  return { cert: m.cert, key: m.key };
}

function checkName(kind: 'fragment' | 'upstream' | 'certificate', raw: string): string {
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    value = raw;
  }
  const re = kind === 'fragment' ? FRAGMENT_NAME : kind === 'upstream' ? UPSTREAM_NAME : CERTIFICATE_NAME;
  if (!re.test(value)) {
    const rule =
      kind === 'fragment'
        ? 'fragment names are _main, _default or a host name ([a-z0-9._-], a leading * written as _)'
        : kind === 'upstream'
          ? 'upstream names are namespace-service-port ([a-z0-9.-], starting with a letter or digit)'
          : 'certificate names are _default or a TLS name ([a-z0-9.-], a leading *. written as _.)';
    badRequest(`${kind}: Invalid value: ${quote(value)}: ${rule}`);
  }
  return value;
}

function revisionParam(query: URLSearchParams): number {
  const raw = query.get('revision');
  if (raw === null) badRequest('revision: Required value: pass ?revision=N (the revision of this delete)');
  if (!/^\d{1,16}$/.test(raw) || !Number.isSafeInteger(Number(raw))) badRequest(`revision: Invalid value: ${quote(raw)}: expected a non-negative integer`);
  return Number(raw);
}

const wantsFlag = (query: URLSearchParams, name: string) => ['1', 'true'].includes(query.get(name) ?? '');

const statusOf = (pending: boolean) => (pending ? 202 : 200);

/**
 * A waiting call whose change the reload could not apply (a full or read-only disk, NGINX not
 * confirming in time): 503 with the reason at once, rather than 202 at the end of the wait. The
 * change is kept and retried; NGINX keeps serving the previous configuration.
 */
function notApplied(res: ServerResponse, result: object, failure: { error: string; retryInMs: number }): true {
  const retry = Math.max(1, Math.ceil(failure.retryInMs / 1000));
  sendJson(res, 503, { ...result, error: `not applied: ${failure.error}; NGINX keeps serving the previous configuration, and the agent retries in ${retry} s` }, { 'retry-after': String(retry) });
  return true;
}

function send(res: ServerResponse, status: number, body: string, contentType: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

const sendJson = (res: ServerResponse, status: number, value: unknown, headers?: Record<string, string>) =>
  send(res, status, JSON.stringify(value), 'application/json', headers);
const sendText = (res: ServerResponse, status: number, text: string) => send(res, status, text, 'text/plain; charset=UTF-8');

/** The API as a node:http request listener. `token` guards every /v1 route. */
export function createAgentApi(
  control: AgentControl,
  opts: { token: string; logger: Logger; limits?: Partial<ApiLimits>; bodyStallMs?: number },
): (req: IncomingMessage, res: ServerResponse) => void {
  const limits = { ...defaultLimits, ...opts.limits };
  const stallMs = opts.bodyStallMs ?? apiTimeouts.bodyStallMs;
  if (!opts.token) throw new Error('agent API: the token is empty');

  async function v1(req: IncomingMessage, res: ServerResponse, method: string, path: string, query: URLSearchParams): Promise<boolean> {
    const wait = wantsFlag(query, 'wait');
    let m: RegExpExecArray | null;
    if ((m = /^\/v1\/fragments\/([^/]+)$/.exec(path))) {
      if (method === 'PUT') {
        const name = checkName('fragment', m[1]!);
        requireJson(req);
        const body = parseBody(await readBody(req, limits.fragmentBytes, 'a fragment', stallMs), FragmentPut);
        let result = control.putFragment(name, body);
        if (wait) {
          const settled = await control.settle({ version: result.version, fragments: [result], endpoints: [] });
          result = settled.fragments[0]!;
          if (settled.failure) return notApplied(res, result, settled.failure);
        }
        sendJson(res, statusOf(result.status === 'pending'), result);
        return true;
      }
      if (method === 'DELETE') {
        const name = checkName('fragment', m[1]!);
        let result = control.deleteFragment(name, revisionParam(query));
        if (wait) {
          const settled = await control.settle({ version: result.version, fragments: [result], endpoints: [] });
          result = settled.fragments[0]!;
          if (settled.failure) return notApplied(res, result, settled.failure);
        }
        sendJson(res, statusOf(result.status === 'pending'), result);
        return true;
      }
    }
    if ((m = /^\/v1\/endpoints\/([^/]+)$/.exec(path))) {
      if (method === 'PUT') {
        const upstream = checkName('upstream', m[1]!);
        requireJson(req);
        const body = parseBody(await readBody(req, limits.endpointsBytes, 'an endpoint set', stallMs), EndpointsPut);
        let result = await control.putEndpoints(upstream, body);
        if (wait) {
          const settled = await control.settle({ version: 0, fragments: [], endpoints: [result] });
          result = settled.endpoints[0]!;
          if (settled.failure) return notApplied(res, result, settled.failure);
        }
        sendJson(res, statusOf(result.status === 'pending'), result);
        return true;
      }
      if (method === 'DELETE') {
        const upstream = checkName('upstream', m[1]!);
        let result = await control.deleteEndpoints(upstream, revisionParam(query));
        if (wait) {
          const settled = await control.settle({ version: 0, fragments: [], endpoints: [result] });
          result = settled.endpoints[0]!;
          if (settled.failure) return notApplied(res, result, settled.failure);
        }
        sendJson(res, statusOf(result.status === 'pending'), result);
        return true;
      }
    }
    if ((m = /^\/v1\/certificates\/([^/]+)$/.exec(path))) {
      let result: CertificateResult | null = null;
      if (method === 'PUT') {
        const name = checkName('certificate', m[1]!);
        requireJson(req);
        const body = parseBody(await readBody(req, 2 * MAX_CERTIFICATE_BYTES + 1024, 'a certificate', stallMs), CertificatePut);
        result = await control.putCertificate(name, { revision: body.revision, ...checkPair('', body) });
      } else if (method === 'DELETE') {
        result = await control.deleteCertificate(checkName('certificate', m[1]!), revisionParam(query));
      }
      if (result) {
        if (wait && result.status === 'pending') {
          const settled = await control.settle({ version: 0, fragments: [], endpoints: [], certificates: [result] });
          result = settled.certificates![0]!;
          if (settled.failure) return notApplied(res, result, settled.failure);
        }
        sendJson(res, result.status === 'failed' ? 507 : statusOf(result.status === 'pending'), result);
        return true;
      }
    }
    if (path === '/v1/batch' && method === 'POST') {
      requireJson(req);
      const body = await readBatch(req, limits.batchBytes, stallMs);
      const names = new Set<string>();
      for (const [i, f] of body.fragments.entries()) {
        if (names.has(f.name)) badRequest(`fragments[${i}].name: Duplicate value: ${quote(f.name)}`);
        names.add(f.name);
      }
      const upstreams = new Set<string>();
      for (const [i, e] of body.endpoints.entries()) {
        if (upstreams.has(e.upstream)) badRequest(`endpoints[${i}].upstream: Duplicate value: ${quote(e.upstream)}`);
        upstreams.add(e.upstream);
      }
      const certificates = new Set<string>();
      body.certificates = body.certificates?.map((c, i) => {
        if (certificates.has(c.name)) badRequest(`certificates[${i}].name: Duplicate value: ${quote(c.name)}`);
        certificates.add(c.name);
        return 'deleted' in c ? c : { ...c, ...checkPair(`certificates[${i}]`, c) };
      });
      let result = await control.applyBatch(body);
      if (wait) result = await control.settle(result);
      if (result.failure) {
        const { failure, ...rest } = result;
        return notApplied(res, rest, failure);
      }
      const pending = result.fragments.some((f) => f.status === 'pending') || result.endpoints.some((e) => e.status === 'pending') || (result.certificates ?? []).some((c) => c.status === 'pending');
      sendJson(res, statusOf(pending), result);
      return true;
    }
    if (path === '/v1/state' && method === 'GET') {
      sendJson(res, 200, control.state(wantsFlag(query, 'summary')));
      return true;
    }
    return false;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://agent');
    const path = url.pathname;
    if (method === 'GET' && path === '/healthz') return sendText(res, 200, 'ok\n');
    if (method === 'GET' && path === '/nginx-ready') {
      return control.ready() ? sendText(res, 200, 'ready\n') : sendText(res, 503, 'not ready: NGINX does not serve the complete configuration yet (the snapshot, or a complete batch)\n');
    }
    if (method === 'GET' && path === '/metrics') {
      const m = await control.metrics();
      return send(res, 200, m.text, m.contentType);
    }
    if (path.startsWith('/v1/')) {
      const refused = checkBearer(req.headers.authorization, opts.token);
      if (refused) throw new ApiError(401, { error: refused }, { 'www-authenticate': 'Bearer realm="wharf-agent"' });
      if (await v1(req, res, method, path, url.searchParams)) return;
    }
    throw new ApiError(404, { error: `no route for ${method} ${path}` });
  }

  return (req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (e instanceof ApiError) return sendJson(res, e.status, e.body, e.headers);
      opts.logger.error('API request failed', { method: req.method, path: req.url, error: e });
      sendJson(res, 500, { error: `internal error: ${(e as Error).message}` });
    });
  };
}
