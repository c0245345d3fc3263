// Confirms a reload: polls GET /configVersion on a fresh connection every few ms until a worker
// answers the new version, then until the old generation of workers has stopped accepting (NGINX's
// master lets them accept for about 100 ms after the new ones start: see nginx-workers.ts). Only then
// is a new connection certain to get the new configuration, which is what "applied" promises. Ends
// early when the master refuses the configuration (an [emerg] line from the master), when the
// master exits, or when the agent stops.
import { setTimeout as sleep } from 'node:timers/promises';
import type { NginxExit, NginxLogLine, NginxProcess } from './nginx-process.ts';
import { childPids, stillAccepting, type WorkerId } from './nginx-workers.ts';
import { readConfigVersion } from './unix-http.ts';

export type ConfirmOutcome =
  /** `retireMs`: how long the old workers kept accepting after the new version answered. */
  | { kind: 'confirmed'; retireMs?: number }
  | { kind: 'rejected'; line: string }
  | { kind: 'exited'; detail: string }
  | { kind: 'timeout'; detail: string }
  | { kind: 'stopped' };

export interface ConfirmOptions {
  nginx: NginxProcess;
  socketPath: string;
  version: number;
  timeoutMs: number;
  intervalMs?: number;
  /** After a reload signal, an [emerg] line from the master means it kept its old configuration. A
   * master that is starting logs [emerg] for bind retries and may still come up: only its exit counts. */
  signal: 'reload' | 'start';
  /** The workers that accepted connections before the reload signal: they must stop accepting. */
  retiring?: readonly WorkerId[];
  /** The master's children before the reload signal (childPids): the version is asked for once another appears. */
  childrenBefore?: readonly number[] | null;
  isStopping: () => boolean;
}

export async function confirmVersion(o: ConfirmOptions): Promise<ConfirmOutcome> {
  const masterPid = o.nginx.pid;
  let outcome: ConfirmOutcome | null = null;
  let bindError: string | null = null;
  const onLine = (line: NginxLogLine) => {
    if (o.signal !== 'reload' || line.level !== 'emerg' || (line.pid !== masterPid && line.pid !== null)) return;
    // A port it cannot bind: the master retries for a few seconds before it gives the reload up, and
    // takes no other signal meanwhile. Only its final "still could not bind()" ends the attempt.
    if (/^bind\(\) to .* failed/.test(line.text)) {
      bindError ??= `[emerg] ${line.text}`;
      return;
    }
    outcome ??= { kind: 'rejected', line: bindError && /still could not bind/.test(line.text) ? bindError : `[emerg] ${line.text}` };
  };
  const onExit = (exit: NginxExit) => {
    outcome ??= { kind: 'exited', detail: exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}` };
  };
  o.nginx.on('line', onLine);
  o.nginx.on('exit', onExit);
  try {
    if (!o.nginx.running) return { kind: 'exited', detail: 'not running' };
    const deadline = performance.now() + o.timeoutMs;
    // While the master reads the new configuration (most of a reload of thousands of hosts: about a
    // second at 2,000), only the old workers answer, with the old version. Rather than ask them every
    // few ms (a connection and a request each: the agent's CPU and a worker's, taken from the
    // master's read), wait for the master's first new child, which /proc tells for a file read.
    const before = o.childrenBefore;
    if (o.signal === 'reload' && before && masterPid !== null) {
      for (;;) {
        if (o.isStopping()) return { kind: 'stopped' };
        if (outcome) return outcome;
        const now = childPids(masterPid);
        if (now === null || now.some((pid) => !before.includes(pid))) break;
        if (performance.now() > deadline) return { kind: 'timeout', detail: `NGINX did not start the workers of config version ${o.version} within ${o.timeoutMs} ms` };
        await sleep(o.intervalMs ?? 3);
      }
    }
    for (;;) {
      if (o.isStopping()) return { kind: 'stopped' };
      if (outcome) return outcome;
      const v = await readConfigVersion(o.socketPath, 1000);
      if (v === o.version) break;
      if (outcome) return outcome;
      if (performance.now() > deadline) return { kind: 'timeout', detail: `NGINX did not serve config version ${o.version} within ${o.timeoutMs} ms` };
      await sleep(o.intervalMs ?? 3);
    }
    const served = performance.now();
    let retiring = o.retiring ?? [];
    while (retiring.length > 0 && masterPid !== null) {
      retiring = await stillAccepting(masterPid, retiring);
      if (retiring.length === 0) break;
      if (o.isStopping()) return { kind: 'stopped' };
      if (outcome) return outcome;
      if (performance.now() > deadline) {
        return { kind: 'timeout', detail: `NGINX's old workers (${retiring.map((w) => w.pid).join(', ')}) still accepted connections ${o.timeoutMs} ms after the reload to config version ${o.version}` };
      }
      await sleep(o.intervalMs ?? 3);
    }
    return { kind: 'confirmed', retireMs: performance.now() - served };
  } finally {
    o.nginx.off('line', onLine);
    o.nginx.off('exit', onExit);
  }
}
