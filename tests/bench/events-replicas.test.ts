// The replica run of `npm run bench:events`, short: three handler processes receiving one event
// stream as a load balancer spreads it (duplicates and reordering included) bring both agents to
// the last version of every EndpointSlice, and no agent applies a change twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runReplicas } from '../../bench/events-replicas.ts';

test('three handlers fed one spread, duplicated, reordered stream: both agents converge, each change applied at most once', { timeout: 180_000 }, async () => {
  const r = await runReplicas({ services: 6, rounds: 4, handlers: 3, agents: 2, window: 8, reviewSeconds: 1.5 }) as {
    replica_changes: number; replica_duplicates: number; replica_converged_ms: number; replica_applied_per_change: number[];
    replica_received_per_change: number[]; reviews_per_s_1: number; reviews_per_s_2: number;
  };
  assert.equal(r.replica_changes, 24);
  assert.ok(r.replica_duplicates > 0, 'some events went to two replicas');
  assert.ok(r.replica_converged_ms > 0);
  for (const [i, applied] of r.replica_applied_per_change.entries()) {
    assert.ok(applied > 0 && applied <= 1, `agent ${i} applied ${applied} writes per change`);
    assert.ok(r.replica_received_per_change[i]! >= applied);
  }
  assert.ok(r.reviews_per_s_1 > 0 && r.reviews_per_s_2 > 0);
});
