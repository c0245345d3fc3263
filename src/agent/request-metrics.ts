// Request metrics per Ingress (or route), path, service and status class, in the Prometheus text
// format with ingress-nginx's names: NGINX counts them in its log phase into a shared dict
// (templates/lua/wharf/request_metrics.lua); on each scrape the agent reads the dict's dump over
// its control socket and turns it into text here. Pure: parsing and formatting only.

/** The labels every series carries besides its own: ingress-nginx's constant labels. */
export interface ControllerLabels {
  controller_class: string;
  controller_namespace: string;
  controller_pod: string;
}

/** One stored histogram: counts per bucket (not cumulated; the last is +Inf) and the sum. */
interface Stored {
  counts: number[];
  sum: number;
}

/** What the dump holds: the bounds of each stored metric, the series, and the cap's counters. */
export interface RequestMetricsDump {
  bounds: Record<string, number[]>;
  series: { labels: Record<string, string>; metrics: Record<string, Stored> }[];
  overflow: number;
  count: number;
  max: number;
  /** Series whose labels could not be read (never expected: counted so that it shows). */
  unreadable: number;
}

const PREFIX = 'nginx_ingress_controller_';

// ingress-nginx's default buckets (--time-buckets, --length-buckets, --size-buckets). The Lua module
// stores request time and upstream time on TIME, request length on LENGTH, bytes sent on the
// union of LENGTH and SIZE; each exported histogram takes the bounds it has in ingress-nginx.
const TIME = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const LENGTH = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
const SIZE = [10, 100, 1000, 10000, 100000, 1000000, 10000000];

/** The exported histograms: name, help, which stored metric, which bounds. */
const HISTOGRAMS: { name: string; help: string; stored: string; bounds: number[] }[] = [
  { name: 'request_duration_seconds', help: 'The request processing time in seconds ($request_time: from the first byte read from the client to the log write after the last byte sent).', stored: 'd', bounds: TIME },
  { name: 'response_duration_seconds', help: 'The time spent on receiving the response from the upstream server, in seconds (all attempts of the request together).', stored: 'u', bounds: TIME },
  { name: 'request_size', help: 'The request length (including request line, header, and request body).', stored: 'q', bounds: LENGTH },
  { name: 'response_size', help: 'The response length (including status line, header, and body).', stored: 'r', bounds: LENGTH },
  { name: 'bytes_sent', help: 'The number of bytes sent to a client (the same figure as response_size, on ingress-nginx\'s --size-buckets).', stored: 'r', bounds: SIZE },
];

/** The label names of each series, in the order ingress-nginx's exporter prints them (plus kind). */
const SERIES_LABELS = ['canary', 'host', 'ingress', 'kind', 'method', 'namespace', 'path', 'service', 'status'] as const;

/** The [kind, namespace, name, service, path, host] a location sets in $wharf_metrics (src/render/view.ts metricsLabels). */
function routeLabels(encoded: string): Record<string, string> | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(encoded.replace(/^\./, ''), 'base64').toString('utf8'));
    if (!Array.isArray(v) || v.length !== 6 || !v.every((x) => typeof x === 'string')) return null;
    const [kind, namespace, ingress, service, path, host] = v as string[];
    return { kind: kind!, namespace: namespace!, ingress: ingress!, service: service!, path: path!, host: host! };
  } catch {
    return null;
  }
}

function numbers(csv: string): number[] {
  return csv.split(',').map(Number);
}

/** Reads the text of GET /request-metrics on the control socket; lines it does not know are skipped. */
export function parseRequestMetricsDump(text: string): RequestMetricsDump {
  const dump: RequestMetricsDump = { bounds: {}, series: [], overflow: 0, count: 0, max: 0, unreadable: 0 };
  for (const line of text.split('\n')) {
    const fields = line.split('\t');
    const kind = fields[0];
    if (kind === 'bounds' && fields.length === 3) dump.bounds[fields[1]!] = numbers(fields[2]!);
    else if (kind === 'overflow') dump.overflow = Number(fields[1]) || 0;
    else if (kind === 'count') dump.count = Number(fields[1]) || 0;
    else if (kind === 'max') dump.max = Number(fields[1]) || 0;
    else if (kind === 'series' && fields.length >= 3) {
      // "<route> <method> <status class> <canary>" (the canary may be empty).
      const parts = fields[1]!.split(' ');
      const route = parts.length === 4 ? routeLabels(parts[0]!) : null;
      if (!route) {
        dump.unreadable++;
        continue;
      }
      const labels = { ...route, method: parts[1]!, status: parts[2]!, canary: parts[3]! };
      const metrics: Record<string, Stored> = {};
      for (const f of fields.slice(2)) {
        const eq = f.indexOf('=');
        const values = numbers(f.slice(eq + 1));
        metrics[f.slice(0, eq)] = { counts: values.slice(0, -1), sum: values[values.length - 1]! };
      }
      dump.series.push({ labels, metrics });
    }
  }
  return dump;
}

