// The fault run of `npm run bench:events -- --fault`, short: `wharf handler` fed only by its own
// watches of the test API server, a real agent and NGINX. After an outage (3 s: with the default
// backoff, enough to leave a delay of 1.6–3.2 s behind, which the watcher used to wait after the next
// cut) and a healthy period, a cut of the busy EndpointSlice watch is followed within 1 s by NGINX
// routing from the new state. The full figure (15 s outage, 30 s of health) is the benchmark's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runWatchFault } from '../../bench/events-fault.ts';

test('NGINX routes from the new state within 1 s of a cut of the busy EndpointSlice watch, after an outage and a healthy period (stale for 21 s before)', async () => {
  const r = await runWatchFault({ outageS: 3, healthyS: 1.5, cuts: 2, floorSamples: 3 });
  const recoveries = r.watch_recovery_ms as number[];
  assert.equal(recoveries.length, 2);
  assert.ok((r.watch_recovery_ms_max as number) < 1000, `NGINX routed from the new state ${recoveries.join(' and ')} ms after the cuts: ${JSON.stringify(r)}`);
  assert.ok(typeof r.outage_recovery_ms === 'number' && typeof r.watch_change_to_nginx_ms_p50 === 'number', JSON.stringify(r));
});
