// `wharf agent` as a process: flags, the token file it refuses to start without, readiness, graceful
// stop on SIGTERM, taking over a prefix whose previous agent was killed and left NGINX running, and
// the access log on a stdout that is a socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startBackend } from '../support/backend.ts';
import { eventually, request } from '../support/http.ts';
import { proxyFragment } from './harness.ts';
import { parseAgentArgs, parseDuration, UsageError } from '../../src/agent/main.ts';
import { AGENT_MALLOC_ENV, AGENT_V8_FLAGS } from '../../src/agent/relaunch.ts';
import { alive, runAgent, type AgentRun } from '../support/processes.ts';


const run = runAgent;

/**
 * A test that failed midway may have left an NGINX behind: stops its process group (the agent starts
 * the master as a group leader, so this takes its workers too). A pid file that is empty or garbage
 * is ignored: process.kill(-0) would kill this test's own process group.
 */
function killNginxGroup(pidFile: string): void {
  let pid = 0;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return;
  }
  if (!Number.isSafeInteger(pid) || pid <= 1) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // none
  }
}

const usageCases: [string, string[], RegExp][] = [
  ['no --token-file', ['--prefix', '/tmp/x'], /--token-file: Required value: the agent refuses to serve its API without a bearer token/],
  ['no --prefix', ['--token-file', '/tmp/t'], /--prefix: Required value/],
  ['a bad --listen', ['--prefix', '/tmp/x', '--token-file', '/tmp/t', '--listen', 'localhost'], /--listen: Invalid value: "localhost": expected HOST:PORT/],
  ['a bad --endpoint-mode', ['--prefix', '/tmp/x', '--token-file', '/tmp/t', '--endpoint-mode', 'fast'], /--endpoint-mode: Invalid value: "fast": expected auto, lua or reload/],
  ['a bad --reload-timeout', ['--prefix', '/tmp/x', '--token-file', '/tmp/t', '--reload-timeout', 'soon'], /--reload-timeout: Invalid value: "soon"/],
  ['a snapshot URL without its token file', ['--prefix', '/tmp/x', '--token-file', '/tmp/t', '--snapshot-url', 'http://h/snapshot'], /give both or neither/],
  ['an unknown flag', ['--prefix', '/tmp/x', '--token-file', '/tmp/t', '--frobnicate'], /Unknown option '--frobnicate'/],
  ['a public HTTP port that is not one', ['--prefix', '/tmp/x', '--token-file', '/tmp/t', '--public-http-port', '0'], /--public-http-port: Invalid value: "0": expected a port number/],
  ['a public HTTPS port that is not one', ['--prefix', '/tmp/x', '--token-file', '/tmp/t', '--public-https-port', '443s'], /--public-https-port: Invalid value: "443s": expected a port number/],
];

for (const [name, argv, message] of usageCases) {
  test(`flags: ${name} is refused with a clear message`, () => {
    assert.throws(() => parseAgentArgs(argv), (e: unknown) => e instanceof UsageError && message.test(e.message));
  });
}

test('flags: defaults and repeatable listen addresses', () => {
  const a = parseAgentArgs(['--prefix', '/srv/nginx', '--token-file', 't', '--http-listen', '8080', '--http-listen', '[::]:8080', '--https-listen', 'none']);
  assert.notEqual(a, 'help');
  if (a === 'help') return;
  assert.deepEqual(a.options.listen, { host: '127.0.0.1', port: 7071 });
  assert.deepEqual(a.options.httpListen, ['8080', '[::]:8080']);
  assert.deepEqual(a.options.httpsListen, []);
  assert.equal(a.options.workerShutdownTimeoutSeconds, 60);
  assert.equal(a.options.reloadTimeoutMs, 30_000);
  assert.equal(a.options.endpointMode, 'auto');
  // The ports clients use (X-Forwarded-Port): a Service's 80 and 443 unless told.
  assert.equal(a.options.publicHttpPort, 80);
  assert.equal(a.options.publicHttpsPort, 443);
  assert.ok(a.tokenFile.startsWith('/'));
  assert.equal(parseDuration('--x', '250ms'), 250);
  assert.equal(parseDuration('--x', '2m'), 120_000);
  assert.equal(parseDuration('--x', '3'), 3000);
});

