// The NGINX master as a child process: started in its own process group (so that workers orphaned by
// a master killed with SIGKILL can be found and stopped), its stderr turned into structured log
// lines, signals for reload and graceful stop, and `nginx -t` run asynchronously.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readFile, readdir } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.ts';
import type { PrefixLayout } from './layout.ts';
import { openAccessLogOutput, type AccessLogOutput } from './access-log-output.ts';
import { stripLogPrefix } from './nginx-error.ts';

/** One line NGINX wrote to stderr. */
export interface NginxLogLine {
  level: string;
  /** The process that wrote it (null for lines written before NGINX's log is set up). */
  pid: number | null;
  text: string;
  raw: string;
}

export interface NginxExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the agent asked NGINX to stop. */
  expected: boolean;
}

export interface NginxTestResult {
  ok: boolean;
  output: string;
  durationMs: number;
}

const logLevel: Record<string, 'debug' | 'info' | 'warn' | 'error'> = {
  emerg: 'error', alert: 'error', crit: 'error', error: 'error', warn: 'warn', notice: 'info', info: 'info', debug: 'debug',
};

/** Splits one NGINX log line into level, pid and text. */
export function parseLogLine(raw: string): NginxLogLine {
  const m = /^(?:\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d |nginx: )?\[(\w+)\] (?:(\d+)#\d+: )?/.exec(raw);
  return { level: m?.[1] ?? 'notice', pid: m?.[2] ? Number(m[2]) : null, text: stripLogPrefix(raw).replace(/^\[\w+\] /, ''), raw };
}

/** Processes in process group `pgid` that have not exited (zombies excluded). Linux only. */
export async function groupMembers(pgid: number): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/** The NGINX master this agent runs. Emits 'line' (NginxLogLine) and 'exit' (NginxExit). */
export class NginxProcess extends EventEmitter {
  private readonly bin: string;
  private readonly layout: PrefixLayout;
  private readonly log: Logger;
  private readonly accessLog: boolean;
  /** NGINX's stdout while the access log is on (opened at the first start, closed by stop()). */
  private accessLogOutput: AccessLogOutput | null = null;
  private child: ChildProcess | null = null;
  private stopping = false;
  private readonly recent: string[] = [];
  /** Process group of the last master: its orphaned workers are stopped before the next start. */
  private lastGroup: number | null = null;

  constructor(opts: { bin: string; layout: PrefixLayout; logger: Logger; accessLog: boolean }) {
    super();
    this.bin = opts.bin;
    this.layout = opts.layout;
    this.log = opts.logger.child({ component: 'nginx' });
    this.accessLog = opts.accessLog;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** NGINX's last stderr lines, for error messages. */
  recentOutput(): string {
    return this.recent.join('\n');
  }

  private args(conf: string): string[] {
    return ['-p', this.layout.prefix, '-c', conf, '-e', 'stderr'];
  }

  /** Starts the master on nginx.conf as it is on disk. */
  start(): number {
    if (this.child) throw new Error(`NGINX is already running (pid ${this.child.pid})`);
    this.stopping = false;
    if (this.accessLog) this.accessLogOutput ??= openAccessLogOutput(this.layout.runDir);
    const child = spawn(this.bin, this.args(this.layout.nginxConf), {
      detached: true,
      stdio: ['ignore', this.accessLogOutput?.stdio ?? 'ignore', 'pipe'],
    });
    this.child = child;
    child.on('error', (e) => this.log.error('cannot run NGINX', { bin: this.bin, error: e }));
    const lines = createInterface({ input: child.stderr! });
    lines.on('line', (raw) => this.onLine(raw));
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = null;
      this.lastGroup = child.pid ?? null;
      const exit: NginxExit = { code, signal, expected: this.stopping };
      if (!exit.expected) this.log.error('NGINX master exited', { code, signal, pid: child.pid });
      this.emit('exit', exit);
    });
    if (child.pid === undefined) {
      this.child = null;
      throw new Error(`cannot run ${this.bin}: spawn failed`);
    }
    this.lastGroup = child.pid;
    return child.pid;
  }

  private onLine(raw: string): void {
    if (!raw.trim()) return;
    const line = parseLogLine(raw);
    this.recent.push(raw);
    if (this.recent.length > 40) this.recent.shift();
    this.log[logLevel[line.level] ?? 'info'](line.text, { nginx_level: line.level, pid: line.pid });
    this.emit('line', line);
  }

  /** Asks the master to reload its configuration (SIGHUP). */
  reload(): void {
    if (!this.child?.pid) throw new Error('NGINX is not running');
    process.kill(this.child.pid, 'SIGHUP');
  }

  /** Kills the master at once (tests of supervision). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child?.pid) process.kill(this.child.pid, signal);
  }

  /**
   * Stops the workers a dead master left behind (they keep its ports) and the sockets it left on
   * disk, so that a new master can bind.
   */
  async cleanUpAfterExit(timeoutMs = 3000): Promise<void> {
    const group = this.lastGroup;
    if (group !== null && !this.child) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const members = await groupMembers(group);
        if (members.length === 0) break;
        for (const pid of members) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        if (Date.now() > deadline) {
          this.log.warn('processes of the previous NGINX are still running', { pids: members });
          break;
        }
        await sleep(20);
      }
    }
    await this.layout.removeStaleSockets();
  }

  /** Graceful stop: SIGQUIT (old workers finish their requests), then SIGKILL after `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    const child = this.child;
    this.stopping = true;
    if (!child?.pid) {
      this.closeAccessLog();
      return;
    }
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      process.kill(child.pid, 'SIGQUIT');
    } catch {
      // exited meanwhile
    }
    const timer = setTimeout(() => {
      this.log.warn('NGINX did not stop in time; killing it', { timeoutMs });
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }, timeoutMs);
    await exited;
    clearTimeout(timer);
    await this.cleanUpAfterExit(1000);
    this.closeAccessLog();
  }

  private closeAccessLog(): void {
    this.accessLogOutput?.close();
    this.accessLogOutput = null;
  }

  /** `nginx -t -q` on `conf`, asynchronously and at a lower CPU priority than the running workers. */
  test(conf: string): Promise<NginxTestResult> {
    const started = performance.now();
    return new Promise((resolve) => {
      const child = spawn(this.bin, [...this.args(conf), '-t', '-q'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let output = '';
      child.stderr!.on('data', (d: Buffer) => {
        if (output.length < 64 * 1024) output += d.toString();
      });
      if (child.pid) {
        try {
          setPriority(child.pid, 10);
        } catch {
          // not permitted: run at normal priority
        }
      }
      child.once('error', (e) => resolve({ ok: false, output: `cannot run ${this.bin} -t: ${e.message}`, durationMs: performance.now() - started }));
      child.once('close', (code) =>
        resolve({ ok: code === 0, output: output.trim() || (code === 0 ? '' : `nginx -t exited with ${code}`), durationMs: performance.now() - started }),
      );
    });
  }

  /**
   * Stops a master that a previous agent on the same prefix left running (an agent killed with
   * SIGKILL leaves its NGINX behind, holding the ports).
   */
  async stopStale(timeoutMs = 5000): Promise<void> {
    let pid: number;
    try {
      pid = Number((await readFile(this.layout.pidFile, 'utf8')).trim());
    } catch {
      return;
    }
    if (!Number.isSafeInteger(pid) || pid <= 1) return;
    let cmdline: string;
    try {
      cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replace(/\0/g, ' ');
    } catch {
      return;
    }
    if (!cmdline.includes('nginx: master process') || !cmdline.includes(`-c ${this.layout.nginxConf}`)) return;
    this.log.warn('stopping the NGINX a previous agent left running on this prefix', { pid });
    try {
      process.kill(pid, 'SIGQUIT');
    } catch {
      return;
    }
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && (await groupMembers(pid)).length > 0) await sleep(5);
    for (const p of await groupMembers(pid)) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await this.layout.removeStaleSockets();
  }
}
