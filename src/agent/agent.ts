// The agent beside NGINX: owns one NGINX prefix and master, applies fragments through serialized,
// coalesced and confirmed reloads, writes endpoints to NGINX at once, supervises the master, and
// serves its API. Usable in-process (tests, local mode) through start()/stop() and AgentControl.
import { dirname } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createLogger, type Logger } from '../log.ts';
import type { Batch, CertificatePut, CertificateResult, EndpointsPut, EndpointsResult, FragmentPut, FragmentResult } from '../protocol/agent-api.ts';
import { renderSkeleton, withAgentSettings } from '../render/skeleton.ts';
import { chooseEndpointMode, skeletonParams, type AgentOptions, type AgentState } from './agent-options.ts';
import { apiServerOptions, createAgentApi, type AgentControl, type BatchResult } from './api.ts';
import { EndpointPusher } from './endpoint-pusher.ts';
import { EndpointStore } from './endpoint-store.ts';
import { FragmentStore, type FragmentContent } from './fragment-store.ts';
import { PrefixLayout } from './layout.ts';
import { AgentMetrics } from './metrics.ts';
import { findNginx, type NginxInstall } from './nginx-install.ts';
import { http } from './node-http.ts';
import { NginxProcess } from './nginx-process.ts';
import { ReloadQueue } from './reload-queue.ts';
import { Reloader, type ReloadReport } from './reloader.ts';

export type { AgentOptions, AgentState } from './agent-options.ts';
import { fetchSnapshotUntilDone } from './snapshot.ts';
import { listenAddresses } from './listen-addresses.ts';
import { RepeatedError } from './repeated-log.ts';
import { ChangeWaiters } from './change-waiters.ts';
import { keepPrevious } from './kept-config.ts';
import { KeptEndpointsWriter } from './kept-endpoints.ts';
import { CertificateDelivery } from './certificate-delivery.ts';
import { systemResolvers } from './resolvers.ts';
import { workerUser } from './worker-user.ts';
import { defaultControllerLabels } from './controller-labels.ts';
import { StreamFiles } from './stream-files.ts';
import { chooseStreamMode, findStreamModules, passthroughNeedsStream, unreachableForWorkers, type StreamEndpointMode } from './stream-install.ts';
import { noStreamFiles, renderStreamSkeleton } from '../render/stream-skeleton.ts';
import { njsFile } from './stream-njs.ts';
import { StreamMetrics } from './stream-metrics.ts';
import { nginxPortsOf } from '../render/listener-ports.ts';

/** From this many endpoint sets in one batch, they go to NGINX in bulk (EndpointPusher.pushMany). */
const BULK_ENDPOINT_SETS = 16;

export class Agent implements AgentControl {
  private readonly opts: AgentOptions;
  private readonly log: Logger;
  readonly layout: PrefixLayout;
  private readonly fragments = new FragmentStore();
  private readonly endpoints = new EndpointStore();
  /** TLS certificates by name: the Lua store at once, or files and a reload (certificate-delivery.ts). */
  private certificates!: CertificateDelivery;
  private install!: NginxInstall;
  private mode: 'lua' | 'reload' = 'lua';
  /** TCP and UDP services: their endpoints through njs, by reloads, or no stream module at all. */
  private streamMode: StreamEndpointMode = 'none';
  private streams!: StreamFiles;
  private streamMetrics: StreamMetrics | null = null;
  private nginx!: NginxProcess;
  private reloader!: Reloader;
  private queue!: ReloadQueue;
  private pusher: EndpointPusher | null = null;
  /** Lua mode: the endpoint sets on disk for the next agent (they die with NGINX's shared dict). */
  private keptEndpoints: KeptEndpointsWriter | null = null;
  private metricsRegistry!: AgentMetrics;
  private server: Server | null = null;
  private readonly waiters = new ChangeWaiters();
  private lastReport: (ReloadReport & { at: string }) | null = null;
  private initialReady = false;
  /** Runs that signalled or started NGINX (noop runs excluded). */
  private reloadCount = 0;
  private failures!: RepeatedError;
  private stopping = false;
  private readonly snapshotAbort = new AbortController();
  /** Resolves once /nginx-ready answers 200 for the first time. */
  readonly whenReady: Promise<void>;
  private markReady!: () => void;