test('the agent process refuses to start without a readable token file', async () => {
  const prefix = mkdtempSync(join(tmpdir(), 'wharf-cli-'));
  try {
    const r = run(['--prefix', prefix, '--token-file', join(prefix, 'missing-token')]);
    assert.equal(await r.exited, 2);
    assert.match(r.output(), /--token-file: cannot read .*missing-token/);
    writeFileSync(join(prefix, 'empty-token'), '\n');
    const r2 = run(['--prefix', prefix, '--token-file', join(prefix, 'empty-token')]);
    assert.equal(await r2.exited, 2);
    assert.match(r2.output(), /token file .*empty-token is empty/);
    assert.equal(existsSync(join(prefix, 'nginx.conf')), false, 'nothing written');
  } finally {
    rmSync(prefix, { recursive: true, force: true });
  }
});

/** Once the agent's API answers, pushes an empty complete batch (as a handler's first push) and waits until it is ready. */
async function completeAndReady(apiPort: number): Promise<boolean> {
  if (!(await eventually(async () => (await fetch(`http://127.0.0.1:${apiPort}/healthz`).catch(() => null))?.status === 200, 10_000, 50))) return false;
  const push = await fetch(`http://127.0.0.1:${apiPort}/v1/batch?wait=1`, {
    method: 'POST',
    headers: { authorization: 'Bearer cli-test-token-0123', 'content-type': 'application/json' },
    body: JSON.stringify({ complete: true, fragments: [], endpoints: [] }),
  });
  if (push.status !== 200) return false;
  return eventually(async () => (await fetch(`http://127.0.0.1:${apiPort}/nginx-ready`)).status === 200, 10_000, 50);
}

test('SIGTERM stops NGINX gracefully and exits; a killed agent\'s NGINX is taken over by the next one', async () => {
  const prefix = mkdtempSync(join(tmpdir(), 'wharf-cli-'));
  const tokenFile = join(prefix, '..', `${prefix.split('/').pop()}-token`);
  writeFileSync(tokenFile, 'cli-test-token-0123\n');
  const [apiPort, httpPort] = [await freePort(), await freePort()];
  const args = [
    '--prefix', join(prefix, 'nginx'), '--token-file', tokenFile, '--listen', `127.0.0.1:${apiPort}`,
    '--http-listen', `127.0.0.1:${httpPort}`, '--https-listen', 'none', '--worker-processes', '1', '--worker-shutdown-timeout', '2s',
  ];
  const runs: AgentRun[] = [];
  try {
    const first = run(args);
    runs.push(first);
    const ready = await completeAndReady(apiPort);
    assert.ok(ready, first.output());
    assert.match(first.output(), /"msg":"endpoint mode: lua/);
    const state = await (await fetch(`http://127.0.0.1:${apiPort}/v1/state`, { headers: { authorization: 'Bearer cli-test-token-0123' } })).json() as { ready: boolean };
    assert.equal(state.ready, true);
    const nginxPid = Number(readFileSync(join(prefix, 'nginx/run/nginx.pid'), 'utf8'));

    // The agent started itself again in the same process, with its V8 flags and a warm compile
    // cache, so that Node's TypeScript stripper (WebAssembly, ~25 MB) is never loaded.
    const pid = first.child.pid!;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    for (const flag of AGENT_V8_FLAGS) assert.ok(cmdline.includes(flag), `${flag} in ${cmdline.join(' ')}`);
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    assert.ok(environ.includes(`NODE_COMPILE_CACHE=${join(prefix, 'nginx', 'node-compile-cache')}`));
    assert.ok(environ.includes('WHARF_AGENT_RELAUNCH=done'));
    for (const [k, v] of Object.entries(AGENT_MALLOC_ENV)) assert.ok(environ.includes(`${k}=${v}`), k);
    // NGINX does not inherit what the agent set for itself.
    const nginxEnviron = readFileSync(`/proc/${nginxPid}/environ`, 'utf8');
    assert.doesNotMatch(nginxEnviron, /WHARF_AGENT_RELAUNCH|NODE_COMPILE_CACHE|MALLOC_ARENA_MAX/);
    const rssMb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
    assert.ok(rssMb < 110, `an idle agent takes ${rssMb.toFixed(1)} MB (about 65 expected; 125 with the TypeScript stripper loaded)`);

    // An agent killed outright leaves its NGINX running with the ports; the next agent stops it.
    first.child.kill('SIGKILL');
    await first.exited;
    assert.ok(alive(nginxPid), 'NGINX outlives a killed agent');
    const second = run(args);
    runs.push(second);
    const ready2 = await completeAndReady(apiPort);
    assert.ok(ready2, second.output());
    assert.match(second.output(), /stopping the NGINX a previous agent left running/);
    assert.ok(!alive(nginxPid));
    const secondNginx = Number(readFileSync(join(prefix, 'nginx/run/nginx.pid'), 'utf8'));

    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0, second.output());
    assert.match(second.output(), /"msg":"agent stopped"/);
    assert.ok(!alive(secondNginx), 'NGINX stopped with the agent');
    assert.equal(existsSync(join(prefix, 'nginx/run/nginx-config-version.sock')), false);
  } finally {
    for (const r of runs) if (r.child.exitCode === null) r.child.kill('SIGKILL');
    await Promise.all(runs.map((r) => r.exited));
    killNginxGroup(join(prefix, 'nginx/run/nginx.pid'));
    rmSync(prefix, { recursive: true, force: true });
    rmSync(tokenFile, { force: true });
  }
});

