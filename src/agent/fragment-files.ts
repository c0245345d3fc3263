// Writes fragments to the prefix (fragments/<name>.conf and files/<name>/<file>) and remembers the
// digests of what is on disk, not the bytes: unchanged files are never rewritten and never cause a
// reload, and the bytes live in one place, NGINX's files. When NGINX refuses a new version, the
// Reloader puts back the previous one, read from disk before it was overwritten.
import { readFile } from 'node:fs/promises';
import { builtinDefaultServer } from '../render/skeleton.ts';
import { StoredContent, fileDigest, type FragmentContent } from './fragment-store.ts';
import type { FileOwner, PrefixLayout } from './layout.ts';

/** The default server served while the handler tier has sent no `_default` fragment (never released). */
export const BUILTIN_DEFAULT = new StoredContent({ config: builtinDefaultServer, files: {} });

/** What goes on disk for `name` when `desired` is wanted: `_default` falls back to the built-in. */
export function effectiveContent(name: string, desired: StoredContent | null): StoredContent | null {
  return desired ?? (name === '_default' ? BUILTIN_DEFAULT : null);
}

/** A fragment's config and files as they reach the disk (config null: removed). */
export type OnConfig = (name: string, config: string | null, files?: Readonly<Record<string, { content: string }>>) => void;

/** What one fragment has on disk, by digest. */
interface DiskRecord {
  digest: string;
  config: string;
  files: Record<string, { digest: string; secret: boolean }>;
}

/** How the disk is written: the layout's asynchronous calls, or its synchronous ones (writeMany). */
interface DiskWrites {
  writeAtomic(path: string, data: string, mode?: number, owner?: FileOwner | null): void | Promise<void>;
  ensureDir(path: string, mode?: number): void | Promise<void>;
  remove(path: string): void | Promise<void>;
}

/**
 * writeMany writes synchronously (a third of the CPU of the thread pool's round trips for thousands
 * of small files) and yields to the event loop after each slice this long, so the endpoint API and
 * the version socket are still answered while a complete batch is written.
 */
const SYNC_SLICE_MS = 5;

/** Runs `fn` on every item, `concurrency` at a time. */
async function eachLimited<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** The fragments on disk, by name. */
export class FragmentFiles {
  private readonly layout: PrefixLayout;
  /** Owner of secret files (NGINX's workers when the agent runs as root); null: the agent's user. */
  private readonly secretOwner: FileOwner | null;
  private readonly onDisk = new Map<string, DiskRecord>();

  /** Told every fragment that reaches the disk (null: removed): the listener ports it includes, its passthrough map line. */
  private readonly onConfig: OnConfig;

  constructor(layout: PrefixLayout, secretOwner: FileOwner | null = null, onConfig: OnConfig = () => {}) {
    this.layout = layout;
    this.secretOwner = secretOwner;
    this.onConfig = onConfig;
  }

  /** Digest of what is on disk for `name`; null when nothing is. */
  digest(name: string): string | null {
    return this.onDisk.get(name)?.digest ?? null;
  }

  has(name: string): boolean {
    return this.onDisk.has(name);
  }

  get count(): number {
    return this.onDisk.size;
  }

  /**
   * Reads back what is on disk for `name`, to put it back if NGINX refuses what replaces it. Null when
   * nothing is there, or when it cannot be read (then there is nothing to put back).
   */
  async read(name: string): Promise<StoredContent | null> {
    const record = this.onDisk.get(name);
    if (!record) return null;
    try {
      const content: FragmentContent = { config: await readFile(this.layout.fragmentConf(name), 'utf8'), files: {} };
      for (const [file, f] of Object.entries(record.files)) {
        content.files[file] = { content: await readFile(this.layout.fragmentFile(name, file), 'utf8'), secret: f.secret };
      }
      return new StoredContent(content);
    } catch {
      return null;
    }
  }

  /** Reads back several fragments, a few at a time. */
  async readMany(names: readonly string[], concurrency = 32): Promise<Map<string, StoredContent | null>> {
    const out = new Map<string, StoredContent | null>();
    await eachLimited(names, concurrency, async (name) => void out.set(name, await this.read(name)));
    return out;
  }

  /** Makes the disk hold `content` (null: nothing) for `name`, touching only what differs. */
  async write(name: string, content: StoredContent | null, io: DiskWrites = this.layout): Promise<void> {
    const previous = this.onDisk.get(name) ?? null;
    if ((previous?.digest ?? null) === (content?.digest ?? null)) return;
    const conf = this.layout.fragmentConf(name);
    const dir = this.layout.fragmentFilesDir(name);
    if (content === null) {
      await io.remove(conf);
      await io.remove(dir);
      this.onDisk.delete(name);
      this.onConfig(name, null);
      return;
    }
    const bytes = content.bytes;
    if (!bytes) throw new Error(`fragment ${name}: its content is no longer in memory (send it again)`);
    const record: DiskRecord = { digest: content.digest, config: fileDigest(bytes.config, false), files: {} };
    const before = previous?.files ?? {};
    const files = Object.entries(bytes.files);
    // Once anything changes, the record on disk is unknown until this write finishes.
    this.onDisk.delete(name);
    if (files.length > 0) await io.ensureDir(dir, 0o755);
    for (const [file, f] of files) {
      const digest = fileDigest(f.content, f.secret);
      record.files[file] = { digest, secret: f.secret };
      if (before[file]?.digest === digest) continue;
      const path = this.layout.fragmentFile(name, file);
      if (f.secret) await io.writeAtomic(path, f.content, 0o600, this.secretOwner);
      else await io.writeAtomic(path, f.content, 0o644);
    }
    if (files.length === 0) {
      if (previous && Object.keys(before).length > 0) await io.remove(dir);
    } else {
      for (const file of Object.keys(before)) {
        if (!(file in bytes.files)) await io.remove(this.layout.fragmentFile(name, file));
      }
    }
    if (!previous || previous.config !== record.config) await io.writeAtomic(conf, bytes.config);
    this.onConfig(name, bytes.config, bytes.files);
    this.onDisk.set(name, record);
  }

  /** Writes many fragments, one after the other, in slices of SYNC_SLICE_MS between which it yields. */
  async writeMany(items: { name: string; content: StoredContent | null }[]): Promise<void> {
    const layout = this.layout;
    const sync: DiskWrites = {
      writeAtomic: (path, data, mode, owner) => layout.writeAtomicSync(path, data, mode, owner),
      ensureDir: (path, mode) => layout.ensureDirSync(path, mode),
      remove: (path) => layout.removeSync(path),
    };
    let sliceStart = performance.now();
    for (const item of items) {
      await this.write(item.name, item.content, sync);
      if (performance.now() - sliceStart >= SYNC_SLICE_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
    }
  }
}
