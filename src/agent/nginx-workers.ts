// Which of NGINX's workers accept connections. On a reload the master starts the new workers, then
// waits 100 ms before it tells the old ones to stop accepting (SIGQUIT: each sets its title to
// "worker process is shutting down" and closes its listening sockets in the same step): until then a
// new connection may still get the old configuration. The agent says "applied" only once the old
// generation has stopped accepting (version-confirmation.ts); tests and local mode use the same
// reading. Linux only (reads /proc).
import { readdirSync, readFileSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** One worker process: its PID and its start time, since a PID can be reused. */
export interface WorkerId {
  pid: number;
  start: string;
}

/** ppid, start time and state from the text of /proc/PID/stat. */
function parseStat(stat: string): { ppid: number; start: string; state: string } {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0]!, ppid: Number(fields[1]), start: fields[19]! };
}

const accepts = (title: string) => title.includes('worker process') && !title.includes('shutting down');

/** PIDs of the worker processes of the NGINX master `masterPid` that still accept connections. */
export function acceptingWorkers(masterPid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (parseStat(stat).ppid !== masterPid) continue;
      if (accepts(readFileSync(`/proc/${entry}/cmdline`, 'utf8'))) pids.push(Number(entry));
    } catch {
      // the process exited while we looked
    }
  }
  return pids;
}

/** The child PIDs of `pid`: from /proc/PID/task/PID/children where the kernel has it, else a scan. */
async function childrenOf(pid: number): Promise<number[]> {
  try {
    return (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8')).split(' ').filter(Boolean).map(Number);
  } catch {
    const out: number[] = [];
    // No /proc (not Linux): no workers known, and "applied" cannot wait for them.
    for (const entry of await readdir('/proc').catch(() => [] as string[])) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => null);
      if (stat && parseStat(stat).ppid === pid) out.push(Number(entry));
    }
    return out;
  }
}

/** Whether `w` is still a worker of `masterPid` that accepts connections. */
async function stillAccepts(masterPid: number, w: WorkerId): Promise<boolean> {
  try {
    const stat = parseStat(await readFile(`/proc/${w.pid}/stat`, 'utf8'));
    if (stat.ppid !== masterPid || stat.start !== w.start || stat.state === 'Z') return false;
    return accepts(await readFile(`/proc/${w.pid}/cmdline`, 'utf8'));
  } catch {
    return false; // exited
  }
}

/**
 * The workers of `masterPid` that accept connections now (asynchronous: the agent's event loop keeps
 * serving). Read before a reload signal, they are the generation that must retire before "applied".
 */
export async function acceptingWorkerIds(masterPid: number): Promise<WorkerId[]> {
  const out: WorkerId[] = [];
  for (const pid of await childrenOf(masterPid)) {
    try {
      const stat = parseStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
      if (stat.ppid === masterPid && stat.state !== 'Z' && accepts(await readFile(`/proc/${pid}/cmdline`, 'utf8'))) out.push({ pid, start: stat.start });
    } catch {
      // exited while we looked
    }
  }
  return out;
}

/**
 * The master's child PIDs from /proc/PID/task/PID/children, or null where the kernel does not say
 * (then a reload's new workers cannot be told apart cheaply).
 */
export function childPids(masterPid: number): number[] | null {
  try {
    // Synchronous: a few microseconds for this one small file (a promise-based read costs tens).
    return readFileSync(`/proc/${masterPid}/task/${masterPid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return null;
  }
}

/** Those of `workers` that still accept connections. */
export async function stillAccepting(masterPid: number, workers: readonly WorkerId[]): Promise<WorkerId[]> {
  const out: WorkerId[] = [];
  for (const w of workers) if (await stillAccepts(masterPid, w)) out.push(w);
  return out;
}

/** Waits until none of `oldWorkers` accepts connections any more. */
export async function waitRetired(masterPid: number, oldWorkers: number[], timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const accepting = new Set(acceptingWorkers(masterPid));
    if (!oldWorkers.some((p) => accepting.has(p))) return;
    if (Date.now() > deadline) throw new Error(`old NGINX workers ${oldWorkers.join(',')} still accept after ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** Waits until no more than `workers` workers accept: a reload's old generation has retired. */
export async function waitOneGeneration(masterPid: number, workers: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (acceptingWorkers(masterPid).length > workers && Date.now() < deadline) await sleep(10);
}
