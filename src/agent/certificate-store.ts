// The TLS certificates the handler tier sent, with their revisions, by the name they are served for.
// Kept in memory so that a restarted NGINX master (whose shared dict starts empty) gets every one
// again. Pure bookkeeping, no I/O. Keys live here and in NGINX's memory only: nothing here is logged,
// and state() reports names and revisions, never PEM.
import { createHash } from 'node:crypto';

export interface StoredCertificate {
  name: string;
  revision: number;
  /** Null after a delete (a tombstone keeping the revision). */
  pem: { cert: string; key: string } | null;
  /** Highest revision NGINX holds (Lua mode) or a confirmed reload carried (reload mode). */
  appliedRevision: number | null;
  /** Reload mode: the config version that carries this revision (applied once a reload confirms it). */
  version: number;
  /** NGINX refused it (its store is full): why, until a later send succeeds. */
  error: string | null;
}

/** The name NGINX's store and SNI use: `_.example.com` is `*.example.com`; `_default` stays. */
export function sniName(name: string): string {
  return name.startsWith('_.') ? `*${name.slice(1)}` : name;
}

const digest = (pem: { cert: string; key: string } | null) =>
  pem ? createHash('sha256').update(pem.cert).update('\0').update(pem.key).digest('hex') : '';

export class CertificateStore {
  private readonly certs = new Map<string, StoredCertificate>();
  private readonly digests = new Map<string, string>();

  get(name: string): StoredCertificate | undefined {
    return this.certs.get(name);
  }

  all(): StoredCertificate[] {
    return [...this.certs.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Certificates held (tombstones excluded). */
  get size(): number {
    let n = 0;
    for (const c of this.certs.values()) if (c.pem) n++;
    return n;
  }

  /**
   * Accepts a certificate (null: delete) unless an equal or newer revision was accepted.
   * 'unchanged': a newer revision of the same bytes, nothing to send to NGINX.
   */
  set(name: string, revision: number, pem: { cert: string; key: string } | null): 'stale' | 'changed' | 'unchanged' {
    const current = this.certs.get(name);
    if (current && revision <= current.revision) return 'stale';
    const d = digest(pem);
    const same = current !== undefined && this.digests.get(name) === d;
    if (current) {
      current.revision = revision;
      current.pem = pem;
      if (same && current.appliedRevision !== null) current.appliedRevision = revision;
    } else {
      this.certs.set(name, { name, revision, pem, appliedRevision: null, version: 0, error: null });
    }
    this.digests.set(name, d);
    return same ? 'unchanged' : 'changed';
  }

  /**
   * Deletes every certificate not in `keep` (a complete snapshot); with `below`, only those held at
   * a revision below it. Returns the names deleted.
   */
  retainOnly(keep: Set<string>, below = Infinity): string[] {
    const removed: string[] = [];
    for (const c of this.certs.values()) {
      if (keep.has(c.name) || c.pem === null || c.revision >= below) continue;
      c.pem = null;
      c.appliedRevision = null;
      this.digests.set(c.name, '');
      removed.push(c.name);
    }
    return removed;
  }

  markApplied(name: string, revision: number): void {
    const c = this.certs.get(name);
    if (!c) return;
    c.error = null;
    if (c.appliedRevision === null || revision > c.appliedRevision) c.appliedRevision = revision;
  }

  markFailed(name: string, error: string): void {
    const c = this.certs.get(name);
    if (c) c.error = error;
  }
}
