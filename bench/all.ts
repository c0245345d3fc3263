// npm run bench — every benchmark in its quick form, one after the other, then one table for a
// person: each figure, the floor it was measured against in the same run, their ratio, the target
// and whether it is met. The benchmarks' own last-line JSON objects are printed first, one per line,
// for tools. A ratio is what to compare from run to run on a shared machine: the absolute figures
// move with the machine's load, the floor moves with them.
//
// Quick forms are smaller than the figures the issues name (2,000 Ingresses for admission instead
// of 10,000, for instance), so a target is judged on its ratio, or on an absolute figure only where
// the quick form measures the same thing. `npm run bench -- proxy render` runs only those.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

interface Bench {
  name: string;
  script: string;
  args?: string[];
  env?: Record<string, string>;
}

const BENCHES: Bench[] = [
  { name: 'admission', script: 'admission.ts', env: { BENCH_INGRESSES: '2000', BENCH_SECONDS: '4', BENCH_LARGE_ROUNDS: '2' } },
  { name: 'events', script: 'events.ts', env: { BENCH_SAMPLES: '60', BENCH_EVENTS: '600', BENCH_REPLICA_ROUNDS: '4', BENCH_REVIEW_SECONDS: '3' } },
  { name: 'agent', script: 'agent.ts', args: ['--quick'] },
  { name: 'proxy', script: 'proxy.ts', args: ['--quick'] },
  { name: 'render', script: 'render.ts' },
  { name: 'local', script: 'local.ts', env: { BENCH_APPS: '500', BENCH_EDITS: '5' } },
];

/** One row of the table: a figure of a benchmark's JSON, its floor, the ratio, the target. */
interface Row {
  bench: string;
  figure: string;
  floor?: string;
  /** The ratio's field, when the benchmark prints it; without it, figure / floor. */
  ratio?: string;
  target?: { op: '<=' | '>='; value: number; of: 'ratio' | 'figure' };
}

const ROWS: Row[] = [
  { bench: 'admission', figure: 'p99_ms', floor: 'floor_p99_ms', ratio: 'p99_over_floor', target: { op: '<=', value: 1.5, of: 'ratio' } },
  { bench: 'admission', figure: 'reviews_per_s', floor: 'floor_reviews_per_s', ratio: 'reviews_per_s_over_floor', target: { op: '>=', value: 0.75, of: 'ratio' } },
  { bench: 'admission', figure: 'nginx_t_review_p50_ms', floor: 'p50_ms', ratio: 'nginx_t_review_over_p50' },
  { bench: 'admission', figure: 'large_review_ms', target: { op: '<=', value: 300, of: 'figure' } },
  { bench: 'admission', figure: 'small_review_during_large_p99_ms', floor: 'small_review_alone_p99_ms', target: { op: '<=', value: 50, of: 'figure' } },
  { bench: 'events', figure: 'endpoint_event_to_nginx_ms_p50', floor: 'direct_p50_ms', ratio: 'event_over_direct_p50', target: { op: '<=', value: 1.3, of: 'ratio' } },
  { bench: 'events', figure: 'endpoint_event_to_nginx_ms_p99', floor: 'direct_p99_ms', ratio: 'event_over_direct_p99', target: { op: '<=', value: 1.3, of: 'ratio' } },
  { bench: 'events', figure: 'events_per_s', floor: 'direct_per_s', ratio: 'events_per_s_over_direct' },
  { bench: 'events', figure: 'replica_converged_ms' },
  { bench: 'events', figure: 'replica_applied_per_change_max', target: { op: '<=', value: 1, of: 'figure' } },
  { bench: 'events', figure: 'reviews_per_s_2', floor: 'reviews_per_s_1', ratio: 'reviews_2_over_1' },
  { bench: 'agent', figure: 'endpoint_update_during_reload_ms_p99', floor: 'endpoint_update_ms_p99', ratio: 'during_reload_over_idle', target: { op: '<=', value: 2, of: 'ratio' } },
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

const here = fileURLToPath(new URL('.', import.meta.url));

/** Runs one benchmark; its last stdout line is its JSON (null when it failed). */
function run(b: Bench): Promise<Record<string, unknown> | null> {
  return new Promise((resolve) => {
    process.stderr.write(`bench: ${b.name} …\n`);
    const child = spawn(process.execPath, [`${here}${b.script}`, ...(b.args ?? [])], { env: { ...process.env, ...b.env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      try {
        resolve(code === 0 ? (JSON.parse(last) as Record<string, unknown>) : null);
      } catch {
        resolve(null);
      }
    });
  });
}

const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);
const show = (x: number | undefined) => (x === undefined ? '—' : Number.isInteger(x) ? String(x) : x.toFixed(x < 10 ? 2 : 1));

/** The table's rows as text columns. */
export function table(results: Record<string, Record<string, unknown> | null>): string[][] {
  const rows: string[][] = [['benchmark', 'figure', 'value', 'floor', 'ratio', 'target', 'met']];
  for (const r of ROWS) {
    const json = results[r.bench];
    if (json === undefined) continue;
    const value = num(json?.[r.figure]);
    const floor = r.floor ? num(json?.[r.floor]) : undefined;
    const ratio = (r.ratio ? num(json?.[r.ratio]) : undefined) ?? (value !== undefined && floor ? value / floor : undefined);
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

function print(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const unknown = only.filter((n) => !BENCHES.some((b) => b.name === n));
  if (unknown.length) {
    console.error(`unknown benchmark ${unknown.join(', ')}; these exist: ${BENCHES.map((b) => b.name).join(', ')}`);
    process.exitCode = 2;
    return;
  }
  const results: Record<string, Record<string, unknown> | null> = {};
  for (const b of BENCHES.filter((x) => !only.length || only.includes(x.name))) {
    results[b.name] = await run(b);
    console.log(JSON.stringify({ benchmark: b.name, ...(results[b.name] ?? { failed: true }) }));
  }
  console.log('');
  print(table(results));
  if (Object.values(results).some((r) => r === null)) process.exitCode = 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
