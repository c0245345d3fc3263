// Local mode's heap settings: the handler's reasoning (src/handlers/heap-defaults.ts) holds here
// too, since the handler, the agent and the watcher share this one process. With 2,000 apps (6,000
// objects) the live heap is about 80 MB, yet V8's defaults let the process grow to 420 MB;
// measured with `npm run bench:local` (2 shared cores): 335 MB with the young generation bounded
// (`--max-semi-space-size=8`) and allocation-site pretenuring off, 268 MB with the old space at
// 512 MB too, 273 MB at 256. The old space is 512 and not the handler's 256 so that a folder of
// several times that size still fits: a V8 out-of-memory abort is the one way out that cannot
// stop NGINX. Flags given on node's command line or in NODE_OPTIONS win, flag by flag;
// WHARF_HEAP_DEFAULTS=0 turns this off.
import { flagsNotGiven } from '../src/node-flags.ts';

const FLAGS = ['--max-semi-space-size=8', '--max-old-space-size=512', '--no-allocation-site-pretenuring'];

/** The flags to add (empty: nothing to do). Pure, for tests. */
export function localHeapFlags(execArgv: readonly string[], nodeOptions: string): string[] {
  return flagsNotGiven(FLAGS, execArgv, nodeOptions);
}

/**
 * Replaces this process (same PID) with the heap flags added, when some are missing; called first
 * thing by `wharf local`, before anything is started.
 */
export function applyLocalHeapDefaults(env: NodeJS.ProcessEnv = process.env): void {
  if (env.WHARF_HEAP_DEFAULTS === '0' || env.WHARF_HEAP_DEFAULTS === 'applied') return;
  if (typeof process.execve !== 'function') return;
  const flags = localHeapFlags(process.execArgv, env.NODE_OPTIONS ?? '');
  if (flags.length === 0) return;
  process.execve(process.execPath, [process.execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)], { ...env, WHARF_HEAP_DEFAULTS: 'applied' });
}
