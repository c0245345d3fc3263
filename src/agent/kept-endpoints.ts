// The endpoint sets on disk, for the next agent. With the Lua module they live only in NGINX's shared
// dict, which dies with NGINX: an agent whose container restarted (NGINX gone, the prefix kept) would
// serve its kept fragments without endpoints, 503 for every proxied location until the snapshot.
// So the agent writes them to private/endpoints.kept, a second after the last change (never on the
// endpoint path, which does not wait for the disk), and reads them back at start (kept-config.ts).
import type { Logger } from '../log.ts';
import type { EndpointStore } from './endpoint-store.ts';
import type { PrefixLayout } from './layout.ts';
import { RepeatedError } from './repeated-log.ts';

/** Writes the endpoint sets to the prefix after changes, coalesced. */
export class KeptEndpointsWriter {
  private readonly layout: PrefixLayout;
  private readonly store: EndpointStore;
  private readonly failures: RepeatedError;
  private readonly delayMs: number;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private again = false;

  constructor(o: { layout: PrefixLayout; store: EndpointStore; logger: Logger; delayMs?: number }) {
    this.layout = o.layout;
    this.store = o.store;
    this.failures = new RepeatedError(o.logger);
    this.delayMs = o.delayMs ?? 1000;
  }

  /** Endpoint sets changed: write them soon. */
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
        const lines = this.store.all().filter((s) => s.endpoints && s.endpoints.length > 0).map((s) => `${s.upstream} ${s.endpoints!.join(' ')}\n`);
        try {
          await this.layout.writeAtomic(this.layout.keptEndpoints, lines.join(''), 0o600);
          this.failures.ended();
        } catch (e) {
          this.failures.failed('cannot keep the endpoint sets on disk for the next agent', (e as Error).message);
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
