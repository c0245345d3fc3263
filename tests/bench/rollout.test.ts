// A short Deployment rollout under load, end to end: `wharf handler` and `wharf agent` with a real
// NGINX, pods as processes, EndpointSlice changes as CloudEvents, 200 requests/s through NGINX.
// Through wharf's endpoint path no request fails, and a removed pod stops getting requests before
// its process exits. The full proof (slow reloads in progress, and the reload-path baseline that
// reproduces the incident) is `npm run bench:rollout`; this keeps its machinery honest in CI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarize } from '../../bench/rollout-report.ts';
import { runRollout } from '../../bench/rollout-run.ts';

test('a rollout of 4 pods under 200 requests/s through the Lua endpoint path: no failed request, no request to a gone pod', async () => {
  const graceMs = 500;
  const run = await runRollout({
    endpointMode: 'lua', rate: 200, tlsServers: 0, certificate: null, replicas: 4, graceMs, readyDelayMs: 200,
    changeEveryMs: 0, warmupMs: 500, leadMs: 0, tailMs: 500, workerProcesses: '1', retryReused: false, timeoutMs: 5000,
    log: () => undefined,
  });
  const s = summarize(run);
  assert.equal(s.failed, 0, `failures: ${JSON.stringify(s.failures)}`);
  assert.ok(s.requests >= 200 * 2, `only ${s.requests} requests`);
  assert.ok(s.stale_routing_ms_max < graceMs, `a removed pod still answered ${s.stale_routing_ms_max} ms after its removal`);
  assert.equal(s.dead_endpoint_tries, 0, 'NGINX tried a pod whose process had exited');
  const answered = new Set(run.samples.map((x) => x.backend));
  for (const p of run.pods) assert.ok(answered.has(p.name), `${p.name} never answered`);
  const last = run.samples.slice(-100);
  assert.ok(last.every((x) => x.backend?.startsWith('new-')), 'after the rollout only new pods answer');
});
