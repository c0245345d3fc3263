// OCSP stapling (the ConfigMap's enable-ocsp, Lua mode): the agent, never an NGINX worker, asks each
// stored certificate's OCSP responder about it and hands a good answer to NGINX, which checks it
// (ngx.ocsp.validate_ocsp_response) and keeps it beside the certificate in the shared dict until its
// nextUpdate; handshakes staple it from memory. Apart from every other path: a responder that is
// slow or down delays no handshake and no certificate update, it only leaves the certificate without
// a staple. Answers are renewed halfway to their nextUpdate (jittered), failures retried with a
// growing, jittered delay. A revoked certificate is not stapled, logged once and counted. Responses
// never go to logs, metrics or /v1/state.
import { createHash } from 'node:crypto';
import type { Logger } from '../log.ts';
import { http, https } from './node-http.ts';
import { ocspRequest, readOcspResponse, type OcspAnswer } from './ocsp-der.ts';
import type { OcspMetrics, OcspOutcome } from './ocsp-metrics.ts';
import { ocspSignatureProblem } from './ocsp-signature.ts';
import { ocspTarget, type OcspTarget } from './ocsp-target.ts';
import type { UnixReply } from './unix-http.ts';

export interface OcspStaplerOptions {
  logger: Logger;
  /** The PEM chain (leaf first) of a stored certificate; null when none is stored. */
  chainOf: (name: string) => string | null;
  /** Every stored certificate's name. */
  names: () => string[];
  /** The store's name as NGINX's control socket spells it (`_.x` is `*.x`). */
  nginxName: (name: string) => string;
  /** One request to NGINX's certificate control socket. */
  request: (path: string, r: { method: string; body?: string }) => Promise<UnixReply>;
  metrics: OcspMetrics;
  /** Per request to a responder (default 5000). */
  timeoutMs?: number;
  /** The first retry after a failure (default 10 s); each next one waits twice as long, up to maxRetryMs (default 1 h). */
  retryMs?: number;
  maxRetryMs?: number;
  /** Requests to responders at once (default 8): a snapshot of thousands of certificates is no burst. */
  concurrency?: number;
}

interface Entry {
  /** Digest of the chain asked about; a new chain is a new entry. */
  chain: string;
  target: OcspTarget | null;
  timer: NodeJS.Timeout | null;
  failures: number;
  /** What NGINX holds: the DER response (kept to write it again after a restart) and when it expires. */
  held: { base64: string; expires: number } | null;
  revoked: boolean;
  /** What GET /v1/state says: the last outcome (never the response). */
  status: OcspStatus;
  /** The last problem logged, so that a repeat is not logged again. */
  reported: string | null;
  queued: boolean;
}

/** A certificate's stapling as GET /v1/state shows it. */
export type OcspStatus = 'fetching' | 'stapled' | 'revoked' | 'unknown' | 'failing' | 'no issuer';

/** Without a nextUpdate a response is trusted for this long. */
const NO_NEXT_UPDATE_MS = 3600_000;
const MAX_RESPONSE_BYTES = 64 * 1024;

/** When to renew an answer valid until `nextUpdate`: halfway from now, ±10 %, at least 1 s. */
export function renewDelayMs(now: number, nextUpdate: number, random = Math.random): number {
  return Math.max(1000, ((nextUpdate - now) / 2) * (0.9 + 0.2 * random()));
}

/** The wait before retry number `failures` (1, 2, …): base × 2^(failures−1), capped, ±20 %. */
export function retryDelayMs(failures: number, baseMs: number, maxMs: number, random = Math.random): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(30, failures - 1)) * (0.8 + 0.4 * random());
}

export class OcspStapler {
  private readonly o: Required<Omit<OcspStaplerOptions, 'logger'>> & { logger: Logger };
  private readonly entries = new Map<string, Entry>();
  private readonly queue: string[] = [];
  private running = 0;
  private enabled = false;
  private closed = false;
  private readonly inflight = new Set<AbortController>();

  constructor(o: OcspStaplerOptions) {
    this.o = { timeoutMs: 5000, retryMs: 10_000, maxRetryMs: 3600_000, concurrency: 8, ...o, logger: o.logger.child({ component: 'ocsp' }) };
  }

  /** enable-ocsp as the applied `_main` says; turning it off removes every staple. */
  setEnabled(on: boolean): void {
    if (on === this.enabled || this.closed) return;
    this.enabled = on;
    this.o.logger.info(on ? 'OCSP stapling on (enable-ocsp): fetching the responses of certificates that name a responder' : 'OCSP stapling off (enable-ocsp)');
    if (on) for (const name of this.o.names()) this.stored(name);
    else for (const name of [...this.entries.keys()]) this.forget(name, true);
  }

