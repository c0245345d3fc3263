// Writes endpoint sets into NGINX's Lua shared dict over the control socket in private/. This path
// shares nothing with reloads: no queue, no lock, no wait for a confirmation. Per upstream, sends are
// serialized and always carry the newest set, so two quick updates cannot land in the wrong order.
import type { Logger } from '../log.ts';
import { ControlLanes } from './control-lanes.ts';
import type { EndpointStore } from './endpoint-store.ts';

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

  /** Sends every set (a restarted master starts with an empty dict); resolves with the failures. */
  pushAll(concurrency = 16): Promise<string[]> {
    return this.lanes.pushAll(this.store.all().map((s) => s.upstream), concurrency);
  }

  close(): void {
    this.lanes.close();
  }
}
