// How far the figures move between runs of the same benchmarks (`npm run bench -- --runs 3 --burn`):
// absolute times on a shared machine swing with its load, a ratio to a floor measured in the same
// run should not. For each row of the summary: the figure in every run and its spread (largest over
// smallest), and the same for the ratio. One run may have a CPU-heavy process beside it, so the
// table shows what outside load does to each.
import { spawn, type ChildProcess } from 'node:child_process';
import { figuresOf, show, type Row } from './summary.ts';

/** Largest over smallest of the values that exist (1 means the runs agree). */
export function spread(values: Array<number | undefined>): number | undefined {
  const xs = values.filter((x): x is number => x !== undefined && x > 0);
  return xs.length < 2 ? undefined : Math.max(...xs) / Math.min(...xs);
}

/** One row per summary row measured in any run: the figures and ratios per run, with their spreads. */
export function spreadTable(runs: Array<Record<string, Record<string, unknown> | null>>, rows: Row[], burnRun: number): string[][] {
  const label = (i: number) => `run ${i + 1}${i === burnRun ? ' (burner)' : ''}`;
  const out: string[][] = [['benchmark', 'figure', ...runs.map((_, i) => label(i)), 'spread', 'ratio per run', 'ratio spread']];
  for (const r of rows) {
    if (runs.every((results) => results[r.bench] === undefined)) continue;
    const per = runs.map((results) => figuresOf(r, results[r.bench] ?? null));
    out.push([
      r.bench,
      r.figure,
      ...per.map((f) => show(f.value)),
      show(spread(per.map((f) => f.value))),
      per.some((f) => f.ratio !== undefined) ? per.map((f) => show(f.ratio)).join(' / ') : '',
      show(spread(per.map((f) => f.ratio))),
    ]);
  }
  return out;
}

/** A process that keeps one core busy until killed: the "other CPU-heavy process" of a loaded run. */
export function startBurner(): ChildProcess {
  return spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
}
