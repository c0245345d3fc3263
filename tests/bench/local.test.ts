// `npm run bench:local` in small (20 apps, 2 edits of each kind), so that its machinery stays
// honest in CI: it starts wharf local, sees every host served, measures edits, and prints the JSON
// line the benchmark's figures are read from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

test('bench:local prints its figures for a small folder', () => {
  const root = new URL('../../', import.meta.url).pathname;
  const run = spawnSync(process.execPath, ['bench/local.ts'], { cwd: root, encoding: 'utf8', env: { ...process.env, BENCH_APPS: '20', BENCH_EDITS: '2' }, timeout: 240_000 });
  assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
  const last = JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, number>;
  assert.equal(last.objects, 60);
  for (const field of ['first_served_ms', 'all_served_ms', 'edit_to_served_ms_p50', 'endpoint_edit_to_served_ms_p50', 'rss_mb', 'parse_ms', 'nginx_t_ms', 'all_served_ratio']) {
    assert.ok(Number.isFinite(last[field]) && last[field]! > 0, `${field}: ${last[field]}`);
  }
  assert.ok(last.first_served_ms! <= last.all_served_ms!);
  // The Lua module's share of a reload is measured on the shape wharf rendered: a server and a
  // location block (at least) for each of the 20 hosts.
  assert.ok(last.servers! >= 20 && last.location_blocks! >= 20, `servers ${last.servers}, location blocks ${last.location_blocks}`);
  assert.ok(Number.isFinite(last.lua_module_share) && Number.isFinite(last.nginx_t_without_lua_module_ms), JSON.stringify(last));
});
