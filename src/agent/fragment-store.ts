// What the handler tier asked for, fragment by fragment, with revisions; and what NGINX last accepted
// of each. Pure bookkeeping (no I/O): the Reloader reads the changed names, writes them, and reports
// back which ones NGINX applied and which ones it quarantined.
//
// Content is kept by digest. Its bytes (configs, certificates, keys) stay in memory only until the
// Reloader has them on disk: from then on NGINX's files are the one copy, so an agent serving
// thousands of TLS hosts does not hold every certificate and key in its heap as well.
import { createHash } from 'node:crypto';
import type { FragmentResult, FragmentStatus } from '../protocol/agent-api.ts';

export interface FragmentFileContent {
  content: string;
  secret: boolean;
}

/** The text of one fragment and the files shipped with it, as the API sends them. */
export interface FragmentContent {
  config: string;
  files: Record<string, FragmentFileContent>;
}

/** A digest of one file's bytes and mode (what decides whether it must be written again). */
export function fileDigest(content: string, secret: boolean): string {
  return createHash('sha256').update(secret ? 's' : 'p').update(content, 'utf8').digest('base64url');
}

/** A digest of everything in `content`: the config, and every file's name, mode and bytes. */
export function contentDigest(content: FragmentContent): string {
  const h = createHash('sha256').update(fileDigest(content.config, false));
  for (const name of Object.keys(content.files).sort()) {
    const f = content.files[name]!;
    h.update(`\0${name}\0`).update(fileDigest(f.content, f.secret));
  }
  return h.digest('base64url');
}

/**
 * One version of a fragment's content: its digest for as long as the agent knows it, its bytes until
 * `release()` (the Reloader calls it once they are on disk, or once NGINX refused them).
 */
export class StoredContent {
  readonly digest: string;
  private held: FragmentContent | null;

  constructor(content: FragmentContent) {
    this.digest = contentDigest(content);
    this.held = content;
  }

  /** The bytes, or null once released. */
  get bytes(): FragmentContent | null {
    return this.held;
  }

  release(): void {
    this.held = null;
  }
}

/** Whether two contents are the same (null = absent). */
export function sameContent(a: StoredContent | null, b: StoredContent | null): boolean {
  return a === b || (a !== null && b !== null && a.digest === b.digest);
}

export interface FragmentEntry {
  name: string;
  /** Highest revision accepted (a put or a delete). */
  revision: number;
  /** The latest accepted content; null after a delete (a tombstone keeping the revision). */
  desired: StoredContent | null;
  /** Digest of what NGINX last accepted (null: nothing). */
  good: string | null;
  status: Exclude<FragmentStatus, 'stale'>;
  /** NGINX's error line when quarantined. */
  error?: string;
  /** The config version carrying `desired` (pending) or the one that applied it. */
  version: number;
}

/** The fragments with their revisions, statuses and the set of names changed since the last reload. */
export class FragmentStore {
  private readonly entries = new Map<string, FragmentEntry>();
  private dirty = new Set<string>();
  /** Bumped by every accepted change that alters what NGINX should serve. */
  desiredVersion: number;

  constructor(initialVersion = 1) {
    this.desiredVersion = initialVersion;
  }

  get(name: string): FragmentEntry | undefined {
    return this.entries.get(name);
  }

  /** Every fragment, tombstones included, sorted by name. */
  all(): FragmentEntry[] {
    return [...this.entries.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  get quarantinedCount(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.status === 'quarantined') n++;
    return n;
  }

  /** Bumps the desired version for a change that is not a fragment (reload-mode endpoints). */
  bumpVersion(): number {
    return ++this.desiredVersion;
  }

  /**
   * Accepts `content` (null: delete) at `revision` unless an equal or newer revision was accepted
   * before. Content equal to what is already desired changes nothing and causes no reload.
   */
  set(name: string, revision: number, body: FragmentContent | null): FragmentResult {
    const entry = this.entries.get(name);
    if (entry && revision <= entry.revision) {
      return { name, revision, status: 'stale', version: entry.version };
    }
    const content = body === null ? null : new StoredContent(body);
    if (!entry) {
      if (content === null) {
        // Deleting what never existed: remember the revision so an older put cannot create it.
        const e: FragmentEntry = { name, revision, desired: null, good: null, status: 'applied', version: this.desiredVersion };
        this.entries.set(name, e);
        return { name, revision, status: 'applied', version: e.version };
      }
      const e: FragmentEntry = { name, revision, desired: content, good: null, status: 'pending', version: ++this.desiredVersion };
      this.entries.set(name, e);
      this.dirty.add(name);
      return { name, revision, status: 'pending', version: e.version };
    }
    entry.revision = revision;
    if (sameContent(entry.desired, content)) return this.result(entry);
    entry.desired = content;
    entry.status = 'pending';
    delete entry.error;
    entry.version = ++this.desiredVersion;
    this.dirty.add(name);
    return this.result(entry);
  }

  /**
   * Deletes every fragment not in `keep` (a complete snapshot), keeping their revisions; with
   * `below`, only those held at a revision below it (the snapshot's: newer ones stay).
   */
  retainOnly(keep: Set<string>, below = Infinity): FragmentResult[] {
    const results: FragmentResult[] = [];
    for (const e of this.entries.values()) {
      if (keep.has(e.name) || e.desired === null || e.revision >= below) continue;
      e.desired = null;
      e.status = 'pending';
      delete e.error;
      e.version = ++this.desiredVersion;
      this.dirty.add(e.name);
      results.push(this.result(e));
    }
    return results;
  }

  result(entry: FragmentEntry): FragmentResult {
    return {
      name: entry.name,
      revision: entry.revision,
      status: entry.status,
      version: entry.version,
      ...(entry.error !== undefined ? { error: entry.error } : {}),
    };
  }

  get dirtyCount(): number {
    return this.dirty.size;
  }

  /** The names changed since the last call; the reload that takes them owns them. */
  takeDirty(): string[] {
    const names = [...this.dirty].sort();
    this.dirty = new Set();
    return names;
  }

  /** Puts names back for the next reload (a reload that could not finish them). */
  markDirty(names: Iterable<string>): void {
    for (const n of names) if (this.entries.has(n)) this.dirty.add(n);
  }

  /** NGINX serves `content` for `name` at `version`. */
  markApplied(name: string, content: StoredContent | null, version: number): void {
    const e = this.entries.get(name);
    if (!e) return;
    e.good = content?.digest ?? null;
    if (sameContent(e.desired, content)) {
      e.status = 'applied';
      delete e.error;
      e.version = version;
    }
  }

  /** NGINX refused `content` for `name`: it keeps serving `good`. */
  markQuarantined(name: string, content: StoredContent | null, error: string): void {
    const e = this.entries.get(name);
    if (!e) return;
    if (sameContent(e.desired, content)) {
      e.status = 'quarantined';
      e.error = error;
    }
  }

  /** Number of fragments known, tombstones included. */
  get size(): number {
    return this.entries.size;
  }
}
