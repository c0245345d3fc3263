// Runs a real NGINX with the agent's skeleton and the given fragments in a temporary prefix, without
// the agent: for tests of what src/render produces. Endpoints are set through the same control
// socket the agent uses.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { findNginx } from '../../src/agent/nginx-install.ts';
import { renderSkeleton, renderVersion, builtinDefaultServer, type SkeletonParams } from '../../src/render/skeleton.ts';
import { freePort } from './backend.ts';
import { request, eventually } from './http.ts';
import { acceptingWorkers, waitRetired } from './workers.ts';

export interface TestNginx {
  prefix: string;
  httpPort: number;
  httpsPort: number;
  /** Replaces all fragments (name → config text) and extra files (path → content), reloads, and
   * returns once only workers with the new config accept connections. */
  load(fragments: Record<string, string>, files?: Record<string, string>): Promise<void>;
  /** `nginx -t` on what is written; returns NGINX's output (empty string when it passes). */
  test(): string;
  setEndpoints(upstream: string, endpoints: string[]): Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions {
  fragments?: Record<string, string>;
  files?: Record<string, string>;
  lua?: boolean;
  workerProcesses?: number;
  /** Ports clients use (X-Forwarded-Port, redirects): default, the skeleton's (80 and 443). */
  publicPorts?: { http: number; https: number };
}

export async function startNginx(opts: StartOptions = {}): Promise<TestNginx> {
  const install = findNginx();
  const prefix = mkdtempSync(join(tmpdir(), 'wharf-nginx-'));
  const runDir = join(prefix, 'run');
  const privateDir = join(prefix, 'private');
  mkdirSync(runDir, { recursive: true });
  mkdirSync(privateDir, { recursive: true, mode: 0o700 });
  mkdirSync(join(prefix, 'fragments'));
  chmodSync(prefix, 0o755);
  const httpPort = await freePort();
  const httpsPort = await freePort();
  const params: SkeletonParams = {
    runDir,
    privateDir,
    lua: opts.lua === false ? null : install.lua,
    headersMoreModule: install.headersMore,
    brotliModule: install.brotli,
    user: null,
    errorLogLevel: 'warn',
    accessLog: false,
    workerProcesses: opts.workerProcesses ?? 1,
    workerConnections: 1024,
    workerShutdownTimeoutSeconds: 5,
    httpListen: [`127.0.0.1:${httpPort}`],
    httpsListen: [`127.0.0.1:${httpsPort}`],
    ...(opts.publicPorts ? { publicHttpPort: opts.publicPorts.http, publicHttpsPort: opts.publicPorts.https } : {}),
  };
  for (const [name, text] of Object.entries(renderSkeleton(params))) writeFileSync(join(prefix, name), text);
  let version = 1;
  let written: string[] = [];
  const writeAll = (fragments: Record<string, string>, files: Record<string, string>) => {
    for (const f of written) rmSync(join(prefix, f), { force: true });
    written = [];
    // Without Lua the skeleton includes upstreams.conf; a load may replace it through `files`.
    writeFileSync(join(prefix, 'upstreams.conf'), 'map $wharf_upstream $wharf_backend { default wharf_no_endpoints; }\n');
    const all = { 'default': builtinDefaultServer, ...fragments };
    for (const [name, text] of Object.entries(all)) {
      writeFileSync(join(prefix, 'fragments', `${name}.conf`), text);
      written.push(join('fragments', `${name}.conf`));
    }
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(prefix, path)), { recursive: true });
      writeFileSync(join(prefix, path), content, { mode: 0o600 });
      written.push(path);
    }
    writeFileSync(join(prefix, 'version.conf'), renderVersion(version));
  };
  writeAll(opts.fragments ?? {}, opts.files ?? {});

  const args = ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', 'stderr'];
  const testConfig = (): string => {
    const r = spawnSync(install.bin, [...args, '-t', '-q'], { encoding: 'utf8' });
    return r.status === 0 ? '' : r.stderr.trim() || `nginx -t exited ${r.status}`;
  };
  const problem = testConfig();
  if (problem) throw new Error(`nginx -t failed:\n${problem}`);
  let stderr = '';
  const child: ChildProcess = spawn(install.bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const versionNow = async () => {
    const r = await request({ port: 0, socketPath: join(runDir, 'nginx-config-version.sock'), path: '/configVersion', timeoutMs: 500 });
    return r.body;
  };
  const waitVersion = async (v: number) => {
    const got = await eventually(async () => (await versionNow()) === String(v), 10000, 10);
    if (!got) throw new Error(`NGINX did not reach config version ${v}; its stderr:\n${stderr}`);
  };
  await waitVersion(version);

  return {
    prefix,
    httpPort,
    httpsPort,
    async load(fragments, files = {}) {
      version += 1;
      writeAll(fragments, files);
      const problem = testConfig();
      if (problem) throw new Error(`nginx -t failed:\n${problem}`);
      const old = acceptingWorkers(child.pid!);
      child.kill('SIGHUP');
      await waitVersion(version);
      await waitRetired(child.pid!, old);
    },
    test: testConfig,
    async setEndpoints(upstream, endpoints) {
      const r = await request({
        port: 0,
        socketPath: join(privateDir, 'endpoints.sock'),
        method: 'PUT',
        path: `/endpoints/${upstream}`,
        body: endpoints.join(' '),
      });
      if (r.status !== 200) throw new Error(`setting endpoints of ${upstream}: ${r.status} ${r.body}`);
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGQUIT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}
