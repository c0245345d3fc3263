// Per-key writes to NGINX's control socket in private/ (endpoint sets, certificates), shared by the
// pushers of both. Per key, sends are serialized and always carry the newest state: a push while one
// is in flight waits for it and then sends once more, however many pushes came meanwhile, so two
// quick updates cannot land in the wrong order. Nothing here waits for a reload.
import { http } from './node-http.ts';
import { unixRequest, type UnixReply } from './unix-http.ts';

interface Lane {
  inflight: Promise<boolean> | null;
  queued: Promise<boolean> | null;
}

export class ControlLanes {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 16, keepAliveMsecs: 1000 });
  private readonly lanes = new Map<string, Lane>();
  private readonly socketPath: string;
  private readonly send: (key: string) => Promise<boolean>;

  /** `send(key)` writes the key's current state; true once NGINX holds it. */
  constructor(socketPath: string, send: (key: string) => Promise<boolean>) {
    this.socketPath = socketPath;
    this.send = send;
  }

  /** Sends the current state of `key`; resolves with what the send that carried it resolved. */
  push(key: string): Promise<boolean> {
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { inflight: null, queued: null };
      this.lanes.set(key, lane);
    }
    if (lane.queued) return lane.queued;
    if (lane.inflight) {
      const l = lane;
      l.queued = lane.inflight.then(() => {
        l.inflight = l.queued;
        l.queued = null;
        return this.run(key, l);
      });
      return l.queued;
    }
    lane.inflight = this.run(key, lane);
    return lane.inflight;
  }

  /**
   * Sends the current state of many keys through `sendMany` (one request for many keys); a key with
   * a send in flight goes through push() instead, so per key the order holds. Resolves with what
   * each key's send resolved.
   */
  async pushMany(keys: readonly string[], sendMany: (keys: string[]) => Promise<Map<string, boolean>>): Promise<Map<string, boolean>> {
    const idle = keys.filter((k) => !this.lanes.has(k));
    const busy = keys.filter((k) => this.lanes.has(k));
    const sent = idle.length > 0 ? sendMany(idle).catch(() => new Map<string, boolean>()) : Promise.resolve(new Map<string, boolean>());
    const out = new Map<string, boolean>();
    const waits = busy.map(async (k) => void out.set(k, await this.push(k)));
    for (const key of idle) {
      // Pushes of these keys while the request is in flight queue behind it (see push).
      const lane: Lane = { inflight: null, queued: null };
      lane.inflight = sent.then((m) => m.get(key) ?? false);
      void lane.inflight.then(() => {
        if (!lane.queued && this.lanes.get(key) === lane) this.lanes.delete(key);
      });
      this.lanes.set(key, lane);
      waits.push(lane.inflight.then((ok) => void out.set(key, ok)));
    }
    await Promise.all(waits);
    return out;
  }

  private async run(key: string, lane: Lane): Promise<boolean> {
    try {
      return await this.send(key);
    } finally {
      if (lane.inflight && !lane.queued) {
        // Last send of this lane: drop it so idle keys hold no memory here.
        queueMicrotask(() => {
          if (!lane.queued && this.lanes.get(key) === lane) this.lanes.delete(key);
        });
      }
    }
  }

  /** One request to the control socket; a kept-alive connection to a worker that is retiring after a
   * reload fails, and the request goes once more on a fresh one. */
  async request(path: string, r: { method: string; body?: string | undefined }): Promise<UnixReply> {
    try {
      return await unixRequest({ socketPath: this.socketPath, path, ...r, agent: this.agent, timeoutMs: 2000 });
    } catch {
      return unixRequest({ socketPath: this.socketPath, path, ...r, agent: false, timeoutMs: 2000 });
    }
  }

  /** Pushes every key, `concurrency` at a time (a restarted master starts empty); resolves with the failures. */
  async pushAll(keys: readonly string[], concurrency = 16): Promise<string[]> {
    const failed: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < keys.length) {
        const key = keys[next++]!;
        if (!(await this.push(key))) failed.push(key);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, keys.length) }, worker));
    return failed;
  }

  close(): void {
    this.agent.destroy();
  }
}
