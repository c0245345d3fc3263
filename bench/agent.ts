// Agent benchmark: runs `wharf agent` as its own process with a real NGINX and measures
//  - endpoint updates, from the API call to the first request through NGINX served by the new
//    endpoint, while idle and while a reload that takes seconds (thousands of TLS servers) runs;
//  - a one-fragment change applied and confirmed by the agent vs. a plain SIGHUP plus polling the
//    version socket on the same configuration, and the same until the old workers stop accepting
//    (what "applied" waits for);
//  - the reloads needed for a burst of 1000 fragment changes sent as individual API calls;
//  - certificates by SNI (docs/certificates.md): a renewed certificate (new serial) until a new
//    handshake gets it, while such a reload runs; the reloads of 1000 renewals in a burst; and TLS
//    handshakes per second through the Lua store (1000 certificates loaded, names in rotation)
//    against a server with a static ssl_certificate of the same key, in the same run;
//  - the agent's memory: idle once ready, right after all of the above (its resident set and peak),
//    and once it has been quiet for a few seconds. The agent runs as `wharf agent` runs anywhere
//    (`node src/cli.ts agent`, which restarts itself in the same process with its V8 flags, malloc
//    settings and compile cache: see src/agent/relaunch.ts);
//  - the same for a TCP service (tcp-services): from the endpoint update to the first new TCP
//    connection through NGINX answered by the new endpoint (njs reads the agent's endpoint file),
//    idle and while such a reload runs, and the reloads those updates caused (0 with njs);
//  - the same for a TLS passthrough host (the agent runs with --enable-ssl-passthrough): from the
//    endpoint update to the first new TLS connection by its name served the new backend's
//    certificate, idle and during such a reload, and the reloads caused (0 with njs). The HTTPS
//    figures below (renewals, handshakes) therefore cross the SNI router, the static floor too;
//  - the cost of the request metrics on the request path (bench/metrics-overhead.ts:
//    metrics_overhead_pct); `--metrics-only` measures only that.
// Prints one JSON object as the last line. `--quick` runs in under a minute. Figures depend on the
// machine and on what else runs on it (here: 2 shared cores).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startHttpsBackend } from '../tests/support/backend.ts';
import { passthroughFragment } from '../tests/agent/passthrough-harness.ts';
import { proxyFragment, selfSignedCert, tlsFragment } from '../tests/agent/harness.ts';
import { bare, makeCertificate, servedSerial } from '../tests/support/certificates.ts';
import { connect } from 'node:tls';
import { acceptingWorkerIds, stillAccepting } from '../src/agent/nginx-workers.ts';
import { measureMetricsOverhead } from './metrics-overhead.ts';
import { startTcpEcho, tcpExchange } from '../tests/support/stream-backends.ts';
import { runRecord } from './machine.ts';

const quick = process.argv.includes('--quick');
const cfg = quick
  ? { hosts: 300, idleSamples: 60, applySamples: 12, tlsServers: 2200, duringRounds: 2, burst: 1000, settleMs: 10_000, certificates: 1000, handshakeMs: 2000, handshakeRounds: 4 }
  : { hosts: 1000, idleSamples: 300, applySamples: 40, tlsServers: 2500, duringRounds: 5, burst: 1000, settleMs: 15_000, certificates: 1000, handshakeMs: 3000, handshakeRounds: 6 };

/** Full TLS handshakes per second to 127.0.0.1:port, `concurrency` at a time, SNI from `names` in rotation. */
async function handshakeRate(port: number, names: string[], ms: number, concurrency = 8): Promise<number> {
  let done = 0;
  let failed = 0;
  let i = 0;
  const end = performance.now() + ms;
  const one = () =>
    new Promise<void>((resolve) => {
      const s = connect({ host: '127.0.0.1', port, servername: names[i++ % names.length]!, rejectUnauthorized: false });
      s.once('secureConnect', () => {
        done++;
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        failed++;
        s.destroy();
        resolve();
      });
    });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) await one();
  }));
  if (failed > 0) throw new Error(`${failed} handshakes failed (${names[0]})`);
  return done / ((performance.now() - t0) / 1000);
}

