// Every way out of local mode stops NGINX. NGINX runs detached (its own process group, so a reload
// or a Ctrl-C aimed at the terminal's group never reaches it half-way), which also means nothing
// stops it when this process goes away. So from the first line of `wharf local`: SIGINT, SIGTERM
// and SIGHUP (at start-up too) ask for the graceful stop; a second one, a crash (an uncaught
// exception or rejection) that the graceful stop cannot end in time, and any `process.exit` kill
// what still runs from NGINX's prefix before the process ends.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export interface ExitGuardOptions {
  /** NGINX's prefix (`-p`): the processes to stop are the ones started on it. */
  nginxPrefix: string;
  out: (line: string) => void;
  /** How long the graceful stop may take after a crash before NGINX is killed. */
  crashGraceMs?: number;
}

/** Why local mode stops: a signal's name, or `crash`. */
export type StopReason = (typeof SIGNALS)[number] | 'crash';

/** Installed once at the start of `wharf local`; see the file comment. */
export class ExitGuard {
  /** Aborted on the first way out: start-up and the running system stop on it. */
  readonly signal: AbortSignal;
  private readonly abort = new AbortController();
  private readonly o: Required<ExitGuardOptions>;
  private reason: StopReason | null = null;
  private readonly listeners: [string, (...args: any[]) => void][] = [];

  constructor(options: ExitGuardOptions) {
    this.o = { crashGraceMs: 15_000, ...options };
    this.signal = this.abort.signal;
    for (const s of SIGNALS) this.on(s, () => this.request(s));
    this.on('uncaughtException', (e: Error) => this.crash(e));
    this.on('unhandledRejection', (e: unknown) => this.crash(e));
    this.on('exit', () => this.killNginx());
  }

  /** Resolves with the reason of the first way out. */
  stopped(): Promise<StopReason> {
    if (this.reason) return Promise.resolve(this.reason);
    return new Promise((r) => this.signal.addEventListener('abort', () => r(this.reason!), { once: true }));
  }

  /**
   * After the graceful stop: kills whatever of NGINX is still there (nothing, normally) and takes
   * the handlers away, so that a signal now ends the process at once, as usual.
   */
  finish(): void {
    this.killNginx();
    for (const [event, fn] of this.listeners) process.off(event, fn);
    this.listeners.length = 0;
  }

  /** SIGKILLs every process of every NGINX started on the prefix (masters, workers, `nginx -t`). */
  killNginx(): number[] {
    const killed = nginxProcesses(this.o.nginxPrefix);
    for (const pid of killed) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    return killed;
  }

  private on(event: string, fn: (...args: any[]) => void): void {
    process.on(event, fn);
    this.listeners.push([event, fn]);
  }

  private request(reason: StopReason): void {
    if (this.reason) {
      this.o.out(`${reason === 'crash' ? 'crashed' : reason} again while stopping: killing NGINX and exiting now`);
      this.killNginx();
      process.exit(reason === 'crash' ? 1 : 130);
    }
    this.reason = reason;
    if (reason !== 'crash') this.o.out(`\n${reason}: stopping NGINX, the handler and the watcher (again to stop at once)`);
    this.abort.abort();
  }

  private crash(e: unknown): void {
    this.o.out(`wharf local crashed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exitCode = 1;
    if (this.reason) return this.request('crash');
    this.o.out('stopping NGINX, the handler and the watcher');
    this.request('crash');
    // What crashed may be what the graceful stop needs: bound it.
    setTimeout(() => {
      this.o.out(`not stopped after ${this.o.crashGraceMs} ms: killing NGINX`);
      this.killNginx();
      process.exit(1);
    }, this.o.crashGraceMs).unref();
  }
}

/**
 * PIDs of the processes NGINX runs on `prefix`: the masters (their command line names the prefix,
 * before and after NGINX rewrites its title), every process in their groups (the workers, whose
 * command line does not), and the group of a master that died without removing its pid file (its
 * workers still hold the ports). Only processes that are NGINX are counted.
 */
export function nginxProcesses(prefix: string): number[] {
  const procs: { pid: number; pgid: number; cmd: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue;
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      procs.push({ pid: Number(entry), pgid: Number(fields[2]), cmd });
    } catch {
      // exited while we looked
    }
  }
  const isNginx = (cmd: string) => /^(\S*\/)?nginx(:| )/.test(cmd);
  const groups = new Set(procs.filter((p) => isNginx(p.cmd) && ` ${p.cmd} `.includes(` -p ${prefix} `)).map((p) => p.pid));
  try {
    const pid = Number(readFileSync(join(prefix, 'run', 'nginx.pid'), 'utf8').trim());
    // Alive and not ours: the number was reused (by another NGINX, perhaps): not our group.
    if (Number.isSafeInteger(pid) && pid > 1 && (groups.has(pid) || !procs.some((p) => p.pid === pid))) groups.add(pid);
  } catch {
    // no pid file: NGINX never got that far, or removed it on a clean stop
  }
  return procs.filter((p) => isNginx(p.cmd) && (groups.has(p.pid) || groups.has(p.pgid))).map((p) => p.pid);
}
