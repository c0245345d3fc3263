// A stand-in for `wharf agent` that takes the handler's pushes without an NGINX behind it (bench:scale's
// push phase): at 100,000 Ingresses a real agent's NGINX would need about 11 GB and many minutes
// to load the servers (10,000 took 24–62 s and a 1.15 GB master), but what the handler does while
// it pushes the full snapshot does not depend on that. It serves the agent's own API module
// (src/agent/api.ts: the bearer token, the body's stall limit, reading the batch with its limit as it
// arrives, element by element (batch-reader.ts), the duplicate checks, the 202/200 answer) over a control that
// records instead of writing NGINX files, and answers a batch as Agent.applyBatch does (every
// fragment `pending` at the next desired version, endpoint sets `applied` via Lua) and GET /v1/state
// from what it holds, which is what the fan-out reconciles against.
//
// Run as a child process (its memory is its own): node bench/push-receiver.ts HOST:PORT TOKEN_FILE.
// It prints `listening` once it accepts connections, then one JSON line per request to /v1/batch
// (`request`: bytes and chunks read, the first and last byte's times, the answer's status and time,
// its own peak RSS) and per batch the API let through (`applied`: fragments, endpoint sets,
// `complete`, `revision`, the parse time). Times are epoch milliseconds (timeOrigin + now), comparable
// across processes.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { apiServerOptions, createAgentApi, type AgentControl, type BatchResult } from '../src/agent/api.ts';
import { createLogger } from '../src/log.ts';
import type { Batch, CertificateResult, EndpointsResult, FragmentResult } from '../src/protocol/agent-api.ts';

const [listen, tokenPath] = process.argv.slice(2);
if (!listen || !tokenPath) throw new Error('usage: push-receiver.ts HOST:PORT TOKEN_FILE');
const colon = listen.lastIndexOf(':');
const host = listen.slice(0, colon);
const port = Number(listen.slice(colon + 1));
const token = readFileSync(tokenPath, 'utf8').trim();

const now = () => performance.timeOrigin + performance.now();
const emit = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
const peakRssMb = () => Math.round(Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024);

/** What the agent holds: name → revision (deleted: a tombstone), as its stores keep them. */
const fragments = new Map<string, { revision: number; deleted: boolean }>();
const endpoints = new Map<string, { revision: number; count: number | null }>();
let version = 0;
/** The last byte's time of the batch being read (set by the counting wrapper below). */
let lastByteAt = 0;

const control: AgentControl = {
  putFragment: (name, body) => {
    fragments.set(name, { revision: body.revision, deleted: false });
    return { name, revision: body.revision, status: 'pending', version: ++version };
  },
  deleteFragment: (name, revision) => {
    fragments.set(name, { revision, deleted: true });
    return { name, revision, status: 'pending', version: ++version };
  },
  putEndpoints: async (upstream, body) => {
    endpoints.set(upstream, { revision: body.revision, count: body.endpoints.length });
    return { upstream, revision: body.revision, status: 'applied', via: 'lua' };
  },
  deleteEndpoints: async (upstream, revision) => {
    endpoints.set(upstream, { revision, count: null });
    return { upstream, revision, status: 'applied', via: 'lua' };
  },
  putCertificate: async (name, body) => ({ name, revision: body.revision, status: 'applied', via: 'lua' }),
  deleteCertificate: async (name, revision) => ({ name, revision, status: 'applied', via: 'lua' }),
  async applyBatch(batch: Batch & { revision?: number }): Promise<BatchResult> {
    const parsedAt = now();
    if (batch.fragments.length) version += 1;
    const fr: FragmentResult[] = [];
    for (const f of batch.fragments) {
      const deleted = 'deleted' in f;
      fragments.set(f.name, { revision: f.revision, deleted });
      fr.push({ name: f.name, revision: f.revision, status: 'pending', version });
    }
    // A complete batch removes what it does not name (below its revision), as the agent's stores do.
    if (batch.complete) {
      const named = new Set(batch.fragments.map((f) => f.name));
      const below = batch.revision ?? Infinity;
      for (const [name, held] of fragments) {
        if (named.has(name) || held.deleted || held.revision >= below) continue;
        fragments.set(name, { revision: held.revision, deleted: true });
        fr.push({ name, revision: held.revision, status: 'pending', version });
      }
    }
    const er: EndpointsResult[] = batch.endpoints.map((e) => {
      endpoints.set(e.upstream, { revision: e.revision, count: 'deleted' in e ? null : e.endpoints.length });
      return { upstream: e.upstream, revision: e.revision, status: 'applied', via: 'lua' };
    });
    er.sort((a, b) => (a.upstream < b.upstream ? -1 : 1));
    const cr: CertificateResult[] | undefined = batch.certificates?.map((c) => ({ name: c.name, revision: c.revision, status: 'applied', via: 'lua' }));
    emit({ kind: 'applied', at: parsedAt, parse_ms: lastByteAt ? parsedAt - lastByteAt : null, fragments: batch.fragments.length, endpoints: batch.endpoints.length, certificates: batch.certificates?.length ?? 0, complete: batch.complete, revision: batch.revision ?? null });
    return { version, fragments: fr, endpoints: er, ...(cr?.length ? { certificates: cr } : {}) };
  },
  settle: async (results) => results,
  state: (summary = false) => ({
    ready: true,
    endpointMode: 'lua',
    desiredVersion: version,
    appliedVersion: version,
    counts: { fragments: fragments.size, endpointSets: endpoints.size },
    fragments: summary ? [] : [...fragments].map(([name, f]) => ({ name, revision: f.revision, status: 'applied', version, deleted: f.deleted })),
    endpoints: summary ? [] : [...endpoints].map(([upstream, e]) => ({ upstream, revision: e.revision, endpoints: e.count, appliedRevision: e.revision })),
    certificates: [],
  }),
  ready: () => true,
  metrics: async () => ({ contentType: 'text/plain; version=0.0.4', text: '' }),
};

const api = createAgentApi(control, { token, logger: createLogger({ component: 'push-receiver' }) });

// The agent's server options (api.ts): headers in 10 s, a body that stalls 30 s dropped.
const server = http.createServer(apiServerOptions, (req, res) => {
  if (req.method !== 'POST' || !req.url?.startsWith('/v1/batch')) return api(req, res);
  // Counted as it streams in, beside the API's own reading of it (both listeners see every chunk).
  const started = now();
  let bytes = 0;
  let chunks = 0;
  let maxChunk = 0;
  let firstByteAt = 0;
  let ended = false;
  lastByteAt = 0;
  req.on('data', (c: Buffer) => {
    if (!firstByteAt) firstByteAt = now();
    bytes += c.length;
    chunks += 1;
    if (c.length > maxChunk) maxChunk = c.length;
  });
  req.on('end', () => {
    ended = true;
    lastByteAt = now();
  });
  const report = (outcome: string) => emit({ kind: 'request', outcome, transfer_encoding: req.headers['transfer-encoding'] ?? null, started, first_byte_at: firstByteAt || null, last_byte_at: lastByteAt || null, answered_at: now(), status: res.statusCode, body_ended: ended, bytes, chunks, max_chunk: maxChunk, peak_rss_mb: peakRssMb() });
  res.once('finish', () => report('answered'));
  res.once('close', () => {
    if (!res.writableFinished) report('cut');
  });
  api(req, res);
});
server.listen(port, host, () => process.stdout.write('listening\n'));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
