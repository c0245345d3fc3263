// The cost of the request metrics on the request path: two agents, each with its own NGINX (one
// worker each), the same rendered Ingress and the same backend; one counts request metrics in the
// log phase, the other has no log phase at all. A load generator (bench/http-load.ts, a process of
// its own) drives them; each round is a run of turns of each alone (500 ms each, AB BA AB ...) and a
// turn of both at once, and each figure is a median:
//  - metrics_overhead_pct: (without - with) / without × 100 in requests per second, over every
//    pair of turns alone of every round (a pair's two turns see nearly the same machine);
//  - metrics_overhead_cpu_pct: (with - without) / without × 100 in NGINX worker CPU time per
//    request (metrics_cpu_us_per_request against baseline_cpu_us_per_request), over the rounds: the
//    workers' CPU time (utime + stime) before and after the turn both share, divided by the
//    requests each answered in it. What a request costs NGINX changes with the request rate (how
//    many requests a wake-up finds) and with what else runs, which on a busy machine swings from
//    one second to the next; in the shared turn both NGINX see the same machine at the same
//    moments at about the same rate: this is the figure to trust on a busy machine.
//    metrics_overhead_cpu_pct_alone is the same comparison over the turns alone.
// The backend is a `return 200` server inside each NGINX, so that NGINX, not a backend, is what the
// load measures; an empty log phase of its own keeps wharf's log phase to the proxied request, as
// with a backend outside NGINX (both NGINX enter Lua for it: the comparison charges the metrics
// with nothing of the backend's).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { Agent } from '../src/agent/agent.ts';
import { createLogger } from '../src/log.ts';
import { freePort } from '../tests/support/backend.ts';
import { ingressObject, renderObjects, serviceObject } from '../tests/render/helpers.ts';

const run = promisify(execFile);
const loadScript = fileURLToPath(new URL('./http-load.ts', import.meta.url));

interface Variant {
  name: 'with' | 'without';
  agent: Agent;
  prefix: string;
  httpPort: number;
  /** Requests per second of its turns alone, per round. */
  rps: number[];
  /** Requests per second of each of its turns alone (SLICE_MS each), paired with the other's. */
  sliceRps: number[];
  /** NGINX worker CPU time per request (µs) in its turns alone, per round. */
  turnCpuUs: number[];
  /** NGINX worker CPU time per request (µs) in the turns both variants share, per round. */
  cpuUs: number[];
}

/** CPU time (user + system, in seconds) a process has used: /proc/PID/schedstat's first field is
 * the same time as /proc/PID/stat's utime + stime, in nanoseconds rather than 10 ms ticks (a 3 s
 * turn uses about 1.5 s of CPU: ticks alone would make each turn's figure ±0.7 %). */
function cpuSeconds(pid: string): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e9;
  } catch {
    try {
      // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(f[11]) + Number(f[12])) / 100;
    } catch {
      return 0; // exited meanwhile
    }
  }
}

/** CPU time (user + system, in seconds) of the master's worker processes so far. */
function workersCpuSeconds(master: number): number {
  const children = readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  return children.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

async function startVariant(name: Variant['name']): Promise<Variant> {
  const prefix = mkdtempSync(join(tmpdir(), `wharf-bench-metrics-${name}-`));
  const [httpPort, backendPort] = [await freePort(), await freePort()];
  const token = randomBytes(16).toString('hex');
  const agent = new Agent({
    prefix,
    token,
    listen: { host: '127.0.0.1', port: 0 },
    httpListen: [`127.0.0.1:${httpPort}`],
    httpsListen: [],
    ipv6Listen: 'off',
    workerProcesses: 1,
    workerShutdownTimeoutSeconds: 2,
    requestMetrics: name === 'with',
    resolvers: [],
    logger: createLogger({ component: 'agent' }, () => undefined),
  });
  await agent.start();
  const { fragments } = renderObjects([
    ingressObject({ name: 'app', rules: [{ host: 'app.bench.test', paths: [{ pathType: 'Prefix', path: '/', service: 'app' }] }] }),
    serviceObject('app'),
  ]);
  // The backend stands for a pod outside NGINX, which would run no log phase of wharf's: its
  // server has an empty one of its own in both NGINX (the one with metrics would otherwise run the
  // http-level one for it), so that the two differ by what the metrics cost the proxied request.
  const backend = `server {\n    listen 127.0.0.1:${backendPort};\n    access_log off;\n    log_by_lua_block { }\n    location / {\n        return 200 "ok\\n";\n    }\n}\n`;
  const batch = {
    fragments: [...fragments.map((f) => ({ ...f, revision: 1 })), { name: 'bench-backend', revision: 1, config: backend, files: {} }],
    endpoints: [{ upstream: 'default-app-80', revision: 1, endpoints: [`127.0.0.1:${backendPort}`] }],
  };
  const res = await fetch(`${agent.apiUrl}/v1/batch?wait=1`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(batch) });
  if (res.status !== 200) throw new Error(`metrics bench (${name}): batch answered ${res.status}: ${await res.text()}`);
  return { name, agent, prefix, httpPort, rps: [], sliceRps: [], turnCpuUs: [], cpuUs: [] };
}

