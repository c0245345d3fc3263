// npm run bench:events — CloudEvents through the handler tier into a real NGINX. One `wharf handler`
// and one `wharf agent` (with its NGINX) as child processes, echo backends in this process.
//   - endpoint_event_to_nginx_ms: an EndpointSlice CloudEvent posted to the handler, until NGINX
//     routes to the new endpoint (polled with back-to-back requests).
//   - events_per_s: EndpointSlice events for many upstreams posted at a fixed concurrency, until the
//     handler answered them all.
//   - reloads_during_endpoint_events: NGINX reloads while only EndpointSlices changed (must be 0).
//   - with `--fault` (npm run bench:events -- --fault), then the fault run of bench/events-fault.ts: a
//     busy EndpointSlice watch cut after an outage and a healthy period (watch_recovery_ms_max).
// Prints one JSON object as the last line. Environment: BENCH_SAMPLES (200), BENCH_EVENTS (2000),
// BENCH_UPSTREAMS (200), BENCH_CONCURRENCY (16); for --fault BENCH_OUTAGE_S (15), BENCH_HEALTHY_S
// (30), BENCH_CUTS (5), BENCH_FLOOR_SAMPLES (20).
import { randomBytes } from 'node:crypto';
import { startBackend } from '../tests/support/backend.ts';
import { runWatchFault } from './events-fault.ts';
import { percentile, postObjects, send, startAgentProcess, startHandlerProcess, tokenFile } from './handler-process.ts';

const fault = process.argv.slice(2).includes('--fault');
const samples = Number(process.env.BENCH_SAMPLES ?? 200);
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
    const objects: object[] = [service('web'), ingress('web', 'bench.example.com', 'web'), slice('web', a.address)];
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

    // Latency: flip the endpoint between a and b, poll NGINX until it routes to the new one.
    const latencies: number[] = [];
    for (let i = 0; i < samples; i++) {
      const target = i % 2 === 0 ? b : a;
      const started = performance.now();
      await postEvent(slice('web', target.address));
      for (;;) {
        if ((await backendAt('bench.example.com')) === target.name) break;
        if (performance.now() - started > 10_000) throw new Error(`sample ${i}: NGINX did not route to ${target.name} within 10 s`);
      }
      latencies.push(performance.now() - started);
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
    await new Promise((r) => setTimeout(r, 500));
    const reloadsDuring = (await reloads(agent.url)) - reloadsBefore;
    latencies.sort((x, y) => x - y);
    return {
      events,
      events_per_s: Math.round(events / elapsed),
      endpoint_samples: samples,
      endpoint_event_to_nginx_ms_p50: Number(percentile(latencies, 50).toFixed(2)),
      endpoint_event_to_nginx_ms_p99: Number(percentile(latencies, 99).toFixed(2)),
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
  const figures = await eventsRun();
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
  console.log(JSON.stringify(figures));
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
