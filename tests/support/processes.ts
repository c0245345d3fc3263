// Whether a process runs, for tests that start and kill agents and NGINX masters.
import { readFileSync } from 'node:fs';

/** True while `pid` runs (a zombie left for an init that does not reap does not count). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
