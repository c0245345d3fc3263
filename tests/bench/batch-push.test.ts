// bench/batch-push.ts: one large batch into the agent's API, its peak memory beside the batch's size.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

test('the batch push reports the batch taken whole (202), the receiver\'s peak memory over the batch\'s size, and its times', () => {
  const script = fileURLToPath(new URL('../../bench/batch-push.ts', import.meta.url));
  const r = spawnSync(process.execPath, [script, '--fragments', '2000'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
  assert.equal(out.fragments, 2000);
  assert.equal(out.status, 202);
  // 2,000 fragments of about 2.8 KB.
  assert.ok(out.batch_bytes! > 5_000_000 && out.batch_bytes! < 6_000_000, String(out.batch_bytes));
  assert.ok(out.agent_api_peak_rss_mb! > 0);
  assert.equal(out.peak_rss_over_batch, Number((out.agent_api_peak_rss_mb! / (out.batch_bytes! / 2 ** 20)).toFixed(2)));
  assert.ok(out.transfer_ms! >= 0 && out.answered_after_last_byte_ms! >= 0, JSON.stringify(out));
});
