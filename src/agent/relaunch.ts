// `wharf agent` runs for days beside NGINX, so it starts itself again, in the same process (same PID,
// process.execve), in the shape that costs the least memory (figures: `npm run bench:agent`, which
// runs `node src/cli.ts agent` as everyone does):
//
// - Node's compile cache in the prefix, warmed first. Node 24 strips TypeScript's types with a
//   WebAssembly compiler that stays in memory for the life of the process (about 25 MB) once it has
//   stripped one file; a process that finds every file's stripped text in the cache never loads it.
// - V8 flags for a small, I/O-bound program: 1 MB semi-spaces (V8's young generation otherwise grows
//   to 2 × 64 MB, mostly garbage, under load: about 90 MB of the agent's memory under the benchmark),
//   heuristics that favour size (a tighter heap after a burst), and no optimizing compilers (their
//   code and compile memory cost more than the agent's little JavaScript gains from them).
// - glibc's malloc told to give memory back: two arenas instead of one per thread, and buffers of
//   64 KB and more (request bodies, file writes) mapped on their own and unmapped when freed, instead
//   of fragmenting the heap that glibc can only shrink from the top (about 8 MB after a burst).
//
// Stages, all in one PID: the command as started (`WHARF_AGENT_RELAUNCH` unset) → `warm` (the same
// command with the flags, the settings and the compile cache on from the first file: it loads every
// module and writes the cache) → `done` (the same again, with a warm cache: the agent itself). A
// flag or malloc setting the user gave wins over ours. WHARF_AGENT_RELAUNCH=off runs the agent in the
// process as started (no cache, no flags, no settings).
import { mkdirSync } from 'node:fs';
import { flushCompileCache } from 'node:module';
import { flagsNotGiven } from '../node-flags.ts';

/** The V8 flags the agent runs with. */
export const AGENT_V8_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--optimize-for-size', '--disable-optimizing-compilers'];

/** glibc malloc settings (environment variables read at process start; other C libraries ignore them). */
export const AGENT_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '65536',
  MALLOC_TRIM_THRESHOLD_: '65536',
};

export const RELAUNCH_ENV = 'WHARF_AGENT_RELAUNCH';

export type RelaunchStage = 'start' | 'warm' | 'done';

/** Where this process is in the sequence above. */
export function relaunchStage(env: NodeJS.ProcessEnv = process.env): RelaunchStage {
  const v = env[RELAUNCH_ENV];
  if (v === 'warm') return 'warm';
  if (v === 'done' || v === 'off') return 'done';
  return 'start';
}

/** Our flags minus those the user set already (`--max_semi_space_size` spelled either way). */
export function flagsToAdd(execArgv: readonly string[], nodeOptions = ''): string[] {
  return flagsNotGiven(AGENT_V8_FLAGS, execArgv, nodeOptions);
}

/**
 * The next stage's argv and environment (pure; `execArgv` and `argv` as in `process`). Both stages
 * after the first run with the same flags: Node keys its cache by V8 flags, so the cache the `warm`
 * stage writes is the one the `done` stage reads.
 */
export function nextExec(
  stage: RelaunchStage,
  o: { execPath: string; execArgv: readonly string[]; argv: readonly string[]; env: NodeJS.ProcessEnv; cacheDir: string | null },
): { args: string[]; env: NodeJS.ProcessEnv } | null {
  if (stage === 'done') return null;
  const env: NodeJS.ProcessEnv = { ...AGENT_MALLOC_ENV, ...o.env, [RELAUNCH_ENV]: stage === 'start' && o.cacheDir ? 'warm' : 'done' };
  if (o.cacheDir) env.NODE_COMPILE_CACHE = o.cacheDir;
  // From the first stage, add our flags; the warm stage was started with them already.
  const flags = stage === 'start' ? flagsToAdd(o.execArgv, o.env.NODE_OPTIONS) : [];
  return { args: [o.execPath, ...flags, ...o.execArgv, ...o.argv.slice(1)], env };
}

/**
 * Moves to the next stage with process.execve (which does not return), once every module of the
 * agent is loaded. In the last stage it returns, after removing what the stages added from the
 * environment NGINX inherits. If the platform has no execve or it fails, it returns too: the agent
 * then runs as started, and `warn` says why.
 */
export function relaunch(cacheDir: string, warn: (msg: string, fields: Record<string, unknown>) => void): void {
  const stage = relaunchStage();
  if (stage === 'done') {
    if (process.env[RELAUNCH_ENV] === 'done') {
      // NGINX inherits this environment: without what the first stage added.
      for (const [k, v] of Object.entries(AGENT_MALLOC_ENV)) if (process.env[k] === v) delete process.env[k];
      if (process.env.NODE_COMPILE_CACHE === cacheDir) delete process.env.NODE_COMPILE_CACHE;
    }
    delete process.env[RELAUNCH_ENV];
    return;
  }
  if (typeof process.execve !== 'function') {
    warn('running without the V8 flags and the compile cache: this platform has no process.execve', {});
    return;
  }
  let dir: string | null = cacheDir;
  if (stage === 'start') {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      warn('no compile cache: TypeScript is stripped in memory', { dir, error: e });
      dir = null;
    }
  } else {
    // Everything the agent runs is loaded by now: write it to the cache before the process is replaced.
    flushCompileCache();
  }
  const next = nextExec(stage, { execPath: process.execPath, execArgv: process.execArgv, argv: process.argv, env: process.env, cacheDir: dir });
  if (!next) return;
  try {
    process.execve(process.execPath, next.args, next.env);
  } catch (e) {
    warn('cannot restart the agent with its V8 flags; running as started', { error: e });
  }
}
