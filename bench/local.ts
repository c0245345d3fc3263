// npm run bench:local — `wharf local` on a big folder: 2,000 apps, each a file with a Service, an
// EndpointSlice and an Ingress of its own host (6,000 objects), one echo backend behind them all.
// `wharf local` runs as a child process, as a user runs it.
//   - first_served_ms / all_served_ms: from the spawn until NGINX serves the first host / every host.
//   - edit_to_served_ms_p50 (and p95): an Ingress file rewritten with a new path, until NGINX serves
//     the new path (polled back to back), BENCH_EDITS times, one after the other.
//   - edit_reload_ms_p50: of that, the NGINX reload as the agent reports it (its `applied ... in N ms`
//     lines: the signal, until every new connection gets the new version).
//   - edit_master_cpu_ms_p50: the CPU time NGINX's master spent on each edit (reading the whole
//     configuration again and starting the new workers): what a reload costs whatever the load.
//   - endpoint_edit_to_served_ms_p50 (and p95): an EndpointSlice rewritten to point at another
//     backend, until NGINX routes to it: the same path without a reload (the Lua endpoint store).
//   - rss_mb: the wharf local process's resident memory once everything is served and edited
//     (rss_peak_mb: its high-water mark); NGINX's own processes are not counted.
//   - cpu_ms_to_all_served: CPU time of the wharf local process until then (NGINX's not counted);
//     start_review_ms, start_reloads_ms: of the wall time, the start-up's admission reviews and
//     NGINX reloads (the agent's `applied ... in N ms` lines, which run one after the other).
//   - Floors measured in the same run: parse_ms, reading and parsing the folder alone (in this
//     process, with wharf's own reader); nginx_t_ms, `nginx -t` of the configuration wharf rendered
//     (what NGINX needs at least to load it; each edit of an Ingress is a reload, so it is the edit's
//     floor too; the least of three runs). all_served_floor_ms = node start-up (node_start_ms) + parse_ms + nginx_t_ms, and
//     the ratios to them. lua_module_share: the part of nginx_t_ms that is the Lua module's SSL context
//     per location configuration (the same servers and location blocks read with and without the
//     module, alternating: lua-location-tax.ts); nginx_t_without_lua_module_ms, nginx_t_ms without it:
//     the edit's floor with a Lua module that does not create them (upstream's 0.10.26 and later).
// Prints one JSON object as the last line. Environment: BENCH_APPS (2000), BENCH_EDITS (20),
// BENCH_LOCAL_NODE_ARGS (node flags for wharf local, e.g. `--cpu-prof --cpu-prof-dir=DIR`).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readManifests } from '../src/cluster/manifests.ts';
import { startBackend, freePort } from '../tests/support/backend.ts';
import { request } from '../tests/support/http.ts';
import { percentile } from './handler-process.ts';
import { runRecord } from './machine.ts';
import { configShape, luaLocationTax } from './lua-location-tax.ts';

const apps = Number(process.env.BENCH_APPS ?? 2000);
const edits = Number(process.env.BENCH_EDITS ?? 20);
const root = new URL('../', import.meta.url).pathname;

