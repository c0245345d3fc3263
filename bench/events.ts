// npm run bench:events — CloudEvents through the handler tier into a real NGINX. One `wharf handler`
// and one `wharf agent` (with its NGINX) as child processes, echo backends in this process.
//   - endpoint_event_to_nginx_ms: an EndpointSlice CloudEvent posted to the handler, until NGINX
//     routes to the new endpoint (polled with back-to-back requests).
//   - events_per_s: EndpointSlice events for many upstreams posted at a fixed concurrency, until the
//     handler answered them all.
//   - reloads_during_endpoint_events: NGINX reloads while only EndpointSlices changed (must be 0).
//   - the floor, in the same run: the same endpoint change sent straight to the agent's endpoint API
//     (an upstream only the benchmark writes, behind a host the handler rendered) and observed by the
//     same probe, interleaved with the CloudEvent samples (direct_p50_ms, direct_p99_ms and
//     event_over_direct_p50/_p99: the cost of the handler tier); and the same number of endpoint
//     PUTs at the same concurrency (direct_per_s, events_per_s_over_direct: target ≥ 0.8; the
//     latency ratios: target ≤ 1.3).
//   - then the replica run (bench/events-replicas.ts; `--no-replicas` skips it): 3 handler processes
//     receiving the same event stream as a load balancer spreads it, duplicates and reordering
//     included, pushing to 2 agents: replica_converged_ms, replica_applied_per_change (per agent),
//     reviews_per_s_1/_2 and reviews_2_over_1. BENCH_REPLICA_SERVICES (50), BENCH_REPLICA_ROUNDS
//     (8), BENCH_REVIEW_SECONDS (6).
//   - with `--fault` (npm run bench:events -- --fault), then the fault run of bench/events-fault.ts: a
//     busy EndpointSlice watch cut after an outage and a healthy period (watch_recovery_ms_max).
// Prints one JSON object as the last line. Environment: BENCH_SAMPLES (3000 pairs, after BENCH_WARMUP
// (500) unmeasured ones: a p99 is each side's 1 % worst, 30 samples here; with 1,000 pairs the p99
// ratio of seven quiet runs of the same code moved 0.93–1.58, with 3,000 1.06–1.27, and in one
// 3,000-pair run every percentile from p50 to p99.5 had the event 1.06–1.16 times the direct change:
// the tail is the same handler hop as the median, not a tail of its own), BENCH_EVENTS (2000),
// BENCH_UPSTREAMS (200), BENCH_CONCURRENCY (16); for --fault BENCH_OUTAGE_S (15), BENCH_HEALTHY_S
// (30), BENCH_CUTS (5), BENCH_FLOOR_SAMPLES (20).
import { randomBytes } from 'node:crypto';
import { startBackend } from '../tests/support/backend.ts';
import { runWatchFault } from './events-fault.ts';
import { runReplicas } from './events-replicas.ts';
import { runRecord } from './machine.ts';
import { percentile, postObjects, send, startAgentProcess, startHandlerProcess, tokenFile } from './handler-process.ts';

const fault = process.argv.slice(2).includes('--fault');
const samples = Number(process.env.BENCH_SAMPLES ?? 3000);
const warmup = Number(process.env.BENCH_WARMUP ?? 500);
const events = Number(process.env.BENCH_EVENTS ?? 2000);
const upstreams = Number(process.env.BENCH_UPSTREAMS ?? 200);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
let resourceVersion = 1;
const rv = () => String(resourceVersion++);

