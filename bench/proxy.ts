// Data-path benchmark: what every request pays for wharf's reload-free endpoints. One NGINX, run by
// `wharf agent`, serves two hosts that differ only in how the peer is chosen:
//   - lua.bench.test: the location exactly as wharf renders it for an Ingress (the renderer's own
//     output), routed by the Lua balancer from the endpoints in the shared dict;
//   - static.bench.test: the same location with `proxy_pass` to a static `upstream` block listing the
//     same endpoints, with the same keepalive, and no `$wharf_upstream` (the Lua access phase returns
//     at once);
// both to a trivial backend that the same NGINX serves (`return 200`), so the backend is never the
// bottleneck. The same closed-loop generator (bench/load.ts) alternates between them, static, lua,
// static, lua …, so a burst of outside load hits both; with 1 endpoint and with 1,000 (distinct
// loopback addresses of the backend's port). Prints one JSON object as the last line:
//   data_path_rps_over_static, data_path_p99_over_static (1 endpoint; targets ≥ 0.95 and ≤ 1.1) and
//   the same with _1000 (1,000 endpoints), with each side's figures and the run's record.
// `--quick` runs in about 30 s.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../tests/support/backend.ts';
import { addText, type Inputs } from '../src/check/documents.ts';
import { checkInputs } from '../src/check/check.ts';
import { hostFragment, renderReport } from '../src/check/render.ts';
import { defaultControllerSettings } from '../src/model/index.ts';
import { MAIN_FRAGMENT } from '../src/render/index.ts';
import { closedLoop, type LoadResult } from './load.ts';
import { cpuSecondsOf } from './handler-process.ts';
import { childPids, runRecord } from './machine.ts';

const quick = process.argv.includes('--quick');
const cfg = quick ? { rounds: 3, roundMs: 1500, connections: 16 } : { rounds: 6, roundMs: 3000, connections: 32 };
const say = (msg: string) => process.stderr.write(`bench: ${msg}\n`);
const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

const LUA_HOST = 'lua.bench.test';
const STATIC_HOST = 'static.bench.test';
const UPSTREAM = 'bench-app-80';

/** wharf's own fragment for one Ingress host routed to bench/app:80, from the renderer, and the
 * `_main` fragment whose maps its locations read. */
function renderedFragment(): { name: string; config: string; main: { name: string; config: string } } {
  const inputs: Inputs = { files: [], objects: [], problems: [], skipped: [] };
  addText(inputs, `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: app, namespace: bench }
spec:
  ingressClassName: wharf
  rules:
    - host: ${LUA_HOST}
      http:
        paths:
          - { path: /, pathType: Prefix, backend: { service: { name: app, port: { number: 80 } } } }
---
apiVersion: v1
kind: Service
metadata: { name: app, namespace: bench }
spec: { ports: [{ port: 80 }] }
`, 'bench.yaml');
  const report = checkInputs(inputs, { controller: { ...defaultControllerSettings } });
  const rendered = renderReport(report);
  const fragment = hostFragment(rendered, LUA_HOST);
  const main = rendered.fragments.find((f) => f.name === MAIN_FRAGMENT);
  if (!main) throw new Error('the renderer gave no _main fragment');
  if (!fragment) throw new Error(`the renderer gave no fragment for ${LUA_HOST}: ${JSON.stringify(report.findings)}`);
  if (!fragment.config.includes(`set $wharf_upstream ${UPSTREAM};`) && !fragment.config.includes(`set $wharf_upstream "${UPSTREAM}";`)) {
    throw new Error(`the rendered fragment does not route to ${UPSTREAM}:\n${fragment.config}`);
  }
  return { name: fragment.name, config: fragment.config, main: { name: main.name, config: main.config } };
}

/** The same server with the peer chosen by a static upstream block instead of the Lua balancer. */
function staticFragment(rendered: string, endpoints: readonly string[]): string {
  const server = rendered
    .replace(new RegExp(`server_name ${LUA_HOST.replaceAll('.', '\\.')}`, 'g'), `server_name ${STATIC_HOST}`)
    .replace(/^\s*set \$wharf_upstream .*;\n/gm, '')
    .replaceAll('include proxy-pass-http.conf;', 'proxy_pass http://wharf_bench_static;');
  if (!server.includes('wharf_bench_static')) throw new Error(`no proxy_pass to replace in:\n${rendered}`);
  // The same keepalive as wharf's balancer upstream (templates/nginx.conf.liquid).
  return `upstream wharf_bench_static {\n${endpoints.map((e) => `    server ${e};\n`).join('')}    keepalive 64;\n    keepalive_timeout 60s;\n}\n${server}`;
}

/** The backend: the same NGINX answering 200 on every loopback address of `port`, nothing else. */
function backendFragment(port: number): string {
  return `server {
    listen ${port};
    access_log off;
    allow 127.0.0.0/8;
    deny all;
    location / { return 200 "ok\\n"; }
}
`;
}

/** `count` distinct endpoints of the backend: 127.0.x.y:port. */
function endpointsOf(port: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `127.0.${Math.floor(i / 250)}.${(i % 250) + 1}:${port}`);
}

interface Side { rps: number[]; p99: number[]; errors: number; kinds: Record<string, number> }

