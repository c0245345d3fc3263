// Writes certificates into NGINX's Lua certificate store over the control socket in private/. Like
// the endpoint path, it shares nothing with reloads: no queue, no lock, no wait for a confirmation.
// Per name, sends are serialized and always carry the newest certificate, so two quick renewals
// cannot land in the wrong order. Errors name the certificate, never its content.
import { http } from './node-http.ts';
import type { Logger } from '../log.ts';
import { sniName, type CertificateStore } from './certificate-store.ts';
import { unixRequest } from './unix-http.ts';

/** What a full store answers; the API turns it into 507 naming the flag that sizes the store. */
export const STORE_FULL = 'NGINX\'s certificate store is full: raise --certificate-store-size (the previous certificate keeps serving)';

interface Lane {
  inflight: Promise<boolean> | null;
  queued: Promise<boolean> | null;
}

export class CertificatePusher {
  private readonly socketPath: string;
  private readonly store: CertificateStore;
  private readonly log: Logger;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 16, keepAliveMsecs: 1000 });
  private readonly lanes = new Map<string, Lane>();

  constructor(opts: { socketPath: string; store: CertificateStore; logger: Logger }) {
    this.socketPath = opts.socketPath;
    this.store = opts.store;
    this.log = opts.logger;
  }

  /**
   * Sends the current certificate of `name` to NGINX; true once NGINX holds a revision at least as
   * new as the one current when this was called, false when it could not (the store says why).
   */
  push(name: string): Promise<boolean> {
    let lane = this.lanes.get(name);
    if (!lane) {
      lane = { inflight: null, queued: null };
      this.lanes.set(name, lane);
    }
    if (lane.queued) return lane.queued;
    if (lane.inflight) {
      const l = lane;
      l.queued = lane.inflight.then(() => {
        l.inflight = l.queued;
        l.queued = null;
        return this.send(name, l);
      });
      return l.queued;
    }
    lane.inflight = this.send(name, lane);
    return lane.inflight;
  }

  private async send(name: string, lane: Lane): Promise<boolean> {
    const c = this.store.get(name);
    try {
      if (!c) return true;
      const revision = c.revision;
      const request = c.pem ? { method: 'PUT', body: c.pem.cert + c.pem.key } : { method: 'DELETE' as const, body: undefined };
      const path = `/certificates/${sniName(name)}`;
      let reply;
      try {
        reply = await unixRequest({ socketPath: this.socketPath, path, ...request, agent: this.agent, timeoutMs: 2000 });
      } catch {
        // A kept-alive connection to a worker that is retiring after a reload: once more, fresh.
        reply = await unixRequest({ socketPath: this.socketPath, path, ...request, agent: false, timeoutMs: 2000 });
      }
      if (reply.status === 507) {
        this.store.markFailed(name, STORE_FULL);
        this.log.error('cannot store a certificate: NGINX\'s certificate store is full; raise --certificate-store-size', { certificate: name });
        return false;
      }
      if (reply.status !== 200) throw new Error(`NGINX answered ${reply.status}: ${reply.body.trim().slice(0, 200)}`);
      this.store.markApplied(name, revision);
      return true;
    } catch (e) {
      this.store.markFailed(name, `NGINX did not take it: ${(e as Error).message}`);
      this.log.warn('cannot write a certificate to NGINX; kept for when it is back', { certificate: name, error: (e as Error).message });
      return false;
    } finally {
      if (lane.inflight && !lane.queued) {
        queueMicrotask(() => {
          if (!lane.queued && this.lanes.get(name) === lane) this.lanes.delete(name);
        });
      }
    }
  }

  /** Sends every certificate (a restarted master starts with an empty store); resolves with the failures. */
  async pushAll(concurrency = 16): Promise<string[]> {
    const names = this.store.all().filter((c) => c.pem).map((c) => c.name);
    const failed: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < names.length) {
        const name = names[next++]!;
        if (!(await this.push(name))) failed.push(name);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, names.length) }, worker));
    return failed;
  }

  close(): void {
    this.agent.destroy();
  }
}
