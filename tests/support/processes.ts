// Whether a process runs, and `wharf agent` as a child process, for tests that start and kill agents
// and NGINX masters.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

/** True while `pid` runs (a zombie left for an init that does not reap does not count). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** A `wharf agent` process started by a test, with what it printed so far and its exit. */
export interface AgentRun {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Starts `wharf agent ARGS` on this Node, collecting its stdout and stderr. */
export function runAgent(args: string[]): AgentRun {
  const child = spawn(process.execPath, [cli, 'agent', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => output, exited };
}
