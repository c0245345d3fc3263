// Every way out of `wharf local` stops its NGINX: a signal while it starts, a signal once it runs, a
// second signal while NGINX drains, a crash. Checked as a user would notice: no NGINX of its work
// dir is left, and its ports can be bound again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackend, freePort, type Backend } from '../support/backend.ts';
import { eventually, request } from '../support/http.ts';
import { startWharfLocal, processesUnder, serviceManifest, type LocalProcess } from '../support/wharf-local.ts';

const app = (name: string, backend: Backend) => `${serviceManifest(name, backend.port)}---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: ${name} }
spec:
  rules:
    - host: ${name}.test
      http:
        paths: [{ path: /, pathType: Prefix, backend: { service: { name: ${name}, port: { name: http } } } }]
`;

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

interface Run {
  local: LocalProcess;
  workDir: string;
  httpPort: number;
  httpsPort: number;
}

/** Starts `wharf local` on `apps` apps (one file each), returning as soon as it printed its first line. */
async function start(t: { after(fn: () => Promise<void>): void }, backend: Backend, apps: number, nodeArgs: string[] = [], ready = /wharf local:/): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-exit-manifests-'));
  const workDir = mkdtempSync(join(tmpdir(), 'wharf-exit-work-'));
  for (let i = 0; i < apps; i++) writeFileSync(join(dir, `app-${i}.yaml`), app(`app-${i}`, backend));
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  const args = ['--manifests', dir, '--http-port', String(httpPort), '--https-port', String(httpsPort), '--handler-port', '0', '--agent-port', '0', '--no-backends'];
  const local = await startWharfLocal(args, workDir, ready, nodeArgs);
  t.after(async () => {
    await local.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(workDir, { recursive: true, force: true });
  });
  return { local, workDir, httpPort, httpsPort };
}

const nginxRuns = (r: Run) => eventually(() => processesUnder(r.workDir).length > 0, 30_000, 5);

async function exitsWithNothingLeft(r: Run, exited: Promise<number | null>, withinMs: number): Promise<number | null> {
  const timer = new Promise<'late'>((res) => setTimeout(() => res('late'), withinMs).unref());
  const code = await Promise.race([exited, timer]);
  assert.notEqual(code, 'late', `wharf local did not exit within ${withinMs} ms\n--- it said:\n${r.local.output()}`);
  // The process is gone: whatever NGINX it leaves now stays.
  const clean = await eventually(async () => processesUnder(r.workDir).length === 0 && (await portFree(r.httpPort)) && (await portFree(r.httpsPort)), 1000, 50);
  assert.ok(clean, `NGINX was left behind (pids ${processesUnder(r.workDir).join(', ')}; ports free: ${await portFree(r.httpPort)}, ${await portFree(r.httpsPort)})\n--- wharf local said:\n${r.local.output()}`);
  return code as number | null;
}

const signal = (r: Run, s: NodeJS.Signals) => {
  const exited = new Promise<number | null>((res) => (r.local.child.exitCode !== null ? res(r.local.child.exitCode) : r.local.child.once('exit', (c) => res(c))));
  r.local.child.kill(s);
  return exited;
};

test('Ctrl-C while NGINX starts leaves no NGINX holding the ports', async (t) => {
  const backend = await startBackend('a');
  t.after(() => backend.close());
  const r = await start(t, backend, 1);
  assert.ok(await nginxRuns(r), `NGINX never started\n${r.local.output()}`);
  const code = await exitsWithNothingLeft(r, signal(r, 'SIGINT'), 20_000);
  assert.equal(code, 0);
  assert.match(r.local.output(), /SIGINT: stopping NGINX/);
});

test('SIGTERM while the folder is being loaded leaves no NGINX holding the ports', async (t) => {
  const backend = await startBackend('a');
  t.after(() => backend.close());
  const r = await start(t, backend, 150);
  assert.ok(await eventually(() => /loaded +/.test(r.local.output()), 30_000, 5), `nothing was loaded\n${r.local.output()}`);
  const code = await exitsWithNothingLeft(r, signal(r, 'SIGTERM'), 20_000);
  assert.equal(code, 0);
});

test('a second Ctrl-C while NGINX drains a request kills NGINX at once instead of leaving it draining', async (t) => {
  // A backend that never answers: NGINX's graceful stop waits for the request (up to 5 s).
  const hanging = await startBackend('hanging', () => {});
  t.after(() => hanging.close());
  const r = await start(t, hanging, 1, [], /agent http:\/\/127\.0\.0\.1:\d+/);
  const inFlight = request({ port: r.httpPort, host: 'app-0.test', path: '/slow', timeoutMs: 30_000 }).catch(() => null);
  assert.ok(await eventually(() => hanging.requests.some((q) => q.url === '/slow'), 10_000, 10), 'the request reached the backend');
  const exited = signal(r, 'SIGINT');
  assert.ok(await eventually(() => /SIGINT: stopping NGINX/.test(r.local.output()), 5000, 10));
  await new Promise((res) => setTimeout(res, 300));
  r.local.child.kill('SIGINT');
  // Without the second signal NGINX drains for its worker_shutdown_timeout (5 s) and only then
  // exits; with it, wharf local exits at once (4 s leaves room for a loaded machine).
  const code = await exitsWithNothingLeft(r, exited, 4000);
  assert.equal(code, 130);
  assert.match(r.local.output(), /SIGINT again/);
  await inFlight;
});

test('a crash of wharf local leaves no NGINX holding the ports', async (t) => {
  const backend = await startBackend('a');
  t.after(() => backend.close());
  const injector = new URL('../support/crash-on-sigusr2.ts', import.meta.url).pathname;
  const r = await start(t, backend, 1, ['--import', injector], /agent http:\/\/127\.0\.0\.1:\d+/);
  const code = await exitsWithNothingLeft(r, signal(r, 'SIGUSR2'), 20_000);
  assert.equal(code, 1);
  assert.match(r.local.output(), /crashed: Error: injected crash/);
});
