// npm run bench — every benchmark in its quick form, one after the other, then one table for a
// person: each figure, the floor it was measured against in the same run, their ratio, the target
// and whether it is met. The benchmarks' own last-line JSON objects are printed first, one per line,
// for tools. A ratio is what to compare from run to run on a shared machine: the absolute figures
// move with the machine's load, the floor moves with them.
//
// Quick forms are smaller than the figures the issues name (2,000 Ingresses for admission instead
// of 10,000, for instance), so a target is judged on its ratio, or on an absolute figure only where
// the quick form measures the same thing. `npm run bench -- proxy render` runs only those.
// `npm run bench -- --runs 3 --burn` runs them three times, the last beside a CPU-heavy process,
// and adds a table of how far each figure and each ratio moved between the runs (bench/spread.ts).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { spreadTable, startBurner } from './spread.ts';
import { print, ROWS, table } from './summary.ts';

interface Bench {
  name: string;
  script: string;
  args?: string[];
  env?: Record<string, string>;
}

const BENCHES: Bench[] = [
  { name: 'admission', script: 'admission.ts', env: { BENCH_INGRESSES: '2000', BENCH_SECONDS: '4', BENCH_LARGE_ROUNDS: '2' } },
  { name: 'events', script: 'events.ts', env: { BENCH_SAMPLES: '1000', BENCH_EVENTS: '600', BENCH_REPLICA_ROUNDS: '4', BENCH_REVIEW_SECONDS: '3' } },
  { name: 'agent', script: 'agent.ts', args: ['--quick'] },
  { name: 'proxy', script: 'proxy.ts', args: ['--quick'] },
  { name: 'render', script: 'render.ts' },
  { name: 'local', script: 'local.ts', env: { BENCH_APPS: '500', BENCH_EDITS: '5' } },
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

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const runsAt = args.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 1;
  const burn = args.includes('--burn');
  const only = args.filter((a, i) => !a.startsWith('--') && !(runsAt >= 0 && i === runsAt + 1));
  const unknown = only.filter((n) => !BENCHES.some((b) => b.name === n));
  if (unknown.length || !Number.isInteger(runs) || runs < 1) {
    console.error(unknown.length ? `unknown benchmark ${unknown.join(', ')}; these exist: ${BENCHES.map((b) => b.name).join(', ')}` : `--runs: Invalid value: "${args[runsAt + 1]}": a whole number of runs, 1 or more`);
    process.exitCode = 2;
    return;
  }
  const all: Array<Record<string, Record<string, unknown> | null>> = [];
  for (let i = 0; i < runs; i++) {
    // With --burn, the last run has a CPU-heavy process beside it (one core busy).
    const burner = burn && i === runs - 1 ? startBurner() : null;
    const results: Record<string, Record<string, unknown> | null> = {};
    try {
      for (const b of BENCHES.filter((x) => !only.length || only.includes(x.name))) {
        results[b.name] = await run(b);
        console.log(JSON.stringify({ benchmark: b.name, ...(runs > 1 ? { run: i + 1, beside_cpu_burner: burner !== null } : {}), ...(results[b.name] ?? { failed: true }) }));
      }
    } finally {
      burner?.kill();
    }
    all.push(results);
  }
  console.log('');
  print(table(all[0]!));
  if (runs > 1) {
    console.log('');
    print(spreadTable(all, ROWS, burn ? runs - 1 : -1));
  }
  if (all.some((results) => Object.values(results).some((r) => r === null))) process.exitCode = 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
