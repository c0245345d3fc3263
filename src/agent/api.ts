// The agent's HTTP API (Hono): fragments, endpoints, batches, state, and the unauthenticated health,
// readiness and metrics endpoints. Requests are checked in full before anything is applied: a bad
// name, a malformed body or a schema failure gets 400 naming the field and the reason.
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { z } from 'zod';
import type { Logger } from '../log.ts';
import {
  Batch,
  EndpointsPut,
  FRAGMENT_NAME,
  FragmentPut,
  UPSTREAM_NAME,
  type EndpointsResult,
  type FragmentResult,
} from '../protocol/agent-api.ts';
import { bearerAuth } from './auth.ts';

/** What the API drives; the Agent implements it (and local mode may call it directly). */
export interface AgentControl {
  putFragment(name: string, body: FragmentPut): FragmentResult;
  deleteFragment(name: string, revision: number): FragmentResult;
  putEndpoints(upstream: string, body: EndpointsPut): Promise<EndpointsResult>;
  deleteEndpoints(upstream: string, revision: number): Promise<EndpointsResult>;
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
}

export interface ApiLimits {
  fragmentBytes: number;
  endpointsBytes: number;
  batchBytes: number;
}

export const defaultLimits: ApiLimits = { fragmentBytes: 16 << 20, endpointsBytes: 2 << 20, batchBytes: 256 << 20 };

function badRequest(message: string, details?: string[]): never {
  throw new HTTPException(400, { res: Response.json({ error: message, ...(details ? { details } : {}) }, { status: 400 }) });
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

async function parseBody<T>(c: Context, schema: z.ZodType<T>): Promise<T> {
  const text = await c.req.text();
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    badRequest(`body: malformed JSON: ${(e as Error).message}`);
  }
  const r = schema.safeParse(data, { reportInput: true });
  if (!r.success) {
    const details = describeIssues(r.error.issues);
    badRequest(details.length === 1 ? details[0]! : `${details.length} invalid fields: ${details.join('; ')}`, details);
  }
  return r.data;
}

function checkName(kind: 'fragment' | 'upstream', value: string): string {
  const re = kind === 'fragment' ? FRAGMENT_NAME : UPSTREAM_NAME;
  if (!re.test(value)) {
    const rule =
      kind === 'fragment'
        ? 'fragment names are _main, _default or a host name ([a-z0-9._-], a leading * written as _)'
        : 'upstream names are namespace-service-port ([a-z0-9.-], starting with a letter or digit)';
    badRequest(`${kind}: Invalid value: ${quote(value)}: ${rule}`);
  }
  return value;
}

function revisionParam(c: Context): number {
  const raw = c.req.query('revision');
  if (raw === undefined) badRequest('revision: Required value: pass ?revision=N (the revision of this delete)');
  if (!/^\d{1,16}$/.test(raw) || !Number.isSafeInteger(Number(raw))) badRequest(`revision: Invalid value: ${quote(raw)}: expected a non-negative integer`);
  return Number(raw);
}

const wantsFlag = (c: Context, name: string) => ['1', 'true'].includes(c.req.query(name) ?? '');
const wantsWait = (c: Context) => wantsFlag(c, 'wait');

const statusOf = (pending: boolean) => (pending ? 202 : 200) as 200 | 202;

function limit(bytes: number, what: string) {
  return bodyLimit({
    maxSize: bytes,
    onError: (c) => c.json({ error: `body: larger than ${bytes} bytes, the limit for ${what}` }, 413),
  });
}

/** The API app. `token` guards every /v1 route. */
export function createAgentApi(control: AgentControl, opts: { token: string; logger: Logger; limits?: Partial<ApiLimits> }): Hono {
  const limits = { ...defaultLimits, ...opts.limits };
  const app = new Hono();

  app.get('/healthz', (c) => c.text('ok\n'));
  app.get('/nginx-ready', (c) => (control.ready() ? c.text('ready\n') : c.text('not ready: NGINX has not confirmed its first configuration\n', 503)));
  app.get('/metrics', async (c) => {
    const m = await control.metrics();
    return c.body(m.text, 200, { 'Content-Type': m.contentType });
  });

  app.use('/v1/*', bearerAuth(opts.token));

  app.put('/v1/fragments/:name', limit(limits.fragmentBytes, 'a fragment'), async (c) => {
    const name = checkName('fragment', c.req.param('name'));
    const body = await parseBody(c, FragmentPut);
    let result = control.putFragment(name, body);
    if (wantsWait(c)) result = (await control.settle({ version: result.version, fragments: [result], endpoints: [] })).fragments[0]!;
    return c.json(result, statusOf(result.status === 'pending'));
  });

  app.delete('/v1/fragments/:name', async (c) => {
    const name = checkName('fragment', c.req.param('name'));
    let result = control.deleteFragment(name, revisionParam(c));
    if (wantsWait(c)) result = (await control.settle({ version: result.version, fragments: [result], endpoints: [] })).fragments[0]!;
    return c.json(result, statusOf(result.status === 'pending'));
  });

  app.put('/v1/endpoints/:upstream', limit(limits.endpointsBytes, 'an endpoint set'), async (c) => {
    const upstream = checkName('upstream', c.req.param('upstream'));
    const body = await parseBody(c, EndpointsPut);
    let result = await control.putEndpoints(upstream, body);
    if (wantsWait(c)) result = (await control.settle({ version: 0, fragments: [], endpoints: [result] })).endpoints[0]!;
    return c.json(result, statusOf(result.status === 'pending'));
  });

  app.delete('/v1/endpoints/:upstream', async (c) => {
    const upstream = checkName('upstream', c.req.param('upstream'));
    let result = await control.deleteEndpoints(upstream, revisionParam(c));
    if (wantsWait(c)) result = (await control.settle({ version: 0, fragments: [], endpoints: [result] })).endpoints[0]!;
    return c.json(result, statusOf(result.status === 'pending'));
  });

  app.post('/v1/batch', limit(limits.batchBytes, 'a batch'), async (c) => {
    const body = await parseBody(c, Batch);
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
    let result = await control.applyBatch(body);
    if (wantsWait(c)) result = await control.settle(result);
    const pending = result.fragments.some((f) => f.status === 'pending') || result.endpoints.some((e) => e.status === 'pending');
    return c.json(result, statusOf(pending));
  });

  app.get('/v1/state', (c) => c.json(control.state(wantsFlag(c, 'summary')) as object));

  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));
  app.onError((e, c) => {
    if (e instanceof HTTPException) return e.getResponse();
    opts.logger.error('API request failed', { method: c.req.method, path: c.req.path, error: e });
    return c.json({ error: `internal error: ${e.message}` }, 500);
  });
  return app;
}