/** A label value as the text format writes it. */
function escape(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

function labelText(labels: Record<string, string>, extra = ''): string {
  const parts = Object.keys(labels).sort().map((k) => `${k}="${escape(labels[k]!)}"`);
  if (extra) parts.push(extra);
  return `{${parts.join(',')}}`;
}

/** Prometheus's float formatting: integers plainly, +Inf for infinity. */
function num(n: number): string {
  return n === Infinity ? '+Inf' : String(n);
}

/** The dump as Prometheus text: ingress-nginx's request metrics, then wharf's own about the cap. */
export function formatRequestMetrics(dump: RequestMetricsDump, constant: ControllerLabels): string {
  const out: string[] = [];
  const series = dump.series.map((s) => {
    const labels: Record<string, string> = { ...constant };
    for (const k of SERIES_LABELS) labels[k] = s.labels[k] ?? '';
    return { labels, metrics: s.metrics };
  });
  out.push(`# HELP ${PREFIX}requests The total number of client requests.`, `# TYPE ${PREFIX}requests counter`);
  for (const s of series) {
    const d = s.metrics.d;
    if (d) out.push(`${PREFIX}requests${labelText(s.labels)} ${d.counts.reduce((a, b) => a + b, 0)}`);
  }
  for (const h of HISTOGRAMS) {
    const stored = dump.bounds[h.stored] ?? [];
    out.push(`# HELP ${PREFIX}${h.name} ${h.help}`, `# TYPE ${PREFIX}${h.name} histogram`);
    for (const s of series) {
      const m = s.metrics[h.stored];
      if (!m) continue;
      const total = m.counts.reduce((a, b) => a + b, 0);
      for (const le of h.bounds) {
        // Every exported bound is one of the stored bounds: the stored buckets at or below it.
        let cumulative = 0;
        for (let i = 0; i < stored.length && stored[i]! <= le; i++) cumulative += m.counts[i] ?? 0;
        out.push(`${PREFIX}${h.name}_bucket${labelText(s.labels, `le="${num(le)}"`)} ${cumulative}`);
      }
      out.push(`${PREFIX}${h.name}_bucket${labelText(s.labels, 'le="+Inf"')} ${total}`);
      out.push(`${PREFIX}${h.name}_sum${labelText(s.labels)} ${num(m.sum)}`);
      out.push(`${PREFIX}${h.name}_count${labelText(s.labels)} ${total}`);
    }
  }
  out.push(
    '# HELP wharf_request_metrics_series Series of request metrics NGINX holds (each a host, path, Ingress, method, status class and canary).',
    '# TYPE wharf_request_metrics_series gauge',
    `wharf_request_metrics_series ${dump.count}`,
    '# HELP wharf_request_metrics_series_max Series past this many are not kept (--request-metrics-max-series).',
    '# TYPE wharf_request_metrics_series_max gauge',
    `wharf_request_metrics_series_max ${dump.max}`,
    '# HELP wharf_request_metrics_overflow_total Requests not counted in any series because the series limit was reached.',
    '# TYPE wharf_request_metrics_overflow_total counter',
    `wharf_request_metrics_overflow_total ${dump.overflow}`,
  );
  return `${out.join('\n')}\n`;
}

/** Checks the stored bounds against the ones this file exports from (they live in the Lua module too). */
export function boundsMismatch(dump: RequestMetricsDump): string | null {
  const want: Record<string, number[]> = { d: TIME, u: TIME, q: LENGTH, r: [...new Set([...LENGTH, ...SIZE])].sort((a, b) => a - b) };
  for (const [k, v] of Object.entries(want)) {
    if (JSON.stringify(dump.bounds[k]) !== JSON.stringify(v)) return `stored bounds of ${k}: ${JSON.stringify(dump.bounds[k])}, expected ${JSON.stringify(v)}`;
  }
  return null;
}
