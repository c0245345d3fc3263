// npm run bench:scale — wharf at the size of the largest clusters (issue 19, item 2). The test API
// server (tests/support) in this process holds the cluster; `wharf handler` and `wharf agent` run as
// child processes, as in bench:events' fault run.
//   1. The handler's first list, paged (500 a page, as client-go): --ingresses N Ingresses (one host,
//      two paths each), --services S Services and EndpointSlices with --endpoints E endpoints over
//      them. `first_list_ms` (process start to /readyz 200), the handler's RSS and peak RSS then, its
//      V8 heap (`handler_heap_used_mb`), and GET /snapshot: what a restarted agent loads (bytes, ms).
//   2. Admission reviews against that handler, in turns with the floor (bench/admission-floor.ts),
//      for --admission-seconds: p50, p99, their ratio to the floor's, and the RSS after.
//   3. One Ingress's change, written to the API server --changes times: the handler's own render
//      time for the change (wharf_handler_render_duration_seconds, mean) and until it has it.
//   3b. The full snapshot pushed to new agents (bench/scale-push.ts): one agent, then with
//      --push-agents 1,2 (the default) two at once, as the pods of an NGINX Deployment of 2 appear
//      behind the agents' Service. `snapshot_push_bytes`, `snapshot_push_ms` (from their appearance
//      until each agent has answered it), `snapshot_push_accepted`, and the handler's RSS sampled
//      every 50 ms during the push (`handler_peak_rss_during_push_mb`) and its VmHWM then. The agents
//      are the agent's own API without NGINX (bench/push-receiver.ts): 100,000 servers are past what
//      NGINX loads on this machine (phase 4). `--push-agents 0`: skip.
//   4. With --nginx-ingresses M (default min(N, 10,000); 0: skip): a new `wharf agent` started with
//      --snapshot-url pointing at a handler listing M of the Ingresses: time until its NGINX serves
//      the last host (`snapshot_to_serving_ms`). NGINX loads every server in one reload there.
//   5. Endpoints: a second handler and an agent with its NGINX, on a cluster of S Services with one
//      Ingress each; one EndpointSlice flipped between two live backends in the API server, timed
//      until NGINX routes to the new one, first with about 1,000 endpoints in all, then with E
//      (`endpoint_change_ms_p50_1000`, `_p50_at_scale` and their ratio).
// Prints one JSON object as the last line. Heavy: run it on its own. BENCH_HANDLER_NODE_ARGS: Node
// flags for the handler processes (default none: the heap settings it gives itself).
// --container-memory MIB: the handler processes get the heap settings `wharf handler` gives itself
// in a container with that memory limit (heap-defaults.ts: an old space of half of it), as the
// issue's target asks ("heap settings that follow the memory the container is given"); without
// it, those of this machine with no limit (a quarter of its memory, up to 4 GiB).
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startBackend, type Backend } from '../tests/support/backend.ts';
import { FakeApiServer } from '../tests/support/kube-apiserver.ts';
import { endpointSlice, ingressClass, service } from '../tests/support/kube-apiserver-fixtures.ts';
import type { Obj } from '../tests/support/kube-apiserver-store.ts';
import { cpuSecondsOf, memoryOf, nodeFlagsOf, percentile, send, startAgentProcess, startFloor, startHandlerProcess, tokenFile, type Child } from './handler-process.ts';
import { runRecord } from './machine.ts';
import { totalmem } from 'node:os';
import { heapDefaults } from '../src/handlers/heap-defaults.ts';
import { freePort } from '../tests/support/backend.ts';
import { agentServiceArgs, snapshotPush } from './scale-push.ts';

