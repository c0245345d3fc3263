// The summary of `npm run bench` for a person: each figure of the benchmarks' JSON beside the floor
// it was measured against in the same run, their ratio, the target and whether it is met. Pure:
// bench/all.ts runs the benchmarks, bench/spread.ts compares runs.

/** One row of the table: a figure of a benchmark's JSON, its floor, the ratio, the target. */
export interface Row {
  bench: string;
  figure: string;
  floor?: string;
  /** The ratio's field, when the benchmark prints it; without it, figure / floor. */
  ratio?: string;
  target?: { op: '<=' | '>='; value: number; of: 'ratio' | 'figure' };
}

export const ROWS: Row[] = [
  { bench: 'admission', figure: 'p99_ms', floor: 'floor_p99_ms', ratio: 'p99_over_floor', target: { op: '<=', value: 1.5, of: 'ratio' } },
  { bench: 'admission', figure: 'reviews_per_s', floor: 'floor_reviews_per_s', ratio: 'reviews_per_s_over_floor', target: { op: '>=', value: 0.75, of: 'ratio' } },
  { bench: 'admission', figure: 'handler_cpu_us_per_review', floor: 'floor_cpu_us_per_review' },
  // The handler's own path without the model's check (Ingresses of another class): no target, it says how much of the gap is the check's.
  { bench: 'admission', figure: 'foreign_class_reviews_per_s', floor: 'floor_reviews_per_s', ratio: 'foreign_class_reviews_per_s_over_floor' },
  { bench: 'admission', figure: 'foreign_class_p99_ms', floor: 'floor_p99_ms', ratio: 'foreign_class_p99_over_floor' },
  { bench: 'admission', figure: 'nginx_t_review_p50_ms', floor: 'p50_ms', ratio: 'nginx_t_review_over_p50' },
  { bench: 'admission', figure: 'large_review_ms', target: { op: '<=', value: 300, of: 'figure' } },
  { bench: 'admission', figure: 'small_review_during_large_p99_ms', floor: 'small_review_alone_p99_ms', target: { op: '<=', value: 50, of: 'figure' } },
  { bench: 'events', figure: 'endpoint_event_to_nginx_ms_p50', floor: 'direct_p50_ms', ratio: 'event_over_direct_p50', target: { op: '<=', value: 1.3, of: 'ratio' } },
  { bench: 'events', figure: 'endpoint_event_to_nginx_ms_p99', floor: 'direct_p99_ms', ratio: 'event_over_direct_p99', target: { op: '<=', value: 1.3, of: 'ratio' } },
  { bench: 'events', figure: 'events_per_s', floor: 'direct_per_s', ratio: 'events_per_s_over_direct', target: { op: '>=', value: 0.8, of: 'ratio' } },
  { bench: 'events', figure: 'replica_converged_ms' },
  { bench: 'events', figure: 'replica_applied_per_change_max', target: { op: '<=', value: 1, of: 'figure' } },
  { bench: 'events', figure: 'reviews_per_s_2', floor: 'reviews_per_s_1', ratio: 'reviews_2_over_1' },
  { bench: 'agent', figure: 'endpoint_update_during_reload_ms_p99', floor: 'endpoint_update_ms_p99', ratio: 'during_reload_over_idle', target: { op: '<=', value: 2, of: 'ratio' } },
  { bench: 'agent', figure: 'stream_endpoint_update_during_reload_ms_p99', floor: 'stream_endpoint_update_ms_p99', ratio: 'stream_during_reload_over_idle', target: { op: '<=', value: 50, of: 'figure' } },
  { bench: 'agent', figure: 'stream_endpoint_update_ms_p50', floor: 'stream_connection_ms_p50', ratio: 'stream_update_over_connection_p50' },
  { bench: 'agent', figure: 'stream_endpoint_update_reloads', target: { op: '<=', value: 0, of: 'figure' } },
  { bench: 'agent', figure: 'passthrough_endpoint_update_during_reload_ms_p99', floor: 'passthrough_endpoint_update_ms_p99', ratio: 'passthrough_during_reload_over_idle', target: { op: '<=', value: 50, of: 'figure' } },
  { bench: 'agent', figure: 'passthrough_endpoint_update_ms_p50', floor: 'passthrough_connection_ms_p50', ratio: 'passthrough_update_over_connection_p50' },
  { bench: 'agent', figure: 'passthrough_endpoint_update_reloads', target: { op: '<=', value: 0, of: 'figure' } },
  { bench: 'agent', figure: 'apply_ms_p50', floor: 'raw_reload_ms_p50', ratio: 'apply_over_raw' },
  { bench: 'agent', figure: 'burst_reloads' },
  { bench: 'proxy', figure: 'lua_rps', floor: 'static_rps', ratio: 'data_path_rps_over_static', target: { op: '>=', value: 0.95, of: 'ratio' } },
  { bench: 'proxy', figure: 'lua_p99_ms', floor: 'static_p99_ms', ratio: 'data_path_p99_over_static', target: { op: '<=', value: 1.1, of: 'ratio' } },
  { bench: 'proxy', figure: 'lua_rps_1000', floor: 'static_rps_1000', ratio: 'data_path_rps_over_static_1000' },
  { bench: 'proxy', figure: 'lua_p99_ms_1000', floor: 'static_p99_ms_1000', ratio: 'data_path_p99_over_static_1000' },
  { bench: 'render', figure: 'full_render_ms', floor: 'nginx_parse_ms', ratio: 'full_render_over_nginx_parse', target: { op: '<=', value: 0.5, of: 'ratio' } },
  { bench: 'render', figure: 'route_full_render_ms', floor: 'full_render_ms', ratio: 'route_vs_ingress_render', target: { op: '<=', value: 1, of: 'ratio' } },
  { bench: 'local', figure: 'all_served_ms', floor: 'all_served_floor_ms', ratio: 'all_served_ratio' },
  { bench: 'local', figure: 'edit_to_served_ms_p50', floor: 'nginx_t_ms', ratio: 'edit_ratio' },
];

