// `npm run bench:scale` in small: its machinery (the test API server's paged list, the handler's
// snapshot loaded by a new agent, the full snapshot pushed to agents that appear behind the agents'
// Service, an EndpointSlice flip reaching NGINX at two sizes) stays honest in
// CI; the real sizes (100,000 Ingresses) are run by hand (BENCHMARKS.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

test('bench:scale in small: every phase reports, NGINX serves the snapshot, endpoint changes reach NGINX at both sizes', { timeout: 240_000 }, () => {
  const args = ['--ingresses', '300', '--services', '30', '--endpoints', '1200', '--admission-seconds', '2', '--changes', '2', '--samples', '3', '--nginx-ingresses', '100', '--container-memory', '1024'];
  const r = spawnSync(process.execPath, [fileURLToPath(new URL('../../bench/scale.ts', import.meta.url)), ...args], { encoding: 'utf8', timeout: 230_000 });
  assert.equal(r.status, 0, r.stderr.slice(-3000));
  const json = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
  assert.equal(json.ingresses, 300);
  for (const k of ['first_list_ms', 'handler_rss_listed_mb', 'handler_heap_used_listed_mb', 'admission_p99_over_floor', 'ingress_change_render_ms_mean', 'snapshot_bytes', 'snapshot_to_serving_ms', 'endpoint_change_ms_p50_1000', 'endpoint_change_ms_p50_at_scale']) {
    assert.ok(Number.isFinite(json[k]) && json[k]! > 0, `${k}: ${json[k]}`);
  }
  // A snapshot of 300 hosts is more than one of 100.
  assert.ok(json.snapshot_bytes! > json.nginx_snapshot_bytes!);
  assert.ok(Array.isArray(json.loadavg_before));
  // The handler ran with the heap a 1 GiB container gives it: half of it for the old space.
  assert.match(String(json.handler_node_flags), /--max-old-space-size=512\b/);
  assert.equal(json.handler_container_memory_mb, 1024);
  // The push phase: one agent, then two at once, each took the whole snapshot (every host, through
  // the agent's own API), and the handler's memory was watched meanwhile.
  const pushed = json as unknown as Record<string, unknown>;
  assert.equal(pushed.snapshot_push_accepted, true);
  assert.equal(pushed.snapshot_push_2_agents_accepted, true);
  assert.equal(pushed.snapshot_push_chunked, true);
  assert.ok(json.snapshot_push_fragments! >= 300);
  assert.ok(Math.abs(json.snapshot_push_bytes! - json.snapshot_bytes!) < json.snapshot_bytes! / 10, `pushed ${json.snapshot_push_bytes} bytes, GET /snapshot ${json.snapshot_bytes}`);
  for (const k of ['snapshot_push_ms', 'snapshot_push_2_agents_ms', 'handler_peak_rss_during_push_mb', 'handler_vmhwm_during_push_mb', 'handler_peak_rss_during_push_2_agents_mb']) {
    assert.ok(Number.isFinite(json[k]) && json[k]! > 0, `${k}: ${json[k]}`);
  }
});
