// The cost of the request metrics on the request path: two agents, each with its own NGINX (one
// worker each), the same rendered Ingress and the same backend; one counts request metrics in the
// log phase, the other has no log phase at all. A load generator (bench/http-load.ts, a process of
// its own) drives each in turn, alternating which goes first; each round compares the two runs it
// made back to back, and metrics_overhead_pct is the median over the rounds of
// (without - with) / without × 100 in requests per second (metrics_cpu_overhead_pct: the same with
// NGINX's worker CPU time per request, which the load of other processes disturbs less).
// The backend is a `return 200` server inside each NGINX, so that NGINX, not a backend, is what the
// load measures.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
  rps: number[];
  /** NGINX worker CPU time per request (µs), per round. */
  cpuUs: number[];
}

/** CPU time (user + system, in seconds) of the master's worker processes so far. */
function workersCpuSeconds(master: number): number {
  const children = readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  let ticks = 0;
  for (const pid of children) {
    try {
      // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // exited meanwhile
    }
  }
  return ticks / 100;
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
  const backend = `server {\n    listen 127.0.0.1:${backendPort};\n    access_log off;\n    location / {\n        return 200 "ok\\n";\n    }\n}\n`;
  const batch = {
    fragments: [...fragments.map((f) => ({ ...f, revision: 1 })), { name: 'bench-backend', revision: 1, config: backend, files: {} }],
    endpoints: [{ upstream: 'default-app-80', revision: 1, endpoints: [`127.0.0.1:${backendPort}`] }],
  };
  const res = await fetch(`${agent.apiUrl}/v1/batch?wait=1`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(batch) });
  if (res.status !== 200) throw new Error(`metrics bench (${name}): batch answered ${res.status}: ${await res.text()}`);
  return { name, agent, prefix, httpPort, rps: [], cpuUs: [] };
}

/** One round of load; records its requests per second and the workers' CPU time per request. */
async function load(v: Variant, connections: number, seconds: number): Promise<void> {
  const cpu0 = workersCpuSeconds(v.agent.nginxPid!);
  const { stdout } = await run(process.execPath, [loadScript, String(v.httpPort), 'app.bench.test', '/', String(connections), String(seconds)]);
  const cpu = workersCpuSeconds(v.agent.nginxPid!) - cpu0;
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as { rps: number; errors: number; requests: number; seconds: number };
  if (r.requests === 0) throw new Error(`metrics bench (${v.name}): no request completed`);
  v.rps.push(r.rps);
  // The warm-up's requests count too (the CPU time covers them): about rps × 0.3 s more.
  v.cpuUs.push((cpu * 1e6) / (r.requests * ((r.seconds + 0.3) / r.seconds)));
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Runs the comparison; `rounds` loads of `seconds` per variant, alternating. */
export async function measureMetricsOverhead(o: { rounds: number; seconds: number; connections: number; say: (m: string) => void }): Promise<Record<string, number>> {
  const variants = [await startVariant('with'), await startVariant('without')];
  try {
    // Both serve the same answer, and the one with metrics counts it.
    for (const v of variants) {
      await load(v, 2, 0.3);
      v.rps.length = 0;
      v.cpuUs.length = 0;
    }
    for (let round = 0; round < o.rounds; round++) {
      const order = round % 2 === 0 ? variants : [...variants].reverse();
      for (const v of order) await load(v, o.connections, o.seconds);
    }
    const [withMetrics, without] = variants.map((v) => median(v.rps)) as [number, number];
    const [cpuWith, cpuWithout] = variants.map((v) => median(v.cpuUs)) as [number, number];
    // The machine's load drifts between rounds: each round's two runs, back to back, are compared
    // with each other, and the median of those comparisons is the figure.
    const [w, wo] = variants as [Variant, Variant];
    const pct = median(w.rps.map((r, i) => ((wo.rps[i]! - r) / wo.rps[i]!) * 100));
    const cpuPct = median(w.cpuUs.map((c, i) => ((c - wo.cpuUs[i]!) / wo.cpuUs[i]!) * 100));
    const metrics = await variants[0]!.agent.metrics();
    if (!/nginx_ingress_controller_requests\{/.test(metrics.text)) throw new Error('metrics bench: the agent with metrics exported no nginx_ingress_controller_requests');
    o.say(`request metrics: ${withMetrics.toFixed(0)} req/s with, ${without.toFixed(0)} req/s without (medians of ${o.rounds} alternating ${o.seconds} s rounds); overhead, the median of the rounds' ${pct.toFixed(1)} %; NGINX worker CPU ${cpuWith.toFixed(1)} µs vs ${cpuWithout.toFixed(1)} µs a request (${cpuPct.toFixed(1)} %)`);
    return {
      metrics_overhead_pct: Math.round(pct * 10) / 10,
      metrics_cpu_us_per_request_with: Math.round(cpuWith * 10) / 10,
      metrics_cpu_us_per_request_without: Math.round(cpuWithout * 10) / 10,
      metrics_cpu_overhead_pct: Math.round(cpuPct * 10) / 10,
      metrics_rps_with: Math.round(withMetrics),
      metrics_rps_without: Math.round(without),
      metrics_rounds: o.rounds,
      metrics_round_s: o.seconds,
      metrics_connections: o.connections,
    };
  } finally {
    for (const v of variants) {
      await v.agent.stop().catch(() => undefined);
      rmSync(v.prefix, { recursive: true, force: true });
    }
  }
}
