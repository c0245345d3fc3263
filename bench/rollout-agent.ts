// `wharf agent` with its NGINX as a child process for the rollout benchmark, in either endpoint mode
// (lua: wharf's endpoint path; reload: static upstreams applied by reloads, the baseline). It keeps
// NGINX's access log (JSON lines NGINX writes to the agent's stdout, here a file: which upstream
// addresses each request tried) and the reloads the agent reports ("reload confirmed" log lines).
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../tests/support/backend.ts';
import { send } from './handler-process.ts';
import { nowMs } from './rollout-cluster.ts';

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

/** One NGINX access log line, as far as the benchmark reads it. */
export interface AccessLine {
  request: string;
  status: number;
  upstream_addr: string;
  upstream_status: string;
  request_time: number;
}

/** A confirmed reload: when the agent logged it (monotonic ms) and how long it took. */
export interface ReloadSeen {
  endAt: number;
  ms: number;
  result: string;
  changes: number;
}

export interface AgentProcess {
  url: string;
  httpPort: number;
  httpsPort: number;
  /** NGINX's access log so far. */
  access(): AccessLine[];
  reloads: ReloadSeen[];
  /** The agent's last log lines (for error messages). */
  logTail(lines?: number): string;
  /** The agent's state (GET /v1/state). */
  state(summary?: boolean): Promise<AgentStateView>;
  stop(): Promise<void>;
}

export interface AgentStateView {
  endpointMode: string;
  desiredVersion: number;
  appliedVersion: number;
  queueDepth: number;
  reloads: number;
  endpoints: { upstream: string; revision: number; endpoints: number | null; appliedRevision: number | null }[];
}

function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let rest = '';
  stream.on('data', (d: Buffer) => {
    const parts = (rest + d.toString()).split('\n');
    rest = parts.pop()!;
    for (const l of parts) if (l) onLine(l);
  });
}

/** Starts the agent and waits until NGINX serves its first configuration. */
export async function startAgent(o: { tokenPath: string; token: string; endpointMode: 'lua' | 'reload'; workerProcesses: string }): Promise<AgentProcess> {
  const prefix = mkdtempSync(join(tmpdir(), 'wharf-rollout-agent-'));
  // The agent's stdout is a file: NGINX opens /dev/stdout for its access log, which fails
  // (ENXIO) when stdout is a socket, as Node's 'pipe' would make it.
  const accessPath = `${prefix}-access.log`;
  const accessFd = openSync(accessPath, 'a');
  const [port, httpPort, httpsPort] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(process.execPath, [
    cli, 'agent', '--prefix', prefix, '--token-file', o.tokenPath, '--listen', `127.0.0.1:${port}`,
    '--http-listen', `127.0.0.1:${httpPort}`, '--https-listen', `127.0.0.1:${httpsPort}`,
    '--worker-processes', o.workerProcesses, '--worker-shutdown-timeout', '10s', '--reload-timeout', '120s',
    '--endpoint-mode', o.endpointMode, '--access-log',
  ], { stdio: ['ignore', accessFd, 'pipe'], env: { ...process.env, WHARF_LOG_LEVEL: 'info' } });
  closeSync(accessFd);
  const reloads: ReloadSeen[] = [];
  let log = '';
  lines(child.stderr!, (l) => {
    log += l + '\n';
    if (log.length > 200_000) log = log.slice(-100_000);
    if (!l.includes('"reload confirmed"') && !l.includes('"reload did not apply"')) return;
    try {
      const e = JSON.parse(l) as { ms: number; result: string; changes: number };
      reloads.push({ endAt: nowMs(), ms: e.ms, result: e.result, changes: e.changes });
    } catch {
      // not JSON
    }
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  const headers = { authorization: `Bearer ${o.token}` };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(prefix, { recursive: true, force: true });
    rmSync(accessPath, { force: true });
  };
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the agent exited with ${child.exitCode}:\n${log.slice(-3000)}`);
      // Up, not ready: without a snapshot source the agent is ready once the handler's complete push is served.
      const r = await send(`${url}/healthz`, 'GET', {}).catch(() => null);
      if (r?.status === 200) break;
      if (Date.now() > deadline) throw new Error(`the agent was not ready after 60 s:\n${log.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    url,
    httpPort,
    httpsPort,
    access() {
      const out: AccessLine[] = [];
      for (const l of readFileSync(accessPath, 'utf8').split('\n')) {
        if (!l.startsWith('{')) continue;
        try {
          out.push(JSON.parse(l) as AccessLine);
        } catch {
          // a line being written
        }
      }
      return out;
    },
    reloads,
    logTail: (n = 15) => log.trimEnd().split('\n').slice(-n).join('\n'),
    async state(summary = false) {
      const r = await send(`${url}/v1/state${summary ? '?summary=1' : ''}`, 'GET', headers);
      if (r.status !== 200) throw new Error(`GET /v1/state: ${r.status} ${r.body.slice(0, 200)}`);
      return JSON.parse(r.body) as AgentStateView;
    },
    stop,
  };
}
