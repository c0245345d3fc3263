// What a person sees while local mode runs: short lines for what was loaded, each configuration NGINX
// applied (version and reload time), each refused object with its reason. Every component's full
// structured log goes to a file beside it.
import { createWriteStream, type WriteStream } from 'node:fs';
import { createLogger, type Logger } from '../src/log.ts';

type Entry = Record<string, unknown> & { level: string; msg: string; component?: string };

// Quiet details: startup chatter and the event path's own retries are in the log file.
const QUIET = /^(agent API listening|handler listening|agents|cluster listed|relisted|agent answers|event delivery failed, retrying)$/;

export class Terminal {
  private readonly out: (line: string) => void;
  private readonly file: WriteStream;
  readonly logPath: string;

  constructor(out: (line: string) => void, logPath: string) {
    this.out = out;
    this.logPath = logPath;
    this.file = createWriteStream(logPath, { flags: 'a' });
  }

  /** A logger for one component: everything to the file, what matters to the terminal. */
  logger(component: string): Logger {
    return createLogger({ component }, (line) => {
      this.file.write(line);
      this.present(JSON.parse(line) as Entry);
    });
  }

  /** One line on the terminal: a word for what happened, then what. */
  say(what: string, text: string): void {
    this.out(`${what.padEnd(9)} ${text}`);
  }

  close(): Promise<void> {
    return new Promise((r) => this.file.end(r));
  }

  private present(e: Entry): void {
    const f = e as Record<string, unknown>;
    if (e.msg === 'reload confirmed') {
      const quarantined = (f.quarantined as { name: string; error: string }[] | undefined) ?? [];
      this.say('applied', `config version ${f.version} in ${f.ms} ms (${f.changes} change${f.changes === 1 ? '' : 's'})`);
      for (const q of quarantined) this.say('refused', `NGINX refused ${q.name}; its previous version keeps serving: ${q.error}`);
      return;
    }
    if (e.msg.startsWith('ready: NGINX')) return this.say('ready', 'NGINX serves the complete configuration');
    if (e.msg.startsWith('endpoint mode:')) return this.say('nginx', `${f.nginx} ${f.nginxVersion}, ${e.msg}`);
    if (e.msg.startsWith('fragment quarantined')) return; // reported with the reload above
    if ((e.level === 'warn' || e.level === 'error') && !QUIET.test(e.msg)) {
      const detail = f.error ?? f.reason ?? f.problems;
      const text = typeof detail === 'object' && detail !== null && 'message' in detail ? (detail as { message: string }).message : detail;
      this.say(e.level, `${e.component}: ${e.msg}${text ? `: ${typeof text === 'string' ? text : JSON.stringify(text)}` : ''}`);
    }
  }
}
