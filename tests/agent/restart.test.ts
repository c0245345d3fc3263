// An agent that starts again on its prefix (after kill -9, an OOM kill, its container restarted with
// the prefix kept) never serves less than it had: it serves what the previous agent's NGINX served
// until the complete configuration arrives (endpoint sets included, in both endpoint modes), and it
// is not ready before that.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startBackend } from '../support/backend.ts';
import { eventually, request } from '../support/http.ts';
import { alive, runAgent, type AgentRun } from '../support/processes.ts';
import { backendOf, proxyFragment } from './harness.ts';

const TOKEN = 'restart-test-token-0123';

const run = runAgent;

/** A prefix, ports and the agent's flags; `cleanup` stops whatever a failed test left behind. */
async function setup(extra: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-restart-'));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`);
  const [apiPort, httpPort] = [await freePort(), await freePort()];
  const prefix = join(dir, 'nginx');
  const args = [
    '--prefix', prefix, '--token-file', tokenFile, '--listen', `127.0.0.1:${apiPort}`, '--http-listen', `127.0.0.1:${httpPort}`,
    '--https-listen', 'none', '--worker-processes', '1', '--worker-shutdown-timeout', '2s', ...extra,
  ];
  const runs: AgentRun[] = [];
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${apiPort}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  };
  const readiness = async () => (await fetch(`http://127.0.0.1:${apiPort}/nginx-ready`).catch(() => null))?.status ?? 0;
  const nginxPid = () => Number(readFileSync(join(prefix, 'run/nginx.pid'), 'utf8').trim());
  const start = () => {
    const r = run(args);
    runs.push(r);
    return r;
  };
  const cleanup = async () => {
    for (const r of runs) if (r.child.exitCode === null) r.child.kill('SIGKILL');
    await Promise.all(runs.map((r) => r.exited));
    try {
      const pid = nginxPid();
      if (Number.isSafeInteger(pid) && pid > 1) process.kill(-pid, 'SIGKILL');
    } catch {
      // none left
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { dir, prefix, apiPort, httpPort, api, readiness, nginxPid, start, cleanup };
}

/** Requests `host` every few ms until stopped; counts answers by status and refused connections. */
function load(port: number, host: string) {
  const counts = new Map<string, number>();
  let stop = false;
  let firstMiss = 0;
  let lastMiss = 0;
  const done = (async () => {
    while (!stop) {
      const sent = performance.now();
      const key = await request({ port, host, timeoutMs: 2000 }).then((r) => String(r.status), (e: NodeJS.ErrnoException) => e.code ?? 'error');
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (key !== '200') {
        firstMiss ||= sent;
        lastMiss = performance.now();
      }
      await sleep(2);
    }
  })();
  return {
    async stop() {
      stop = true;
      await done;
      return { counts: Object.fromEntries(counts), missMs: Math.round(lastMiss - firstMiss) };
    },
  };
}

test('an agent killed with SIGKILL and started again serves what its NGINX served, never an empty configuration', async (t) => {
  const app = await startBackend('app');
  const s = await setup();
  t.after(async () => {
    await s.cleanup();
    await app.close();
  });
  const first = s.start();
  assert.ok(await eventually(async () => (await s.readiness()) !== 0, 15_000, 50), first.output());
  const complete = {
    complete: true,
    fragments: [{ name: 'kept.example.com', revision: 5, config: proxyFragment('kept.example.com', 'default-app-80') }],
    endpoints: [{ upstream: 'default-app-80', revision: 5, endpoints: [app.address] }],
  };
  const put = await s.api('POST', '/v1/batch?wait=1', complete);
  assert.equal(put.status, 200, put.text);
  assert.equal(await s.readiness(), 200, first.output());
  assert.equal(backendOf(await request({ port: s.httpPort, host: 'kept.example.com' })), 'app');
  const oldNginx = s.nginxPid();

  const traffic = load(s.httpPort, 'kept.example.com');
  await sleep(200);
  first.child.kill('SIGKILL');
  await first.exited;
  const second = s.start();
  // The kept configuration serves at once; the agent is ready once the handler's push is served.
  assert.ok(await eventually(async () => (await s.readiness()) !== 0, 15_000, 20), second.output());
  assert.equal(await s.readiness(), 503, 'not ready on the kept configuration');
  await sleep(300);
  const { counts, missMs } = await traffic.stop();
  t.diagnostic(`answers while the agent was killed and started again: ${JSON.stringify(counts)}, not served for ${missMs} ms`);

  assert.ok(!alive(oldNginx), 'the new agent runs its own NGINX');
  assert.notEqual(s.nginxPid(), oldNginx);
  // Not one request answered from an empty configuration (404). The old NGINX serves until the new
  // one has passed its test; then, while the one gives the ports to the other, connections are
  // refused, and the new master's first few ms are without endpoints (503) until the agent writes them.
  assert.deepEqual(Object.keys(counts).filter((k) => !['200', 'ECONNREFUSED', 'ECONNRESET', '503'].includes(k)), [], JSON.stringify(counts));
  assert.ok((counts['200'] ?? 0) > 20, JSON.stringify(counts));
  assert.match(second.output(), /serving what the previous agent served/);
  assert.equal(backendOf(await request({ port: s.httpPort, host: 'kept.example.com' })), 'app');
  const state = JSON.parse((await s.api('GET', '/v1/state')).text);
  assert.deepEqual(state.fragments.map((f: { name: string; revision: number; status: string }) => [f.name, f.revision, f.status]), [['kept.example.com', -1, 'applied']]);
  // Whatever the handler tier sends replaces what was kept.
  const again = await s.api('PUT', '/v1/fragments/kept.example.com?wait=1', { revision: 1, config: proxyFragment('kept.example.com', 'default-other-80') });
  assert.match(again.text, /"status":"applied"/);
  assert.equal((await request({ port: s.httpPort, host: 'kept.example.com' })).status, 503);
  assert.equal(await s.readiness(), 503, 'one change is not the complete configuration');
  assert.equal((await s.api('POST', '/v1/batch?wait=1', { ...complete, fragments: complete.fragments.map((f) => ({ ...f, revision: 6 })) })).status, 200);
  assert.ok(await eventually(async () => (await s.readiness()) === 200, 5000, 20), 'ready once a complete batch is served');
});

for (const mode of ['reload', 'lua'] as const) test(`with its NGINX gone too (a restarted container), the agent serves the kept configuration and is ready only once the snapshot is served (endpoint mode ${mode})`, async (t) => {
  const app = await startBackend('app');
  let snapshot: object | null = null;
  const handler = http.createServer((_req, res) => {
    if (!snapshot) return void res.writeHead(503).end('starting');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(snapshot));
  });
  await new Promise<void>((r) => handler.listen(0, '127.0.0.1', r));
  const tokenDir = mkdtempSync(join(tmpdir(), 'wharf-snapshot-token-'));
  writeFileSync(join(tokenDir, 'token'), 'handler-token-0123\n');
  const s = await setup([
    '--endpoint-mode', mode,
    '--snapshot-url', `http://127.0.0.1:${(handler.address() as AddressInfo).port}/snapshot`,
    '--snapshot-token-file', join(tokenDir, 'token'),
  ]);
  t.after(async () => {
    await s.cleanup();
    await app.close();
    await new Promise<void>((r) => handler.close(() => r()));
    rmSync(tokenDir, { recursive: true, force: true });
  });
  const first = s.start();
  // Not ready before the snapshot, but a complete push counts as well.
  assert.ok(await eventually(async () => (await s.readiness()) !== 0, 15_000, 20), first.output());
  assert.equal(await s.readiness(), 503, first.output());
  const put = await s.api('POST', '/v1/batch?wait=1', {
    complete: true,
    fragments: [{ name: 'kept.example.com', revision: 5, config: proxyFragment('kept.example.com', 'default-app-80') }],
    endpoints: [{ upstream: 'default-app-80', revision: 5, endpoints: [app.address] }],
  });
  assert.equal(put.status, 200, put.text);
  assert.ok(await eventually(async () => (await s.readiness()) === 200, 5000, 20), first.output());

  // The container dies: the agent and its NGINX with it; the prefix (an emptyDir) stays. (With the
  // Lua module the agent writes the endpoint sets to the prefix a second after the last change.)
  await sleep(1500);
  const nginx = s.nginxPid();
  first.child.kill('SIGKILL');
  process.kill(-nginx, 'SIGKILL');
  await first.exited;
  assert.ok(await eventually(() => !alive(nginx), 2000, 10));

  const second = s.start();
  const served = await eventually(async () => backendOf(await request({ port: s.httpPort, host: 'kept.example.com' }).catch(() => ({ status: 0, headers: {}, body: '' }))) === 'app', 15_000, 20);
  assert.ok(served, `the kept host is served again:\n${second.output()}`);
  assert.ok(await eventually(async () => (await s.readiness()) !== 0, 5000, 20), 'the API answers');
  assert.equal(await s.readiness(), 503, 'not ready on the kept configuration');

  snapshot = { complete: true, revision: 100, fragments: [{ name: 'new.example.com', revision: 10, config: proxyFragment('new.example.com', 'default-app-80') }], endpoints: [{ upstream: 'default-app-80', revision: 10, endpoints: [app.address] }] };
  assert.ok(await eventually(async () => (await s.readiness()) === 200, 15_000, 20), second.output());
  assert.equal(backendOf(await request({ port: s.httpPort, host: 'new.example.com' })), 'app');
  assert.equal((await request({ port: s.httpPort, host: 'kept.example.com' })).status, 404, 'what the snapshot does not name is gone');
});