const { values } = parseArgs({
  options: {
    ingresses: { type: 'string', default: '100000' },
    services: { type: 'string', default: '3000' },
    endpoints: { type: 'string', default: '100000' },
    'admission-seconds': { type: 'string', default: '20' },
    changes: { type: 'string', default: '20' },
    'nginx-ingresses': { type: 'string' },
    samples: { type: 'string', default: '20' },
    'container-memory': { type: 'string' },
    'push-agents': { type: 'string', default: '1,2' },
  },
});
const N = Number(values.ingresses);
const S = Number(values.services);
const E = Number(values.endpoints);
const NGINX_N = Math.min(N, Number(values['nginx-ingresses'] ?? 10_000));
const say = (msg: string) => process.stderr.write(`bench: ${new Date().toISOString().slice(11, 19)} ${msg}\n`);
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
const containerMb = values['container-memory'] ? Number(values['container-memory']) : null;
const nodeArgs = process.env.BENCH_HANDLER_NODE_ARGS
  ? process.env.BENCH_HANDLER_NODE_ARGS.split(' ').filter(Boolean)
  : containerMb
    ? heapDefaults({ execArgv: [], nodeOptions: '', constrainedMemory: containerMb * 2 ** 20, totalMemory: totalmem() })
    : [];
const NS = 100;
const pushCounts = (values['push-agents'] ?? '').split(',').map(Number).filter((n) => n > 0);

/** Service s lives in namespace ns-(s % 100); Ingress i routes both its paths to Service i % S, in its namespace. */
const nsOf = (s: number) => `ns-${s % NS}`;
const ingress = (i: number, extra: Record<string, string> = {}): Obj => {
  const svc = `svc-${i % S}`;
  const paths = ['/', '/api'].map((path) => ({ path, pathType: 'Prefix', backend: { service: { name: svc, port: { number: 80 } } } }));
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: `ing-${i}`, namespace: nsOf(i % S), annotations: { 'nginx.ingress.kubernetes.io/proxy-body-size': '8m', ...extra } },
    spec: { ingressClassName: 'wharf', rules: [{ host: `host-${i}.example.com`, http: { paths } }] },
  };
};
const ip = (k: number) => `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`;

/** Services 0..services-1 (when `withServices`) and their EndpointSlices, `endpoints` in all, at most 100 a slice. */
function servicesAndSlices(api: FakeApiServer, services: number, endpoints: number, withServices = true): void {
  let k = 0;
  for (let s = 0; s < services; s++) {
    if (withServices) api.put(service(`svc-${s}`, nsOf(s)));
    const count = Math.floor(endpoints / services) + (s < endpoints % services ? 1 : 0);
    const ips = Array.from({ length: count }, () => ip(k++));
    for (let c = 0; c * 100 < ips.length; c++) api.put(endpointSlice(`svc-${s}-${c}`, `svc-${s}`, nsOf(s), ips.slice(c * 100, c * 100 + 100)));
  }
}

const metric = (text: string, name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);

async function waitUntil(what: string, ok: () => Promise<boolean>, limitMs: number, everyMs = 50): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await ok().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Reviews of new Ingresses (a tenth of them take a host an existing one holds: warnings), in turns with the floor. */
async function admission(url: string, seconds: number): Promise<Record<string, number>> {
  const bodies = Array.from({ length: 1000 }, (_, i) => {
    const object = ingress(N + i);
    if (i % 10 === 9) (object.spec as { rules: { host: string }[] }).rules[0]!.host = `host-${i}.example.com`;
    return JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: `u${i}`, kind: { group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' }, resource: { group: 'networking.k8s.io', version: 'v1', resource: 'ingresses' }, operation: 'CREATE', namespace: (object.metadata as { namespace: string }).namespace, name: `ing-${N + i}`, object, userInfo: { username: 'bench' } } });
  });
  const headers = { 'content-type': 'application/json' };
  const floor = await startFloor();
  const run = async (target: string, ms: number) => {
    const out: number[] = [];
    let next = 0;
    const deadline = performance.now() + ms;
    const started = performance.now();
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now();
        const r = await send(`${target}/admission`, 'POST', headers, bodies[next++ % bodies.length]!);
        out.push(performance.now() - t);
        if (r.status !== 200) throw new Error(`review answered ${r.status}: ${r.body.slice(0, 300)}`);
      }
    }));
    return { latencies: out, s: (performance.now() - started) / 1000 };
  };
  try {
    await run(url, 1000);
    await run(floor.url, 500);
    const ours: number[] = [];
    const base: number[] = [];
    let oursS = 0;
    let baseS = 0;
    for (let round = 0; round < 4; round++) {
      const f = await run(floor.url, (seconds * 1000) / 8);
      for (const x of f.latencies) base.push(x); // not push(...): a round can hold more samples than a call takes arguments
      baseS += f.s;
      const w = await run(url, (seconds * 1000) / 4);
      for (const x of w.latencies) ours.push(x);
      oursS += w.s;
    }
    ours.sort((a, b) => a - b);
    base.sort((a, b) => a - b);
    return {
      admission_reviews_per_s: Math.round(ours.length / oursS),
      admission_p50_ms: round(percentile(ours, 50)),
      admission_p99_ms: round(percentile(ours, 99)),
      admission_floor_p99_ms: round(percentile(base, 99)),
      admission_p99_over_floor: round(percentile(ours, 99) / percentile(base, 99)),
      admission_reviews_per_s_over_floor: round(ours.length / oursS / (base.length / baseS)),
    };
  } finally {
    await floor.stop();
  }
}