interface LoadAnswer { rps: number; errors: number; requests: number; seconds: number; warmup_requests: number }

function checked(v: Variant, r: LoadAnswer): LoadAnswer {
  if (r.requests === 0) throw new Error(`metrics bench (${v.name}): no request completed`);
  if (r.errors > r.requests / 1000) throw new Error(`metrics bench (${v.name}): ${r.errors} errors in ${r.requests} requests`);
  return r;
}

/** CPU time per request (µs) of a variant's workers over a load (the warm-up's requests included). */
const perRequestUs = (cpuSeconds: number, r: LoadAnswer) => (cpuSeconds * 1e6) / (r.requests + r.errors + r.warmup_requests);

/** Pins the variant's workers to CPUs ("1", or "0-1" for all of them). For the turns alone both
 * variants' workers are on the same one, so that a turn of one is not on a CPU other processes
 * happen to crowd while the other's was not; the turns both share leave them free (two workers on
 * one CPU would take turns on it and evict each other's caches, which no NGINX does in use). */
async function pin(v: Variant, cpu: string): Promise<void> {
  const master = v.agent.nginxPid!;
  const workers = readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  for (const pid of workers) await run('taskset', ['-a', '-p', '-c', String(cpu), pid]).catch(() => undefined);
}

/** Warm-up: one short turn of light load on one variant. */
async function warmUp(v: Variant): Promise<void> {
  await run(process.execPath, [loadScript, String(v.httpPort), 'app.bench.test', '/', '2', '0.3']);
}

/** The variants alone in turns of SLICE_MS (AB BA AB ...) for `seconds` in all: records each pair's
 * requests per second and each variant's CPU time per request over its turns. */
async function loadAlternating(vs: Variant[], connections: number, seconds: number): Promise<void> {
  const cpu0 = vs.map((v) => workersCpuSeconds(v.agent.nginxPid!));
  const { stdout } = await run(process.execPath, [loadScript, vs.map((v) => v.httpPort).join(','), 'app.bench.test', '/', String(connections), String(seconds), String(SLICE_MS)]);
  const cpu = vs.map((v, i) => workersCpuSeconds(v.agent.nginxPid!) - cpu0[i]!);
  const { targets, slices } = JSON.parse(stdout.trim().split('\n').pop()!) as { targets: LoadAnswer[]; slices: number[][] };
  vs.forEach((v, i) => {
    const r = checked(v, targets[i]!);
    v.turnCpuUs.push(perRequestUs(cpu[i]!, r));
    v.rps.push(r.rps);
    for (const pair of slices) v.sliceRps.push(pair[i]!);
  });
}

/** One turn of load on both variants at once (half the connections each, one generator): both
 * NGINX see the same machine at the same moments and about the same request rate, so their CPU
 * time per request differs by what the metrics cost and little else. */
async function loadBoth(vs: Variant[], connections: number, seconds: number): Promise<void> {
  const cpu0 = vs.map((v) => workersCpuSeconds(v.agent.nginxPid!));
  const { stdout } = await run(process.execPath, [loadScript, vs.map((v) => v.httpPort).join(','), 'app.bench.test', '/', String(Math.max(1, connections / 2)), String(seconds)]);
  const cpu = vs.map((v, i) => workersCpuSeconds(v.agent.nginxPid!) - cpu0[i]!);
  const { targets } = JSON.parse(stdout.trim().split('\n').pop()!) as { targets: LoadAnswer[] };
  vs.forEach((v, i) => v.cpuUs.push(perRequestUs(cpu[i]!, checked(v, targets[i]!))));
}

