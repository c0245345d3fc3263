// A prefix the agent cannot write (a full disk, a read-only one): a caller waiting with ?wait=1 gets
// a 503 that says why at once, not a 202 at the end of its wait; the failed reload is retried with a
// growing delay; the same error is one log line with a count, not two lines a second; and once the
// disk has room again the change applies. The disk is a small tmpfs mounted for the test (the agent
// runs as root here); where mounting is not allowed, the fragments directory is replaced by a file,
// which fails the same writes with ENOTDIR.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, openSync, writeSync, closeSync, rmSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually } from '../support/http.ts';
import { startTestAgent } from './harness.ts';

/** Mounts a tmpfs of `size` at `dir`; false where this process may not mount. */
function mountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Fills the filesystem of `dir` until it has no space left. */
function fill(path: string): void {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
}

/** A server for `host`, padded with `padKb` KiB of comment lines (more than a nearly full disk holds). */
const fragment = (host: string, padKb = 0) => `server {
    server_name ${host};
    include listen-http.conf;
    location / { return 200 "${host}\\n"; }
${`    # ${'x'.repeat(120)}\n`.repeat(padKb * 8)}}
`;

test('a full disk: ?wait=1 answers 503 with the reason at once, retries back off, one log line with a count, applied once there is room', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-disk-'));
  const tmpfs = mountTmpfs(dir, '16m');
  const prefix = join(dir, 'nginx');
  mkdirSync(prefix);
  const agent = await startTestAgent({ prefix });
  t.after(async () => {
    await agent.stop();
    if (tmpfs) execFileSync('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  const filler = join(dir, 'filler');
  const fragmentsDir = join(prefix, 'fragments');
  if (tmpfs) fill(filler);
  else {
    renameSync(fragmentsDir, `${fragmentsDir}.away`);
    writeFileSync(fragmentsDir, 'not a directory\n');
  }

  const started = performance.now();
  const r = await agent.api('PUT', '/v1/fragments/full.example.com?wait=1', { revision: 1, config: fragment('full.example.com', 32) });
  const ms = performance.now() - started;
  assert.equal(r.status, 503, r.text);
  assert.ok(ms < 5000, `answered after ${ms.toFixed(0)} ms`);
  assert.match(r.json.error, tmpfs ? /^not applied: cannot write the configuration: .*no space left on device/i : /^not applied: cannot write the configuration: .*not a directory/i);
  assert.match(r.json.error, /NGINX keeps serving the previous configuration, and the agent retries in 1 s$/);
  assert.equal(r.json.status, 'pending');
  assert.equal((await agent.get('full.example.com')).status, 404, 'nothing changed in what NGINX serves');

  // Retries back off (1 s, 2 s, 4 s, ...): at most 4 failed runs in 7.5 s (8 with a retry a second),
  // and the same error is logged once, with the count coming later.
  await sleep(7500);
  const failed = Number(/wharf_agent_reloads_total\{result="failed"\} (\d+)/.exec((await agent.api('GET', '/metrics')).text)?.[1] ?? 0);
  assert.ok(failed >= 3 && failed <= 4, `${failed} failed runs in 7.5 s`);
  const lines = agent.logs.filter((l) => /cannot write the configuration/.test(l));
  assert.equal(lines.length, 1, lines.join(''));

  // A second waiting caller gets the reason too, with the delay of the next retry.
  const again = await agent.api('PUT', '/v1/fragments/full.example.com?wait=1', { revision: 2, config: fragment('full.example.com', 32) });
  assert.equal(again.status, 503, again.text);
  assert.match(again.json.error, /retries in ([2-9]|[1-3]\d) s$/);

  // Room again: the next retry applies the newest revision.
  if (tmpfs) rmSync(filler);
  else {
    rmSync(fragmentsDir);
    renameSync(`${fragmentsDir}.away`, fragmentsDir);
  }
  const fragments = async () => (await agent.api('GET', '/v1/state')).json.fragments.map((f: { name: string; revision: number; status: string }) => [f.name, f.revision, f.status]);
  const applied = await eventually(async () => JSON.stringify(await fragments()) === JSON.stringify([['full.example.com', 2, 'applied']]), 35_000, 100);
  assert.ok(applied, `${JSON.stringify(await fragments())}\n${agent.logs.slice(-5).join('')}`);
  assert.equal((await agent.get('full.example.com')).status, 200);
  assert.ok(agent.logs.some((l) => /the same error came back \d+ more times/.test(l)), 'the count is logged when the error ends');
});
