// The handler's heap settings. V8 left to itself on a machine with lots of memory lets garbage pile
// up long before it collects: under the admission benchmark (10,000 Ingresses, a live heap of about
// 100 MB) the handler's RSS reaches 410–470 MB with default flags, ~290 MB with
// `--max-semi-space-size=8 --max-old-space-size=256`, and ~320 MB with the old space at 1024 (the
// young generation bound alone is not enough). Heap sizes are fixed when V8 starts (setting them
// later with v8.setFlagsFromString has no effect, measured on Node 24), so when the flags are not
// given, `wharf handler` replaces itself once (process.execve: same PID, so tini and the kubelet
// see one process) with them added:
//   --max-semi-space-size=8     unless given
//   --max-old-space-size=N      unless given: half the container's memory limit (cgroup), at
//                               least 128; where there is no limit, a quarter of the machine's
//                               memory between 256 and 4096. A fixed 256 there ran out of heap
//                               (V8 aborts the process) at 30,000 Ingresses in the view (the live
//                               heap was then about 12 KB an Ingress; about 4 KB since: bench:scale)
//   --no-allocation-site-pretenuring
//                               unless --allocation-site-pretenuring is given. The view lives for
//                               the life of the process, so while it is listed V8 learns that what
//                               the model's code allocates survives, and from then on allocates it
//                               straight into the old generation: every admission review's and
//                               event's temporary objects too (about 30 MB/s under the admission
//                               benchmark), which costs a full mark-compact every second and a p99
//                               of 6–8 ms instead of 3. (Node refuses this flag in NODE_OPTIONS.)
// NODE_OPTIONS or node's own flags win flag by flag; WHARF_HEAP_DEFAULTS=0 turns this off.
import { totalmem } from 'node:os';
import { flagGiven } from '../node-flags.ts';

/** What is already decided: node's flags and NODE_OPTIONS. */
export interface HeapContext {
  execArgv: readonly string[];
  nodeOptions: string;
  /** The cgroup memory limit in bytes (process.constrainedMemory()); ≥ totalMemory or 0: none. */
  constrainedMemory: number;
  totalMemory: number;
}

const MIB = 1024 * 1024;

const given = (ctx: HeapContext, flag: string) => flagGiven(flag, ctx.execArgv, ctx.nodeOptions);

/** The flags to add (empty: nothing to do). Pure, for tests. */
export function heapDefaults(ctx: HeapContext): string[] {
  const out: string[] = [];
  if (!given(ctx, '--max-semi-space-size')) out.push('--max-semi-space-size=8');
  if (!given(ctx, '--max-old-space-size')) {
    const limited = ctx.constrainedMemory > 0 && ctx.constrainedMemory < ctx.totalMemory;
    const mb = limited ? Math.max(128, Math.floor(ctx.constrainedMemory / MIB / 2)) : Math.min(4096, Math.max(256, Math.floor(ctx.totalMemory / MIB / 4)));
    out.push(`--max-old-space-size=${mb}`);
  }
  if (!given(ctx, '--allocation-site-pretenuring')) out.push('--no-allocation-site-pretenuring');
  return out;
}

/**
 * Restarts this process with the heap defaults when some are missing (never returns then). Called
 * first thing by `wharf handler`, before anything is started or read.
 */
export function applyHeapDefaults(env: NodeJS.ProcessEnv = process.env): void {
  if (env.WHARF_HEAP_DEFAULTS === '0' || env.WHARF_HEAP_DEFAULTS === 'applied') return;
  if (typeof process.execve !== 'function') return;
  const flags = heapDefaults({
    execArgv: process.execArgv,
    nodeOptions: env.NODE_OPTIONS ?? '',
    constrainedMemory: process.constrainedMemory?.() ?? 0,
    totalMemory: totalmem(),
  });
  if (flags.length === 0) return;
  // `applied` keeps a second restart from ever happening, whatever the new process's flags say.
  process.execve(process.execPath, [process.execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)], { ...env, WHARF_HEAP_DEFAULTS: 'applied' });
}
