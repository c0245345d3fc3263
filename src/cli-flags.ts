// What every `wharf` subcommand parses the same way: durations, namespace/name pairs and token
// files. A bad value is a UsageError naming the flag and what to fix; each command prints it with
// its usage and exits 2.
import { readFile } from 'node:fs/promises';

export class UsageError extends Error {
  override name = 'UsageError';
}

/** "250ms", "30s", "5m", "1h", or a bare number of seconds (decimals allowed) → milliseconds. */
export function parseDuration(flag: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new UsageError(`${flag}: Invalid value: ${JSON.stringify(value)}: expected a duration such as 500ms, 30s, 5m or 1h`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

const NAMESPACED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/;

/** `namespace/name` of a Kubernetes object. */
export function parseNamespacedName(flag: string, value: string): { namespace: string; name: string } {
  const m = NAMESPACED_NAME.exec(value);
  if (!m) throw new UsageError(`${flag}: Invalid value: ${JSON.stringify(value)}: expected namespace/name`);
  return { namespace: m[1]!, name: m[3]! };
}

/** Tokens shorter than this are refused: they could be guessed. */
export const MIN_TOKEN_LENGTH = 16;

/** Reads a bearer token from a file: one line, surrounding white space ignored, at least 16 characters. */
export async function readTokenFile(flag: string, path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`${flag}: cannot read ${path}: ${(e as Error).message}`);
  }
  const token = text.trim();
  if (!token) throw new UsageError(`${flag}: the token file ${path} is empty: put the bearer token in it`);
  if (/\s/.test(token)) throw new UsageError(`${flag}: the token in ${path} must be one line without spaces`);
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new UsageError(`${flag}: the token in ${path} is ${token.length} characters; use at least ${MIN_TOKEN_LENGTH} (e.g. openssl rand -hex 32)`);
  }
  return token;
}
