// Shared by the handler benchmarks: runs `wharf handler` (and optionally `wharf agent`) as child
// processes, posts CloudEvents over keep-alive HTTP, and reads a process's memory from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../tests/support/backend.ts';

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

export interface Child {
  process: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

/** A keep-alive agent for the load generator. */
export const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 64 });

export interface Answer {
  status: number;
  body: string;
}

/**
 * One HTTP request over the keep-alive agent. A reused connection the server closed meanwhile
 * (ECONNRESET on a reused socket) is retried once on a new one; everything sent here is idempotent.
 */
export function send(url: string, method: string, headers: Record<string, string>, body?: string, retried = false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) }, agent: keepAlive }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (!retried && req.reusedSocket && e.code === 'ECONNRESET') resolve(send(url, method, headers, body, true));
      else reject(e);
    });
    req.end(body);
  });
}

/** A temporary directory with a token file; removed by the returned function. */
export function tokenFile(token: string): { path: string; dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-bench-'));
  const path = join(dir, 'token');
  writeFileSync(path, token, { mode: 0o600 });
  return { path, dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

async function waitFor(url: string, child: ChildProcess, stderr: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A process killed by a signal (V8 aborting on a full heap: SIGABRT) has no exit code.
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`process exited with ${child.exitCode ?? child.signalCode}:\n${stderr().slice(-3000)}`);
    try {
      const r = await send(url, 'GET', {});
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} not ready after ${timeoutMs} ms:\n${stderr().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** BENCH_HANDLER_STDERR=FILE: every handler process's stderr (its warnings: a push that failed, an agent away) is also appended there. */
function spawnCli(args: string[], nodeArgs: string[] = []): { child: ChildProcess; stderr: () => string } {
  let err = '';
  const copyTo = args[0] === 'handler' ? process.env.BENCH_HANDLER_STDERR : undefined;
  const child = spawn(process.execPath, [...nodeArgs, cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, WHARF_LOG_LEVEL: process.env.WHARF_LOG_LEVEL ?? 'warn' } });
  child.stderr!.on('data', (d: Buffer) => {
    if (copyTo) appendFileSync(copyTo, d);
    err += d.toString();
    if (err.length > 100_000) err = err.slice(-50_000);
  });
  return { child, stderr: () => err };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Starts `wharf handler` pushing to `agents`: fed by events (`--no-list`), or listing and watching the API server of `kubeconfig`. */
/** `args`: more flags for `wharf handler` (e.g. --agent-service). */
export async function startHandlerProcess(o: { tokenPath: string; agents?: string[]; nodeArgs?: string[]; kubeconfig?: string; readyTimeoutMs?: number; args?: string[] }): Promise<Child> {
  const port = await freePort();
  const source = o.kubeconfig ? ['--kubeconfig', o.kubeconfig] : ['--no-list'];
  const args = ['handler', '--listen', `127.0.0.1:${port}`, ...source, '--agent-token-file', o.tokenPath, '--events-token-file', o.tokenPath];
  for (const a of o.agents ?? []) args.push('--agent', a);
  args.push(...(o.args ?? []));
  const { child, stderr } = spawnCli(args, o.nodeArgs);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/readyz`, child, stderr, o.readyTimeoutMs);
  return { process: child, url, stop: () => stopChild(child) };
}

/** Starts `wharf agent` with its NGINX in a temporary prefix. */
export async function startAgentProcess(o: { tokenPath: string; args?: string[]; readyTimeoutMs?: number }): Promise<Child & { httpPort: number; prefix: string }> {
  const prefix = mkdtempSync(join(tmpdir(), 'wharf-bench-agent-'));
  const [port, httpPort] = [await freePort(), await freePort()];
  const { child, stderr } = spawnCli([
    'agent', '--prefix', prefix, '--token-file', o.tokenPath, '--listen', `127.0.0.1:${port}`,
    '--http-listen', `127.0.0.1:${httpPort}`, '--https-listen', 'none', '--worker-processes', '1', '--worker-shutdown-timeout', '2s',
    ...(o.args ?? []),
  ]);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/healthz`, child, stderr, o.readyTimeoutMs);
  return {
    process: child,
    url,
    httpPort,
    prefix,
    async stop() {
      await stopChild(child);
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}

/** Resident memory of a process in MB (VmRSS), and its peak (VmHWM). */
export function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rssMb: Math.round(kb('VmRSS') / 1024), peakMb: Math.round(kb('VmHWM') / 1024) };
}

/** The Node flags a process runs with, as its command line shows them (after any restart of itself). */
export function nodeFlagsOf(pid: number): string[] {
  const [, ...args] = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const script = args.findIndex((a) => !a.startsWith('-'));
  return args.slice(0, script < 0 ? args.length : script);
}

/** CPU time (user + system) a process has used so far, in seconds (Linux: /proc, 100 ticks a second). */
export function cpuSecondsOf(pid: number | 'self'): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces), from field 3 on: utime is 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Posts objects as a batch of io.wharf.resource.add events. */
export async function postObjects(url: string, token: string, objects: object[], batchSize = 500): Promise<void> {
  let id = 0;
  for (let i = 0; i < objects.length; i += batchSize) {
    const batch = objects.slice(i, i + batchSize).map((data) => ({ specversion: '1.0', id: `load-${id++}`, source: 'bench', type: 'io.wharf.resource.add', datacontenttype: 'application/json', data }));
    const r = await send(`${url}/events`, 'POST', { 'content-type': 'application/cloudevents-batch+json', authorization: `Bearer ${token}` }, JSON.stringify(batch));
    if (r.status !== 200) throw new Error(`loading objects: ${r.status} ${r.body.slice(0, 500)}`);
  }
}

/** The p-th percentile (0–100) of sorted numbers. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * The floor of an admission review (bench/admission-floor.ts: a bare node:http server that parses
 * the review and answers it allowed) as a child process of the same Node.
 */
export async function startFloor(): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./admission-floor.ts', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('exit', (code) => reject(new Error(`the floor server exited with ${code}`)));
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop: async () => { child.kill('SIGTERM'); await exited; } };
}
