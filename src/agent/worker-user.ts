// Which user NGINX's workers run as, and so who must be able to read the secret files they open at
// request time (htpasswd files: auth_basic_user_file is read by a worker on every request with
// credentials). When the agent runs as root, NGINX's master does too and its workers switch to an
// unprivileged user: the agent names that user in nginx.conf (`user NAME GROUP;`, NAME from
// --worker-user, nobody by default) and gives it the secret files, mode 0600, so that the workers
// can read them and no other user can. When the agent does not run as root, the workers run as the
// agent's own user, which owns the files already: nothing to do.
import { readFileSync } from 'node:fs';
import type { FileOwner } from './layout.ts';

/** The worker user, by name (for nginx.conf) and by number (for chown). */
export interface WorkerUser extends FileOwner {
  user: string;
  group: string;
}

/** Fields of the /etc/passwd line for `user`, or null. */
export function findPasswdEntry(passwd: string, user: string): { uid: number; gid: number } | null {
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f[0] === user && f.length >= 4 && /^\d+$/.test(f[2]!) && /^\d+$/.test(f[3]!)) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  return null;
}

/** The name of group `gid` in /etc/group, or null. */
export function findGroupName(group: string, gid: number): string | null {
  for (const line of group.split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && f[2] === String(gid) && f[0]) return f[0];
  }
  return null;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

/**
 * The worker user when the agent runs as root (null otherwise): `user` looked up in /etc/passwd, its
 * primary group in /etc/group. Throws with what is missing.
 */
export function workerUser(user: string, o: { uid?: number; passwd?: string; group?: string } = {}): WorkerUser | null {
  const uid = o.uid ?? process.getuid?.() ?? -1;
  if (uid !== 0) return null;
  if (!NAME.test(user)) throw new Error(`--worker-user: Invalid value: ${JSON.stringify(user)}: expected a user name`);
  const passwd = o.passwd ?? readFileSync('/etc/passwd', 'utf8');
  const entry = findPasswdEntry(passwd, user);
  if (!entry) throw new Error(`--worker-user: ${user} is not in /etc/passwd: NGINX's workers (the agent runs as root) need an unprivileged user`);
  if (entry.uid === 0) throw new Error(`--worker-user: ${user} is root: NGINX's workers must not run as root`);
  const groupName = findGroupName(o.group ?? readFileSync('/etc/group', 'utf8'), entry.gid);
  if (!groupName || !NAME.test(groupName)) throw new Error(`--worker-user: the primary group ${entry.gid} of ${user} is not in /etc/group`);
  return { user, group: groupName, uid: entry.uid, gid: entry.gid };
}
