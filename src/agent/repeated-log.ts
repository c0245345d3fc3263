// One log line for an error that repeats: the first time it is logged at once; while the same error
// comes back (a full disk, every retry) it is only counted, with a reminder carrying the count at
// most once per `reminderMs`; when it changes or stops, one line says how often it came back.
import type { Logger } from '../log.ts';

/** Logs a failure once, then counts its repeats. */
export class RepeatedError {
  private readonly log: Logger;
  private readonly reminderMs: number;
  private key: string | null = null;
  private repeats = 0;
  private since = 0;
  private lastLine = 0;

  constructor(log: Logger, reminderMs = 60_000) {
    this.log = log;
    this.reminderMs = reminderMs;
  }

  /** A failure: `error` names it (numbers of temp files are not part of its identity). */
  failed(msg: string, error: string, fields: Record<string, unknown> = {}): void {
    const key = `${msg}\0${error.replace(/\.wharf-tmp-\d+-\d+/g, '.wharf-tmp')}`;
    const now = Date.now();
    if (key === this.key) {
      this.repeats++;
      if (now - this.lastLine >= this.reminderMs) {
        this.log.error(`${msg} (again: ${this.repeats + 1} times in ${Math.round((now - this.since) / 1000)} s)`, { ...fields, error, times: this.repeats + 1 });
        this.lastLine = now;
      }
      return;
    }
    this.ended();
    this.key = key;
    this.since = this.lastLine = now;
    this.log.error(msg, { ...fields, error });
  }

  /** The failure is over (a success, or another failure follows). */
  ended(): void {
    if (this.key !== null && this.repeats > 0) {
      const [msg, error] = this.key.split('\0');
      this.log.warn(`${msg}: the same error came back ${this.repeats} more times in ${Math.round((Date.now() - this.since) / 1000)} s`, { error, times: this.repeats + 1 });
    }
    this.key = null;
    this.repeats = 0;
  }
}
