// Tells local mode's manifest source that something in its folder may have changed, whatever way
// the change was made. Node's recursive `fs.watch` on Linux follows files rather than folders, so it
// loses a file deleted and written again under the same name, or replaced by a rename (as editors
// and `kubectl`-style tools save): 9 of 10 such changes were never seen. So every folder is watched
// for its entries (create, delete, rename, write of any file in it), folders that appear are
// watched as they appear, and a cheap periodic rescan (names, sizes, mtimes, inodes) catches what
// any watch missed: a folder replaced under the watch, a change during a re-arm, an event lost.
import { lstatSync, readdirSync, watch, type Dirent, type FSWatcher, type Stats } from 'node:fs';
import { join } from 'node:path';

export interface FolderWatchOptions {
  /** Called (often several times per change: debounce it) when something may have changed. */
  onChange: () => void;
  onError: (e: unknown) => void;
  /** How often the safety-net rescan runs. */
  rescanMs?: number;
}

/** Watches a folder tree: see the file comment. */
export class FolderWatch {
  readonly dir: string;
  private readonly o: Required<FolderWatchOptions>;
  private readonly watchers = new Map<string, FSWatcher>();
  private signature = '';
  private timer: NodeJS.Timeout | null = null;
  private soon: NodeJS.Timeout | null = null;
  private scanning = false;
  private closed = false;

  constructor(dir: string, options: FolderWatchOptions) {
    this.dir = dir;
    this.o = { rescanMs: 750, ...options };
  }

  /**
   * Arms the watches and the rescan; resolves once every folder is watched. Reports a change once
   * armed: whatever changed before the watches were in place is looked at too.
   */
  async start(): Promise<void> {
    this.signature = await this.scan();
    if (!this.closed) this.o.onChange();
    // The rescan's cost grows with the folder: it keeps to about 2% of one core.
    const tick = async () => {
      if (this.closed) return;
      const t = performance.now();
      await this.rescan();
      const every = Math.max(this.o.rescanMs, (performance.now() - t) * 50);
      if (!this.closed) this.timer = setTimeout(() => void tick(), every);
    };
    this.timer = setTimeout(() => void tick(), this.o.rescanMs);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.soon) clearTimeout(this.soon);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  private rescanSoon(): void {
    if (this.soon || this.closed) return;
    this.soon = setTimeout(() => {
      this.soon = null;
      void this.rescan();
    }, 20);
  }

  // Compares the folder with the last scan; a difference is a change that a watch may have missed.
  private async rescan(): Promise<void> {
    if (this.scanning) return;
    this.scanning = true;
    try {
      const signature = await this.scan();
      if (signature !== this.signature) {
        this.signature = signature;
        this.o.onChange();
      }
    } catch (e) {
      this.o.onError(e);
    } finally {
      this.scanning = false;
    }
  }

  /**
   * Walks the tree: watches each folder not yet watched (and drops the watches of folders that are
   * gone or were replaced), and returns a signature of every entry's name, type, size, mtime and inode.
   */
  private async scan(): Promise<string> {
    // Synchronous calls: a few microseconds per file where each promise-based call costs tens (2,000
    // files: about 5 ms), and the walk sees one moment of the tree.
    const parts: string[] = [];
    const seen = new Set<string>();
    const walk = (dir: string) => {
      const st = lstatOrNull(dir);
      if (!st?.isDirectory()) return;
      const id = `${dir}\0${st.ino}`;
      seen.add(id);
      parts.push(`d ${id}`);
      if (!this.watchers.has(id)) this.arm(dir, id);
      let entries: Dirent[] = [];
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        // gone meanwhile
      }
      for (const e of entries) {
        const path = join(dir, e.name);
        if (e.isDirectory()) walk(path);
        else if (e.isFile()) {
          const f = lstatOrNull(path);
          if (f) parts.push(`f ${path}\0${f.size}\0${f.mtimeMs}\0${f.ino}`);
        }
      }
    };
    walk(this.dir);
    for (const [id, w] of this.watchers) {
      if (seen.has(id)) continue;
      w.close();
      this.watchers.delete(id);
    }
    return parts.join('\n');
  }

  private arm(dir: string, id: string): void {
    if (this.closed) return;
    try {
      const w = watch(dir, { persistent: false }, (event) => {
        this.o.onChange();
        // A new or renamed folder needs its own watch: look soon rather than at the next rescan
        // (once for a burst: copying 2,000 files in is 2,000 renames).
        if (event === 'rename') this.rescanSoon();
      });
      w.on('error', () => {
        w.close();
        this.watchers.delete(id);
        this.o.onChange();
      });
      this.watchers.set(id, w);
    } catch {
      // gone already: the next rescan sees it
    }
  }
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}
