// The handler tier's Prometheus metrics. One registry per app (not prom-client's global one), so
// several apps in one process (tests, three replicas in one benchmark) do not mix their numbers.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface HandlerMetrics {
  registry: Registry;
  /** Events received, by CloudEvent type and what became of them (applied, duplicate, stale, ignored, malformed). */
  events: Counter<'type' | 'result'>;
  /** Time to answer an AdmissionReview, from the parsed body to the response. */
  admissionSeconds: Histogram<never>;
  /** Admission decisions: allowed, allowed_with_warnings, denied, skipped (not an Ingress create/update). */
  admissionDecisions: Counter<'decision'>;
  /** Time spent computing fragments (model + templates) per change. */
  renderSeconds: Histogram<never>;
  /** One push to one agent: fragment batch or endpoint update, until the agent answered. */
  pushSeconds: Histogram<'agent' | 'lane'>;
  pushFailures: Counter<'agent' | 'lane'>;
  /** Changes waiting to be pushed, per agent and lane. */
  pushQueue: Gauge<'agent' | 'lane'>;
  /** 1 when the agent answered the last push or probe, 0 while it is away. */
  agentUp: Gauge<'agent'>;
  /** Objects held in the view, by kind. */
  viewObjects: Gauge<'kind'>;
  /** Fragments and endpoint sets currently desired. */
  desired: Gauge<'what'>;
  /** Relists by result. */
  relists: Counter<'result'>;
  /** 1 while the API server does not serve a group/version wharf reads (api-presence.ts), 0 once it does. */
  apiMissing: Gauge<'group_version' | 'required'>;
  /**
   * notAfter of the certificate served over HTTPS, for an alert before it expires. In no registry
   * until the handler serves HTTPS (serve.ts registers it): a plain-HTTP handler must not export the
   * 0 a gauge starts at, which an expiry alert would read as long expired.
   */
  servingCertExpiry: Gauge<never>;
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export function createHandlerMetrics(): HandlerMetrics {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    events: new Counter({ name: 'wharf_handler_events_total', help: 'CloudEvents received, by type and result', labelNames: ['type', 'result'], registers }),
    admissionSeconds: new Histogram({ name: 'wharf_handler_admission_duration_seconds', help: 'Time to answer an AdmissionReview', buckets: LATENCY_BUCKETS, registers }),
    admissionDecisions: new Counter({ name: 'wharf_handler_admission_decisions_total', help: 'Admission decisions', labelNames: ['decision'], registers }),
    renderSeconds: new Histogram({ name: 'wharf_handler_render_duration_seconds', help: 'Time to compute the fragments one change affects', buckets: LATENCY_BUCKETS, registers }),
    pushSeconds: new Histogram({ name: 'wharf_handler_push_duration_seconds', help: 'Time for an agent to answer one push', labelNames: ['agent', 'lane'], buckets: LATENCY_BUCKETS, registers }),
    pushFailures: new Counter({ name: 'wharf_handler_push_failures_total', help: 'Pushes to an agent that failed (retried with backoff)', labelNames: ['agent', 'lane'], registers }),
    pushQueue: new Gauge({ name: 'wharf_handler_push_queue', help: 'Changes waiting to be pushed to an agent', labelNames: ['agent', 'lane'], registers }),
    agentUp: new Gauge({ name: 'wharf_handler_agent_up', help: '1 when the agent answered the last push, 0 while it is away', labelNames: ['agent'], registers }),
    viewObjects: new Gauge({ name: 'wharf_handler_view_objects', help: 'Objects in the view of the cluster', labelNames: ['kind'], registers }),
    desired: new Gauge({ name: 'wharf_handler_desired', help: 'Fragments and endpoint sets desired', labelNames: ['what'], registers }),
    relists: new Counter({ name: 'wharf_handler_relists_total', help: 'Full lists of the cluster, by result', labelNames: ['result'], registers }),
    apiMissing: new Gauge({
      name: 'wharf_handler_api_missing',
      help: '1 while the API server does not serve a group/version wharf reads (required: wharf is not ready without it)',
      labelNames: ['group_version', 'required'],
      registers,
    }),
    servingCertExpiry: new Gauge({
      name: 'wharf_handler_serving_cert_expiry_timestamp_seconds',
      help: 'When the certificate the handler serves over HTTPS expires (notAfter), in seconds since the epoch',
      registers: [],
    }),
  };
}
