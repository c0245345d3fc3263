// `wharf handler`'s heap settings: which flags it adds when it restarts itself, given node's flags,
// NODE_OPTIONS and the container's memory limit; and that the restart really happens (same PID).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { heapDefaults, type HeapContext } from '../../src/handlers/heap-defaults.ts';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

const P = '--no-allocation-site-pretenuring';

test('heap flags added, flag by flag, unless given', () => {
  const none: HeapContext = { execArgv: [], nodeOptions: '', constrainedMemory: 0, totalMemory: 24 * GiB };
  const cases: Record<string, { ctx: Partial<HeapContext>; want: string[] }> = {
    'nothing given, no memory limit: a quarter of the machine, at most 4096': { ctx: {}, want: ['--max-semi-space-size=8', '--max-old-space-size=4096', P] },
    'no limit (cgroup v2 reports the largest number)': { ctx: { constrainedMemory: 2 ** 64 }, want: ['--max-semi-space-size=8', '--max-old-space-size=4096', P] },
    'no limit on a 4 GiB machine: a quarter of it': { ctx: { totalMemory: 4 * GiB }, want: ['--max-semi-space-size=8', '--max-old-space-size=1024', P] },
    'no limit on a 512 MiB machine: never below 256': { ctx: { totalMemory: 512 * MiB }, want: ['--max-semi-space-size=8', '--max-old-space-size=256', P] },
    'a 512Mi limit: half of it': { ctx: { constrainedMemory: 512 * MiB }, want: ['--max-semi-space-size=8', '--max-old-space-size=256', P] },
    'a 2Gi limit: half of it': { ctx: { constrainedMemory: 2 * GiB }, want: ['--max-semi-space-size=8', '--max-old-space-size=1024', P] },
    'a tiny limit: never below 128': { ctx: { constrainedMemory: 128 * MiB }, want: ['--max-semi-space-size=8', '--max-old-space-size=128', P] },
    'NODE_OPTIONS sets both sizes: pretenuring only': { ctx: { nodeOptions: '--max-old-space-size=400 --max-semi-space-size=4' }, want: [P] },
    'pretenuring asked for on the command line: left on': { ctx: { execArgv: ['--allocation-site-pretenuring'], nodeOptions: '--max-old-space-size=400 --max-semi-space-size=4' }, want: [] },
    'everything given: nothing': { ctx: { execArgv: ['--no_allocation_site_pretenuring', '--max-semi-space-size=2'], nodeOptions: '--max-old-space-size=400' }, want: [] },
    'NODE_OPTIONS sets the old space: only the young one': { ctx: { nodeOptions: '--enable-source-maps --max-old-space-size=400' }, want: ['--max-semi-space-size=8', P] },
    'node flags with underscores count too': { ctx: { execArgv: ['--max_semi_space_size=16'] }, want: ['--max-old-space-size=4096', P] },
    'a percentage of the old space counts as given': { ctx: { nodeOptions: '--max-old-space-size-percentage=50' }, want: ['--max-semi-space-size=8', P] },
  };
  for (const [name, c] of Object.entries(cases)) assert.deepEqual(heapDefaults({ ...none, ...c.ctx }), c.want, name);
});

test('`wharf handler` restarts itself with the heap settings, keeping its PID; NODE_OPTIONS and WHARF_HEAP_DEFAULTS=0 are respected', () => {
  const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
  // A usage error is reported after the restart: the process that prints it shows its own flags in /proc.
  const run = (env: Record<string, string>) => {
    const probe = `--import=data:text/javascript,${encodeURIComponent("process.on('exit',()=>process.stderr.write('\\nFLAGS '+process.pid+' '+process.execArgv.filter(a=>/^--(max|no-allocation)/.test(a)).join(' ')+'\\n'))")}`;
    const r = spawnSync(process.execPath, [probe, cli, 'handler', '--listen', 'nowhere'], { encoding: 'utf8', env: { ...process.env, ...env } });
    assert.equal(r.status, 2, r.stderr);
    const [, pid, flags] = /FLAGS (\d+) ?(.*)/.exec(r.stderr)!;
    assert.equal(Number(pid), r.pid, 'the same process');
    return flags!.trim();
  };
  const clean = { NODE_OPTIONS: '', WHARF_HEAP_DEFAULTS: '' };
  assert.match(run(clean), /^--max-semi-space-size=8 --max-old-space-size=\d+ --no-allocation-site-pretenuring$/);
  assert.equal(run({ ...clean, WHARF_HEAP_DEFAULTS: '0' }), '');
  assert.equal(run({ ...clean, NODE_OPTIONS: '--max-semi-space-size=4 --max-old-space-size=300' }), P);
});
