// Which fragments the agents hold quarantined, with NGINX's error line, so that the Ingresses those
// fragments carry get a `Rejected` Event that says what NGINX refused. An agent learns it only when
// its reload runs `nginx -t`, after the push returned, so the handler asks: every agent's
// `GET /v1/state?summary=1` (a few hundred bytes) every interval, and the full state (every fragment
// with its status and error) only from agents whose summary counts quarantined fragments, or did at
// the previous look (to see them leave quarantine).
import type { Logger } from '../log.ts';

/** fragment name → NGINX's error line (the first agent that reported it). */
export type Quarantined = ReadonlyMap<string, string>;

export interface QuarantineWatchOptions {
  /** The agents' base URLs right now (discovery may change them). */
  agents: () => string[];
  token: string;
  log: Logger;
  /** Told the whole new map whenever it differs from the previous one. */
  onChange: (quarantined: Quarantined, previous: Quarantined) => void;
  intervalMs?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

interface StateSummary {
  counts?: { quarantined?: number };
  fragments?: { name: string; status?: string; error?: string; deleted?: boolean }[];
}

/** Polls the agents for quarantined fragments. */
export class QuarantineWatch {
  readonly #o: QuarantineWatchOptions;
  #current: Quarantined = new Map();
  /** Agents whose last look found quarantined fragments: look at their full state next time too. */
  #hadSome = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #polling: Promise<void> | null = null;

  constructor(options: QuarantineWatchOptions) {
    this.#o = options;
  }

  get current(): Quarantined {
    return this.#current;
  }

  start(): void {
    const every = this.#o.intervalMs ?? 10_000;
    this.#timer = setInterval(() => void this.poll(), every);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#polling;
  }

  /** Looks once at every agent (one look at a time); an agent that does not answer keeps what it said last. */
  poll(): Promise<void> {
    this.#polling ??= this.#poll().finally(() => (this.#polling = null));
    return this.#polling;
  }

  async #poll(): Promise<void> {
    const urls = this.#o.agents();
    const next = new Map<string, string>();
    const answered = await Promise.all(
      urls.map(async (url) => {
        try {
          const summary = await this.#get(url, '/v1/state?summary=1');
          const some = (summary.counts?.quarantined ?? 0) > 0;
          if (!some && !this.#hadSome.has(url)) return { url, fragments: [] };
          return { url, fragments: (await this.#get(url, '/v1/state')).fragments ?? [] };
        } catch (e) {
          this.#o.log.debug('could not ask an agent for quarantined fragments', { agent: url, error: (e as Error).message });
          return null;
        }
      }),
    );
    for (const a of answered) {
      if (!a) continue;
      const mine = a.fragments.filter((f) => f.status === 'quarantined' && !f.deleted);
      if (mine.length) this.#hadSome.add(a.url);
      else this.#hadSome.delete(a.url);
      for (const f of mine) if (!next.has(f.name)) next.set(f.name, f.error ?? 'nginx -t refused it (the agent gave no error line)');
    }
    // An agent that did not answer: keep what was known of the fragments it reported before.
    if (answered.some((a) => a === null)) for (const [name, error] of this.#current) if (!next.has(name)) next.set(name, error);
    const previous = this.#current;
    if (previous.size === next.size && [...next].every(([k, v]) => previous.get(k) === v)) return;
    this.#current = next;
    this.#o.log.info('quarantined fragments', { fragments: [...next.keys()].slice(0, 20), count: next.size });
    this.#o.onChange(next, previous);
  }

  async #get(url: string, path: string): Promise<StateSummary> {
    const res = await (this.#o.fetch ?? fetch)(`${url.replace(/\/+$/, '')}${path}`, {
      headers: { authorization: `Bearer ${this.#o.token}` },
      signal: AbortSignal.timeout(this.#o.timeoutMs ?? 10_000),
    });
    if (!res.ok) throw new Error(`GET ${url}${path}: ${res.status}`);
    return (await res.json()) as StateSummary;
  }
}
