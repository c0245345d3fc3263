// The folder of manifests as last read, one file at a time: local mode's sync stats every file and
// re-reads and re-parses only the files that changed (by size, mtime, ctime and inode), so one edit
// in a folder of thousands of objects costs the parse of one file. It answers which objects a
// refresh may have changed, and, for each, which document defines it now (the first in file order:
// a duplicate elsewhere is reported and ignored, as readManifests does). Kind-agnostic: every object
// the reader accepts (view.ts's KINDS) is passed on.
import { lstatSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { manifestFiles, parseManifestText, type ManifestObject, type ManifestProblem } from './manifests.ts';
import type { Kind } from './view.ts';

/** A document's object, and the reason the check refused it (then it is not served). */
export interface FoundObject extends ManifestObject {
  invalid?: string;
}

/** Checks an object beyond its envelope (the model's schemas); returns a reason, or null when valid. */
export type ObjectCheck = (kind: Kind, object: Record<string, unknown>) => string | null;

/** One file read and parsed (parseManifestText's items), or why it could not be read. */
export type ParsedFile = { items: (ManifestObject | ManifestProblem)[] } | { readError: string };

/**
 * Reads and parses many files at once (local mode: worker threads, at start-up); the answer is in
 * the order of `files`. Without one, files are read and parsed here, one after the other.
 */
export type ManyFilesParser = (files: { file: string; path: string }[]) => Promise<ParsedFile[]>;

/** Fewer changed files than this are parsed here even when a ManyFilesParser is set. */
const MANY_FILES = 64;

interface FileEntry {
  stamp: string;
  found: FoundObject[];
  problems: ManifestProblem[];
  /** Unreadable, a broken document, or an object the check refused: what it held before is kept. */
  broken: boolean;
}

export interface FolderRefresh {
  /** `kind/key` of every object that a file read again or gone held before or holds now. */
  dirty: Set<string>;
  /** Problems of the files read again, and duplicates among the dirty objects. */
  problems: ManifestProblem[];
  /** Files read again (new or changed) and files gone. */
  filesRead: number;
  filesGone: number;
}

const idOf = (o: { kind: string; key: string }) => `${o.kind}/${o.key}`;

/** See the file comment. */
export class ManifestFolder {
  readonly dir: string;
  private readonly check: ObjectCheck;
  private readonly files = new Map<string, FileEntry>();
  /** Which files define each object (several: a duplicate). */
  private readonly definers = new Map<string, Set<string>>();
  /** Set by the caller for big refreshes (see ManyFilesParser); null: parse here. */
  parser: ManyFilesParser | null = null;

  constructor(dir: string, check: ObjectCheck) {
    this.dir = dir;
    this.check = check;
  }

  /** Stats every file, reads and parses the new and changed ones, forgets the ones gone. */
  async refresh(): Promise<FolderRefresh> {
    const paths = (await manifestFiles(this.dir)).map((p) => relative(this.dir, p));
    const stamps = statAll(this.dir, paths);
    const dirty = new Set<string>();
    const problems: ManifestProblem[] = [];
    let filesRead = 0;
    let filesGone = 0;
    const present = new Set(paths);
    const changed: { file: string; stamp: string }[] = [];
    for (const [i, file] of paths.entries()) {
      const stamp = stamps[i];
      if (stamp == null) continue; // gone between the listing and the stat: forgotten below next time
      if (this.files.get(file)?.stamp === stamp) continue;
      changed.push({ file, stamp });
    }
    const parsed = this.parser && changed.length >= MANY_FILES ? await this.parser(changed.map((c) => ({ file: c.file, path: join(this.dir, c.file) }))) : null;
    for (const [i, { file, stamp }] of changed.entries()) {
      const entry = parsed ? this.entry(file, stamp, parsed[i]!) : await this.read(file, stamp);
      filesRead++;
      this.replace(file, this.files.get(file), entry, dirty);
      problems.push(...entry.problems);
    }
    for (const [file, before] of this.files) {
      if (present.has(file)) continue;
      filesGone++;
      this.replace(file, before, null, dirty);
    }
    for (const id of dirty) problems.push(...this.duplicates(id));
    problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : (a.index ?? -1) - (b.index ?? -1)));
    return { dirty, problems, filesRead, filesGone };
  }

  /** The document that defines `id` now: the first in file order, or null. */
  winner(id: string): FoundObject | null {
    const files = this.definers.get(id);
    if (!files) return null;
    let first: string | null = null;
    for (const f of files) if (first === null || f < first) first = f;
    return this.files.get(first!)!.found.find((o) => idOf(o) === id) ?? null;
  }

  /** Whether `file` is there and broken (what it held before is kept). */
  isBroken(file: string): boolean {
    return this.files.get(file)?.broken ?? false;
  }

  private async read(file: string, stamp: string): Promise<FileEntry> {
    let text: string;
    try {
      text = await readFile(join(this.dir, file), 'utf8');
    } catch (e) {
      return this.entry(file, stamp, { readError: (e as Error).message });
    }
    return this.entry(file, stamp, { items: parseManifestText(text, file) });
  }

  // A file's entry from its parsed items: the check runs here, on every object.
  private entry(file: string, stamp: string, parsed: ParsedFile): FileEntry {
    if ('readError' in parsed) {
      return { stamp, found: [], problems: [{ file, severity: 'error', message: `cannot read: ${parsed.readError}` }], broken: true };
    }
    const entry: FileEntry = { stamp, found: [], problems: [], broken: false };
    for (const item of parsed.items) {
      if ('message' in item) {
        entry.problems.push(item);
        if (item.severity === 'error') entry.broken = true;
        continue;
      }
      const reason = this.check(item.kind, item.object);
      if (reason) {
        entry.problems.push({ file, index: item.index, severity: 'error', message: `${item.kind} ${item.key}: ${reason}` });
        entry.broken = true;
      }
      entry.found.push(reason ? { ...item, invalid: reason } : item);
    }
    return entry;
  }

  private replace(file: string, before: FileEntry | undefined, after: FileEntry | null, dirty: Set<string>): void {
    for (const o of before?.found ?? []) {
      const id = idOf(o);
      dirty.add(id);
      const files = this.definers.get(id);
      files?.delete(file);
      if (files?.size === 0) this.definers.delete(id);
    }
    if (!after) {
      this.files.delete(file);
      return;
    }
    this.files.set(file, after);
    for (const o of after.found) {
      const id = idOf(o);
      dirty.add(id);
      let files = this.definers.get(id);
      if (!files) this.definers.set(id, (files = new Set()));
      files.add(file);
    }
  }

  // Every definition of `id` but the first is reported and ignored.
  private duplicates(id: string): ManifestProblem[] {
    const files = this.definers.get(id);
    if (!files || (files.size === 1 && this.files.get([...files][0]!)!.found.filter((o) => idOf(o) === id).length === 1)) return [];
    const first = this.winner(id)!;
    const out: ManifestProblem[] = [];
    for (const f of [...files].sort()) {
      for (const o of this.files.get(f)!.found) {
        if (idOf(o) !== id || (o.file === first.file && o.index === first.index)) continue;
        out.push({
          file: f,
          index: o.index,
          severity: 'error',
          message: `duplicate ${o.kind} ${o.key}: already defined in ${first.file} (document ${first.index}); this one is ignored`,
        });
      }
    }
    return out;
  }
}

// Size, mtime, ctime and inode of each file (null: gone). Synchronous: a few microseconds a file,
// where each promise-based stat costs tens (2,000 files: about 5 ms instead of 60 or more).
function statAll(dir: string, files: string[]): (string | null)[] {
  return files.map((f) => {
    try {
      const s = lstatSync(join(dir, f), { bigint: true });
      return `${s.size}:${s.mtimeNs}:${s.ctimeNs}:${s.ino}`;
    } catch {
      return null;
    }
  });
}
