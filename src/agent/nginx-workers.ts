// NGINX's master starts the new workers on a reload, then waits 100 ms before telling the old ones to
// stop accepting: for that long a connection may still get the old configuration. Whoever needs
// "only the new configuration answers" (local mode before it prints what to try, tests) waits for
// the old workers to retire. Linux only (reads /proc).
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** PIDs of the worker processes of the NGINX master `masterPid` that still accept connections. */
export function acceptingWorkers(masterPid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== masterPid) continue;
      const title = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (title.includes('worker process') && !title.includes('shutting down')) pids.push(Number(entry));
    } catch {
      // the process exited while we looked
    }
  }
  return pids;
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
