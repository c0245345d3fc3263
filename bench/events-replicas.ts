// The replica run of `npm run bench:events` (issue 19, item 3): the handler tier scaled out. Three
// `wharf handler` processes (fed by events only) and two `wharf agent` processes with their NGINX;
// every handler pushes to both agents. The same objects reach every handler first (what each
// replica's own list would give it); then a stream of EndpointSlice changes is spread as a load
// balancer spreads it: each event to a random replica, a fifth of them to a second one too
// (duplicates), and sent `window` at a time in shuffled order (reordering: an older version of a
// slice may reach a replica after a newer one, or reach only a replica that never saw the newer).
//   - replica_converged_ms: from the first event until both agents hold the last version of every
//     slice (GET /v1/state: every set at its final size, applied).
//   - replica_applied_per_change: endpoint writes each agent applied per distinct change (target 1:
//     duplicates and older versions dropped by revision; below 1 when a replica's push carried a
//     newer version first); replica_received_per_change: every write it was sent (stale included).
//   - reviews_per_s_1 and reviews_per_s_2: admission reviews per second against one handler and
//     spread over two at the same concurrency, and their ratio (on 2 cores shared with the load
//     generator and the other processes: see BENCHMARKS.md).
import { randomBytes } from 'node:crypto';
import { prng } from '../tests/support/prng.ts';
import { percentile, postObjects, send, startAgentProcess, startHandlerProcess, tokenFile, type Child } from './handler-process.ts';

export interface ReplicaRunOptions {
  /** Services (each with an Ingress and an EndpointSlice). */
  services: number;
  /** Versions of each slice sent (the last one has FINAL endpoints). */
  rounds: number;
  handlers: number;
  agents: number;
  /** Events sent at once, shuffled. */
  window: number;
  reviewSeconds: number;
}

const NS = 'replicas';
const FINAL = 7;

