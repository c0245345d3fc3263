// The files of Gateway listeners on their own ports, kept in step with the fragments on disk: each
// fragment that includes `listen-http-8000.conf` needs that file (the agent's addresses with the
// port moved: src/render/listener-ports.ts) and the port's default server in listeners/. Files a
// fragment needs are written before NGINX tests it; files no fragment needs any more are removed
// once a reload is confirmed, and the next reload closes their sockets.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.ts';
import { listenerPortFiles, listenerPortsOf, type AgentListen, type ListenerPortRef } from '../render/listener-ports.ts';
import type { PrefixLayout } from './layout.ts';

const OWN_FILE = /^listen-(?:https?|h2c)-[1-9][0-9]{0,4}\.conf$/;

export class ListenerPortFiles {
  private readonly layout: PrefixLayout;
  private readonly listen: AgentListen;
  private readonly log: Logger;
  /** The ports each fragment on disk includes. */
  private readonly byFragment = new Map<string, Map<string, ListenerPortRef>>();
  /** Ports whose files are on disk. */
  private readonly written = new Set<string>();
  readonly dir: string;

  constructor(layout: PrefixLayout, listen: AgentListen, log: Logger) {
    this.layout = layout;
    this.listen = listen;
    this.log = log;
    this.dir = join(layout.prefix, 'listeners');
  }

  /** Removes what a previous agent wrote (its addresses may differ); the fragments' first write brings back what they need. */
  async prepare(): Promise<void> {
    await this.layout.remove(this.dir);
    await this.layout.ensureDir(this.dir, 0o755);
    for (const f of await readdir(this.layout.prefix)) if (OWN_FILE.test(f)) await this.layout.remove(join(this.layout.prefix, f));
  }

  /** A fragment's config on disk is now `config` (null: none). */
  track(name: string, config: string | null): void {
    const ports = config === null ? new Map() : listenerPortsOf(config);
    if (ports.size === 0) this.byFragment.delete(name);
    else this.byFragment.set(name, ports);
  }

  private needed(): Map<string, ListenerPortRef> {
    const out = new Map<string, ListenerPortRef>();
    for (const ports of this.byFragment.values()) for (const [k, r] of ports) out.set(k, r);
    return out;
  }

  /**
   * Writes the files of every port a fragment needs that are not on disk yet. A port the agent
   * cannot serve gets no file: NGINX's test then refuses the fragments that include it, by name.
   */
  async addMissing(): Promise<void> {
    for (const [key, ref] of this.needed()) {
      if (this.written.has(key)) continue;
      const files = listenerPortFiles(ref, this.listen);
      if (!files.ok) {
        this.log.error('a Gateway listener port cannot be served; the hosts on it are refused', { port: ref.port, reason: files.reason });
        continue;
      }
      await this.layout.writeAtomic(join(this.layout.prefix, files.listen.name), files.listen.text);
      await this.layout.writeAtomic(join(this.dir, files.server.name), files.server.text);
      this.written.add(key);
      this.log.info('NGINX listens for a Gateway listener port', { port: ref.port, protocol: ref.protocol, listen: files.listen.text.trim().split('\n') });
    }
  }

  /** Removes the files of ports no fragment includes any more (after a confirmed reload). */
  async removeUnused(): Promise<void> {
    const needed = this.needed();
    for (const key of [...this.written]) {
      if (needed.has(key)) continue;
      const [protocol, port] = key.split(' ');
      await this.layout.remove(join(this.dir, `${protocol}-${port}.conf`));
      await this.layout.remove(join(this.layout.prefix, `listen-${protocol}-${port}.conf`));
      this.written.delete(key);
    }
  }
}
