// Local mode's heap flags: added unless the user gave them (V8 left to itself let `wharf local`
// grow to 420 MB on 2,000 apps; bench:local measures it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localHeapFlags } from '../../wrangler-free-local/heap.ts';
import { freePort } from '../support/backend.ts';
import { startWharfLocal } from '../support/wharf-local.ts';

test('wharf local bounds its heap unless node was given heap flags', () => {
  const cases: Record<string, { execArgv: string[]; nodeOptions: string; want: string[] }> = {
    'nothing given': { execArgv: [], nodeOptions: '', want: ['--max-semi-space-size=8', '--max-old-space-size=512', '--no-allocation-site-pretenuring'] },
    'old space on the command line': { execArgv: ['--max-old-space-size=2048'], nodeOptions: '', want: ['--max-semi-space-size=8', '--no-allocation-site-pretenuring'] },
    'semi space in NODE_OPTIONS, pretenuring kept': { execArgv: ['--allocation-site-pretenuring'], nodeOptions: '--max_semi_space_size=2', want: ['--max-old-space-size=512'] },
  };
  for (const [name, c] of Object.entries(cases)) assert.deepEqual(localHeapFlags(c.execArgv, c.nodeOptions), c.want, name);
});

test('a running wharf local has the heap flags (same PID: what the user started)', async (t) => {
  const workDir = mkdtempSync(join(tmpdir(), 'wharf-heap-work-'));
  const args = ['--manifests', new URL('../../examples/cafe/', import.meta.url).pathname, '--http-port', String(await freePort()), '--https-port', String(await freePort()), '--handler-port', '0', '--agent-port', '0', '--no-backends'];
  const local = await startWharfLocal(args, workDir, /wharf local:/);
  t.after(async () => {
    await local.stop();
    rmSync(workDir, { recursive: true, force: true });
  });
  const cmdline = readFileSync(`/proc/${local.child.pid}/cmdline`, 'utf8').split('\0');
  for (const flag of ['--max-semi-space-size=8', '--max-old-space-size=512', '--no-allocation-site-pretenuring']) assert.ok(cmdline.includes(flag), `${flag} in ${cmdline.join(' ')}`);
});