/** Runs it; resolves with its figures. */
export async function runReplicas(o: ReplicaRunOptions): Promise<Record<string, unknown>> {
  const token = randomBytes(24).toString('hex');
  const tf = tokenFile(token);
  const children: Child[] = [];
  const random = prng(19);
  let rv = 1;
  const service = (s: number) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: `s${s}`, namespace: NS, resourceVersion: String(rv++) }, spec: { ports: [{ name: 'http', port: 80 }] } });
  const ingress = (name: string, host: string, s: number, version = rv++) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: NS, resourceVersion: String(version), creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { ingressClassName: 'wharf', rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: `s${s}`, port: { number: 80 } } } }] } }] },
  });
  const slice = (s: number, count: number) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `s${s}-x`, namespace: NS, resourceVersion: String(rv++), labels: { 'kubernetes.io/service-name': `s${s}` } },
    addressType: 'IPv4',
    endpoints: Array.from({ length: count }, (_, k) => ({ addresses: [`10.9.${s & 255}.${k + 1}`], conditions: { ready: true } })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  });
  try {
    const agents: Child[] = [];
    for (let i = 0; i < o.agents; i++) agents.push(await startAgentProcess({ tokenPath: tf.path }));
    children.push(...agents);
    const handlers: Child[] = [];
    for (let i = 0; i < o.handlers; i++) handlers.push(await startHandlerProcess({ tokenPath: tf.path, agents: agents.map((a) => a.url) }));
    children.push(...handlers);
    const auth = { authorization: `Bearer ${token}` };
    const state = async (agentUrl: string) =>
      (JSON.parse((await send(`${agentUrl}/v1/state`, 'GET', auth)).body) as { endpoints: { upstream: string; endpoints: number | null; revision: number; appliedRevision: number }[] }).endpoints.filter((e) => e.upstream.startsWith(`${NS}-`));
    const updates = async (agentUrl: string) => {
      const text = (await send(`${agentUrl}/metrics`, 'GET', {})).body;
      const out: Record<string, number> = {};
      for (const m of text.matchAll(/^wharf_agent_endpoint_updates_total\{via="[a-z]+",result="([a-z]+)"\} (\d+)/gm)) out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
      return out;
    };

    // Every replica gets the same objects, as its own list would give it; the slices start at 1 endpoint.
    const objects: object[] = [];
    for (let s = 0; s < o.services; s++) objects.push(service(s), ingress(`i${s}`, `r${s}.example.com`, s), slice(s, 1));
    await Promise.all(handlers.map((h) => postObjects(h.url, token, objects)));
    const settled = async (want: number) => {
      for (const a of agents) {
        const sets = await state(a.url);
        if (sets.length < o.services || !sets.every((e) => e.endpoints === want && e.appliedRevision === e.revision)) return false;
      }
      return true;
    };
    for (let t = Date.now(); !(await settled(1)); await new Promise((r) => setTimeout(r, 100))) {
      if (Date.now() - t > 120_000) throw new Error('the agents never held the initial endpoints');
    }
    const before = await Promise.all(agents.map((a) => updates(a.url)));

    // The stream: rounds × services versions (sizes 2..6, the last FINAL), spread, duplicated, shuffled.
    const events: { body: string; to: number[] }[] = [];
    for (let r = 0; r < o.rounds; r++) {
      for (let s = 0; s < o.services; s++) {
        const first = Math.floor(random() * o.handlers);
        const to = random() < 0.2 ? [first, (first + 1 + Math.floor(random() * (o.handlers - 1))) % o.handlers] : [first];
        events.push({ body: JSON.stringify(slice(s, r === o.rounds - 1 ? FINAL : 2 + (r % 5))), to });
      }
    }
    let duplicates = 0;
    const post = async (h: Child, body: string) => {
      const r = await send(`${h.url}/events`, 'POST', { 'ce-specversion': '1.0', 'ce-id': randomBytes(6).toString('hex'), 'ce-source': 'bench', 'ce-type': 'dev.knative.apiserver.resource.update', 'content-type': 'application/json', ...auth }, body);
      if (r.status !== 200) throw new Error(`event answered ${r.status}: ${r.body.slice(0, 300)}`);
    };
    const started = performance.now();
    for (let i = 0; i < events.length; i += o.window) {
      const window = events.slice(i, i + o.window).flatMap((e) => e.to.map((h) => ({ h, body: e.body })));
      duplicates += window.length - Math.min(o.window, events.length - i);
      for (let k = window.length - 1; k > 0; k--) {
        const j = Math.floor(random() * (k + 1));
        [window[k], window[j]] = [window[j]!, window[k]!];
      }
      await Promise.all(window.map((w) => post(handlers[w.h]!, w.body)));
    }
    const sentMs = performance.now() - started;
    for (;;) {
      if (await settled(FINAL)) break;
      if (performance.now() - started > 120_000) throw new Error(`the agents did not converge within 120 s: ${JSON.stringify(await state(agents[0]!.url)).slice(0, 500)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const convergedMs = performance.now() - started;
    await new Promise((r) => setTimeout(r, 500));
    const after = await Promise.all(agents.map((a) => updates(a.url)));
    const changes = events.length;
    const delta = (i: number, result?: string) =>
      Object.entries(after[i]!).reduce((n, [k, v]) => n + (!result || k === result ? v - (before[i]![k] ?? 0) : 0), 0);
    const applied = agents.map((_, i) => Number((delta(i, 'applied') / changes).toFixed(3)));
    const received = agents.map((_, i) => Number((delta(i) / changes).toFixed(3)));

    // Reviews per second: one handler, then two, at the same concurrency.
    const reviews = Array.from({ length: 200 }, (_, i) => JSON.stringify({
      apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
      request: { uid: `u${i}`, kind: { group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' }, resource: { group: 'networking.k8s.io', version: 'v1', resource: 'ingresses' }, operation: 'CREATE', namespace: NS, name: `n${i}`, object: ingress(`n${i}`, `new-${i}.example.com`, i % o.services), userInfo: { username: 'bench' } },
    }));
    const rate = async (targets: Child[], ms: number) => {
      let n = 0;
      const latencies: number[] = [];
      const deadline = performance.now() + ms;
      const t0 = performance.now();
      await Promise.all(Array.from({ length: 16 }, async (_, w) => {
        while (performance.now() < deadline) {
          const k = n++;
          const t = performance.now();
          const r = await send(`${targets[(k + w) % targets.length]!.url}/admission`, 'POST', { 'content-type': 'application/json' }, reviews[k % reviews.length]!);
          latencies.push(performance.now() - t);
          if (r.status !== 200) throw new Error(`review answered ${r.status}`);
        }
      }));
      return { perS: latencies.length / ((performance.now() - t0) / 1000), p99: percentile(latencies.sort((a, b) => a - b), 99) };
    };
    // Warm-up: each handler alone (JIT, connections).
    for (const h of handlers.slice(0, 2)) await rate([h], 1500);
    const one: number[] = [];
    const two: number[] = [];
    // In turns, so a burst of outside load hits both.
    for (let k = 0; k < 3; k++) {
      one.push((await rate(handlers.slice(0, 1), (o.reviewSeconds * 1000) / 6)).perS);
      two.push((await rate(handlers.slice(0, 2), (o.reviewSeconds * 1000) / 6)).perS);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
    return {
      replica_handlers: o.handlers,
      replica_agents: o.agents,
      replica_changes: changes,
      replica_duplicates: duplicates,
      replica_sent_ms: Math.round(sentMs),
      replica_converged_ms: Math.round(convergedMs),
      replica_applied_per_change: applied,
      replica_received_per_change: received,
      replica_applied_per_change_max: Math.max(...applied),
      reviews_per_s_1: Math.round(median(one)),
      reviews_per_s_2: Math.round(median(two)),
      reviews_2_over_1: Number((median(two) / median(one)).toFixed(2)),
    };
  } finally {
    for (const c of children.reverse()) await c.stop();
    tf.remove();
  }
}
