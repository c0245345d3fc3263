// The agent's Prometheus metrics, in a registry of its own (several agents may run in one process:
// tests, local mode). NGINX's connection counts are read from stub_status on each scrape.
import { createRequire } from 'node:module';
import type * as Prom from 'prom-client';
import type { ReloadReport } from './reloader.ts';
import { parseStubStatus, unixRequest, type StubStatus } from './unix-http.ts';
import { formatRequestMetrics, parseRequestMetricsDump, type ControllerLabels } from './request-metrics.ts';

// The four prom-client classes the agent uses, each from its own file: the package's index also
// loads its Pushgateway (node:https, node:zlib) and default-metrics collectors (node:v8,
// perf_hooks, cluster), about 6 MB beside NGINX that the agent never uses.
const require = createRequire(import.meta.url);
const Registry: typeof Prom.Registry = require('prom-client/lib/registry');
const Counter: typeof Prom.Counter = require('prom-client/lib/counter');
const Gauge: typeof Prom.Gauge = require('prom-client/lib/gauge');
const Histogram: typeof Prom.Histogram = require('prom-client/lib/histogram');
type Counter<T extends string = string> = Prom.Counter<T>;
type Gauge<T extends string = string> = Prom.Gauge<T>;
type Histogram<T extends string = string> = Prom.Histogram<T>;

export interface MetricsSources {
  desiredVersion: () => number;
  appliedVersion: () => number;
  queueDepth: () => number;
  quarantined: () => number;
  /** Names of the fragments in quarantine now. */
  quarantinedNames: () => string[];
  ready: () => boolean;
  endpointMode: 'lua' | 'reload';
  /** TCP and UDP services' endpoint path (absent: not reported). */
  streamEndpointMode?: 'njs' | 'reload' | 'none';
  statusSocket: string;
  /** Where NGINX's request metrics are read on each scrape (the control socket); null: none counted. */
  requestMetrics?: { socketPath: string; labels: ControllerLabels } | null;
}