  /** Responses NGINX holds now (expiry times), for the metrics. */
  expiries(): number[] {
    return [...this.entries.values()].flatMap((e) => (e.held ? [e.held.expires] : []));
  }

  /** The stapling of a certificate (undefined: off, or no responder named). */
  statusOf(name: string): OcspStatus | undefined {
    const e = this.entries.get(name);
    return e && (e.target || e.status === 'no issuer') ? e.status : undefined;
  }

  revokedNames(): string[] {
    return [...this.entries].filter(([, e]) => e.revoked).map(([n]) => n).sort();
  }

  /**
   * NGINX stored (or removed) the certificate `name`: its new version has no response yet. The same
   * chain gets the response held again at once; another chain is asked about anew.
   */
  stored(name: string): void {
    if (!this.enabled || this.closed) return;
    const chain = this.o.chainOf(name);
    if (chain === null) return this.forget(name, false);
    const digest = createHash('sha256').update(chain).digest('hex');
    const e = this.entries.get(name);
    if (e && e.chain === digest) {
      // Not written (NGINX busy, or the response no longer passes its check): asked for anew.
      if (e.held && e.held.expires > Date.now()) void this.write(name, e, e.held.base64, e.held.expires).then((r) => r && r.status !== 200 && this.enqueue(name));
      return;
    }
    this.forget(name, false);
    const target = ocspTarget(chain);
    const entry: Entry = { chain: digest, target: target && 'url' in target ? target : null, timer: null, failures: 0, held: null, revoked: false, reported: null, queued: false, status: target && 'missing' in target ? 'no issuer' : 'fetching' };
    this.entries.set(name, entry);
    if (target && 'missing' in target) this.report(name, entry, `certificate names an OCSP responder but ${target.missing}: not stapled`, 'warn');
    if (entry.target) this.enqueue(name);
  }

  private forget(name: string, removeStaple: boolean): void {
    const e = this.entries.get(name);
    if (!e) return;
    if (e.timer) clearTimeout(e.timer);
    this.entries.delete(name);
    if (removeStaple && e.held) void this.o.request(`/certificates/${this.o.nginxName(name)}/ocsp`, { method: 'DELETE' }).catch(() => {});
  }

  private enqueue(name: string): void {
    const e = this.entries.get(name);
    if (!e || e.queued) return;
    e.queued = true;
    this.queue.push(name);
    this.drain();
  }

  private drain(): void {
    while (this.running < this.o.concurrency && this.queue.length && !this.closed) {
      const name = this.queue.shift()!;
      const e = this.entries.get(name);
      if (!e || !e.queued) continue;
      e.queued = false;
      this.running++;
      void this.fetch(name, e).finally(() => {
        this.running--;
        this.drain();
      });
    }
  }

  private schedule(name: string, e: Entry, ms: number): void {
    if (e.timer) clearTimeout(e.timer);
    e.timer = setTimeout(() => {
      e.timer = null;
      if (this.entries.get(name) === e) this.enqueue(name);
    }, ms);
    e.timer.unref();
  }

  private async fetch(name: string, e: Entry): Promise<void> {
    const t = e.target!;
    let answer: OcspAnswer;
    let der: Buffer;
    try {
      der = await this.post(t.url, ocspRequest(t.id));
      answer = readOcspResponse(der, t.id);
    } catch (err) {
      return this.failed(name, e, 'failed', `cannot fetch the OCSP response from ${t.url}: ${(err as Error).message}`);
    }
    if (this.entries.get(name) !== e) return;
    const unsigned = ocspSignatureProblem(answer.signed, t.issuer);
    if (unsigned) return this.failed(name, e, 'failed', `the OCSP response from ${t.url} is refused: ${unsigned}`);
    const now = Date.now();
    if (answer.status === 'revoked') {
      this.o.metrics.fetched('revoked');
      if (e.held) void this.o.request(`/certificates/${this.o.nginxName(name)}/ocsp`, { method: 'DELETE' }).catch(() => {});
      e.held = null;
      e.revoked = true;
      e.status = 'revoked';
      e.failures = 0;
      this.report(name, e, 'the OCSP responder says this certificate is revoked: not stapled', 'error');
      return this.schedule(name, e, renewDelayMs(now, answer.nextUpdate?.getTime() ?? now + NO_NEXT_UPDATE_MS));
    }
    e.revoked = false;
    if (answer.status === 'unknown') return this.failed(name, e, 'unknown', `the OCSP responder ${t.url} does not know this certificate: not stapled`);
    const expires = Math.min(answer.nextUpdate?.getTime() ?? now + NO_NEXT_UPDATE_MS, t.notAfter.getTime());
    if (answer.thisUpdate.getTime() > now + 300_000) return this.failed(name, e, 'failed', `the OCSP response from ${t.url} starts in the future (thisUpdate ${answer.thisUpdate.toISOString()})`);
    if (expires <= now + 1000) return this.failed(name, e, 'failed', `the OCSP response from ${t.url} is out of date (nextUpdate ${answer.nextUpdate?.toISOString()})`);
    const reply = await this.write(name, e, der.toString('base64'), expires);
    if (!reply) return;
    if (reply.status !== 200) return this.failed(name, e, reply.status === 422 ? 'refused' : 'failed', `NGINX did not take the OCSP response: ${reply.body.trim().slice(0, 200)}`);
    this.o.metrics.fetched('good');
    e.status = 'stapled';
    e.failures = 0;
    if (e.reported) this.o.logger.info('OCSP response stapled again', { certificate: name });
    e.reported = null;
    this.schedule(name, e, renewDelayMs(now, expires));
  }

