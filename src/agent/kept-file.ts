// A file in the agent's private directory that keeps what only NGINX's shared dicts hold (endpoint
// sets, certificates) for the next agent: written a moment after the last change, never on the path
// that changed it (which does not wait for the disk), atomically and with mode 0600; a write that
// fails is logged once with a count and tried again at the next change.
import type { Logger } from '../log.ts';
import type { PrefixLayout } from './layout.ts';
import { RepeatedError } from './repeated-log.ts';

export class KeptFile {
  private readonly layout: PrefixLayout;
  private readonly path: string;
  private readonly content: () => string;
  private readonly what: string;
  private readonly failures: RepeatedError;
  private readonly delayMs: number;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private again = false;

  /** `content()` is the whole file; `what` names it in the log ("the endpoint sets"). */
  constructor(o: { layout: PrefixLayout; path: string; content: () => string; what: string; logger: Logger; delayMs?: number }) {
    this.layout = o.layout;
    this.path = o.path;
    this.content = o.content;
    this.what = o.what;
    this.failures = new RepeatedError(o.logger);
    this.delayMs = o.delayMs ?? 1000;
  }

  /** What it keeps changed: write it soon. */
  changed(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, this.delayMs);
    this.timer.unref();
  }

  /** Writes now (and once more if changes came during a write). */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.writing) {
      this.again = true;
      return this.writing;
    }
    this.writing = (async () => {
      do {
        this.again = false;
        try {
          await this.layout.writeAtomic(this.path, this.content(), 0o600);
          this.failures.ended();
        } catch (e) {
          this.failures.failed(`cannot keep ${this.what} on disk for the next agent`, (e as Error).message);
        }
      } while (this.again);
    })();
    try {
      await this.writing;
    } finally {
      this.writing = null;
    }
  }
}