const service = (name: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'bench', resourceVersion: rv() }, spec: { ports: [{ name: 'http', port: 80 }] } });
const ingress = (name: string, host: string, svc: string) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name, namespace: 'bench', resourceVersion: rv(), creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { ingressClassName: 'wharf', rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: svc, port: { number: 80 } } } }] } }] },
});
const slice = (svc: string, address: string) => {
  const [ip, port] = address.split(':');
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svc}-x`, namespace: 'bench', resourceVersion: rv(), labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [ip], conditions: { ready: true } }],
    ports: [{ name: 'http', port: Number(port), protocol: 'TCP' }],
  };
};

async function reloads(agentUrl: string): Promise<number> {
  const text = (await send(`${agentUrl}/metrics`, 'GET', {})).body;
  let n = 0;
  for (const m of text.matchAll(/^wharf_agent_reloads_total\{result="[a-z]+"\} (\d+)/gm)) n += Number(m[1]);
  return n;
}

/** Waits (at most 5 s) until the agent's count of endpoint updates stays the same for 100 ms. */
async function agentQuiet(agentUrl: string): Promise<void> {
  const updates = async () => {
    let n = 0;
    for (const m of (await send(`${agentUrl}/metrics`, 'GET', {})).body.matchAll(/^wharf_agent_endpoint_updates_total\{[^}]*\} (\d+)/gm)) n += Number(m[1]);
    return n;
  };
  const deadline = performance.now() + 5000;
  for (let last = await updates(); performance.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 100));
    const now = await updates();
    if (now === last) return;
    last = now;
  }
}

/** The usual run: CloudEvents posted to a handler fed by events only. */
async function eventsRun(): Promise<Record<string, unknown>> {
  const token = randomBytes(24).toString('hex');
  const tf = tokenFile(token);
  const [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
  const agent = await startAgentProcess({ tokenPath: tf.path });
  const handler = await startHandlerProcess({ tokenPath: tf.path, agents: [agent.url] });
  const nginx = `http://127.0.0.1:${agent.httpPort}/`;
  const backendAt = async (host: string): Promise<string | null> => {
    const r = await send(nginx, 'GET', { host });
    if (r.status !== 200) return null;
    return (JSON.parse(r.body) as { backend: string }).backend;
  };
  const postEvent = async (object: object) => {
    const r = await send(`${handler.url}/events`, 'POST', {
      'ce-specversion': '1.0',
      'ce-id': `bench-${resourceVersion}`,
      'ce-source': 'bench',
      'ce-type': 'dev.knative.apiserver.resource.update',
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
    }, JSON.stringify(object));
    if (r.status !== 200) throw new Error(`event answered ${r.status}: ${r.body.slice(0, 300)}`);
  };
  try {
    // Setup: the measured host, plus `upstreams` more hosts for the throughput run (reloads happen here).
    // `direct` has no EndpointSlice: only the benchmark writes its upstream, through the agent's API.
    const objects: object[] = [service('web'), ingress('web', 'bench.example.com', 'web'), slice('web', a.address), service('direct'), ingress('direct', 'direct.example.com', 'direct')];
    for (let i = 0; i < upstreams; i++) objects.push(service(`s${i}`), ingress(`i${i}`, `h${i}.example.com`, `s${i}`));
    await postObjects(handler.url, token, objects, 200);
    const deadline = Date.now() + 30_000;
    while ((await backendAt('bench.example.com')) !== 'a') {
      if (Date.now() > deadline) throw new Error('NGINX never routed bench.example.com to backend a');
      await new Promise((r) => setTimeout(r, 20));
    }
    // Let the setup's reloads finish before counting.
    await new Promise((r) => setTimeout(r, 1000));
    const reloadsBefore = await reloads(agent.url);

    // Latency: flip the endpoint between a and b, poll NGINX until it routes to the new one; each
    // CloudEvent sample is followed by its floor, the same flip sent straight to the agent.
    const agentHeaders = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    // Above any revision the handler gives (it counts from 1).
    let directRevision = 1e12;
    const putDirect = async (upstream: string, address: string) => {
      const r = await send(`${agent.url}/v1/endpoints/${upstream}`, 'PUT', agentHeaders, JSON.stringify({ revision: directRevision++, endpoints: [address] }));
      if (r.status !== 200) throw new Error(`endpoint PUT answered ${r.status}: ${r.body.slice(0, 300)}`);
    };
    const flip = async (host: string, target: { name: string }, change: () => Promise<void>, i: number) => {
      const started = performance.now();
      await change();
      for (;;) {
        if ((await backendAt(host)) === target.name) break;
        if (performance.now() - started > 10_000) throw new Error(`sample ${i}: NGINX did not route ${host} to ${target.name} within 10 s`);
      }
      return performance.now() - started;
    };
    await putDirect('bench-direct-80', a.address);
    while ((await backendAt('direct.example.com')) !== 'a') await new Promise((r) => setTimeout(r, 20));
    // Unmeasured pairs first, so that both paths are measured as a running process serves them
    // (compiled by the JIT), not as code met for the first time: the handler's single-event path is
    // first run here, the setup went in batches.
    for (let i = 0; i < warmup; i++) {
      const target = i % 2 === 0 ? b : a;
      await flip('bench.example.com', target, () => postEvent(slice('web', target.address)), i);
      await flip('direct.example.com', target, () => putDirect('bench-direct-80', target.address), i);
    }
    const latencies: number[] = [];
    const direct: number[] = [];
    for (let i = warmup % 2; i < samples + (warmup % 2); i++) {
      const target = i % 2 === 0 ? b : a;
      latencies.push(await flip('bench.example.com', target, () => postEvent(slice('web', target.address)), i));
      direct.push(await flip('direct.example.com', target, () => putDirect('bench-direct-80', target.address), i));
    }

    // Throughput: EndpointSlice events for `upstreams` services, `concurrency` at a time.
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = next++; i < events; i = next++) await postEvent(slice(`s${i % upstreams}`, i % 2 ? a.address : b.address));
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    // The handler answers once the pushes are on their way: the floor starts when the agent has
    // taken them all, not while it still works through them.
    await agentQuiet(agent.url);
    // Its floor: as many endpoint PUTs straight to the agent, at the same concurrency, on upstreams
    // only the benchmark writes.
    next = 0;
    const directStarted = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = next++; i < events; i = next++) await putDirect(`bench-direct-s${i % upstreams}-80`, i % 2 ? a.address : b.address);
      }),
    );
    const directElapsed = (performance.now() - directStarted) / 1000;
    await new Promise((r) => setTimeout(r, 500));
    const reloadsDuring = (await reloads(agent.url)) - reloadsBefore;
    latencies.sort((x, y) => x - y);
    direct.sort((x, y) => x - y);
    const round = (x: number) => Number(x.toFixed(2));
    return {
      events,
      events_per_s: Math.round(events / elapsed),
      direct_per_s: Math.round(events / directElapsed),
      events_per_s_over_direct: round(directElapsed / elapsed),
      endpoint_samples: samples,
      endpoint_warmup_samples: warmup,
      endpoint_event_to_nginx_ms_p50: round(percentile(latencies, 50)),
      endpoint_event_to_nginx_ms_p99: round(percentile(latencies, 99)),
      direct_p50_ms: round(percentile(direct, 50)),
      direct_p99_ms: round(percentile(direct, 99)),
      event_over_direct_p50: round(percentile(latencies, 50) / percentile(direct, 50)),
      event_over_direct_p99: round(percentile(latencies, 99) / percentile(direct, 99)),
      reloads_during_endpoint_events: reloadsDuring,
    };
  } finally {
    await handler.stop();
    await agent.stop();
    await Promise.all([a.close(), b.close()]);
    tf.remove();
  }
}

async function main(): Promise<void> {
  const record = runRecord();
  const figures = await eventsRun();
  if (!process.argv.includes('--no-replicas')) {
    Object.assign(
      figures,
      await runReplicas({
        services: Number(process.env.BENCH_REPLICA_SERVICES ?? 50),
        rounds: Number(process.env.BENCH_REPLICA_ROUNDS ?? 8),
        handlers: 3,
        agents: 2,
        window: 16,
        reviewSeconds: Number(process.env.BENCH_REVIEW_SECONDS ?? 6),
      }),
    );
  }
  if (fault) {
    Object.assign(
      figures,
      await runWatchFault({
        outageS: Number(process.env.BENCH_OUTAGE_S ?? 15),
        healthyS: Number(process.env.BENCH_HEALTHY_S ?? 30),
        cuts: Number(process.env.BENCH_CUTS ?? 5),
        floorSamples: Number(process.env.BENCH_FLOOR_SAMPLES ?? 20),
      }),
    );
  }
  console.log(JSON.stringify({ ...figures, ...record.end() }));
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
