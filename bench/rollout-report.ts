// What a rollout run shows, computed from its raw record (rollout-run.ts): failures, latency, how long
// requests still reached pods already removed from the EndpointSlice, what NGINX tried (its access
// log), and the reloads in progress. Also the compact per-request file the plot is drawn from.
import type { LoadSample } from './rollout-load.ts';
import type { PodRecord, RolloutRun } from './rollout-run.ts';

export interface RunSummary {
  endpoint_mode: 'lua' | 'reload';
  requests: number;
  failed: number;
  /** Failures by status code or error. */
  failures: Record<string, number>;
  /** Requests sent again after a keep-alive connection was closed under them (see rollout-load.ts). */
  keepalive_retries: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  /** Longest time from the removal event's acceptance to a removed pod answering a request. */
  stale_routing_ms_max: number;
  stale_answers: number;
  /** The same per removed pod (0: no request reached it after its removal). */
  stale_routing_ms_by_pod: Record<string, number>;
  /** NGINX's tries (access log) at pods already removed, and at pods already exited. */
  removed_endpoint_tries: number;
  dead_endpoint_tries: number;
  /** Longest time from a pod's removal to a request, sent after it, that NGINX still tried on it. */
  removed_endpoint_tried_ms_max: number;
  /**
   * Failures NGINX answered without trying any endpoint because every endpoint it had was marked
   * failed ("no live upstreams": its access log names the upstream, not an address), and failures
   * after it tried endpoints that refused.
   */
  failed_no_live_upstream: number;
  failed_after_tries: number;
  /**
   * Longest time a request was routed to a removed pod, by any evidence: a removed pod answered it,
   * NGINX tried a removed pod for it, or (no live upstreams) every endpoint NGINX still listed was
   * dead, and only removed pods die, so the request went to pods removed at least that long before.
   */
  removed_routing_ms_max: number;
  /** First and last failure, seconds from the rollout's start. */
  failures_from_s: number | null;
  failures_to_s: number | null;
  reloads: number;
  reload_ms: number[];
  /** Share of the rollout (first step to the last old pod gone) with a reload in progress. */
  reload_busy_share: number;
  rollout_s: number;
  /** From the rollout's start until the agent served the final endpoint set with no reload queued. */
  converged_s: number;
  /**
   * From the handler's and the agent's /metrics, from the rollout's start to the load's end: garbage
   * collection pauses in the handler, the handler's endpoint pushes (until the agent answered) and
   * the agent's endpoint updates (until NGINX held them): how many, and the histogram bucket (ms)
   * that holds the slowest.
   */
  diagnostics: Record<string, { count: number; le_ms: number | null }>;
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * A Prometheus histogram between two scrapes of /metrics (`before` may be empty), summed over the
 * series whose labels contain `match`: how many observations, and the smallest bucket bound
 * (seconds) holding all of them (Infinity when some fell past the last bound).
 */
export function histogramBound(before: string, after: string, name: string, match = ''): { count: number; le: number } {
  const read = (text: string) => {
    const buckets = new Map<number, number>();
    for (const m of text.matchAll(new RegExp(`^${name}_bucket\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
      if (!m[1]!.includes(match)) continue;
      const le = /le="([^"]+)"/.exec(m[1]!)?.[1];
      if (le === undefined) continue;
      const bound = le === '+Inf' ? Infinity : Number(le);
      buckets.set(bound, (buckets.get(bound) ?? 0) + Number(m[2]));
    }
    return buckets;
  };
  const b0 = read(before);
  const buckets = [...read(after).entries()].map(([le, c]) => [le, c - (b0.get(le) ?? 0)] as [number, number]).sort((a, b) => a[0] - b[0]);
  const count = buckets.find(([le]) => le === Infinity)?.[1] ?? 0;
  return { count, le: buckets.find(([, c]) => c >= count)?.[0] ?? 0 };
}

/** True when a request failed for its client: no 2xx answer. */
export const isFailure = (s: LoadSample) => s.status < 200 || s.status > 299;

/** Reload intervals [start, end] in ms relative to the rollout's start. */
export const reloadSpans = (run: RolloutRun) => run.reloads.map((r) => [round(r.endAt - r.ms, 1), round(r.endAt, 1)] as [number, number]);

function coveredShare(spans: [number, number][], from: number, to: number): number {
  if (to <= from) return 0;
  const clipped = spans.map(([a, b]) => [Math.max(a, from), Math.min(b, to)] as [number, number]).filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  let covered = 0;
  let end = from;
  for (const [a, b] of clipped) {
    if (b <= end) continue;
    covered += b - Math.max(a, end);
    end = b;
  }
  return covered / (to - from);
}

/** The summary of one run. */
export function summarize(run: RolloutRun): RunSummary {
  const { samples, origin } = run;
  const byName = new Map(run.pods.map((p) => [p.name, p]));
  const byIp = new Map(run.pods.map((p) => [p.ip, p]));
  const abs = (p: PodRecord, k: 'removedAt' | 'exitedAt') => (p[k] === null ? null : p[k]! + origin);

  const failures: Record<string, number> = {};
  let failed = 0;
  let firstFail: number | null = null;
  let lastFail: number | null = null;
  let staleMax = 0;
  let staleAnswers = 0;
  const staleByPod: Record<string, number> = Object.fromEntries(run.pods.filter((p) => p.removedAt !== null).map((p) => [p.name, 0]));
  for (const s of samples) {
    if (isFailure(s)) {
      failed++;
      const k = s.error ?? String(s.status);
      failures[k] = (failures[k] ?? 0) + 1;
      const t = s.due - origin;
      firstFail = firstFail === null ? t : Math.min(firstFail, t);
      lastFail = lastFail === null ? t : Math.max(lastFail, t);
    }
    const pod = s.backend ? byName.get(s.backend) : undefined;
    const removed = pod ? abs(pod, 'removedAt') : null;
    if (removed !== null && s.servedAt !== null && s.servedAt > removed) {
      staleAnswers++;
      staleMax = Math.max(staleMax, s.servedAt - removed);
      staleByPod[pod!.name] = round(Math.max(staleByPod[pod!.name] ?? 0, s.servedAt - removed), 1);
    }
  }

  // NGINX's access log: every upstream address each request tried ("a, b" for retries; " : " after
  // an internal redirect). A request sent after a pod's removal that NGINX tried on that pod is
  // routing to a removed endpoint, whatever the outcome.
  const bySeq = new Map(samples.map((s) => [s.i, s]));
  let removedTries = 0;
  let deadTries = 0;
  let triedMax = 0;
  let noLive = 0;
  let afterTries = 0;
  let noLiveMax = 0;
  const gone = run.pods.filter((p) => p.removedAt !== null && p.exitedAt !== null);
  for (const line of run.access) {
    const m = /^GET \/r\/(\d+) /.exec(line.request);
    const s = m ? bySeq.get(Number(m[1])) : undefined;
    if (!s) continue;
    const addrs = line.upstream_addr.split(/, | : /);
    if (line.status >= 500 && isFailure(s)) {
      if (addrs.some((a) => /^\d+\.\d+\.\d+\.\d+:\d+$/.test(a))) afterTries++;
      else if (line.status === 502) {
        noLive++;
        const dead = gone.filter((p) => abs(p, 'exitedAt')! < s.due + s.ms).map((p) => abs(p, 'removedAt')!);
        if (dead.length) noLiveMax = Math.max(noLiveMax, s.sent - Math.max(...dead));
      }
    }
    for (const addr of addrs) {
      const pod = byIp.get(addr.replace(/:\d+$/, ''));
      if (!pod) continue;
      const removed = abs(pod, 'removedAt');
      if (removed === null || s.sent <= removed) continue;
      removedTries++;
      triedMax = Math.max(triedMax, s.sent - removed);
      const exited = abs(pod, 'exitedAt');
      if (exited !== null && s.sent > exited) deadTries++;
    }
  }

  const latencies = samples.map((s) => s.ms).sort((a, b) => a - b);
  const span = samples.length > 1 ? (samples.at(-1)!.due - samples[0]!.due) / 1000 : 1;
  const spans = reloadSpans(run);
  const inRun = run.reloads.filter((r) => r.endAt >= run.loadStart && r.endAt - r.ms <= run.loadEnd);
  return {
    endpoint_mode: run.endpointMode,
    requests: samples.length,
    failed,
    failures,
    keepalive_retries: samples.filter((s) => s.retried).length,
    rps: round(samples.length / span, 1),
    p50_ms: round(percentile(latencies, 50), 2),
    p99_ms: round(percentile(latencies, 99), 2),
    max_ms: round(latencies.at(-1) ?? NaN, 1),
    stale_routing_ms_max: round(staleMax, 1),
    stale_answers: staleAnswers,
    stale_routing_ms_by_pod: staleByPod,
    removed_endpoint_tries: removedTries,
    dead_endpoint_tries: deadTries,
    removed_endpoint_tried_ms_max: round(triedMax, 1),
    failed_no_live_upstream: noLive,
    failed_after_tries: afterTries,
    removed_routing_ms_max: round(Math.max(staleMax, triedMax, noLiveMax), 1),
    failures_from_s: firstFail === null ? null : round(firstFail / 1000, 2),
    failures_to_s: lastFail === null ? null : round(lastFail / 1000, 2),
    reloads: inRun.length,
    reload_ms: inRun.map((r) => r.ms),
    reload_busy_share: round(coveredShare(spans, 0, run.rolloutEnd), 3),
    rollout_s: round(run.rolloutEnd / 1000, 2),
    converged_s: round(run.convergedAt / 1000, 2),
    diagnostics: diagnostics(run),
  };
}

function diagnostics(run: RolloutRun): RunSummary['diagnostics'] {
  const [h0, h1] = run.metrics.handler;
  const [a0, a1] = run.metrics.agent;
  const ms = ({ count, le }: { count: number; le: number }) => ({ count, le_ms: Number.isFinite(le) ? round(le * 1000, 1) : null });
  return {
    handler_gc_major: ms(histogramBound(h0, h1, 'nodejs_gc_duration_seconds', 'kind="major"')),
    handler_gc_minor: ms(histogramBound(h0, h1, 'nodejs_gc_duration_seconds', 'kind="minor"')),
    handler_endpoint_push: ms(histogramBound(h0, h1, 'wharf_handler_push_duration_seconds', 'lane="endpoints"')),
    agent_endpoint_update: ms(histogramBound(a0, a1, 'wharf_agent_endpoint_update_duration_seconds')),
  };
}

/**
 * One request in the samples file: [due s, latency ms, status, backend, error, stale ms, retried]:
 * stale ms when a pod already removed answered it (since its removal); retried 1 when it was sent
 * again after its keep-alive connection closed under it.
 */
export type CompactSample = [number, number, number, string | null, string | null, number | null, 0 | 1];

/** What the plot needs of a run: times in seconds from the rollout's start. */
export interface PlotRun {
  endpoint_mode: 'lua' | 'reload';
  load: [number, number];
  rollout_end: number;
  converged: number;
  pods: { name: string; generation: 'old' | 'new'; added: number | null; removed: number | null; exited: number | null }[];
  changes: number[];
  reloads: [number, number][];
  samples: CompactSample[];
}

export function plotData(run: RolloutRun): PlotRun {
  const s = (ms: number | null) => (ms === null ? null : round(ms / 1000, 3));
  const byName = new Map(run.pods.map((p) => [p.name, p]));
  return {
    endpoint_mode: run.endpointMode,
    load: [s(run.loadStart)!, s(run.loadEnd)!],
    rollout_end: s(run.rolloutEnd)!,
    converged: s(run.convergedAt)!,
    pods: run.pods.map((p) => ({ name: p.name, generation: p.generation, added: s(p.addedAt), removed: s(p.removedAt), exited: s(p.exitedAt) })),
    changes: run.changes.map((c) => s(c)!),
    reloads: reloadSpans(run).map(([a, b]) => [s(a)!, s(b)!]),
    samples: run.samples.map((x) => {
      const pod = x.backend ? byName.get(x.backend) : undefined;
      const stale = pod && pod.removedAt !== null && x.servedAt !== null && x.servedAt - run.origin > pod.removedAt ? round(x.servedAt - run.origin - pod.removedAt, 1) : null;
      return [round((x.due - run.origin) / 1000, 4), round(x.ms, 2), x.status, x.backend, x.error, stale, x.retried ? 1 : 0];
    }),
  };
}
