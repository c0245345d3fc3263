// What the handler tier asked for, fragment by fragment, with revisions; and what NGINX last accepted
// of each. Pure bookkeeping (no I/O): the Reloader reads the changed names, writes them, and reports
// back which ones NGINX applied and which ones it quarantined.
import type { FragmentResult, FragmentStatus } from '../protocol/agent-api.ts';

export interface FragmentFileContent {
  content: string;
  secret: boolean;
}

/** The text of one fragment and the files shipped with it. Never mutated once stored. */
export interface FragmentContent {
  config: string;
  files: Record<string, FragmentFileContent>;
}

export interface FragmentEntry {
  name: string;
  /** Highest revision accepted (a put or a delete). */
  revision: number;
  /** The latest accepted content; null after a delete (a tombstone keeping the revision). */
  desired: FragmentContent | null;
  /** What NGINX last accepted (the content to restore when a newer one is quarantined). */
  good: FragmentContent | null;
  status: Exclude<FragmentStatus, 'stale'>;
  /** NGINX's error line when quarantined. */
  error?: string;
  /** The config version carrying `desired` (pending) or the one that applied it. */
  version: number;
}

/** Deep equality of two contents (null = absent). */
export function sameContent(a: FragmentContent | null, b: FragmentContent | null): boolean {
  if (a === b) return true;
  if (!a || !b || a.config !== b.config) return false;
  const ak = Object.keys(a.files);
  if (ak.length !== Object.keys(b.files).length) return false;
  for (const k of ak) {
    const x = a.files[k]!;
    const y = b.files[k];
    if (!y || x.content !== y.content || x.secret !== y.secret) return false;
  }
  return true;
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

  /** Names whose content is live or wanted (not tombstones). */
  liveNames(): string[] {
    return this.all()
      .filter((e) => e.desired !== null || e.good !== null)
      .map((e) => e.name);
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
  set(name: string, revision: number, content: FragmentContent | null): FragmentResult {
    const entry = this.entries.get(name);
    if (entry && revision <= entry.revision) {
      return { name, revision, status: 'stale', version: entry.version };
    }
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

  /** Deletes every fragment not in `keep` (a complete snapshot), keeping their revisions. */
  retainOnly(keep: Set<string>): FragmentResult[] {
    const results: FragmentResult[] = [];
    for (const e of this.entries.values()) {
      if (keep.has(e.name) || e.desired === null) continue;
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
  markApplied(name: string, content: FragmentContent | null, version: number): void {
    const e = this.entries.get(name);
    if (!e) return;
    e.good = content;
    if (e.desired === content || sameContent(e.desired, content)) {
      e.status = 'applied';
      delete e.error;
      e.version = version;
    }
  }

  /** NGINX refused `content` for `name`: it keeps serving `good`. */
  markQuarantined(name: string, content: FragmentContent | null, error: string): void {
    const e = this.entries.get(name);
    if (!e) return;
    if (e.desired === content || sameContent(e.desired, content)) {
      e.status = 'quarantined';
      e.error = error;
    }
  }

  /** Number of fragments known, tombstones included. */
  get size(): number {
    return this.entries.size;
  }
}