test('--access-log reaches stdout when stdout is a socket (NGINX cannot open one by path), across an NGINX restart', async () => {
  const prefix = mkdtempSync(join(tmpdir(), 'wharf-cli-'));
  const tokenFile = join(prefix, 'token');
  writeFileSync(tokenFile, 'cli-test-token-0123\n');
  const [apiPort, httpPort] = [await freePort(), await freePort()];
  const app = await startBackend('app');
  // run() gives the agent Node's 'pipe' for stdout: a socketpair.
  const r = run([
    '--prefix', join(prefix, 'nginx'), '--token-file', tokenFile, '--listen', `127.0.0.1:${apiPort}`, '--access-log',
    '--http-listen', `127.0.0.1:${httpPort}`, '--https-listen', 'none', '--worker-processes', '1', '--worker-shutdown-timeout', '2s',
  ]);
  const api = (method: string, path: string, body: unknown) =>
    fetch(`http://127.0.0.1:${apiPort}${path}`, { method, headers: { authorization: 'Bearer cli-test-token-0123', 'content-type': 'application/json' }, body: JSON.stringify(body) });
  // ingress-nginx's default format: `… "GET /first HTTP/1.1" 200 … [upstream] [] upstream_addr …`.
  const served = () => r.output().split('\n').filter((l) => l.includes(' 200 ') && l.includes(`[default-app-80] [] ${app.address} `));
  try {
    assert.ok(await eventually(async () => (await fetch(`http://127.0.0.1:${apiPort}/healthz`).catch(() => null))?.status === 200, 10_000, 50), r.output());
    const put = await api('POST', '/v1/batch?wait=1', {
      fragments: [{ name: 'logged.test', revision: 1, config: proxyFragment('logged.test', 'default-app-80') }],
      endpoints: [{ upstream: 'default-app-80', revision: 1, endpoints: [app.address] }],
    });
    assert.equal(put.status, 200, await put.text());
    // NGINX's old workers keep accepting for a moment after the new ones confirmed the change.
    assert.ok(await eventually(async () => (await request({ port: httpPort, host: 'logged.test', path: '/first' })).status === 200, 5000, 20));
    assert.ok(await eventually(() => served().length > 0, 5000, 20), `no access log line on stdout:\n${r.output().slice(-2000)}`);
    assert.match(served()[0]!, /"GET \/first HTTP\/1\.1" 200 /);

    // A master that dies is restarted by the agent; its access log still reaches stdout.
    process.kill(Number(readFileSync(join(prefix, 'nginx/run/nginx.pid'), 'utf8')), 'SIGKILL');
    assert.ok(await eventually(async () => (await request({ port: httpPort, host: 'logged.test', path: '/second' }).catch(() => null))?.status === 200, 10_000, 50));
    assert.ok(await eventually(() => served().some((l) => l.includes('"GET /second HTTP/1.1" 200 ')), 5000, 20), r.output().slice(-2000));

    r.child.kill('SIGTERM');
    assert.equal(await r.exited, 0, r.output());
    assert.equal(existsSync(join(prefix, 'nginx/run/access-log.fifo')), false, 'the FIFO is removed at stop');
  } finally {
    if (r.child.exitCode === null) r.child.kill('SIGKILL');
    await r.exited;
    killNginxGroup(join(prefix, 'nginx/run/nginx.pid'));
    await app.close();
    rmSync(prefix, { recursive: true, force: true });
  }
});