const appFile = (i: number, port: number, path = '/') => `apiVersion: v1
kind: Service
metadata: { name: app-${i}, namespace: bench }
spec: { ports: [{ name: http, port: 80 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: app-${i}-0, namespace: bench, labels: { kubernetes.io/service-name: app-${i} } }
addressType: IPv4
ports: [{ name: http, port: ${port} }]
endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true } }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: app-${i}, namespace: bench }
spec:
  rules:
    - host: app-${i}.bench.test
      http:
        paths: [{ path: ${path}, pathType: Prefix, backend: { service: { name: app-${i}, port: { name: http } } } }]
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// CPU time (user + system) the process used so far: less sensitive to a shared machine than wall time.
const cpuMs = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
};
const memory = (pid: number, field: 'VmRSS' | 'VmHWM') => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

async function main(): Promise<void> {
  const record = runRecord();
  const backend = await startBackend('app');
  const other = await startBackend('other');
  const dir = mkdtempSync(join(tmpdir(), 'wharf-bench-local-'));
  const workDir = mkdtempSync(join(tmpdir(), 'wharf-bench-local-work-'));
  for (let i = 0; i < apps; i++) writeFileSync(join(dir, `app-${i}.yaml`), appFile(i, backend.port));
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  const served = async (host: string, path = '/') => {
    try {
      return (await request({ port: httpPort, host, path, timeoutMs: 2000 })).status === 200;
    } catch {
      return false;
    }
  };

  const answeredBy = async (host: string) => {
    try {
      const r = await request({ port: httpPort, host, path: '/', timeoutMs: 2000 });
      return r.status === 200 ? (JSON.parse(r.body) as { backend: string }).backend : null;
    } catch {
      return null;
    }
  };

  // Node's own start-up, for the floor: the same binary running nothing.
  let t = performance.now();
  spawnSync(process.execPath, ['-e', '0']);
  const nodeStartMs = performance.now() - t;

  const started = performance.now();
  const nodeArgs = (process.env.BENCH_LOCAL_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, 'src/cli.ts', 'local', '--manifests', dir, '--work-dir', workDir, '--http-port', String(httpPort), '--https-port', String(httpsPort), '--handler-port', '0', '--agent-port', '0', '--no-backends'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const deadline = started + 300_000;
    const alive = () => {
      if (child.exitCode !== null) throw new Error(`wharf local exited:\n${output.slice(-3000)}`);
      if (performance.now() > deadline) throw new Error(`not served after 300 s:\n${output.slice(-3000)}`);
    };
    // First served: any of a spread of hosts. All served: every host, checked in a sweep that
    // restarts from the first host not yet served.
    const sample = [...new Set([0, apps - 1, ...Array.from({ length: 8 }, (_, k) => Math.floor((k * apps) / 8))])];
    let firstServedMs = 0;
    while (!firstServedMs) {
      alive();
      for (const i of sample) if (await served(`app-${i}.bench.test`)) firstServedMs = performance.now() - started;
      if (!firstServedMs) await sleep(10);
    }
    let next = 0;
    let lastNewlyServedMs = firstServedMs;
    while (next < apps) {
      alive();
      if (await served(`app-${next}.bench.test`)) {
        lastNewlyServedMs = performance.now() - started;
        next++;
        // Hosts are served in reloads, many at once: check the rest quickly without counting time.
        while (next < apps && (await served(`app-${next}.bench.test`))) next++;
      } else await sleep(10);
    }
    const allServedMs = lastNewlyServedMs;
    const cpuAtAllServedMs = cpuMs(child.pid!);
    // What wharf local said about its start: the reviews' time and the reloads' (serialized).
    const startReviewMs = Number(/admitted .*\((\d+) ms\)/.exec(output)?.[1] ?? NaN);
    const startReloadsMs = [...output.matchAll(/applied +config version \d+ in (\d+) ms/g)].reduce((a, m) => a + Number(m[1]), 0);

    // Edits, one at a time, each until NGINX serves the new path.
    await sleep(1000);
    const editMs: number[] = [];
    const reloadMs: number[] = [];
    const masterCpuMs: number[] = [];
    const masterPid = Number(readFileSync(join(workDir, 'nginx', 'run', 'nginx.pid'), 'utf8'));
    for (let k = 0; k < edits; k++) {
      const said = output.length;
      const masterCpuBefore = cpuMs(masterPid);
      const i = Math.floor(((k + 0.5) * apps) / edits);
      const path = `/edit-${k}`;
      const at = performance.now();
      writeFileSync(join(dir, `app-${i}.yaml`), appFile(i, backend.port, path));
      while (!(await served(`app-${i}.bench.test`, `${path}/x`)) || (await served(`app-${i}.bench.test`, '/'))) {
        alive();
        await sleep(2);
      }
      editMs.push(performance.now() - at);
      // The agent's own account of the reload that applied it (the reload, the confirmation): its
      // line comes once the old workers stopped accepting, after the new path is already served.
      for (const until = performance.now() + 3000; !/applied +config version/.test(output.slice(said)) && performance.now() < until; ) await sleep(5);
      const reloads = [...output.slice(said).matchAll(/applied +config version \d+ in (\d+) ms/g)].map((m) => Number(m[1]));
      if (reloads.length) reloadMs.push(reloads.reduce((a, b) => a + b, 0));
      masterCpuMs.push(cpuMs(masterPid) - masterCpuBefore);
      await sleep(200);
    }
    // Endpoint edits: an EndpointSlice pointed at another backend (no reload: the Lua store).
    const endpointMs: number[] = [];
    for (let k = 0; k < edits; k++) {
      const i = Math.floor(((k + 0.25) * apps) / edits);
      const at = performance.now();
      writeFileSync(join(dir, `app-${i}.yaml`), appFile(i, other.port));
      while ((await answeredBy(`app-${i}.bench.test`)) !== 'other') {
        alive();
        await sleep(2);
      }
      endpointMs.push(performance.now() - at);
      await sleep(200);
    }
    const rssMb = memory(child.pid!, 'VmRSS');
    const rssPeakMb = memory(child.pid!, 'VmHWM');

    // Floors.
    t = performance.now();
    const read = await readManifests(dir);
    const parseMs = performance.now() - t;
    if (read.objects.length !== apps * 3) throw new Error(`the reader found ${read.objects.length} objects`);
    // nginx -t of what the agent wrote, three times.
    const nginxPrefix = join(workDir, 'nginx');
    const nginxT = (prefix: string) => {
      const at = performance.now();
      const test = spawnSync('nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-t', '-q', '-e', 'stderr'], { encoding: 'utf8' });
      if (test.status !== 0) throw new Error(`nginx -t failed: ${test.stderr}`);
      return performance.now() - at;
    };
    const written: number[] = [];
    for (let k = 0; k < 3; k++) written.push(nginxT(nginxPrefix));
    const nginxTMs = Math.min(...written);
    // Of that, what the Lua module costs for the same servers and location blocks (lua-location-tax.ts).
    const shape = configShape(nginxPrefix);
    const tax = luaLocationTax(shape);
    const floor = nodeStartMs + parseMs + nginxTMs;
    editMs.sort((a, b) => a - b);
    reloadMs.sort((a, b) => a - b);
    endpointMs.sort((a, b) => a - b);
    const p50 = percentile(editMs, 50);
    const round = (n: number) => Math.round(n * 10) / 10;
    const round2 = (n: number) => Math.round(n * 100) / 100;
    console.log(
      JSON.stringify({
        objects: apps * 3,
        apps,
        first_served_ms: round(firstServedMs),
        all_served_ms: round(allServedMs),
        edit_to_served_ms_p50: round(p50),
        edit_to_served_ms_p95: round(percentile(editMs, 95)),
        cpu_ms_to_all_served: round(cpuAtAllServedMs),
        start_review_ms: startReviewMs,
        start_reloads_ms: startReloadsMs,
        edit_reload_ms_p50: round(percentile(reloadMs, 50)),
        edit_master_cpu_ms_p50: round(percentile(masterCpuMs.sort((a, b) => a - b), 50)),
        endpoint_edit_to_served_ms_p50: round(percentile(endpointMs, 50)),
        endpoint_edit_to_served_ms_p95: round(percentile(endpointMs, 95)),
        rss_mb: round(rssMb),
        rss_peak_mb: round(rssPeakMb),
        node_start_ms: round(nodeStartMs),
        parse_ms: round(parseMs),
        nginx_t_ms: round(nginxTMs),
        all_served_floor_ms: round(floor),
        all_served_ratio: round(allServedMs / floor),
        edit_ratio: round(p50 / nginxTMs),
        servers: shape.servers,
        location_blocks: shape.locations,
        lua_module_share: round2(1 - tax.without_lua_ms / tax.with_lua_ms),
        nginx_t_without_lua_module_ms: round((nginxTMs * tax.without_lua_ms) / tax.with_lua_ms),
        loadavg: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
        ...record.end(),
      }),
    );
  } finally {
    await stop();
    await backend.close();
    await other.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(workDir, { recursive: true, force: true });
  }
}

await main();
