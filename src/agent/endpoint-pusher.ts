// Writes endpoint sets into NGINX's Lua shared dict over the control socket in private/. This path
// shares nothing with reloads: no queue, no lock, no wait for a confirmation. Per upstream, sends are
// serialized and always carry the newest set, so two quick updates cannot land in the wrong order.
import { http } from './node-http.ts';
import type { Logger } from '../log.ts';
import type { EndpointStore } from './endpoint-store.ts';
import { unixRequest } from './unix-http.ts';

interface Lane {
  inflight: Promise<boolean> | null;
  queued: Promise<boolean> | null;
}

export class EndpointPusher {
  private readonly socketPath: string;
  private readonly store: EndpointStore;
  private readonly log: Logger;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 16, keepAliveMsecs: 1000 });
  private readonly lanes = new Map<string, Lane>();

  constructor(opts: { socketPath: string; store: EndpointStore; logger: Logger }) {
    this.socketPath = opts.socketPath;
    this.store = opts.store;
    this.log = opts.logger;
  }

  /**
   * Sends the current set of `upstream` to NGINX; true once NGINX holds a revision at least as new as
   * the one current when this was called, false when NGINX could not be reached (the set stays in
   * memory and is sent again when NGINX is back).
   */
  push(upstream: string): Promise<boolean> {
    let lane = this.lanes.get(upstream);
    if (!lane) {
      lane = { inflight: null, queued: null };
      this.lanes.set(upstream, lane);
    }
    if (lane.queued) return lane.queued;
    if (lane.inflight) {
      const l = lane;
      l.queued = lane.inflight.then(() => {
        l.inflight = l.queued;
        l.queued = null;
        return this.send(upstream, l);
      });
      return l.queued;
    }
    lane.inflight = this.send(upstream, lane);
    return lane.inflight;
  }

  private async send(upstream: string, lane: Lane): Promise<boolean> {
    const set = this.store.get(upstream);
    try {
      if (!set) return true;
      const revision = set.revision;
      const request = set.endpoints
        ? { method: 'PUT', body: set.endpoints.join(' ') }
        : { method: 'DELETE' as const, body: undefined };
      const path = `/endpoints/${upstream}`;
      let reply;
      try {
        reply = await unixRequest({ socketPath: this.socketPath, path, ...request, agent: this.agent, timeoutMs: 2000 });
      } catch {
        // A kept-alive connection to a worker that is retiring after a reload: once more, fresh.
        reply = await unixRequest({ socketPath: this.socketPath, path, ...request, agent: false, timeoutMs: 2000 });
      }
      if (reply.status !== 200) throw new Error(`NGINX answered ${reply.status}: ${reply.body.trim()}`);
      this.store.markApplied(upstream, revision);
      return true;
    } catch (e) {
      this.log.warn('cannot write endpoints to NGINX; kept for when it is back', { upstream, error: e });
      return false;
    } finally {
      if (lane.inflight && !lane.queued) {
        // Last send of this lane: drop it so idle upstreams hold no memory here.
        queueMicrotask(() => {
          if (!lane.queued && this.lanes.get(upstream) === lane) this.lanes.delete(upstream);
        });
      }
    }
  }

  /** Sends every set (a restarted master starts with an empty dict); resolves with the failures. */
  async pushAll(concurrency = 16): Promise<string[]> {
    const names = this.store.all().map((s) => s.upstream);
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