/** Phases 1–4: the handler listing N Ingresses. */
async function atScale(tokenPath: string, dir: string, backend: Backend): Promise<Record<string, unknown>> {
  const api = await FakeApiServer.start();
  const kubeconfig = join(dir, 'kubeconfig-scale');
  writeFileSync(kubeconfig, api.kubeconfigYaml('handler'));
  const children: Child[] = [];
  try {
    let t = performance.now();
    api.put(ingressClass('wharf'));
    servicesAndSlices(api, S, E);
    for (let i = 0; i < N; i++) api.put(ingress(i));
    // The last Ingress routes to a live backend: what phase 4 waits for.
    const lastNs = nsOf((N - 1) % S);
    api.put(service('live', lastNs));
    api.put({ ...endpointSlice('live-x', 'live', lastNs, ['127.0.0.1']), ports: [{ port: backend.port, protocol: 'TCP' }] });
    const last = ingress(N - 1);
    (last.spec as { rules: { http: { paths: { backend: { service: { name: string } } }[] } }[] }).rules[0]!.http.paths[0]!.backend.service.name = 'live';
    api.put(last);
    say(`the API server holds ${N} Ingresses, ${S} Services in ${NS} namespaces, ${E} endpoints over them (${Math.round(performance.now() - t)} ms)`);

    t = performance.now();
    const agentPort = await freePort();
    const handler = await startHandlerProcess({ tokenPath, kubeconfig, nodeArgs, readyTimeoutMs: 1_800_000, args: agentServiceArgs(agentPort) });
    children.push(handler);
    const firstListMs = performance.now() - t;
    const listed = memoryOf(handler.process.pid!);
    const metricsText = async () => (await send(`${handler.url}/metrics`, 'GET', {})).body;
    const heapUsedMb = (text: string) => Math.round(metric(text, 'nodejs_heap_size_used_bytes') / 2 ** 20);
    let m = await metricsText();
    const listedHeap = heapUsedMb(m);
    const listCpu = cpuSecondsOf(handler.process.pid!);
    say(`first list: ${Math.round(firstListMs)} ms; handler RSS ${listed.rssMb} MB, peak ${listed.peakMb} MB, heap used ${listedHeap} MB`);

    t = performance.now();
    const snap = await send(`${handler.url}/snapshot`, 'GET', { authorization: `Bearer ${process.env.BENCH_TOKEN}` });
    const snapshotMs = performance.now() - t;
    if (snap.status !== 200) throw new Error(`GET /snapshot: ${snap.status} ${snap.body.slice(0, 300)}`);
    const snapshotBytes = Buffer.byteLength(snap.body);
    say(`snapshot: ${(snapshotBytes / 2 ** 20).toFixed(1)} MB in ${Math.round(snapshotMs)} ms`);

    const reviews = await admission(handler.url, Number(values['admission-seconds']));
    const afterReviews = memoryOf(handler.process.pid!);
    say(`admission: ${JSON.stringify(reviews)}; RSS after ${afterReviews.rssMb} MB`);

    // One Ingress's change: the handler's own render time of it, and the time until it shows in
    // the render count.
    m = await metricsText();
    const sum0 = metric(m, 'wharf_handler_render_duration_seconds_sum');
    const count0 = metric(m, 'wharf_handler_render_duration_seconds_count');
    const changes = Number(values.changes);
    const changeMs: number[] = [];
    for (let k = 0; k < changes; k++) {
      const before = metric(await metricsText(), 'wharf_handler_render_duration_seconds_count');
      t = performance.now();
      api.put(ingress((k * 7919) % (N - 1), { 'nginx.ingress.kubernetes.io/proxy-read-timeout': String(61 + k) }));
      await waitUntil('the handler rendering a change', async () => metric(await metricsText(), 'wharf_handler_render_duration_seconds_count') > before, 30_000, 5);
      changeMs.push(performance.now() - t);
    }
    m = await metricsText();
    const renderMeanMs = ((metric(m, 'wharf_handler_render_duration_seconds_sum') - sum0) / (metric(m, 'wharf_handler_render_duration_seconds_count') - count0)) * 1000;
    const settled = memoryOf(handler.process.pid!);
    const result: Record<string, unknown> = {
      ingresses: N,
      services: S,
      endpoints: E,
      first_list_ms: Math.round(firstListMs),
      first_list_handler_cpu_s: round(listCpu),
      handler_rss_listed_mb: listed.rssMb,
      handler_peak_rss_listed_mb: listed.peakMb,
      handler_heap_used_listed_mb: listedHeap,
      ...reviews,
      handler_rss_after_admission_mb: afterReviews.rssMb,
      handler_peak_rss_mb: settled.peakMb,
      handler_heap_used_mb: heapUsedMb(m),
      handler_node_flags: nodeFlagsOf(handler.process.pid!).join(' '),
      ...(containerMb ? { handler_container_memory_mb: containerMb } : {}),
      ingress_change_render_ms_mean: round(renderMeanMs, 3),
      ingress_change_to_rendered_ms_p50: round(median(changeMs)),
      snapshot_bytes: snapshotBytes,
      snapshot_get_ms: Math.round(snapshotMs),
    };

    // 3b. New agents that get the full snapshot by push: one, then (by default) two at once.
    let firstIp = 2;
    for (const count of pushCounts) {
      const tail = count === 1 ? '' : `_${count}_agents`;
      const name = `snapshot_push${tail}`;
      let p: Record<string, unknown>;
      try {
        p = await snapshotPush({ handler, api, tokenPath, port: agentPort, count, firstIp, expectFragments: N, say });
      } catch (e) {
        // The handler gone (out of heap): a result, not the end of the benchmark.
        say(`snapshot push to ${count} agent(s) failed: ${(e as Error).message}`);
        Object.assign(result, { [`${name}_accepted`]: false, [`${name}_error`]: (e as Error).message.slice(0, 300) });
        break;
      }
      firstIp += count;
      const one = (p.per_agent as Record<string, unknown>[])[0]!;
      Object.assign(result, {
        [`${name}_accepted`]: p.accepted,
        [`${name}_ms`]: p.ms,
        ...(count === 1 ? { snapshot_push_bytes: one.bytes, snapshot_push_fragments: one.fragments, snapshot_push_chunked: one.chunked, snapshot_push_first_byte_ms: one.first_byte_ms, snapshot_push_transfer_ms: one.transfer_ms, snapshot_push_agent_parse_ms: one.parse_ms, snapshot_push_agent_api_peak_rss_mb: one.agent_api_peak_rss_mb } : {}),
        [`handler_rss_before_push${tail}_mb`]: p.handler_rss_before_mb,
        [`handler_peak_rss_during_push${tail}_mb`]: p.handler_peak_rss_sampled_mb,
        [`handler_vmhwm_during_push${tail}_mb`]: p.handler_vmhwm_mb,
        [`handler_cpu_during_push${tail}_s`]: p.handler_cpu_s,
        [`handler_healthz_ms_max_during_push${tail}`]: p.healthz_ms_max,
        [`${name}_detail`]: p,
      });
    }
    await handler.stop();
    children.length = 0;

    if (NGINX_N > 0) Object.assign(result, await snapshotToServing(tokenPath, dir, api, backend));
    return result;
  } finally {
    for (const c of children) await c.stop();
    await api.close();
  }
}