/** How long each variant's turn alone lasts: the two turns of a pair see nearly the same machine. */
const SLICE_MS = 500;

const round1 = (x: number) => Math.round(x * 10) / 10;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Runs the comparison: `rounds` rounds, each a turn of `seconds` per variant alone (alternating
 * which goes first) and one with both at once. */
export async function measureMetricsOverhead(o: { rounds: number; seconds: number; connections: number; say: (m: string) => void }): Promise<Record<string, number | number[]>> {
  const loadBefore = loadavg().map(round1);
  const variants = [await startVariant('with'), await startVariant('without')];
  try {
    // Both serve the same answer, and the one with metrics counts it.
    const one = String(cpus().length - 1);
    const all = `0-${cpus().length - 1}`;
    for (const v of variants) await warmUp(v);
    for (let round = 0; round < o.rounds; round++) {
      const order = round % 2 === 0 ? variants : [...variants].reverse();
      for (const v of variants) await pin(v, one);
      await loadAlternating(order, o.connections, 2 * o.seconds);
      for (const v of variants) await pin(v, all);
      await loadBoth(order, o.connections, o.seconds);
    }
    const [withMetrics, without] = variants.map((v) => median(v.rps)) as [number, number];
    const [cpuWith, cpuWithout] = variants.map((v) => median(v.cpuUs)) as [number, number];
    // The machine's load drifts between rounds: each round's two turns, back to back, are compared
    // with each other, and the median of those comparisons is the figure.
    const [w, wo] = variants as [Variant, Variant];
    const pct = median(w.sliceRps.map((r, i) => ((wo.sliceRps[i]! - r) / wo.sliceRps[i]!) * 100));
    const cpuPct = median(w.cpuUs.map((c, i) => ((c - wo.cpuUs[i]!) / wo.cpuUs[i]!) * 100));
    const turnCpuPct = median(w.turnCpuUs.map((c, i) => ((c - wo.turnCpuUs[i]!) / wo.turnCpuUs[i]!) * 100));
    const metrics = await variants[0]!.agent.metrics();
    if (!/nginx_ingress_controller_requests\{/.test(metrics.text)) throw new Error('metrics bench: the agent with metrics exported no nginx_ingress_controller_requests');
    const loads = [loadBefore, loadavg().map(round1)];
    o.say(`request metrics: ${withMetrics.toFixed(0)} req/s with, ${without.toFixed(0)} req/s without (${o.rounds} rounds of ${w.sliceRps.length / o.rounds} pairs of ${SLICE_MS} ms turns alone); overhead, the median of the pairs' ${pct.toFixed(1)} %; NGINX worker CPU ${cpuWith.toFixed(2)} µs vs ${cpuWithout.toFixed(2)} µs a request (${cpuPct.toFixed(1)} %; ${turnCpuPct.toFixed(1)} % in the turns alone); load average ${loads[0]!.join(' ')} before, ${loads[1]!.join(' ')} after`);
    return {
      metrics_overhead_pct: round1(pct),
      metrics_overhead_cpu_pct: round1(cpuPct),
      metrics_cpu_us_per_request: Math.round(cpuWith * 100) / 100,
      baseline_cpu_us_per_request: Math.round(cpuWithout * 100) / 100,
      metrics_rps_with: Math.round(withMetrics),
      metrics_rps_without: Math.round(without),
      metrics_overhead_pct_rounds: w.rps.map((r, i) => round1(((wo.rps[i]! - r) / wo.rps[i]!) * 100)),
      metrics_turns: w.sliceRps.length,
      metrics_turn_ms: SLICE_MS,
      metrics_overhead_cpu_pct_rounds: w.cpuUs.map((c, i) => round1(((c - wo.cpuUs[i]!) / wo.cpuUs[i]!) * 100)),
      metrics_overhead_cpu_pct_alone: round1(turnCpuPct),
      metrics_rounds: o.rounds,
      metrics_round_s: o.seconds,
      metrics_connections: o.connections,
      metrics_loadavg_before: loads[0]!,
      metrics_loadavg_after: loads[1]!,
    };
  } finally {
    for (const v of variants) {
      await v.agent.stop().catch(() => undefined);
      rmSync(v.prefix, { recursive: true, force: true });
    }
  }
}
