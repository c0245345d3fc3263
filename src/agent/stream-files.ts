// The agent's files for TCP and UDP services and TLS passthrough hosts, kept in step with the
// fragments on disk (stream-fragments/NAME.conf; a passthrough host's files/HOST/passthrough.map):
// the listen include of each port a stream fragment names, the endpoint file of each upstream a
// stream or a passthrough host routes to (run/stream-endpoints/NAME, read by njs at each new
// connection), and stream-upstreams.conf (one upstream group per such upstream, and the maps that
// say what each group was made of). With njs an endpoint change rewrites that upstream's file and
// nothing else: no reload. Without njs (mode reload) it marks stream-upstreams.conf for the next
// reload, and asks for one.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.ts';
import type { AgentListen } from '../render/listener-ports.ts';
import { streamListenFile, streamListenLines, streamPortsOf, type StreamPortRef } from '../render/stream-listen.ts';
import type { EndpointStore } from './endpoint-store.ts';
import type { PrefixLayout } from './layout.ts';
import { PASSTHROUGH_MAP_FILE, passthroughUpstreamOf } from '../render/passthrough.ts';
import { isStreamFragment, renderStreamUpstreams, streamUpstreamsOf } from './stream-upstreams.ts';
import type { StreamEndpointMode } from './stream-install.ts';

const OWN_LISTEN = /^listen-(?:tcp|udp)-[1-9][0-9]{0,4}(?:-proxy-protocol)?\.conf$/;

export interface StreamFilesOptions {
  layout: PrefixLayout;
  listen: AgentListen;
  mode: StreamEndpointMode;
  endpoints: EndpointStore;
  log: Logger;
  /** --enable-ssl-passthrough: the SNI router is on (stream-upstreams.conf has its maps). */
  passthrough?: boolean;
  /** Mode reload: an endpoint set a stream routes to changed; the next reload must carry it. */
  requestReload: () => void;
}

export class StreamFiles {
  private readonly o: StreamFilesOptions;
  readonly fragmentsDir: string;
  readonly endpointsDir: string;
  readonly upstreamsConf: string;
  /** Ports and upstreams of each stream fragment on disk, and the upstream of each passthrough host. */
  private readonly byFragment = new Map<string, { ports: Map<string, StreamPortRef>; upstreams: Set<string> }>();
  private readonly listenWritten = new Set<string>();
  /** njs: the endpoint files on disk, by upstream, with what they hold. */
  private readonly endpointFiles = new Map<string, string>();
  private upstreamsOnDisk = '';
  private changed = false;

  constructor(o: StreamFilesOptions) {
    this.o = o;
    this.fragmentsDir = join(o.layout.prefix, 'stream-fragments');
    this.endpointsDir = join(o.layout.runDir, 'stream-endpoints');
    this.upstreamsConf = join(o.layout.prefix, 'stream-upstreams.conf');
  }

  /** Removes what a previous agent wrote: the fragments come again with the handler's snapshot. */
  async prepare(): Promise<void> {
    const { layout } = this.o;
    for (const dir of [this.fragmentsDir, this.endpointsDir]) {
      await layout.remove(dir);
      await layout.ensureDir(dir, 0o755);
    }
    for (const f of await readdir(layout.prefix)) if (OWN_LISTEN.test(f)) await layout.remove(join(layout.prefix, f));
    this.upstreamsOnDisk = renderStreamUpstreams([], this.noEndpoints, this.o.passthrough === true);
    await layout.writeAtomic(this.upstreamsConf, this.upstreamsOnDisk);
  }

  private get noEndpoints(): string {
    return `unix:${this.o.layout.runDir}/stream-no-endpoints.sock`;
  }

  /** A fragment's config on disk is now `config` (null: none), with these files. */
  track(name: string, config: string | null, files?: Readonly<Record<string, { content: string }>>): void {
    if (!isStreamFragment(name)) {
      // A host's fragment: a TLS passthrough host's map line names its upstream.
      const line = config === null ? undefined : files?.[PASSTHROUGH_MAP_FILE]?.content;
      const upstream = line === undefined ? null : passthroughUpstreamOf(line);
      if (upstream) this.byFragment.set(name, { ports: new Map(), upstreams: new Set([upstream]) });
      else this.byFragment.delete(name);
      return;
    }
    if (config === null) this.byFragment.delete(name);
    else this.byFragment.set(name, { ports: streamPortsOf(config), upstreams: streamUpstreamsOf(config) });
    // A new route's endpoints must be on disk before NGINX serves it: addMissing writes them.
  }