const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);
export const show = (x: number | undefined) => (x === undefined ? '—' : Number.isInteger(x) ? String(x) : x.toFixed(x < 10 ? 2 : 1));

/** A row's figure, floor and ratio in one benchmark's JSON (the ratio printed, else figure / floor). */
export function figuresOf(r: Row, json: Record<string, unknown> | null): { value?: number; floor?: number; ratio?: number } {
  const value = num(json?.[r.figure]);
  const floor = r.floor ? num(json?.[r.floor]) : undefined;
  const ratio = (r.ratio ? num(json?.[r.ratio]) : undefined) ?? (value !== undefined && floor ? value / floor : undefined);
  return { value, floor, ratio };
}

/** The table's rows as text columns. */
export function table(results: Record<string, Record<string, unknown> | null>): string[][] {
  const rows: string[][] = [['benchmark', 'figure', 'value', 'floor', 'ratio', 'target', 'met']];
  for (const r of ROWS) {
    const json = results[r.bench];
    if (json === undefined) continue;
    const { value, floor, ratio } = figuresOf(r, json);
    const judged = r.target ? (r.target.of === 'ratio' ? ratio : value) : undefined;
    const met = !r.target || judged === undefined ? '' : (r.target.op === '<=' ? judged <= r.target.value : judged >= r.target.value) ? 'yes' : 'NO';
    rows.push([
      r.bench,
      r.figure + (r.floor ? ` / ${r.floor}` : ''),
      json === null ? 'failed' : show(value),
      show(floor),
      show(ratio),
      r.target ? `${r.target.of} ${r.target.op} ${r.target.value}` : '',
      met,
    ]);
  }
  return rows;
}

export function print(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
}

