// bench/admission-parts.ts: where a review's CPU goes in process, beside the floor's work.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

test('the admission breakdown prints each part of a review and the review over the floor', () => {
  const script = fileURLToPath(new URL('../../bench/admission-parts.ts', import.meta.url));
  const r = spawnSync(process.execPath, [script, '--ingresses', '300', '--rounds', '1', '--min-ms', '100'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  // The mix of bench:admission: seven in ten allowed, two warned (a host the view holds), one denied.
  assert.match(lines[0]!, /"allowed":700,"warned":200,"denied":100/);
  const out = JSON.parse(lines.at(-1)!) as Record<string, number>;
  assert.equal(out.ingresses_in_view, 300);
  for (const k of ['floor_us', 'envelope_us', 'schema_us', 'model_check_us', 'review_us']) assert.ok(out[k]! > 0, `${k}: ${out[k]}`);
  // The review contains the model's check and the envelope's read: it cannot cost less than either.
  assert.ok(out.review_us! > out.model_check_us!, JSON.stringify(out));
  assert.ok(out.review_us! > out.envelope_us!, JSON.stringify(out));
  assert.equal(out.review_over_floor, Number((out.review_us! / out.floor_us!).toFixed(2)));
});
