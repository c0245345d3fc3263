// The OCSP stapler's metrics, in the agent's registry: what each fetch came to, how many certificates
// have a response stapled, how soon the first one expires, and which certificates the responder says
// are revoked. Names and counts only: never a response, never a key.
import { createRequire } from 'node:module';
import type * as Prom from 'prom-client';

const require = createRequire(import.meta.url);
const Counter: typeof Prom.Counter = require('prom-client/lib/counter');
const Gauge: typeof Prom.Gauge = require('prom-client/lib/gauge');

/** What one fetch came to: stapled (good), revoked, unknown, failed (network, HTTP, content), refused (by NGINX's check). */
export type OcspOutcome = 'good' | 'revoked' | 'unknown' | 'failed' | 'refused';

/** What the gauges read on each scrape. */
export interface OcspSources {
  /** Expiry (ms since the epoch) of every response NGINX holds now. */
  expiries: () => number[];
  revoked: () => string[];
}

export class OcspMetrics {
  private readonly fetches: Prom.Counter<'result'>;

  constructor(registry: Prom.Registry, src: OcspSources) {
    const registers = [registry];
    this.fetches = new Counter({
      name: 'wharf_agent_ocsp_fetches_total',
      help: 'OCSP responses fetched by the agent (enable-ocsp), by result: good (stapled), revoked, unknown, failed (responder down, HTTP error, not a response about this certificate), refused (NGINX\'s check).',
      labelNames: ['result'],
      registers,
    });
    for (const result of ['good', 'revoked', 'unknown', 'failed', 'refused'] as const) this.fetches.inc({ result }, 0);
    new Gauge({
      name: 'wharf_agent_ocsp_staples',
      help: 'Certificates with an OCSP response stapled now.',
      registers,
      collect() {
        const now = Date.now();
        this.set(src.expiries().filter((t) => t > now).length);
      },
    });
    new Gauge({
      name: 'wharf_agent_ocsp_staple_expiry_seconds',
      help: 'Seconds until the first stapled OCSP response expires (its nextUpdate); 0 when none is stapled. The agent renews each halfway.',
      registers,
      collect() {
        const now = Date.now();
        const left = src.expiries().filter((t) => t > now);
        this.set(left.length ? (Math.min(...left) - now) / 1000 : 0);
      },
    });
    new Gauge({
      name: 'wharf_agent_ocsp_revoked',
      help: '1 for each certificate its OCSP responder says is revoked (not stapled).',
      labelNames: ['certificate'],
      registers,
      collect() {
        this.reset();
        for (const certificate of src.revoked()) this.set({ certificate }, 1);
      },
    });
  }

  fetched(result: OcspOutcome): void {
    this.fetches.inc({ result });
  }
}
