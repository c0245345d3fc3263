// `npm run bench` ends with one table for a person: each figure beside its floor from the same run,
// the ratio, the target and whether it is met. And `npm run bench:proxy` in its quick form: the
// generator, the rendered location and the static one all answer (no error), so its ratios mean
// what they say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ROWS, table } from '../../bench/summary.ts';
import { spreadTable, startBurner } from '../../bench/spread.ts';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';

const row = (rows: string[][], figure: string) => rows.find((r) => r[1]!.startsWith(`${figure} `) || r[1] === figure);

test('the summary judges a ratio target on the ratio and an absolute one on the figure, and says which failed', () => {
  const rows = table({
    events: { endpoint_event_to_nginx_ms_p50: 6, direct_p50_ms: 3, event_over_direct_p50: 2, endpoint_event_to_nginx_ms_p99: 12, direct_p99_ms: 10, event_over_direct_p99: 1.2, events_per_s: 500, direct_per_s: 1000 },
    admission: { p99_ms: 4.2, reviews_per_s: 8000, large_review_ms: 120, small_review_during_large_p99_ms: 60, small_review_alone_p99_ms: 2 },
    proxy: null,
  });
  assert.deepEqual(row(rows, 'endpoint_event_to_nginx_ms_p50')!.slice(2), ['6', '3', '2', 'ratio <= 1.3', 'NO']);
  assert.deepEqual(row(rows, 'endpoint_event_to_nginx_ms_p99')!.slice(2), ['12', '10', '1.20', 'ratio <= 1.3', 'yes']);
  // No ratio field printed: figure over floor.
  assert.equal(row(rows, 'events_per_s')![4], '0.50');
  assert.deepEqual(row(rows, 'large_review_ms')!.slice(5), ['figure <= 300', 'yes']);
  assert.deepEqual(row(rows, 'small_review_during_large_p99_ms')!.slice(2), ['60', '2', '30', 'figure <= 50', 'NO']);
  // A benchmark that failed says so; one that was not run has no rows.
  assert.equal(row(rows, 'lua_rps')![2], 'failed');
  assert.equal(row(rows, 'full_render_ms'), undefined);
});

test('bench:proxy --quick: both hosts answer every request, and the JSON has both sides and their ratios', { timeout: 180_000 }, () => {
  const r = spawnSync(process.execPath, [fileURLToPath(new URL('../../bench/proxy.ts', import.meta.url)), '--quick'], { encoding: 'utf8', timeout: 170_000 });
  assert.equal(r.status, 0, r.stderr.slice(-3000));
  const json = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
  assert.equal(json.errors, 0, r.stderr.slice(-2000));
  for (const k of ['static_rps', 'lua_rps', 'static_rps_1000', 'lua_rps_1000']) assert.ok(json[k]! > 100, `${k}: ${json[k]}`);
  assert.ok(json.data_path_rps_over_static! > 0 && json.data_path_p99_over_static! > 0);
});

test('the spread table shows how far each figure and each ratio moved between runs, and marks the run beside the burner', () => {
  const run = (p99: number, floor: number) => ({ admission: { p99_ms: p99, floor_p99_ms: floor, p99_over_floor: p99 / floor } });
  const rows = spreadTable([run(4, 2), run(8, 4.4), run(12, 6)], ROWS, 2);
  assert.deepEqual(rows[0]!.slice(2, 5), ['run 1', 'run 2', 'run 3 (burner)']);
  const p99 = rows.find((r) => r[1] === 'p99_ms')!;
  // The figure tripled; the ratio moved by 10 %.
  assert.deepEqual(p99.slice(2), ['4', '8', '12', '3', '2 / 1.82 / 2', '1.10']);
  // A row no run measured is left out; a run where a benchmark failed shows a dash, not a zero.
  assert.equal(rows.find((r) => r[1] === 'lua_rps'), undefined);
  const failed = spreadTable([run(4, 2), { admission: null }], ROWS, -1).find((r) => r[1] === 'p99_ms')!;
  assert.deepEqual(failed.slice(2), ['4', '—', '—', '2 / —', '—']);
});

test('the burner of a loaded run keeps a core busy until it is killed', async () => {
  const burner = startBurner();
  const ticks = () => readFileSync(`/proc/${burner.pid}/stat`, 'utf8').split(') ')[1]!.split(' ').slice(11, 13).map(Number).reduce((x, y) => x + y, 0);
  try {
    // Half a second of CPU (clock ticks of 10 ms): a process that waits or sleeps never gets there;
    // one that spins does within seconds even when a loaded machine gives it a small share.
    const deadline = Date.now() + 20_000;
    while (ticks() < 50 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(ticks() >= 50, `burner used ${ticks()} ticks in 20 s`);
  } finally {
    burner.kill();
  }
  await once(burner, 'exit');
});
