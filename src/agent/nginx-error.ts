// Reads NGINX's error output (`nginx -t`, or the master refusing a reload) and says which fragment
// caused it, so that one fragment is quarantined instead of the whole configuration.

export interface NginxError {
  /** NGINX's error line without time and pid, e.g. `[emerg] unknown directive "x" in /p/fragments/a.conf:3`. */
  line: string;
  /** The fragment the error points into (its .conf, or one of its files), or null. */
  fragment: string | null;
  /** The prefix-relative file the error points into when it is not a fragment (e.g. upstreams.conf). */
  file: string | null;
}

const LEVELS = /\[(emerg|alert|crit)\]/;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** One line of NGINX's log without the leading `2026/01/02 03:04:05 ` or `nginx: ` and `PID#TID: `. */
export function stripLogPrefix(line: string): string {
  return line
    .replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /, '')
    .replace(/^nginx: /, '')
    .replace(/^(\[\w+\]) \d+#\d+: (\*\d+ )?/, '$1 ');
}

/**
 * The first fatal error in `output` (NGINX stops at the first one) and where it points, relative to
 * `prefix`; null when the output holds no fatal error.
 */
export function parseNginxError(output: string, prefix: string): NginxError | null {
  const raw = output.split('\n').find((l) => LEVELS.test(l));
  if (!raw) return null;
  const line = stripLogPrefix(raw.trim());
  const p = escapeRegExp(prefix.replace(/\/+$/, ''));
  const inFragment = new RegExp(`${p}/(?:stream-)?fragments/([a-z0-9_][a-z0-9._-]*)\\.conf:\\d+`).exec(line);
  if (inFragment) return { line, fragment: inFragment[1]!, file: null };
  const inFiles = new RegExp(`${p}/files/([a-z0-9_][a-z0-9._-]*)/`).exec(line);
  if (inFiles) return { line, fragment: inFiles[1]!, file: null };
  const inOther = new RegExp(`${p}/([A-Za-z0-9._-]+):\\d+`).exec(line);
  return { line, fragment: null, file: inOther ? inOther[1]! : null };
}
