// The handler tier's side of the agent API (docs/architecture.md "Agent API", src/protocol/agent-api.ts): one
// client per agent, plain fetch with keep-alive, every call authenticated with the agent token and
// bounded by a timeout. Failures are thrown as AgentError, which says whether a retry can help.
import type { Batch, EndpointsPut, EndpointsResult, FragmentResult } from '../protocol/agent-api.ts';

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
  batch(batch: Batch): Promise<{ fragments?: FragmentResult[]; endpoints?: EndpointsResult[] }>;
  putEndpoints(upstream: string, body: EndpointsPut): Promise<EndpointsResult>;
  deleteEndpoints(upstream: string, revision: number): Promise<EndpointsResult | null>;
  state(): Promise<AgentState>;
}

export interface HttpAgentClientOptions {
  url: string;
  token: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

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
  const doFetch = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 30_000;

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const what = `${method} ${base}${path}`;
    let res: Response;
    try {
      res = await doFetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${options.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new AgentError(`${what}: ${cause?.code ?? cause?.message ?? (e as Error).message}`, null, true, e);
    }
    const text = await res.text().catch(() => '');
    if (!res.ok) {
      // 400/413/422: this exact body can never be accepted. 401/403: a token problem an operator fixes,
      // so keep retrying (with backoff) rather than drop changes.
      const retry = !(res.status === 400 || res.status === 413 || res.status === 422);
      throw new AgentError(`${what}: ${res.status} ${text.slice(0, 300)}`, res.status, retry);
    }
    if (!text) return null as T;
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new AgentError(`${what}: answered ${res.status} with a body that is not JSON: ${text.slice(0, 100)}`, res.status, true, e);
    }
  }

  return {
    url: base,
    batch: (batch) => call('POST', '/v1/batch', batch),
    putEndpoints: (upstream, body) => call('PUT', `/v1/endpoints/${encodeURIComponent(upstream)}`, body),
    deleteEndpoints: (upstream, revision) => call('DELETE', `/v1/endpoints/${encodeURIComponent(upstream)}?revision=${revision}`),
    state: () => call('GET', '/v1/state'),
  };
}