async function main(): Promise<void> {
  const record = runRecord();
  const dir = mkdtempSync(join(tmpdir(), 'wharf-bench-proxy-'));
  const token = randomBytes(24).toString('hex');
  writeFileSync(join(dir, 'token'), token);
  const [apiPort, httpPort, httpsPort, backendPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const child = spawn(process.execPath, [
    cli, 'agent', '--prefix', join(dir, 'nginx'), '--token-file', join(dir, 'token'), '--listen', `127.0.0.1:${apiPort}`,
    '--http-listen', `127.0.0.1:${httpPort}`, '--https-listen', `127.0.0.1:${httpsPort}`, '--worker-processes', '1',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let agentLog = '';
  child.stderr!.on('data', (d: Buffer) => { agentLog = (agentLog + d.toString()).slice(-50_000); });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`http://127.0.0.1:${apiPort}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return JSON.parse(text) as { fragments?: { status: string }[]; endpoints?: { status: string }[] };
  };
  let nginxMaster = 0;
  try {
    for (let i = 0; ; i++) {
      const ready = await fetch(`http://127.0.0.1:${apiPort}/healthz`).then((r) => r.ok, () => false);
      if (ready) break;
      if (i > 300) throw new Error(`the agent did not become ready:\n${agentLog.slice(-3000)}`);
      await sleep(50);
    }
    const lua = renderedFragment();
    let revision = 0;
    const load = async (count: number) => {
      const endpoints = endpointsOf(backendPort, count);
      revision++;
      const r = await api('POST', '/v1/batch?wait=1', {
        fragments: [
          { name: lua.main.name, revision, config: lua.main.config },
          { name: lua.name, revision, config: lua.config },
          { name: 'static.bench.test', revision, config: staticFragment(lua.config, endpoints) },
          { name: 'backend.bench.test', revision, config: backendFragment(backendPort) },
        ],
        endpoints: [{ upstream: UPSTREAM, revision, endpoints }],
      });
      if (![...(r.fragments ?? []), ...(r.endpoints ?? [])].every((x) => x.status === 'applied')) throw new Error(`batch: ${JSON.stringify(r)}`);
      await sleep(500); // the old workers retire
    };
    nginxMaster = Number(readFileSync(join(dir, 'nginx', 'run/nginx.pid'), 'utf8'));

    const run = async (count: number) => {
      await load(count);
      const sides: Record<'static' | 'lua', Side> = { static: { rps: [], p99: [], errors: 0, kinds: {} }, lua: { rps: [], p99: [], errors: 0, kinds: {} } };
      const target = (host: string) => ({ port: httpPort, hostHeader: host });
      // Warm both (connections, keepalive pools, the balancer's per-worker cache).
      for (const host of [STATIC_HOST, LUA_HOST]) {
        const w = await closedLoop(target(host), { connections: cfg.connections, durationMs: 300 });
        if (w.requests === 0) throw new Error(`${host}: no request answered 200 (${w.errors} errors)\n${agentLog.slice(-2000)}`);
      }
      for (let i = 0; i < cfg.rounds; i++) {
        for (const side of ['static', 'lua'] as const) {
          const r: LoadResult = await closedLoop(target(side === 'lua' ? LUA_HOST : STATIC_HOST), { connections: cfg.connections, durationMs: cfg.roundMs });
          sides[side].rps.push(r.rps);
          sides[side].p99.push(r.p99_ms);
          sides[side].errors += r.errors;
          for (const [k, n] of Object.entries(r.errorKinds)) sides[side].kinds[k] = (sides[side].kinds[k] ?? 0) + n;
        }
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const f = { static_rps: median(sides.static.rps), lua_rps: median(sides.lua.rps), static_p99: median(sides.static.p99), lua_p99: median(sides.lua.p99) };
      say(`${count} endpoint(s): static ${f.static_rps.toFixed(0)} req/s p99 ${f.static_p99.toFixed(2)} ms; lua ${f.lua_rps.toFixed(0)} req/s p99 ${f.lua_p99.toFixed(2)} ms (errors: static ${JSON.stringify(sides.static.kinds)}, lua ${JSON.stringify(sides.lua.kinds)})`);
      return { ...f, errors: sides.static.errors + sides.lua.errors, ratioRps: f.lua_rps / f.static_rps, ratioP99: f.lua_p99 / f.static_p99 };
    };

    const one = await run(1);
    const many = await run(1000);
    const nginxCpu = [nginxMaster, ...childPids(nginxMaster)].reduce((s, p) => s + cpuSecondsOf(p), 0);
    const result = {
      benchmark: 'proxy',
      quick,
      connections: cfg.connections,
      rounds: cfg.rounds,
      round_ms: cfg.roundMs,
      static_rps: round(one.static_rps, 0),
      lua_rps: round(one.lua_rps, 0),
      static_p99_ms: round(one.static_p99),
      lua_p99_ms: round(one.lua_p99),
      data_path_rps_over_static: round(one.ratioRps, 3),
      data_path_p99_over_static: round(one.ratioP99, 3),
      static_rps_1000: round(many.static_rps, 0),
      lua_rps_1000: round(many.lua_rps, 0),
      static_p99_ms_1000: round(many.static_p99),
      lua_p99_ms_1000: round(many.lua_p99),
      data_path_rps_over_static_1000: round(many.ratioRps, 3),
      data_path_p99_over_static_1000: round(many.ratioP99, 3),
      errors: one.errors + many.errors,
      ...record.end({ agent: cpuSecondsOf(child.pid!), nginx: nginxCpu }),
    };
    console.log(JSON.stringify(result));
  } catch (e) {
    say(`failed: ${(e as Error).message}\nlast agent log lines:\n${agentLog.split('\n').slice(-15).join('\n')}`);
    process.exitCode = 1;
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(15_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
