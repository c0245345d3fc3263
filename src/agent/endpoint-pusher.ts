// Writes endpoint sets into NGINX's Lua shared dict over the control socket in private/. This path
// shares nothing with reloads: no queue, no lock, no wait for a confirmation. Per upstream, sends are
// serialized and always carry the newest set, so two quick updates cannot land in the wrong order.
import type { Logger } from '../log.ts';
import { ControlLanes } from './control-lanes.ts';
import type { EndpointStore } from './endpoint-store.ts';

/** A bulk request's body, at most about this (NGINX's control socket takes 4 MiB). */
const MANY_BYTES = 512 * 1024;

export class EndpointPusher {
  private readonly store: EndpointStore;
  private readonly log: Logger;
  private readonly lanes: ControlLanes;

  constructor(opts: { socketPath: string; store: EndpointStore; logger: Logger }) {
    this.store = opts.store;
    this.log = opts.logger;
    this.lanes = new ControlLanes(opts.socketPath, (upstream) => this.send(upstream));
  }

  /**
   * Sends the current set of `upstream` to NGINX; true once NGINX holds a revision at least as new as
   * the one current when this was called, false when NGINX could not be reached (the set stays in
   * memory and is sent again when NGINX is back).
   */
  push(upstream: string): Promise<boolean> {
    return this.lanes.push(upstream);
  }

  private async send(upstream: string): Promise<boolean> {
    const set = this.store.get(upstream);
    if (!set) return true;
    try {
      const revision = set.revision;
      const reply = await this.lanes.request(`/endpoints/${upstream}`, set.endpoints ? { method: 'PUT', body: set.endpoints.join(' ') } : { method: 'DELETE' });
      if (reply.status !== 200) throw new Error(`NGINX answered ${reply.status}: ${reply.body.trim()}`);
      this.store.markApplied(upstream, revision);
      return true;
    } catch (e) {
      this.log.warn('cannot write endpoints to NGINX; kept for when it is back', { upstream, error: e });
      return false;
    }
  }

  /**
   * Sends many sets (a complete batch: thousands) in a few requests rather than one each; a set the
   * bulk request did not store (or an NGINX whose Lua predates it) goes on its own. Resolves, per
   * upstream, as push() does.
   */
  async pushMany(upstreams: readonly string[]): Promise<Map<string, boolean>> {
    const results = await this.lanes.pushMany(upstreams, (keys) => this.sendMany(keys));
    const again = [...results].filter(([, ok]) => !ok).map(([upstream]) => upstream);
    await Promise.all(again.map(async (upstream) => void results.set(upstream, await this.push(upstream))));
    return results;
  }

  /** Sends every set (a restarted master starts with an empty dict); resolves with the failures. */
  async pushAll(): Promise<string[]> {
    const results = await this.pushMany(this.store.all().map((s) => s.upstream));
    return [...results].filter(([, ok]) => !ok).map(([upstream]) => upstream);
  }

  // PUT /endpoints with one line per set (balancer.lua's put_many), in bodies of about MANY_BYTES.
  private async sendMany(upstreams: string[]): Promise<Map<string, boolean>> {
    const out = new Map<string, boolean>();
    let lines: string[] = [];
    let sets: { upstream: string; revision: number }[] = [];
    let bytes = 0;
    const flush = async () => {
      if (sets.length === 0) return;
      const [body, sending] = [`${lines.join('\n')}\n`, sets];
      [lines, sets, bytes] = [[], [], 0];
      let answers: string[] = [];
      try {
        const reply = await this.lanes.request('/endpoints', { method: 'PUT', body });
        if (reply.status === 200) answers = reply.body.split('\n');
      } catch {
        // Sent again one by one (pushMany), which reports why.
      }
      sending.forEach((s, i) => {
        const ok = answers[i] === 'ok' && answers.length === sending.length + 1;
        if (ok) this.store.markApplied(s.upstream, s.revision);
        out.set(s.upstream, ok);
      });
    };
    for (const upstream of upstreams) {
      const set = this.store.get(upstream);
      if (!set) {
        out.set(upstream, true);
        continue;
      }
      const line = set.endpoints ? `put ${upstream} ${set.endpoints.join(' ')}` : `delete ${upstream}`;
      lines.push(line);
      sets.push({ upstream, revision: set.revision });
      bytes += line.length + 1;
      if (bytes >= MANY_BYTES) await flush();
    }
    await flush();
    return out;
  }

  close(): void {
    this.lanes.close();
  }
}
