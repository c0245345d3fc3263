// Runs `wharf local` as a child process, as a user would, and stops it without leaving anything
// behind even when a test fails half-way (a SIGKILLed wharf would orphan its NGINX).
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { eventually } from './http.ts';

const root = new URL('../../', import.meta.url).pathname;

export interface LocalProcess {
  child: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  /** SIGINT, as Ctrl-C; resolves with the exit code. */
  interrupt(): Promise<number | null>;
  /** Stops it (SIGINT, then SIGKILL) and kills any process still running from `workDir`. */
  stop(): Promise<void>;
}

/** PIDs of processes whose command line names `dir` (NGINX runs with `-p <work dir>/nginx`). */
export function processesUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const p of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      if (Number(p) !== process.pid && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir)) pids.push(Number(p));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/**
 * Starts `wharf local ARGS` (with `--work-dir workDir`) and waits until it printed `ready`.
 * `nodeArgs` go to node before the script (e.g. `--import` of a test's fault injector).
 */
export async function startWharfLocal(args: string[], workDir: string, ready: RegExp, nodeArgs: string[] = []): Promise<LocalProcess> {
  const child = spawn(process.execPath, [...nodeArgs, 'src/cli.ts', 'local', ...args, '--work-dir', workDir], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const interrupt = () => {
    if (child.exitCode === null) child.kill('SIGINT');
    return exited;
  };
  const stop = async () => {
    if (child.exitCode === null) {
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await interrupt();
      clearTimeout(timer);
    }
    for (const pid of processesUnder(workDir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  const up = await eventually(() => ready.test(output) || child.exitCode !== null, 30_000, 50);
  if (!up || child.exitCode !== null) {
    await stop();
    throw new Error(`wharf local did not come up:\n${output}`);
  }
  return { child, output: () => output, interrupt, stop };
}

/** A Service `name` (port http 80) and one EndpointSlice with one endpoint, 127.0.0.1:`port`, as YAML. */
export function serviceManifest(name: string, port: number): string {
  return `apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec: { ports: [{ name: http, port: 80 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-0, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv4
ports: [{ name: http, port: ${port} }]
endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true } }]
`;
}

/** The reloads the agent of `agentUrl` has done, every result together (its /metrics). */
export async function agentReloads(agentUrl: string): Promise<number> {
  const text = await (await fetch(`${agentUrl}/metrics`)).text();
  return [...text.matchAll(/^wharf_agent_reloads_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
}