const say = (msg: string) => process.stderr.write(`bench: ${msg}\n`);
const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

// A backend that answers its bare name, so the timed loop compares strings and keeps nothing per
// request (tests/support's startBackend answers JSON and records every request).
async function backend(name: string): Promise<{ name: string; address: string; close: () => Promise<void> }> {
  const s = http.createServer((req, res) => {
    req.resume();
    res.setHeader('content-type', 'text/plain');
    res.end(name);
  });
  s.keepAliveTimeout = 5000;
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    name,
    address: `127.0.0.1:${(s.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); }),
  };
}

function call(o: { port?: number; socketPath?: string; method: string; path: string; headers?: Record<string, string>; body?: string; agent: http.Agent | false }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...(o.headers ?? {}) };
    if (o.body !== undefined) headers['content-length'] = Buffer.byteLength(o.body);
    const req = http.request({ host: '127.0.0.1', port: o.port, socketPath: o.socketPath, method: o.method, path: o.path, headers, agent: o.agent, timeout: 120_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`${o.method} ${o.path}: timed out`)));
    req.end(o.body);
  });
}

function memory(pid: number): { rss: number; hwm: number; anon: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0) / 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon') };
}

/** `NAME_ms_p50`, `_p99`, `_samples`, idle and `NAME_during_reload_…`, from sorted samples. */
function updateFigures(name: string, idle: number[], during: number[]): Record<string, number> {
  const figures = (prefix: string, xs: number[]) => ({ [`${prefix}_ms_p50`]: round(percentile(xs, 50), 2), [`${prefix}_ms_p99`]: round(percentile(xs, 99), 2), [`${prefix}_samples`]: xs.length });
  return { ...figures(name, idle), ...figures(`${name}_during_reload`, during) };
}

async function main(): Promise<void> {
  const started = performance.now();
  const record = runRecord();
  // First, while nothing else of this benchmark runs: NGINX with and without the metrics' log phase.
  const metricsFigures = await measureMetricsOverhead({ rounds: quick ? 4 : 12, seconds: quick ? 2 : 3, connections: 32, say });
  if (process.argv.includes('--metrics-only')) {
    console.log(JSON.stringify({ quick, ...metricsFigures, duration_s: round((performance.now() - started) / 1000), ...record.end() }));
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'wharf-bench-agent-'));
  // NGINX's workers (nobody, when this runs as root) read the stream endpoint files under it.
  chmodSync(dir, 0o755);
  const prefix = join(dir, 'nginx');
  const token = randomBytes(24).toString('hex');
  writeFileSync(join(dir, 'token'), token);
  const [apiPort, httpPort, httpsPort] = [await freePort(), await freePort(), await freePort()];
  const a = await backend('a');
  const b = await backend('b');
  const [c, d] = [await startTcpEcho('c'), await startTcpEcho('d')];
  // Two TLS backends behind the passthrough host pass.bench.test, told apart by their certificates.
  const [certE, certF] = await Promise.all([makeCertificate(['pass.bench.test']), makeCertificate(['pass.bench.test'])]);
  const [e, f] = await Promise.all([startHttpsBackend('e', certE), startHttpsBackend('f', certF)]);
  // A TCP service port P is served on P + (httpPort - 80) (src/render/stream-listen.ts).
  let streamServed = await freePort();
  while (streamServed - (httpPort - 80) < 1 || [80, 443].includes(streamServed - (httpPort - 80))) streamServed = await freePort();
  const streamDeclared = streamServed - (httpPort - 80);
  const child = spawn(process.execPath, [
    cli, 'agent', '--prefix', prefix, '--token-file', join(dir, 'token'), '--listen', `127.0.0.1:${apiPort}`,
    '--http-listen', `127.0.0.1:${httpPort}`, '--https-listen', `127.0.0.1:${httpsPort}`, '--worker-processes', '1',
    '--worker-shutdown-timeout', '5s', '--reload-timeout', '120s', '--enable-ssl-passthrough',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let agentLog = '';
  child.stderr!.on('data', (d: Buffer) => {
    agentLog += d.toString();
    if (agentLog.length > 200_000) agentLog = agentLog.slice(-100_000);
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const apiAgent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const nginxAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const api = async (method: string, path: string, body?: unknown) => {
    const r = await call({ port: apiPort, method, path, agent: apiAgent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: r.status, json: r.body ? JSON.parse(r.body) : null };
  };
  const viaNginx = async (host: string): Promise<string> => {
    for (;;) {
      try {
        return (await call({ port: httpPort, method: 'GET', path: '/', headers: { host }, agent: nginxAgent })).body;
      } catch {
        // a kept-alive connection closed by a retiring worker: again
      }
    }
  };
  const state = async () => (await api('GET', '/v1/state?summary=1')).json as { appliedVersion: number; desiredVersion: number; reloads: number; queueDepth: number };

  try {
    for (let i = 0; ; i++) {
      try {
        // /healthz: without a snapshot source the agent is ready only once a complete batch is served
        if ((await call({ port: apiPort, method: 'GET', path: '/healthz', agent: false })).status === 200) break;
      } catch {
        // not listening yet
      }
      if (i > 300) throw new Error(`the agent did not become ready:\n${agentLog.slice(-3000)}`);
      await sleep(50);
    }
    await sleep(300);
    const idleMem = memory(child.pid!);
    say(`agent ready (pid ${child.pid}, ${idleMem.rss.toFixed(1)} MB idle); loading ${cfg.hosts} hosts`);
    const fragments = Array.from({ length: cfg.hosts }, (_, i) => ({ name: `h${i}.bench.test`, revision: 1, config: proxyFragment(`h${i}.bench.test`, 'bench-app-80') }));
    fragments.push({ name: 'app.bench.test', revision: 1, config: proxyFragment('app.bench.test', 'bench-app-80') });
    const streamFragment = `server {\n    include listen-tcp-${streamDeclared}.conf;\n    set $wharf_stream_upstream bench-db-5432;\n    include stream-proxy-pass.conf;\n}\n`;
    fragments.push({ name: `_stream-tcp-${streamDeclared}`, revision: 1, config: streamFragment });
    fragments.push(passthroughFragment('pass.bench.test', 'bench-pass-443'));
    await api('POST', '/v1/batch?wait=1', {
      fragments,
      endpoints: [
        { upstream: 'bench-app-80', revision: 1, endpoints: [a.address] },
        { upstream: 'bench-db-5432', revision: 1, endpoints: [c.address] },
        { upstream: 'bench-pass-443', revision: 1, endpoints: [e.address] },
      ],
    });
    await sleep(300);
    if ((await tcpExchange(streamServed, 'x')) !== 'c: x') throw new Error('the TCP service does not answer through NGINX');
    if ((await servedSerial(httpsPort, 'pass.bench.test')) !== bare(certE.serial)) throw new Error('the passthrough host does not reach its backend through NGINX');

    // 1. Endpoint updates while idle.
    let endpointRevision = 1;
    const endpointSample = async (): Promise<number> => {
      const target = endpointRevision % 2 === 1 ? b : a;
      const t0 = performance.now();
      const r = await api('PUT', '/v1/endpoints/bench-app-80', { revision: ++endpointRevision, endpoints: [target.address] });
      if (r.json.status !== 'applied') throw new Error(`endpoint update: ${JSON.stringify(r.json)}`);
      while ((await viaNginx('app.bench.test')) !== target.name);
      return performance.now() - t0;
    };
    const idle: number[] = [];
    for (let i = 0; i < cfg.idleSamples; i++) {
      idle.push(await endpointSample());
      await sleep(5);
    }
    say(`endpoint update idle p50 ${percentile(idle, 50).toFixed(2)} ms, p99 ${percentile(idle, 99).toFixed(2)} ms`);

    // 1b. The same for the TCP service: until a new connection is answered by the new endpoint.
    let streamRevision = 1;
    const streamSample = async (): Promise<number> => {
      const target = streamRevision % 2 === 1 ? d : c;
      const t0 = performance.now();
      const r = await api('PUT', '/v1/endpoints/bench-db-5432', { revision: ++streamRevision, endpoints: [target.address] });
      if (r.json.status !== 'applied') throw new Error(`stream endpoint update: ${JSON.stringify(r.json)}`);
      while ((await tcpExchange(streamServed, 'x').catch(() => '')) !== `${target.name}: x`);
      return performance.now() - t0;
    };
    // The floor: a new TCP connection through NGINX with nothing changed (what every sample ends with).
    const streamConnection: number[] = [];
    for (let i = 0; i < cfg.idleSamples; i++) {
      const t0 = performance.now();
      await tcpExchange(streamServed, 'x');
      streamConnection.push(performance.now() - t0);
    }
    const streamIdle: number[] = [];
    const streamIdleReloads = (await state()).reloads;
    for (let i = 0; i < cfg.idleSamples; i++) {
      streamIdle.push(await streamSample());
      await sleep(5);
    }
    const streamIdleReloadsCaused = (await state()).reloads - streamIdleReloads;
    say(`stream endpoint update idle p50 ${percentile(streamIdle, 50).toFixed(2)} ms, p99 ${percentile(streamIdle, 99).toFixed(2)} ms, ${streamIdleReloadsCaused} reloads`);

    // 1c. The same for the TLS passthrough host: until a new TLS connection by its name is served
    // the new backend's certificate.
    let passRevision = 1;
    const passSample = async (): Promise<number> => {
      const [target, serial] = passRevision % 2 === 1 ? [f, bare(certF.serial)] : [e, bare(certE.serial)];
      const t0 = performance.now();
      const r = await api('PUT', '/v1/endpoints/bench-pass-443', { revision: ++passRevision, endpoints: [target.address] });
      if (r.json.status !== 'applied') throw new Error(`passthrough endpoint update: ${JSON.stringify(r.json)}`);
      while ((await servedSerial(httpsPort, 'pass.bench.test')) !== serial);
      return performance.now() - t0;
    };
    // The floor: a new TLS connection (handshake) through the SNI router with nothing changed.
    const passConnection: number[] = [];
    for (let i = 0; i < cfg.idleSamples; i++) {
      const t0 = performance.now();
      await servedSerial(httpsPort, 'pass.bench.test');
      passConnection.push(performance.now() - t0);
    }
    const passIdle: number[] = [];
    const passIdleReloads = (await state()).reloads;
    for (let i = 0; i < cfg.idleSamples; i++) {
      passIdle.push(await passSample());
      await sleep(5);
    }
    const passIdleReloadsCaused = (await state()).reloads - passIdleReloads;
    say(`passthrough endpoint update idle p50 ${percentile(passIdle, 50).toFixed(2)} ms, p99 ${percentile(passIdle, 99).toFixed(2)} ms, ${passIdleReloadsCaused} reloads`);

    // 2. One-fragment change through the agent vs. a plain reload of the same config.
    const masterPid = () => Number(readFileSync(join(prefix, 'run/nginx.pid'), 'utf8'));
    const versionSocket = join(prefix, 'run/nginx-config-version.sock');
    const apply: number[] = [];
    const raw: number[] = [];
    // The floor of what "applied" means: the version served and the old workers no longer accepting.
    const rawApplied: number[] = [];
    let rawVersion = 1_000_000_000;
    for (let i = 0; i < cfg.applySamples; i++) {
      const t0 = performance.now();
      const r = await api('PUT', '/v1/fragments/h0.bench.test?wait=1', { revision: 100 + i, config: proxyFragment('h0.bench.test', 'bench-app-80', `    # change ${i}\n`) });
      if (r.json.status !== 'applied') throw new Error(`apply: ${JSON.stringify(r.json)}`);
      apply.push(performance.now() - t0);
      await sleep(400); // old workers gone
      const v = ++rawVersion;
      const t1 = performance.now();
      writeFileSync(join(prefix, 'version.conf'), `return 200 "${v}";\n`);
      const master = masterPid();
      let old = await acceptingWorkerIds(master);
      process.kill(master, 'SIGHUP');
      for (;;) {
        const got = await call({ socketPath: versionSocket, method: 'GET', path: '/configVersion', agent: false }).catch(() => null);
        if (got?.body === String(v)) break;
        await sleep(3);
      }
      raw.push(performance.now() - t1);
      while ((old = await stillAccepting(master, old)).length > 0) await sleep(3);
      rawApplied.push(performance.now() - t1);
      await sleep(400);
    }
    say(`apply p50 ${percentile(apply, 50).toFixed(1)} ms, raw reload p50 ${percentile(raw, 50).toFixed(1)} ms, until the old workers stop accepting ${percentile(rawApplied, 50).toFixed(1)} ms (${cfg.hosts + 1} hosts)`);

    // 3. A burst of 1000 fragment changes as individual calls.
    const before = await state();
    const burstStart = performance.now();
    let next = 0;
    const sender = async () => {
      while (next < cfg.burst) {
        const i = next++;
        const r = await api('PUT', `/v1/fragments/burst${i}.bench.test`, { revision: 1, config: proxyFragment(`burst${i}.bench.test`, 'bench-app-80') });
        if (r.status !== 202 && r.status !== 200) throw new Error(`burst put: ${r.status} ${JSON.stringify(r.json)}`);
      }
    };
    await Promise.all(Array.from({ length: 16 }, sender));
    const desired = (await state()).desiredVersion;
    while ((await state()).appliedVersion < desired) await sleep(10);
    const burstMs = performance.now() - burstStart;
    const burstReloads = (await state()).reloads - before.reloads;
    say(`burst of ${cfg.burst} changes: ${burstReloads} reloads, ${burstMs.toFixed(0)} ms`);

    // 4. A slow configuration: thousands of TLS servers, each with its own copy of one certificate.
    const pair = await selfSignedCert('bench.test');
    say(`loading ${cfg.tlsServers} TLS servers`);
    for (let start = 0; start < cfg.tlsServers; start += 500) {
      const batch = [];
      for (let i = start; i < Math.min(cfg.tlsServers, start + 500); i++) batch.push({ name: `tls${i}.bench.test`, revision: 1, ...tlsFragment(`tls${i}.bench.test`, 'bench-app-80', pair) });
      const r = await api('POST', start + 500 >= cfg.tlsServers ? '/v1/batch?wait=1' : '/v1/batch', { fragments: batch });
      if (r.status >= 400) throw new Error(`tls batch: ${r.status} ${JSON.stringify(r.json).slice(0, 300)}`);
    }
    while ((await state()).queueDepth > 0) await sleep(50);
    await sleep(1000);
    let tlsRevision = 1;
    const slowReload = async (): Promise<number> => {
      const t0 = performance.now();
      const r = await api('PUT', '/v1/fragments/tls0.bench.test?wait=1', { revision: ++tlsRevision, ...tlsFragment('tls0.bench.test', `bench-tls-${tlsRevision}`, pair) });
      if (r.json.status !== 'applied') throw new Error(`slow reload: ${JSON.stringify(r.json)}`);
      return performance.now() - t0;
    };
    const slowReloadMs = await slowReload();
    say(`slow reload (one change, ${cfg.tlsServers} TLS servers): ${slowReloadMs.toFixed(0)} ms`);
    await sleep(1000);

    // 5. Endpoint updates while such a reload runs.
    const reloadTimes: number[] = [slowReloadMs];
    /** Samples taken while slow reloads run, cfg.duringRounds of them, one after another. */
    const duringReloads = async (sample: () => Promise<number>): Promise<number[]> => {
      const out: number[] = [];
      for (let round = 0; round < cfg.duringRounds; round++) {
        let done = false;
        const reload = slowReload().then((ms) => {
          done = true;
          reloadTimes.push(ms);
        });
        await sleep(20);
        while (!done) {
          const ms = await sample();
          if (!done) out.push(ms);
          await sleep(10);
        }
        await reload;
        await sleep(1500);
      }
      return out;
    };
    const during = await duringReloads(endpointSample);
    say(`endpoint update during reloads: ${during.length} samples, p50 ${percentile(during, 50).toFixed(2)} ms, p99 ${percentile(during, 99).toFixed(2)} ms`);

    // 5b. TCP service endpoint updates while such a reload runs; each round's reload is the only
    // one that should happen.
    const streamReloadsBefore = (await state()).reloads;
    const streamDuring = await duringReloads(streamSample);
    const streamReloadsCaused = (await state()).reloads - streamReloadsBefore - cfg.duringRounds + streamIdleReloadsCaused;
    say(`stream endpoint update during reloads: ${streamDuring.length} samples, p50 ${percentile(streamDuring, 50).toFixed(2)} ms, p99 ${percentile(streamDuring, 99).toFixed(2)} ms, ${streamReloadsCaused} reloads caused`);

    // 5c. TLS passthrough endpoint updates while such a reload runs, likewise.
    const passReloadsBefore = (await state()).reloads;
    const passDuring = await duringReloads(passSample);
    const passReloadsCaused = (await state()).reloads - passReloadsBefore - cfg.duringRounds + passIdleReloadsCaused;
    say(`passthrough endpoint update during reloads: ${passDuring.length} samples, p50 ${percentile(passDuring, 50).toFixed(2)} ms, p99 ${percentile(passDuring, 99).toFixed(2)} ms, ${passReloadsCaused} reloads caused`);

    // 6. Certificates by SNI. A renewal (new serial) while such a reload runs, until a new handshake
    // gets it.
    const [certA, certB] = await Promise.all([makeCertificate(['renew.bench.test'], { rsa: true }), makeCertificate(['renew.bench.test'], { rsa: true })]);
    let certRevision = 1;
    const certPut = async (name: string, c: { cert: string; key: string }) => {
      const r = await api('PUT', `/v1/certificates/${name}`, { revision: ++certRevision, cert: c.cert, key: c.key });
      if (r.json.status !== 'applied') throw new Error(`certificate ${name}: ${r.status} ${JSON.stringify(r.json)}`);
    };
    await certPut('renew.bench.test', certA);
    const certSample = async (): Promise<number> => {
      const next = certRevision % 2 === 0 ? certB : certA;
      const t0 = performance.now();
      await certPut('renew.bench.test', next);
      while ((await servedSerial(httpsPort, 'renew.bench.test')) !== bare(next.serial));
      return performance.now() - t0;
    };
    const certDuring: number[] = [];
    const certReloadsBefore = (await state()).reloads;
    let certReloadRuns = 0;
    for (let round = 0; round < cfg.duringRounds; round++) {
      let done = false;
      const reload = slowReload().then((ms) => {
        done = true;
        reloadTimes.push(ms);
      });
      certReloadRuns++;
      await sleep(20);
      while (!done) {
        const ms = await certSample();
        if (!done) certDuring.push(ms);
        await sleep(10);
      }
      await reload;
      await sleep(1500);
    }
    const certUpdateReloads = (await state()).reloads - certReloadsBefore - certReloadRuns;
    say(`certificate renewal during reloads: ${certDuring.length} samples, p50 ${percentile(certDuring, 50).toFixed(2)} ms, p99 ${percentile(certDuring, 99).toFixed(2)} ms; reloads beside the slow ones: ${certUpdateReloads}`);

    // 1000 certificates, then 1000 renewals in a burst (individual calls, 16 at a time): no reload.
    const certNames = Array.from({ length: cfg.certificates }, (_, i) => `c${i}.bench.test`);
    for (let start = 0; start < certNames.length; start += 250) {
      const certificates = certNames.slice(start, start + 250).map((name) => ({ name, revision: 1, cert: pair.cert, key: pair.key }));
      const r = await api('POST', '/v1/batch', { certificates });
      if (r.status !== 200) throw new Error(`certificate batch: ${r.status} ${JSON.stringify(r.json).slice(0, 300)}`);
    }
    const renewalsBefore = (await state()).reloads;
    const renewalStart = performance.now();
    let nextRenewal = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (nextRenewal < certNames.length) {
        const name = certNames[nextRenewal++]!;
        const r = await api('PUT', `/v1/certificates/${name}`, { revision: 2, cert: certB.cert, key: certB.key });
        if (r.json.status !== 'applied') throw new Error(`renewal ${name}: ${r.status} ${JSON.stringify(r.json)}`);
      }
    }));
    const renewalMs = performance.now() - renewalStart;
    await sleep(500);
    const renewalReloads = (await state()).reloads - renewalsBefore;
    if ((await servedSerial(httpsPort, certNames[certNames.length - 1]!)) !== bare(certB.serial)) throw new Error('the last renewal is not served');
    say(`${certNames.length} renewals in a burst: ${renewalReloads} reloads, ${renewalMs.toFixed(0)} ms`);
    // Back to the bench's key, so both paths below sign with the same RSA 2048 key.
    for (let start = 0; start < certNames.length; start += 250) {
      await api('POST', '/v1/batch', { certificates: certNames.slice(start, start + 250).map((name) => ({ name, revision: 3, cert: pair.cert, key: pair.key })) });
    }

    // Handshakes per second: SNI in rotation over the 1000 names (the Lua store) against one server
    // with a static ssl_certificate of the same key (tls1.bench.test), alternating, same run.
    // Warm: one handshake for every name first. A key's first signature in a worker costs about
    // another one (OpenSSL sets up its RSA blinding then), for a static certificate as for a stored one.
    for (let k = 0; k < certNames.length; k += 8) await Promise.all(certNames.slice(k, k + 8).map((n) => servedSerial(httpsPort, n)));
    await handshakeRate(httpsPort, certNames, 1000);
    await handshakeRate(httpsPort, ['tls1.bench.test'], 1000);
    let luaCount = 0;
    let staticCount = 0;
    const luaRates: number[] = [];
    const staticRates: number[] = [];
    for (let r = 0; r < cfg.handshakeRounds; r++) {
      const l = await handshakeRate(httpsPort, certNames, cfg.handshakeMs);
      const s = await handshakeRate(httpsPort, ['tls1.bench.test'], cfg.handshakeMs);
      luaRates.push(l);
      staticRates.push(s);
      luaCount += l;
      staticCount += s;
    }
    const luaRate = luaCount / cfg.handshakeRounds;
    const staticRate = staticCount / cfg.handshakeRounds;
    say(`TLS handshakes/s: Lua ${luaRate.toFixed(0)} (${luaRates.map((x) => x.toFixed(0)).join(', ')}), static ${staticRate.toFixed(0)} (${staticRates.map((x) => x.toFixed(0)).join(', ')})`);

    const mem = memory(child.pid!);
    // And once it has been quiet for a while: V8's memory reducer runs after about 8 s without load.
    await sleep(cfg.settleMs);
    const settled = memory(child.pid!);
    say(`agent memory: ${idleMem.rss.toFixed(1)} MB idle, ${mem.rss.toFixed(1)} MB after the load (peak ${mem.hwm.toFixed(1)}), ${settled.rss.toFixed(1)} MB ${cfg.settleMs / 1000} s later`);
    const result = {
      quick,
      // The same update with no reload running is its floor.
      ...updateFigures('endpoint_update', idle, during),
      during_reload_over_idle: round(percentile(during, 99) / percentile(idle, 99), 2),
      // A TCP service's endpoints (njs reads the agent's file at each new connection): target ≤ 50 ms during a reload, 0 reloads.
      ...updateFigures('stream_endpoint_update', streamIdle, streamDuring),
      stream_during_reload_over_idle: round(percentile(streamDuring, 99) / percentile(streamIdle, 99), 2),
      stream_connection_ms_p50: round(percentile(streamConnection, 50), 2),
      stream_connection_ms_p99: round(percentile(streamConnection, 99), 2),
      stream_update_over_connection_p50: round(percentile(streamIdle, 50) / percentile(streamConnection, 50), 2),
      stream_endpoint_update_reloads: streamReloadsCaused,
      // A TLS passthrough host's endpoints, by the same njs path: until a new TLS connection gets the new backend's certificate.
      ...updateFigures('passthrough_endpoint_update', passIdle, passDuring),
      passthrough_during_reload_over_idle: round(percentile(passDuring, 99) / percentile(passIdle, 99), 2),
      passthrough_connection_ms_p50: round(percentile(passConnection, 50), 2),
      passthrough_connection_ms_p99: round(percentile(passConnection, 99), 2),
      passthrough_update_over_connection_p50: round(percentile(passIdle, 50) / percentile(passConnection, 50), 2),
      passthrough_endpoint_update_reloads: passReloadsCaused,
      slow_reload_ms: Math.round(percentile(reloadTimes, 50)),
      slow_reload_tls_servers: cfg.tlsServers,
      cert_update_during_reload_ms_p50: round(percentile(certDuring, 50), 2),
      cert_update_during_reload_ms_p99: round(percentile(certDuring, 99), 2),
      cert_update_during_reload_samples: certDuring.length,
      cert_update_reloads: certUpdateReloads,
      cert_renewals: certNames.length,
      cert_renewals_reloads: renewalReloads,
      cert_renewals_ms: Math.round(renewalMs),
      tls_certificates_loaded: certNames.length,
      tls_handshakes_per_s_lua: Math.round(luaRate),
      tls_handshakes_per_s_static: Math.round(staticRate),
      tls_handshakes_lua_over_static: round(luaRate / staticRate, 3),
      burst_changes: cfg.burst,
      burst_reloads: burstReloads,
      burst_ms: Math.round(burstMs),
      apply_ms_p50: round(percentile(apply, 50)),
      raw_reload_ms_p50: round(percentile(raw, 50)),
      apply_over_raw: round(percentile(apply, 50) / percentile(raw, 50), 2),
      raw_applied_ms_p50: round(percentile(rawApplied, 50)),
      apply_over_raw_applied: round(percentile(apply, 50) / percentile(rawApplied, 50), 2),
      apply_config_hosts: cfg.hosts + 1,
      agent_idle_rss_mb: round(idleMem.rss),
      agent_rss_mb: round(mem.rss),
      agent_rss_peak_mb: round(mem.hwm),
      agent_rss_anon_mb: round(mem.anon),
      agent_rss_settled_mb: round(settled.rss),
      agent_settle_s: cfg.settleMs / 1000,
      ...metricsFigures,
      duration_s: round((performance.now() - started) / 1000),
      ...record.end(),
    };
    child.kill('SIGTERM');
    await exited;
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
    apiAgent.destroy();
    nginxAgent.destroy();
    await Promise.all([a.close(), b.close(), c.close(), d.close(), e.close(), f.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
