// An in-memory agent behind the AgentClient interface, applying the agent API's rules (older or equal
// revisions are stale, deletes keep their revision, a complete batch removes what it does not name),
// with switches to make it slow, away, or failing. For tests of the fan-out and of the app through
// app.request(); the end-to-end tests use the real agent.
import { AgentError, wholeBatch, type AgentClient, type AgentState, type OutgoingBatch } from '../../src/handlers/agent-client.ts';
import type { Batch, EndpointsPut } from '../../src/protocol/agent-api.ts';

export interface FakeAgent extends AgentClient {
  fragments: Map<string, { revision: number; config: string | null; files: Record<string, { content: string; secret: boolean }> }>;
  endpoints: Map<string, { revision: number; endpoints: string[] | null }>;
  /** Certificates by name: the PEM chain (null after a delete). */
  certificates: Map<string, { revision: number; cert: string | null }>;
  /** Every call, in order: "batch(3,complete)", "endpoints(up)", "endpoint-batch(up1,up2)". */
  calls: string[];
  /** Throw this on every call while set (null: answer). */
  failWith: AgentError | null;
  /** Upstreams whose endpoint sets are refused as malformed (400): a PUT of one, or any batch naming one. */
  refuse: Set<string>;
  /** Each batch call with fragments (or complete) waits for this promise first (a slow reload). */
  batchGate: Promise<void> | null;
  /** Live fragment configs by name (tombstones left out). */
  configs(): Record<string, string>;
  liveEndpoints(): Record<string, string[]>;
  /** Live certificates: name → PEM chain. */
  liveCertificates(): Record<string, string>;
}

export function fakeAgent(url = 'http://fake-agent'): FakeAgent {
  const fragments: FakeAgent['fragments'] = new Map();
  const endpoints: FakeAgent['endpoints'] = new Map();
  const certificates: FakeAgent['certificates'] = new Map();
  const setEndpoints = (upstream: string, revision: number, list: string[] | null) => {
    const held = endpoints.get(upstream);
    if (held && held.revision >= revision) return 'stale' as const;
    endpoints.set(upstream, { revision, endpoints: list });
    return 'applied' as const;
  };
  const agent: FakeAgent = {
    url,
    fragments,
    endpoints,
    certificates,
    calls: [],
    failWith: null,
    batchGate: null,
    refuse: new Set(),
    async batch(outgoing: OutgoingBatch) {
      const batch = wholeBatch(outgoing);
      const endpointsOnly = batch.fragments.length === 0 && !batch.complete && !batch.certificates?.length;
      agent.calls.push(endpointsOnly ? `endpoint-batch(${batch.endpoints.map((e) => e.upstream).join(',')})` : `batch(${batch.fragments.length}${batch.complete ? ',complete' : ''})`);
      // The gate stands for a reload's wait, which an endpoints-only batch never has.
      if (agent.batchGate && !endpointsOnly) await agent.batchGate;
      if (agent.failWith) throw agent.failWith;
      const refused = batch.endpoints.findIndex((e) => agent.refuse.has(e.upstream));
      if (refused >= 0) throw new AgentError(`POST /v1/batch: 400 endpoints[${refused}]: refused`, 400, false);
      for (const f of batch.fragments) {
        const held = fragments.get(f.name);
        if (held && held.revision >= f.revision) continue;
        fragments.set(f.name, 'deleted' in f ? { revision: f.revision, config: null, files: {} } : { revision: f.revision, config: f.config, files: f.files });
      }
      for (const e of batch.endpoints) setEndpoints(e.upstream, e.revision, 'deleted' in e ? null : e.endpoints);
      for (const c of batch.certificates ?? []) {
        const held = certificates.get(c.name);
        if (held && held.revision >= c.revision) continue;
        certificates.set(c.name, { revision: c.revision, cert: 'deleted' in c ? null : c.cert });
      }
      if (batch.complete) {
        const named = new Set(batch.fragments.map((f) => f.name));
        for (const [name, f] of fragments) if (!named.has(name)) f.config = null;
        const upstreams = new Set(batch.endpoints.map((e) => e.upstream));
        for (const [u, e] of endpoints) if (!upstreams.has(u)) e.endpoints = null;
        if (batch.certificates) {
          const names = new Set(batch.certificates.map((c) => c.name));
          for (const [n, c] of certificates) if (!names.has(n)) c.cert = null;
        }
      }
      return {};
    },
    async putEndpoints(upstream: string, body: EndpointsPut) {
      agent.calls.push(`endpoints(${upstream})`);
      if (agent.failWith) throw agent.failWith;
      if (agent.refuse.has(upstream)) throw new AgentError(`PUT /v1/endpoints/${upstream}: 400 refused`, 400, false);
      return { upstream, revision: body.revision, status: setEndpoints(upstream, body.revision, body.endpoints), via: 'lua' };
    },
    async deleteEndpoints(upstream: string, revision: number) {
      agent.calls.push(`delete-endpoints(${upstream})`);
      if (agent.failWith) throw agent.failWith;
      return { upstream, revision, status: setEndpoints(upstream, revision, null), via: 'lua' };
    },
    async state(): Promise<AgentState> {
      if (agent.failWith) throw agent.failWith;
      return {
        fragments: [...fragments].map(([name, f]) => ({ name, revision: f.revision, status: 'applied', deleted: f.config === null })),
        endpoints: [...endpoints].map(([upstream, e]) => ({ upstream, revision: e.revision, endpoints: e.endpoints ? e.endpoints.length : null })),
        certificates: [...certificates].map(([name, c]) => ({ name, revision: c.revision, deleted: c.cert === null })),
      };
    },
    configs() {
      return Object.fromEntries([...fragments].filter(([, f]) => f.config !== null).map(([n, f]) => [n, f.config!]).sort());
    },
    liveCertificates() {
      return Object.fromEntries([...certificates].filter(([, c]) => c.cert !== null).map(([n, c]) => [n, c.cert!]).sort());
    },
    liveEndpoints() {
      return Object.fromEntries([...endpoints].filter(([, e]) => e.endpoints !== null).map(([u, e]) => [u, e.endpoints!]).sort());
    },
  };
  return agent;
}

/** The error an agent that does not answer produces. */
export const unreachable = () => new AgentError('connect ECONNREFUSED', null, true);