/** Seconds from an API call to NGINX holding an endpoint set or a certificate (both pushers). */
const UPDATE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export class AgentMetrics {
  readonly registry = new Registry();
  private readonly reloads: Counter<'result'>;
  private readonly reloadDuration: Histogram;
  private readonly lastReloadSuccess: Gauge;
  private readonly lastReloadTime: Gauge;
  private readonly coalesced: Counter;
  private readonly quarantines: Counter;
  private readonly endpointUpdates: Counter<'via' | 'result'>;
  private readonly endpointLatency: Histogram<'via'>;
  private readonly restarts: Counter;
  private readonly requestMetrics: MetricsSources['requestMetrics'];
  private readonly certificateUpdates: Counter<'via' | 'result'>;
  private readonly certificateLatency: Histogram<'via'>;

  constructor(src: MetricsSources) {
    this.requestMetrics = src.requestMetrics ?? null;
    const registers = [this.registry];
    this.reloads = new Counter({
      name: 'wharf_agent_reloads_total',
      help: 'Reload runs by result: success, partial (some fragments quarantined), rejected (nothing applied), failed, timeout.',
      labelNames: ['result'],
      registers,
    });
    this.reloadDuration = new Histogram({
      name: 'wharf_agent_reload_duration_seconds',
      help: 'From taking the changes to the new config version answering on the version socket.',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.lastReloadSuccess = new Gauge({ name: 'wharf_agent_last_reload_success', help: '1 when the last reload applied its changes (quarantined fragments aside), 0 otherwise.', registers });
    this.lastReloadTime = new Gauge({ name: 'wharf_agent_last_reload_timestamp_seconds', help: 'When the last reload ended (Unix time).', registers });
    new Gauge({ name: 'wharf_agent_config_version_desired', help: 'Config version of the latest accepted change.', registers, collect() { this.set(src.desiredVersion()); } });
    new Gauge({ name: 'wharf_agent_config_version_applied', help: 'Config version NGINX workers confirmed serving.', registers, collect() { this.set(src.appliedVersion()); } });
    new Gauge({ name: 'wharf_agent_reload_queue_depth', help: 'Reloads in flight plus pending (0 to 2).', registers, collect() { this.set(src.queueDepth()); } });
    new Gauge({ name: 'wharf_agent_quarantined_fragments', help: 'Fragments NGINX refused whose previous content is served.', registers, collect() { this.set(src.quarantined()); } });
    new Gauge({
      name: 'wharf_agent_fragment_quarantined',
      help: '1 for each fragment in quarantine (its error line is in GET /v1/state and the log).',
      labelNames: ['fragment'],
      registers,
      collect() {
        this.reset();
        for (const fragment of src.quarantinedNames()) this.set({ fragment }, 1);
      },
    });
    new Gauge({ name: 'wharf_agent_ready', help: '1 once NGINX serves the complete configuration (the snapshot or a complete batch).', registers, collect() { this.set(src.ready() ? 1 : 0); } });
    const mode = new Gauge({ name: 'wharf_agent_endpoint_mode', help: 'How endpoint changes reach NGINX: lua (shared dict, no reload) or reload (static upstreams, no Lua module).', labelNames: ['mode'], registers });
    mode.set({ mode: 'lua' }, src.endpointMode === 'lua' ? 1 : 0);
    mode.set({ mode: 'reload' }, src.endpointMode === 'reload' ? 1 : 0);
    if (src.streamEndpointMode) {
      const stream = new Gauge({ name: 'wharf_agent_stream_endpoint_mode', help: 'How TCP, UDP and TLS passthrough endpoint changes reach NGINX: njs (endpoint files, no reload), reload (no njs module) or none (no stream module).', labelNames: ['mode'], registers });
      for (const m of ['njs', 'reload', 'none'] as const) stream.set({ mode: m }, src.streamEndpointMode === m ? 1 : 0);
    }
    this.coalesced = new Counter({ name: 'wharf_agent_coalesced_changes_total', help: 'Changes that shared a reload with another change.', registers });
    this.quarantines = new Counter({ name: 'wharf_agent_fragment_quarantines_total', help: 'Times NGINX refused a fragment.', registers });
    this.endpointUpdates = new Counter({
      name: 'wharf_agent_endpoint_updates_total',
      help: 'Endpoint set updates by path (lua, reload) and result (applied, pending, stale, failed).',
      labelNames: ['via', 'result'],
      registers,
    });
    this.endpointLatency = new Histogram({
      name: 'wharf_agent_endpoint_update_duration_seconds',
      help: 'From the API call to NGINX holding the endpoints (lua) or accepting them for the next reload (reload).',
      labelNames: ['via'],
      buckets: UPDATE_BUCKETS,
      registers,
    });
    this.restarts = new Counter({ name: 'wharf_agent_nginx_restarts_total', help: 'NGINX master restarts after it died.', registers });
    this.certificateUpdates = new Counter({
      name: 'wharf_agent_certificate_updates_total',
      help: 'Certificate puts and deletes by path (lua: served at once; reload: files and a reload) and result (applied, pending, stale, failed).',
      labelNames: ['via', 'result'],
      registers,
    });
    this.certificateLatency = new Histogram({
      name: 'wharf_agent_certificate_update_duration_seconds',
      help: 'From the API call to NGINX holding the certificate (lua) or accepting it for the next reload (reload).',
      labelNames: ['via'],
      buckets: UPDATE_BUCKETS,
      registers,
    });
    // One read of stub_status per scrape, shared by the gauges below (prom-client collects them together).
    let scrape: { at: number; status: Promise<StubStatus | null> } | null = null;
    const stubStatus = (): Promise<StubStatus | null> => {
      const now = performance.now();
      if (!scrape || now - scrape.at > 100) {
        scrape = {
          at: now,
          status: unixRequest({ socketPath: src.statusSocket, path: '/nginx_status', timeoutMs: 1000 })
            .then((r) => (r.status === 200 ? parseStubStatus(r.body) : null))
            .catch(() => null),
        };
      }
      return scrape.status;
    };
    new Gauge({
      name: 'wharf_agent_nginx_up',
      help: '1 when NGINX answers on its status socket.',
      registers,
      async collect() {
        this.set((await stubStatus()) ? 1 : 0);
      },
    });
    new Gauge({
      name: 'wharf_agent_nginx_connections',
      help: 'NGINX connections by state (stub_status).',
      labelNames: ['state'],
      registers,
      async collect() {
        const s = await stubStatus();
        for (const state of ['active', 'reading', 'writing', 'waiting'] as const) this.set({ state }, s ? s[state] : 0);
      },
    });
    new Gauge({
      name: 'wharf_agent_nginx_stub_status',
      help: 'NGINX counters since its master started (stub_status): connections accepted and handled, requests served.',
      labelNames: ['kind'],
      registers,
      async collect() {
        const s = await stubStatus();
        for (const kind of ['accepted', 'handled', 'requests'] as const) this.set({ kind }, s ? s[kind] : 0);
      },
    });
  }

  recordReload(r: ReloadReport): void {
    if (r.result === 'noop') return;
    this.reloads.inc({ result: r.result });
    this.reloadDuration.observe(r.durationMs / 1000);
    this.lastReloadSuccess.set(r.result === 'success' || r.result === 'partial' ? 1 : 0);
    this.lastReloadTime.set(Date.now() / 1000);
    if (r.changes > 1) this.coalesced.inc(r.changes - 1);
    if (r.quarantined.length) this.quarantines.inc(r.quarantined.length);
  }

  recordEndpointUpdate(via: 'lua' | 'reload', result: 'applied' | 'pending' | 'stale' | 'failed', seconds: number): void {
    this.endpointUpdates.inc({ via, result });
    if (result !== 'stale') this.endpointLatency.observe({ via }, seconds);
  }

  recordCertificateUpdate(via: 'lua' | 'reload', result: 'applied' | 'pending' | 'stale' | 'failed', seconds: number): void {
    this.certificateUpdates.inc({ via, result });
    if (result !== 'stale') this.certificateLatency.observe({ via }, seconds);
  }

  recordRestart(): void {
    this.restarts.inc();
  }

  /** The agent's own metrics, then NGINX's request metrics (read now; left out when NGINX does not answer). */
  async text(): Promise<string> {
    const [own, requests] = await Promise.all([this.registry.metrics(), this.requestMetricsText()]);
    return own + requests;
  }

  private async requestMetricsText(): Promise<string> {
    const r = this.requestMetrics;
    if (!r) return '';
    try {
      const reply = await unixRequest({ socketPath: r.socketPath, path: '/request-metrics', timeoutMs: 5000 });
      if (reply.status !== 200) return '';
      return formatRequestMetrics(parseRequestMetricsDump(reply.body), r.labels);
    } catch {
      return '';
    }
  }


  get contentType(): string {
    return this.registry.contentType;
  }
}
