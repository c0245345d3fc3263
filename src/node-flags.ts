// Which Node and V8 flags a process was given, on node's command line (process.execArgv) or in
// NODE_OPTIONS. `wharf agent` and `wharf handler` both restart themselves once with flags of their
// own (src/agent/relaunch.ts, src/handlers/heap-defaults.ts), and a flag the user gave always wins:
// these decide what "gave" means, the same way for both.

/** A flag's name as V8 reads it: `--max_semi_space_size=4` → `--max-semi-space-size`. */
const nameOf = (arg: string) => arg.split('=')[0]!.replace(/_/g, '-');

/**
 * True when `flag` (written `--name`, without a value) was given in any form: `--name`,
 * `--name=value`, `--no-name`, with underscores, or as a longer flag that refines it
 * (`--max-old-space-size-percentage` counts for `--max-old-space-size`).
 */
export function flagGiven(flag: string, execArgv: readonly string[], nodeOptions = ''): boolean {
  const name = nameOf(flag).replace(/^--no-/, '--');
  const negated = `--no-${name.slice(2)}`;
  return [...execArgv, ...nodeOptions.split(/\s+/)].some((arg) => {
    const given = nameOf(arg);
    return given === name || given === negated || given.startsWith(`${name}-`);
  });
}

/** Those of `flags` the user did not give (flagGiven), in their order. */
export function flagsNotGiven(flags: readonly string[], execArgv: readonly string[], nodeOptions = ''): string[] {
  return flags.filter((f) => !flagGiven(f, execArgv, nodeOptions));
}