  /** Upstreams some stream fragment routes to. */
  private routed(): Set<string> {
    const out = new Set<string>();
    for (const f of this.byFragment.values()) for (const u of f.upstreams) out.add(u);
    return out;
  }

  /** Whether a stream routes to `upstream` (its endpoint changes concern this class). */
  routes(upstream: string): boolean {
    for (const f of this.byFragment.values()) if (f.upstreams.has(upstream)) return true;
    return false;
  }

  /**
   * Before NGINX reads the configuration: the listen includes of every port a fragment names, the
   * endpoint files of every upstream one routes to, and stream-upstreams.conf as of now.
   */
  async addMissing(): Promise<void> {
    const { layout, log } = this.o;
    for (const f of this.byFragment.values()) {
      for (const [file, ref] of f.ports) {
        if (this.listenWritten.has(file)) continue;
        const lines = streamListenLines(ref, this.o.listen);
        if (!lines.ok) {
          log.error('a stream port cannot be served; the fragment naming it is refused', { port: ref.port, protocol: ref.protocol, reason: lines.reason });
          continue;
        }
        await layout.writeAtomic(join(layout.prefix, file), lines.text);
        this.listenWritten.add(file);
        log.info('NGINX listens for a stream port', { port: ref.port, protocol: ref.protocol, listen: lines.text.trim().split('\n') });
      }
    }
    const routed = [...this.routed()].sort();
    if (this.o.mode === 'njs') for (const u of routed) this.writeEndpointFile(u);
    const text = renderStreamUpstreams(routed.map((u) => ({ upstream: u, endpoints: this.o.endpoints.get(u)?.endpoints ?? null })), this.noEndpoints, this.o.passthrough === true);
    if (text !== this.upstreamsOnDisk) {
      await layout.writeAtomic(this.upstreamsConf, text);
      this.upstreamsOnDisk = text;
    }
  }

  /** njs: writes `upstream`'s endpoint file when it differs from what is on disk (synchronous: a few µs). */
  private writeEndpointFile(upstream: string): void {
    const list = this.o.endpoints.get(upstream)?.endpoints ?? [];
    const text = list.length ? [...new Set(list)].join('\n') + '\n' : '';
    if (this.endpointFiles.get(upstream) === text) return;
    this.o.layout.writeAtomicSync(join(this.endpointsDir, upstream), text);
    this.endpointFiles.set(upstream, text);
  }

  /**
   * An endpoint set changed. njs: its file is rewritten now, and the next new connection uses it;
   * reload: the next reload carries it, and one is asked for. Returns whether a stream routes to it.
   */
  endpointsChanged(upstream: string): boolean {
    if (this.o.mode === 'none' || !this.routes(upstream)) return false;
    if (this.o.mode === 'njs') {
      this.writeEndpointFile(upstream);
      return true;
    }
    this.changed = true;
    this.o.requestReload();
    return true;
  }

  /** Reload mode: whether stream-upstreams.conf must be written again (the reloader's other files). */
  takeChanged(): boolean {
    const c = this.changed;
    this.changed = false;
    return c;
  }

  markChanged(): void {
    this.changed = true;
  }

  /** After a confirmed reload: the listen includes and endpoint files nothing names any more. */
  async removeUnused(): Promise<void> {
    const files = new Set<string>();
    for (const f of this.byFragment.values()) for (const file of f.ports.keys()) files.add(file);
    for (const file of [...this.listenWritten]) {
      if (files.has(file)) continue;
      await this.o.layout.remove(join(this.o.layout.prefix, file));
      this.listenWritten.delete(file);
    }
    const routed = this.routed();
    for (const u of [...this.endpointFiles.keys()]) {
      if (routed.has(u)) continue;
      await this.o.layout.remove(join(this.endpointsDir, u));
      this.endpointFiles.delete(u);
    }
  }
}