  /** Writes a response to NGINX for the certificate it stores now; null when `e` is gone meanwhile. */
  private async write(name: string, e: Entry, base64: string, expires: number): Promise<UnixReply | null> {
    const ttl = Math.max(1, Math.floor((expires - Date.now()) / 1000));
    let reply: UnixReply;
    try {
      reply = await this.o.request(`/certificates/${this.o.nginxName(name)}/ocsp?ttl=${ttl}`, { method: 'PUT', body: base64 });
    } catch (err) {
      reply = { status: 0, body: (err as Error).message };
    }
    if (this.entries.get(name) !== e) {
      // Turned off or forgotten while this was in flight: NGINX took it after the removal.
      if (reply.status === 200) void this.o.request(`/certificates/${this.o.nginxName(name)}/ocsp`, { method: 'DELETE' }).catch(() => {});
      return null;
    }
    e.held = reply.status === 200 ? { base64, expires } : null;
    return reply;
  }

  private failed(name: string, e: Entry, outcome: OcspOutcome, why: string): void {
    if (this.entries.get(name) !== e || this.closed) return;
    this.o.metrics.fetched(outcome);
    e.failures++;
    // A response still held keeps being stapled meanwhile.
    e.status = e.held && e.held.expires > Date.now() ? 'stapled' : outcome === 'unknown' ? 'unknown' : 'failing';
    this.report(name, e, why, 'warn');
    // What NGINX holds stays until its nextUpdate (the dict expires it); the agent forgets it then too.
    if (e.held && e.held.expires <= Date.now()) e.held = null;
    this.schedule(name, e, retryDelayMs(e.failures, this.o.retryMs, this.o.maxRetryMs));
  }

  /** Logs a problem of a certificate once, until it changes or ends. */
  private report(name: string, e: Entry, why: string, level: 'warn' | 'error'): void {
    if (e.reported === why) return;
    e.reported = why;
    this.o.logger[level](why, { certificate: name });
  }

  /** POSTs a request to a responder: the whole answer within the timeout, 64 KiB at most. */
  private post(url: string, body: Buffer): Promise<Buffer> {
    const u = new URL(url);
    const abort = new AbortController();
    this.inflight.add(abort);
    const timer = setTimeout(() => abort.abort(new Error(`no answer in ${this.o.timeoutMs} ms`)), this.o.timeoutMs);
    return new Promise<Buffer>((resolve, reject) => {
      const req = (u.protocol === 'https:' ? https() : http).request(
        u,
        { method: 'POST', signal: abort.signal, agent: false, headers: { 'content-type': 'application/ocsp-request', accept: 'application/ocsp-response', 'content-length': body.length } },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            return reject(new Error(`the responder answered HTTP ${res.statusCode}`));
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_RESPONSE_BYTES) req.destroy(new Error('the answer is larger than 64 KiB'));
            else chunks.push(c);
          });
          res.on('end', () => resolve(Buffer.concat(chunks)));
          res.on('error', reject);
        },
      );
      req.on('error', (err) => reject(abort.signal.aborted && abort.signal.reason instanceof Error ? abort.signal.reason : err));
      req.end(body);
    }).finally(() => {
      clearTimeout(timer);
      this.inflight.delete(abort);
    });
  }

  /** Stops every timer and request (the agent stops). */
  close(): void {
    this.closed = true;
    for (const e of this.entries.values()) if (e.timer) clearTimeout(e.timer);
    for (const a of this.inflight) a.abort(new Error('the agent stops'));
  }
}