  constructor(opts: AgentOptions) {
    if (!opts.token) throw new Error('agent: a bearer token is required (--token-file)');
    this.opts = opts;
    this.log = opts.logger ?? createLogger({ component: 'agent' });
    this.failures = new RepeatedError(this.log);
    this.layout = new PrefixLayout(opts.prefix);
    this.whenReady = new Promise((r) => (this.markReady = r));
  }

  get endpointMode(): 'lua' | 'reload' {
    return this.mode;
  }

  get streamEndpointMode(): StreamEndpointMode {
    return this.streamMode;
  }

  /** The API port (useful with port 0). */
  get apiPort(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  get apiUrl(): string {
    return `http://${this.opts.listen?.host ?? '127.0.0.1'}:${this.apiPort}`;
  }

  /** PID of the NGINX master (tests of supervision). */
  get nginxPid(): number | null {
    return this.nginx?.pid ?? null;
  }

  /** Starts NGINX with the first configuration, then the API; rejects with the reason if either fails. */
  async start(): Promise<void> {
    const o = this.opts;
    this.install = findNginx({ bin: o.nginxBin, certificatesDictMb: o.certificateStoreMb });
    const mode = chooseEndpointMode(o.endpointMode ?? 'auto', this.install);
    this.mode = mode.mode;
    this.log.info(mode.message, { nginx: this.install.bin, nginxVersion: this.install.version, endpointMode: this.mode, headersMore: this.install.headersMore !== null });
    if (this.mode === 'reload' && o.requestMetrics !== false) {
      this.log.warn('request metrics: none (nginx_ingress_controller_requests and the other request metrics are counted by the Lua module, which endpoint mode reload does not load)');
    }
    const worker = workerUser(o.workerUser ?? 'nobody');
    if (worker) this.log.info('NGINX workers run as an unprivileged user; secret files are theirs', { user: worker.user, group: worker.group });
    const resolvers = o.resolvers ?? (await systemResolvers(this.log));
    const listen = await listenAddresses({ httpListen: o.httpListen ?? ['80'], httpsListen: o.httpsListen ?? ['443'], ipv6: o.ipv6Listen ?? 'auto' }, this.log);
    const streamInstall = findStreamModules();
    const params = skeletonParams({ ...o, ...listen }, this.layout, this.mode === 'lua' ? this.install.lua : null, { worker, resolvers, headersMoreModule: this.install.headersMore, brotliModule: this.install.brotli, sslPassthrough: passthroughNeedsStream(o.sslPassthrough === true, streamInstall) });
    const skeleton = renderSkeleton(params, CertificateDelivery.placeholderPaths(this.layout));

    this.nginx = new NginxProcess({ bin: this.install.bin, layout: this.layout, logger: this.log, accessLog: params.accessLog });
    await this.layout.prepare();
    if (params.sslPassthrough && worker) {
      const blocked = unreachableForWorkers(this.layout.runDir);
      if (blocked) throw new Error(`--enable-ssl-passthrough: NGINX's workers (user ${worker.user}) connect to sockets in ${this.layout.runDir}, but cannot enter ${blocked} (chmod o+x it, or choose another --prefix)`);
    }
    if (params.sslPassthrough) this.log.info('TLS passthrough: an SNI router takes the HTTPS addresses; NGINX\'s HTTPS servers listen behind it', { httpsListen: params.httpsListen });
    // What the previous agent's NGINX served is served again until the complete configuration
    // arrives; an NGINX still running keeps serving it until the first start replaces it.
    const kept = await keepPrevious(this.layout, this.mode, this.fragments, this.endpoints);
    this.certificates = new CertificateDelivery({
      mode: this.mode,
      layout: this.layout,
      logger: this.log,
      secretOwner: worker,
      nginxReady: () => this.nginx.running && !this.reloader.needsStart,
      requestReload: () => {
        this.fragments.bumpVersion();
        this.queue.request();
        return this.fragments.desiredVersion;
      },
      appliedVersion: () => this.reloader.appliedVersion,
    });
    const keptCertificates = await this.certificates.prepare();
    this.log.info(this.certificates.modeMessage(this.install.luaMissing));
    if (kept.fragments + kept.endpointSets + keptCertificates > 0) this.log.info('serving what the previous agent served until the complete configuration arrives', { ...kept, certificates: keptCertificates });
    for (const [name, text] of Object.entries(skeleton)) {
      if (name !== 'nginx.conf') await this.layout.writeAtomic(`${this.layout.prefix}/${name}`, text);
    }
    const streamMode = chooseStreamMode(o.endpointMode === 'reload' ? 'reload' : 'auto', streamInstall, worker ? unreachableForWorkers(dirname(this.layout.prefix)) : null);
    this.streamMode = streamMode.mode;
    this.log.info(streamMode.message, { streamEndpointMode: this.streamMode });
    this.streams = new StreamFiles({
      layout: this.layout,
      listen: { httpListen: params.httpListen, httpsListen: params.httpsListen },
      mode: this.streamMode,
      passthrough: params.sslPassthrough === true,
      endpoints: this.endpoints,
      log: this.log,
      requestReload: () => {
        this.fragments.bumpVersion();
        this.queue.request();
      },
    });
    let metricsPort: number | null = null;
    if (this.streamMode !== 'none') {
      this.streamMetrics = new StreamMetrics(nginxPortsOf({ httpListen: params.httpListen, httpsListen: params.httpsListen }).httpPort - 80, this.log);
      metricsPort = await this.streamMetrics.open();
    }
    const streamFiles = streamInstall.module && this.streamMode !== 'none'
      ? renderStreamSkeleton({ module: streamInstall.module, jsModule: this.streamMode === 'njs' ? streamInstall.jsModule : null, njsFile, endpointsDir: this.streams.endpointsDir, runDir: this.layout.runDir, accessLog: params.accessLog, metricsPort })
      : noStreamFiles;
    for (const [name, text] of Object.entries(streamFiles)) await this.layout.writeAtomic(`${this.layout.prefix}/${name}`, text);
    this.reloader = new Reloader({
      layout: this.layout,
      nginx: this.nginx,
      fragments: this.fragments,
      endpoints: this.endpoints,
      endpointMode: this.mode,
      nginxConf: skeleton['nginx.conf'],
      renderConf: (settings) => renderSkeleton(withAgentSettings(params, settings))['nginx.conf'],
      reloadTimeoutMs: o.reloadTimeoutMs ?? 30_000,
      secretOwner: worker,
      logger: this.log,
      onStarted: () => this.afterMasterStart(),
      requestRun: (ms) => (ms > 0 ? this.queue.requestAfter(ms) : this.queue.request()),
      otherFiles: bothChanged(this.certificates.files, this.streams),
      listen: { httpListen: params.httpListen, httpsListen: params.httpsListen },
      streams: this.streams,
    });
    await this.reloader.prepare();
    if (this.mode === 'lua') {
      this.pusher = new EndpointPusher({ socketPath: this.layout.endpointsSocket, store: this.endpoints, logger: this.log });
      this.keptEndpoints = new KeptEndpointsWriter({ layout: this.layout, store: this.endpoints, logger: this.log });
    }
    this.metricsRegistry = new AgentMetrics({
      desiredVersion: () => this.fragments.desiredVersion,
      appliedVersion: () => this.reloader.appliedVersion,
      queueDepth: () => this.queue.depth,
      quarantined: () => this.fragments.quarantinedCount,
      quarantinedNames: () => this.fragments.all().filter((e) => e.status === 'quarantined').map((e) => e.name),
      ready: () => this.ready(),
      endpointMode: this.mode,
      streamEndpointMode: this.streamMode,
      statusSocket: this.layout.statusSocket,
      requestMetrics: params.requestMetrics ? { socketPath: this.layout.endpointsSocket, labels: o.controllerLabels ?? defaultControllerLabels() } : null,
    });
    this.certificates.startOcsp(this.metricsRegistry.registry, o.ocsp);
    this.streamMetrics?.register(this.metricsRegistry.registry);
    this.queue = new ReloadQueue(() => this.runReload(), {
      quietMs: o.burstQuietMs ?? 5,
      onError: (e) => this.log.error('reload failed', { error: e }),
    });

    const first = await this.reloader.run();
    this.record(first);
    await this.certificates.followSettings();
    if (first.result !== 'success') {
      await this.nginx.stop(2000);
      throw new Error(`NGINX did not start: ${first.error ?? first.result}`);
    }
    if (this.stopping) {
      await this.nginx.stop(2000);
      throw new Error('agent: stopped while starting');
    }
    this.nginx.on('exit', (exit) => {
      if (exit.expected || this.stopping) return;
      this.metricsRegistry.recordRestart();
      this.reloader.masterExited();
      this.queue.request();
    });

    try {
      await this.listen(createAgentApi(this, { token: o.token, logger: this.log, limits: o.limits, ...(o.bodyStallMs ? { bodyStallMs: o.bodyStallMs } : {}) }));
    } catch (e) {
      await this.nginx.stop(2000);
      throw e;
    }
    // Ready once the snapshot or a complete push, whichever comes first, is served (see applyBatch);
    // never on the bootstrap configuration nor on what a previous agent left, which may be empty or
    // out of date. Without a snapshot source, the handler tier's first complete push is that.
    if (o.snapshot) {
      // Not held to --max-batch-size: the snapshot is the whole desired state (snapshot.ts).
      void fetchSnapshotUntilDone({ ...o.snapshot, logger: this.log, signal: this.snapshotAbort.signal, apply: (b) => this.applyBatch(b) })
        .catch((e) => this.log.error('snapshot failed', { error: e }));
    }
  }

  private setReady(what: string): void {
    if (this.initialReady || this.stopping) return;
    this.initialReady = true;
    this.log.info(`ready: NGINX serves the ${what}`, { version: this.reloader.appliedVersion });
    this.markReady();
  }

  private async listen(api: ReturnType<typeof createAgentApi>): Promise<void> {
    const listen = this.opts.listen ?? { host: '127.0.0.1', port: 7071 };
    const server = http.createServer(apiServerOptions, api);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new Error(`agent API on ${listen.host}:${listen.port}: ${e.message}`, { cause: e })));
      server.listen(listen.port, listen.host, () => resolve());
    });
    server.on('error', (e) => this.log.error('agent API server error', { error: e }));
    this.server = server;
    this.log.info('agent API listening', { address: `${listen.host}:${this.apiPort}` });
  }

  /** Stops the API, lets a reload in flight end, and stops NGINX gracefully (SIGQUIT, bounded wait). */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.snapshotAbort.abort();
    const server = this.server;
    if (server) {
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeIdleConnections();
      });
    }
    if (this.reloader) this.reloader.stopping = true;
    await this.queue?.stop();
    const graceMs = ((this.opts.workerShutdownTimeoutSeconds ?? 60) + 5) * 1000;
    await this.nginx?.stop(graceMs);
    this.pusher?.close();
    await this.keptEndpoints?.flush();
    await this.certificates?.close();
    this.streamMetrics?.close();
    this.waiters.releaseAll();
    this.log.info('agent stopped');
  }

  private async runReload(): Promise<void> {
    const run = this.waiters.started();
    const report = await this.reloader.run();
    this.record(report);
    this.certificates.reloaded();
    await this.certificates.followSettings();
    // A run that failed and retries later: whoever waits for what it carried gets the reason now
    // rather than at the end of its wait (the change is kept and retried).
    this.waiters.ended(run, report.retryInMs !== undefined && report.error ? { error: report.error, retryInMs: report.retryInMs } : undefined);
  }

  private record(report: ReloadReport): void {
    if (report.result === 'noop') return;
    this.reloadCount++;
    this.lastReport = { ...report, at: new Date().toISOString() };
    this.metricsRegistry.recordReload(report);
    const fields = {
      result: report.result,
      version: report.version,
      ms: Math.round(report.durationMs),
      ...(report.retireMs !== undefined ? { retireMs: Math.round(report.retireMs) } : {}),
      changes: report.changes,
      ...(report.quarantined.length ? { quarantined: report.quarantined } : {}),
      ...(report.error ? { error: report.error } : {}),
    };
    if (report.result === 'success' || report.result === 'partial') {
      this.failures.ended();
      this.log.info('reload confirmed', fields);
    } else if (report.error) {
      // The same failure on every retry (a full disk) is one line with a count, not one per retry.
      const { error, ...rest } = fields;
      this.failures.failed('reload did not apply', report.error, { ...rest, ...(report.retryInMs !== undefined ? { retryInMs: report.retryInMs } : {}) });
    } else {
      this.log.error('reload did not apply', fields);
    }
  }

  private async afterMasterStart(): Promise<void> {
    await this.certificates.afterMasterStart();
    if (!this.pusher || this.endpoints.size === 0) return;
    const t = performance.now();
    const failed = await this.pusher.pushAll();
    this.log.info('endpoints written to the new NGINX master', { upstreams: this.endpoints.size, failed: failed.length, ms: Math.round(performance.now() - t) });
  }

  // ---- AgentControl ----

  ready(): boolean {
    return this.initialReady && !this.stopping && (this.nginx?.running ?? false) && !this.reloader.needsStart;
  }

  putFragment(name: string, body: FragmentPut): FragmentResult {
    const result = this.fragments.set(name, body.revision, toContent(body));
    if (result.status === 'pending') this.queue.request();
    return result;
  }

  deleteFragment(name: string, revision: number): FragmentResult {
    const result = this.fragments.set(name, revision, null);
    if (result.status === 'pending') this.queue.request();
    return result;
  }

  putEndpoints(upstream: string, body: EndpointsPut): Promise<EndpointsResult> {
    return this.setEndpoints(upstream, body.revision, body.endpoints);
  }

  deleteEndpoints(upstream: string, revision: number): Promise<EndpointsResult> {
    return this.setEndpoints(upstream, revision, null);
  }

  async putCertificate(name: string, body: CertificatePut): Promise<CertificateResult> {
    return this.recordCertificate(await this.certificates.set(name, body.revision, { cert: body.cert, key: body.key }));
  }

  async deleteCertificate(name: string, revision: number): Promise<CertificateResult> {
    return this.recordCertificate(await this.certificates.set(name, revision, null));
  }

  private recordCertificate(r: CertificateResult & { seconds: number }): CertificateResult {
    const { seconds, ...result } = r;
    this.metricsRegistry.recordCertificateUpdate(result.via, result.status, seconds);
    return result;
  }

  private async setEndpoints(upstream: string, revision: number, list: string[] | null): Promise<EndpointsResult> {
    const started = performance.now();
    const via = this.mode;
    const change = this.endpoints.set(upstream, revision, list);
    if (change === 'changed') this.keptEndpoints?.changed();
    // TCP and UDP services routed to it: njs reads the new set from the next connection on.
    if (change === 'changed') this.streams.endpointsChanged(upstream);
    let status: EndpointsResult['status'];
    let outcome: 'applied' | 'pending' | 'stale' | 'failed';
    if (change === 'stale') status = outcome = 'stale';
    else if (via === 'lua') {
      outcome = await this.pushEndpoints(upstream, revision, change);
      // Not written (NGINX refused or did not answer): kept, and sent again when NGINX restarts.
      status = outcome === 'failed' ? 'pending' : outcome;
    } else {
      if (change === 'changed') {
        this.fragments.bumpVersion();
        this.queue.request();
      }
      status = outcome = (this.endpoints.get(upstream)!.appliedRevision ?? -1) >= revision ? 'applied' : 'pending';
    }
    this.metricsRegistry.recordEndpointUpdate(via, outcome, (performance.now() - started) / 1000);
    return { upstream, revision, status, via };
  }

  /** `sent`: what a bulk push of the batch answered for the upstreams it carried (see applyBatch). */
  private async pushEndpoints(upstream: string, revision: number, change: 'changed' | 'unchanged', sent?: Map<string, boolean>): Promise<'applied' | 'pending' | 'failed'> {
    const set = this.endpoints.get(upstream)!;
    if (change === 'unchanged' && (set.appliedRevision ?? -1) >= revision) return 'applied';
    // NGINX is (re)starting: the set goes to the new master with all the others.
    if (!this.nginx.running || this.reloader.needsStart) return 'pending';
    const ok = sent?.get(upstream) ?? (await this.pusher!.push(upstream));
    if (!ok) return 'failed';
    return (set.appliedRevision ?? -1) >= revision ? 'applied' : 'pending';
  }

  async applyBatch(batch: Batch): Promise<BatchResult> {
    // Certificates first: a fragment of this batch may serve one (its files exist before the reload).
    const certificates = (await this.certificates.applyBatch(batch.certificates ?? [], batch.complete && batch.certificates ? (batch.revision ?? Infinity) : null)).map((r) => this.recordCertificate(r));
    const fragments: FragmentResult[] = [];
    for (const f of batch.fragments) {
      fragments.push('deleted' in f ? this.fragments.set(f.name, f.revision, null) : this.fragments.set(f.name, f.revision, toContent(f)));
    }
    // A complete batch removes what it does not name; with its revision, only what is older than it.
    const below = batch.complete ? (batch.revision ?? Infinity) : Infinity;
    if (batch.complete) fragments.push(...this.fragments.retainOnly(new Set(batch.fragments.map((f) => f.name)), below));
    const changed: { upstream: string; revision: number; change: 'changed' | 'unchanged' | 'stale' }[] = [];
    for (const e of batch.endpoints) {
      changed.push({ upstream: e.upstream, revision: e.revision, change: this.endpoints.set(e.upstream, e.revision, 'deleted' in e ? null : e.endpoints) });
    }
    if (batch.complete) {
      for (const upstream of this.endpoints.retainOnly(new Set(batch.endpoints.map((e) => e.upstream)), below)) {
        changed.push({ upstream, revision: this.endpoints.get(upstream)!.revision, change: 'changed' });
      }
    }
    let endpoints: EndpointsResult[];
    // Counted as PUT /v1/endpoints counts them: the handler tier sends sets that queued together in one batch.
    const endpointsStarted = performance.now();
    const record = (via: 'lua' | 'reload', outcome: 'applied' | 'pending' | 'stale' | 'failed') => this.metricsRegistry.recordEndpointUpdate(via, outcome, (performance.now() - endpointsStarted) / 1000);
    if (changed.some((c) => c.change === 'changed')) this.keptEndpoints?.changed();
    for (const c of changed) if (c.change === 'changed') this.streams.endpointsChanged(c.upstream);
    if (this.mode === 'lua') {
      endpoints = [];
      // Many sets (a complete batch: thousands, before its reload) go to NGINX in a few requests.
      const toSend = changed.filter((c) => c.change === 'changed' || (c.change === 'unchanged' && (this.endpoints.get(c.upstream)!.appliedRevision ?? -1) < c.revision));
      const sent = toSend.length >= BULK_ENDPOINT_SETS && this.nginx.running && !this.reloader.needsStart ? await this.pusher!.pushMany(toSend.map((c) => c.upstream)) : undefined;
      const work = changed.map(async (c) => {
        const status = c.change === 'stale' ? 'stale' : await this.pushEndpoints(c.upstream, c.revision, c.change, sent);
        record('lua', status);
        endpoints.push({ upstream: c.upstream, revision: c.revision, status: status === 'failed' ? 'pending' : status, via: 'lua' });
      });
      await Promise.all(work);
      endpoints.sort((a, b) => (a.upstream < b.upstream ? -1 : 1));
    } else {
      if (changed.some((c) => c.change === 'changed')) this.fragments.bumpVersion();
      endpoints = changed.map((c) => ({
        upstream: c.upstream,
        revision: c.revision,
        status: c.change === 'stale' ? 'stale' : (this.endpoints.get(c.upstream)!.appliedRevision ?? -1) >= c.revision ? 'applied' : 'pending',
        via: 'reload' as const,
      }));
      for (const e of endpoints) record('reload', e.status);
    }
    if (this.fragments.dirtyCount > 0 || (this.mode === 'reload' && changed.some((c) => c.change === 'changed'))) this.queue.request();
    const result = { version: this.fragments.desiredVersion, fragments, endpoints, ...(certificates.length ? { certificates } : {}) };
    if (batch.complete && !this.initialReady) {
      // The whole desired state: ready once NGINX serves it (never on a partial or kept one).
      void this.served(result).then(() => this.setReady('complete configuration'));
    }
    return result;
  }

  /** Waits (bounded) until every pending result is applied, quarantined or superseded. */
  async settle(results: BatchResult, timeoutMs = (this.opts.reloadTimeoutMs ?? 30_000) * 2 + 5000): Promise<BatchResult> {
    const current = (): BatchResult => ({
      version: results.version,
      fragments: results.fragments.map((r) => {
        if (r.status !== 'pending') return r;
        const e = this.fragments.get(r.name);
        if (!e || e.revision !== r.revision) return { ...r, status: e && e.revision > r.revision ? 'stale' : r.status };
        return this.fragments.result(e);
      }),
      endpoints: results.endpoints.map((r) => {
        if (r.status !== 'pending') return r;
        const s = this.endpoints.get(r.upstream);
        return s && (s.appliedRevision ?? -1) >= r.revision ? { ...r, status: 'applied' } : r;
      }),
      ...(results.certificates ? { certificates: results.certificates.map((r) => this.certificates.settled(r)) } : {}),
    });
    const done = () => {
      const c = current();
      return !c.fragments.some((f) => f.status === 'pending') && !c.endpoints.some((e) => e.status === 'pending') && !(c.certificates ?? []).some((e) => e.status === 'pending');
    };
    const failure = !done() && !this.stopping ? await this.waiters.wait(done, timeoutMs) : undefined;
    const settled = current();
    return failure && !done() ? { ...settled, failure } : settled;
  }

  /** Resolves once NGINX serves `results` (failed runs are retried until it does), or the agent stops. */
  private async served(results: BatchResult): Promise<void> {
    while ((await this.settle(results, Infinity)).failure && !this.stopping);
  }

  state(summary = false): AgentState {
    const quarantined = this.fragments.quarantinedCount;
    return {
      ready: this.ready(),
      endpointMode: this.mode,
      streamEndpointMode: this.streamMode,
      nginx: { running: this.nginx?.running ?? false, pid: this.nginx?.pid ?? null, version: this.install?.version ?? 'unknown' },
      desiredVersion: this.fragments.desiredVersion,
      appliedVersion: this.reloader?.appliedVersion ?? 0,
      queueDepth: this.queue?.depth ?? 0,
      reloads: this.reloadCount,
      lastReload: this.lastReport,
      counts: { fragments: this.fragments.size, quarantined, endpointSets: this.endpoints.size, certificates: this.certificates?.size ?? 0 },
      certificateMode: this.mode,
      fragments: summary ? [] : this.fragments.all().map((e) => ({ ...this.fragments.result(e), deleted: e.desired === null })),
      endpoints: summary ? [] : this.endpoints.all().map((s) => ({
        upstream: s.upstream,
        revision: s.revision,
        endpoints: s.endpoints ? s.endpoints.length : null,
        appliedRevision: s.appliedRevision,
      })),
      certificates: summary ? [] : (this.certificates?.state() ?? []),
    };
  }

  async metrics(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.metricsRegistry.contentType, text: await this.metricsRegistry.text() };
  }
}

function toContent(body: { config: string; files: Record<string, { content: string; secret: boolean }> }): FragmentContent {
  return { config: body.config, files: body.files };
}

/** Two sources of files written outside the fragments, as the Reloader's one `otherFiles`. */
function bothChanged(a: { takeChanged(): boolean; markChanged(): void }, b: { takeChanged(): boolean; markChanged(): void }): { takeChanged(): boolean; markChanged(): void } {
  return {
    takeChanged: () => {
      const x = a.takeChanged();
      return b.takeChanged() || x;
    },
    markChanged: () => {
      a.markChanged();
      b.markChanged();
    },
  };
}