/** Phase 4: a handler listing the first NGINX_N Ingresses (the others deleted), a new agent loading its snapshot. */
async function snapshotToServing(tokenPath: string, dir: string, api: FakeApiServer, backend: Backend): Promise<Record<string, unknown>> {
  // Keep NGINX_N - 1 Ingresses and the live one (the last).
  for (let i = NGINX_N - 1; i < N - 1; i++) api.remove('Ingress', nsOf(i % S), `ing-${i}`);
  const kubeconfig = join(dir, 'kubeconfig-nginx');
  writeFileSync(kubeconfig, api.kubeconfigYaml('handler'));
  const handler = await startHandlerProcess({ tokenPath, kubeconfig, nodeArgs, readyTimeoutMs: 1_800_000 });
  let agent: Child | null = null;
  try {
    const snap = await send(`${handler.url}/snapshot`, 'GET', { authorization: `Bearer ${process.env.BENCH_TOKEN}` });
    const t = performance.now();
    const started = await startAgentProcess({ tokenPath, args: ['--snapshot-url', `${handler.url}/snapshot`, '--snapshot-token-file', tokenPath, '--max-batch-size', '2Gi'], readyTimeoutMs: 1_800_000 });
    agent = started;
    const host = `host-${N - 1}.example.com`;
    await waitUntil(`NGINX serving ${host}`, async () => {
      const r = await send(`http://127.0.0.1:${started.httpPort}/`, 'GET', { host });
      return r.status === 200 && (JSON.parse(r.body) as { backend: string }).backend === backend.name;
    }, 1_800_000, 100);
    const ms = performance.now() - t;
    const nginxPid = Number((await import('node:fs')).readFileSync(join(started.prefix, 'run', 'nginx.pid'), 'utf8'));
    say(`snapshot of ${NGINX_N} Ingresses (${(Buffer.byteLength(snap.body) / 2 ** 20).toFixed(1)} MB): NGINX serving after ${Math.round(ms)} ms`);
    return {
      nginx_ingresses: NGINX_N,
      nginx_snapshot_bytes: Buffer.byteLength(snap.body),
      snapshot_to_serving_ms: Math.round(ms),
      agent_rss_mb: memoryOf(started.process.pid!).rssMb,
      nginx_master_rss_mb: memoryOf(nginxPid).rssMb,
    };
  } finally {
    if (agent) await agent.stop();
    await handler.stop();
  }
}

