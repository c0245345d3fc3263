// Writes fragments to the prefix (fragments/<name>.conf and files/<name>/<file>) and remembers what
// is on disk, so that unchanged bytes are never rewritten and never cause a reload.
import { builtinDefaultServer } from '../render/skeleton.ts';
import type { FragmentContent } from './fragment-store.ts';
import type { PrefixLayout } from './layout.ts';

/** The default server served while the handler tier has sent no `_default` fragment. */
export const BUILTIN_DEFAULT: FragmentContent = Object.freeze({ config: builtinDefaultServer, files: Object.freeze({}) }) as FragmentContent;

/** What goes on disk for `name` when `desired` is wanted: `_default` falls back to the built-in. */
export function effectiveContent(name: string, desired: FragmentContent | null): FragmentContent | null {
  return desired ?? (name === '_default' ? BUILTIN_DEFAULT : null);
}

/** The fragments on disk, by name. */
export class FragmentFiles {
  private readonly layout: PrefixLayout;
  private readonly onDisk = new Map<string, FragmentContent>();

  constructor(layout: PrefixLayout) {
    this.layout = layout;
  }

  get(name: string): FragmentContent | null {
    return this.onDisk.get(name) ?? null;
  }

  has(name: string): boolean {
    return this.onDisk.has(name);
  }

  get count(): number {
    return this.onDisk.size;
  }

  /** Makes the disk hold `content` (null: nothing) for `name`, touching only what differs. */
  async write(name: string, content: FragmentContent | null): Promise<void> {
    const previous = this.onDisk.get(name) ?? null;
    if (previous === content) return;
    const conf = this.layout.fragmentConf(name);
    const dir = this.layout.fragmentFilesDir(name);
    if (content === null) {
      await this.layout.remove(conf);
      await this.layout.remove(dir);
      this.onDisk.delete(name);
      return;
    }
    const before = previous?.files ?? {};
    const files = Object.entries(content.files);
    if (files.length > 0) await this.layout.ensureDir(dir, 0o755);
    for (const [file, f] of files) {
      const old = before[file];
      if (old && old.content === f.content && old.secret === f.secret) continue;
      await this.layout.writeAtomic(this.layout.fragmentFile(name, file), f.content, f.secret ? 0o600 : 0o644);
    }
    if (files.length === 0) {
      if (previous && Object.keys(before).length > 0) await this.layout.remove(dir);
    } else {
      for (const file of Object.keys(before)) {
        if (!(file in content.files)) await this.layout.remove(this.layout.fragmentFile(name, file));
      }
    }
    if (!previous || previous.config !== content.config) await this.layout.writeAtomic(conf, content.config);
    this.onDisk.set(name, content);
  }

  /** Writes many fragments, a few at a time. */
  async writeMany(items: { name: string; content: FragmentContent | null }[], concurrency = 32): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < items.length) {
        const item = items[next++]!;
        await this.write(item.name, item.content);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  }
}