/** Phase 5: one slice flipped between two backends, at about 1,000 endpoints and at E. */
async function endpoints(tokenPath: string, dir: string, a: Backend, b: Backend): Promise<Record<string, unknown>> {
  const api = await FakeApiServer.start();
  const kubeconfig = join(dir, 'kubeconfig-endpoints');
  writeFileSync(kubeconfig, api.kubeconfigYaml('handler'));
  api.put(ingressClass('wharf'));
  // S Services with an Ingress each; at first only 30 of them have endpoints (1,000 in all).
  for (let s = 0; s < S; s++) api.put(ingress(s));
  servicesAndSlices(api, Math.min(S, 30), 1000);
  for (let s = 30; s < S; s++) api.put(service(`svc-${s}`, nsOf(s)));
  api.put(service('web', 'ns-0'));
  api.put({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'web', namespace: 'ns-0' }, spec: { ingressClassName: 'wharf', rules: [{ host: 'web.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] } });
  const slice = (to: Backend) => api.put({ ...endpointSlice('web-x', 'web', 'ns-0', ['127.0.0.1']), ports: [{ port: to.port, protocol: 'TCP' }] });
  slice(a);
  const agent = await startAgentProcess({ tokenPath, args: ['--max-batch-size', '2Gi'] });
  const handler = await startHandlerProcess({ tokenPath, kubeconfig, nodeArgs, agents: [agent.url], readyTimeoutMs: 1_800_000 });
  const nginx = `http://127.0.0.1:${agent.httpPort}/`;
  const routesTo = async (to: Backend) => {
    const r = await send(nginx, 'GET', { host: 'web.example.com' });
    return r.status === 200 && (JSON.parse(r.body) as { backend: string }).backend === to.name;
  };
  let current = a;
  const flip = async () => {
    current = current === a ? b : a;
    const t = performance.now();
    slice(current);
    while (!(await routesTo(current))) if (performance.now() - t > 60_000) throw new Error(`NGINX did not route to ${current.name} within 60 s`);
    return performance.now() - t;
  };
  const samples = Number(values.samples);
  const flips = async () => {
    const out: number[] = [];
    for (let i = 0; i < samples; i++) {
      out.push(await flip());
      await new Promise((r) => setTimeout(r, 50));
    }
    return out.sort((x, y) => x - y);
  };
  try {
    await waitUntil('NGINX routing web.example.com', () => routesTo(a), 600_000);
    const atSmall = await flips();
    const t = performance.now();
    servicesAndSlices(api, S, E, false);
    // Converged: the agent holds every Service's endpoints, applied.
    await waitUntil(`the agent holding ${E} endpoints`, async () => {
      const r = await send(`${agent.url}/v1/state`, 'GET', { authorization: `Bearer ${process.env.BENCH_TOKEN}` });
      const sets = (JSON.parse(r.body) as { endpoints: { endpoints: number | null; revision: number; appliedRevision: number }[] }).endpoints;
      return sets.reduce((n, e) => n + (e.appliedRevision === e.revision ? (e.endpoints ?? 0) : 0), 0) >= E + 1;
    }, 600_000, 200);
    const convergedMs = performance.now() - t;
    const atLarge = await flips();
    say(`endpoint change: p50 ${percentile(atSmall, 50).toFixed(1)} ms at 1,000 endpoints, ${percentile(atLarge, 50).toFixed(1)} ms at ${E} (${S} Services; converged in ${Math.round(convergedMs)} ms)`);
    return {
      endpoint_services: S,
      endpoint_change_ms_p50_1000: round(percentile(atSmall, 50)),
      endpoint_change_ms_p99_1000: round(percentile(atSmall, 99)),
      endpoint_change_ms_p50_at_scale: round(percentile(atLarge, 50)),
      endpoint_change_ms_p99_at_scale: round(percentile(atLarge, 99)),
      endpoint_change_p50_at_scale_over_1000: round(percentile(atLarge, 50) / percentile(atSmall, 50)),
      endpoints_loaded_ms: Math.round(convergedMs),
      endpoint_handler_rss_mb: memoryOf(handler.process.pid!).rssMb,
      endpoint_agent_rss_mb: memoryOf(agent.process.pid!).rssMb,
    };
  } finally {
    await handler.stop();
    await agent.stop();
    await api.close();
  }
}

async function main(): Promise<void> {
  const record = runRecord();
  const token = randomBytes(24).toString('hex');
  process.env.BENCH_TOKEN = token;
  const tf = tokenFile(token);
  const [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
  try {
    const scale = await atScale(tf.path, tf.dir, a);
    const eps = await endpoints(tf.path, tf.dir, a, b);
    console.log(JSON.stringify({ benchmark: 'scale', ...scale, ...eps, ...record.end() }));
  } finally {
    await Promise.all([a.close(), b.close()]);
    tf.remove();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
