// Local mode's event source: watches a folder of manifests and turns every change into the
// add/update/delete a cluster's event source would report, with resourceVersions it assigns. It is
// also the handler's ClusterReader (start-up list, relists), answering from the same state.
import { isDeepStrictEqual } from 'node:util';
import { FolderWatch } from './folder-watch.ts';
import { ManifestFolder, type ManyFilesParser, type ObjectCheck } from './manifest-folder.ts';
import type { ManifestProblem } from './manifests.ts';
import { CLUSTER_SCOPED, type ClusterReader, type Kind, type KindList, type KubeObject, type ObjectKey } from './view.ts';

export interface ResourceChange {
  type: 'add' | 'update' | 'delete';
  kind: Kind;
  /** `namespace/name`, or `name` for cluster-scoped kinds. */
  key: string;
  /** The object with metadata.resourceVersion set (for a delete: the last state, with a new version). */
  object: Record<string, unknown>;
  /** What was served before this change (null for an add). */
  previous: Record<string, unknown> | null;
  file: string;
  /** Index of the document in its file (-1 when the file is broken and the object kept). */
  index: number;
}

export interface SyncResult {
  changes: ResourceChange[];
  problems: ManifestProblem[];
  /** Files read (new or changed since the last sync) and files gone: the work this sync did. */
  filesRead: number;
  filesGone: number;
}

export type { ManyFilesParser, ObjectCheck };

interface Held {
  kind: Kind;
  key: string;
  file: string;
  /** The object as written in the manifest, for change detection. */
  written: Record<string, unknown>;
  /** The object as served, with its resourceVersion. */
  served: Record<string, unknown>;
  /** `written` before the last change, to take that change back (see reject). */
  previousWritten?: Record<string, unknown>;
}

/** The manifests of one folder as a tiny, versioned API server. */
export class ManifestSource implements ClusterReader {
  readonly dir: string;
  private readonly folder: ManifestFolder;
  private readonly held = new Map<string, Held>();
  /** Content a gate (the admission webhook) refused, by object: not offered again until it changes. */
  private readonly refused = new Map<string, Record<string, unknown>>();
  private version = 0;
  private watcher: FolderWatch | null = null;
  private timer: NodeJS.Timeout | null = null;
  private syncing: Promise<SyncResult> | null = null;
  private again = false;

  constructor(dir: string, check: ObjectCheck = () => null) {
    this.dir = dir;
    this.folder = new ManifestFolder(dir, check);
  }

  /** Reads and parses big refreshes (local mode's start-up: worker threads); null: here. */
  set parser(parser: ManyFilesParser | null) {
    this.folder.parser = parser;
  }

  /** The latest resourceVersion assigned: a list's version. */
  get resourceVersion(): string {
    return String(this.version);
  }

  /** Every held object of a kind, and the version of the list. */
  async list(kind: Kind): Promise<KindList> {
    const items = [...this.held.values()].filter((h) => h.kind === kind).map((h) => h.served as KubeObject);
    return { items, resourceVersion: this.resourceVersion };
  }

  /** One held object, or null. */
  async get(key: ObjectKey): Promise<KubeObject | null> {
    const id = `${key.kind}/${CLUSTER_SCOPED.has(key.kind) ? key.name : `${key.namespace}/${key.name}`}`;
    return (this.held.get(id)?.served as KubeObject | undefined) ?? null;
  }

  /**
   * Takes back a change that a gate refused (as an API server does when its admission webhook
   * denies an apply): the previous state is held again, and the refused content is not offered
   * again until the file changes.
   */
  reject(change: ResourceChange): void {
    const id = `${change.kind}/${change.key}`;
    const h = this.held.get(id);
    if (!h || h.served !== change.object) return; // superseded by a later sync
    this.refused.set(id, h.written);
    if (change.previous && h.previousWritten) this.held.set(id, { ...h, written: h.previousWritten, served: change.previous });
    else this.held.delete(id);
  }

  /**
   * Reads what changed in the folder since the last sync (only the files that changed: see
   * ManifestFolder) and returns the resulting changes of objects. Objects that a broken file or an
   * invalid document held before are kept: a broken manifest changes nothing running.
   */
  async sync(): Promise<SyncResult> {
    const { dirty, problems, filesRead, filesGone } = await this.folder.refresh();
    const candidates = [...dirty].map((id) => ({ id, found: this.folder.winner(id) }));
    // In file and document order, as the folder reads; objects that are gone last.
    candidates.sort((a, b) => (!a.found || !b.found ? (a.found ? -1 : b.found ? 1 : 0) : a.found.file < b.found.file ? -1 : a.found.file > b.found.file ? 1 : a.found.index - b.found.index));
    const changes: ResourceChange[] = [];
    const deletes: ResourceChange[] = [];
    for (const { id, found } of candidates) {
      const before = this.held.get(id);
      let next: { kind: Kind; key: string; object: Record<string, unknown>; file: string; index: number } | null = null;
      if (found && !found.invalid) next = found;
      else if (found && before) next = { ...found, object: before.written };
      else if (!found && before && this.folder.isBroken(before.file)) next = { kind: before.kind, key: before.key, object: before.written, file: before.file, index: -1 };
      if (!next) {
        this.refused.delete(id);
        if (!before || found) continue;
        this.held.delete(id);
        deletes.push({ type: 'delete', kind: before.kind, key: before.key, object: this.stamp(before.written, before.served), previous: before.served, file: before.file, index: -1 });
        continue;
      }
      if (before && isDeepStrictEqual(before.written, next.object)) {
        before.file = next.file;
        this.refused.delete(id);
        continue;
      }
      const refused = this.refused.get(id);
      if (refused && isDeepStrictEqual(refused, next.object)) continue;
      this.refused.delete(id);
      const served = this.stamp(next.object, before?.served);
      this.held.set(id, { kind: next.kind, key: next.key, file: next.file, written: next.object, served, previousWritten: before?.written });
      changes.push({ type: before ? 'update' : 'add', kind: next.kind, key: next.key, object: served, previous: before?.served ?? null, file: next.file, index: next.index });
    }
    return { changes: [...changes, ...deletes], problems, filesRead, filesGone };
  }

  /**
   * Watches the folder (every folder's entries, and a periodic rescan: see FolderWatch); after a
   * quiet `debounceMs`, syncs and hands the result to `onSync`. Syncs never overlap: changes during
   * one are picked up by the next.
   */
  watch(onSync: (r: SyncResult) => void | Promise<void>, onError: (e: unknown) => void, debounceMs = 50, rescanMs = 750): void {
    const schedule = () => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => void run(), debounceMs);
    };
    const run = async () => {
      if (this.syncing) {
        this.again = true;
        return;
      }
      try {
        this.syncing = this.sync();
        await onSync(await this.syncing);
      } catch (e) {
        onError(e);
      } finally {
        this.syncing = null;
        if (this.again) {
          this.again = false;
          schedule();
        }
      }
    };
    this.watcher = new FolderWatch(this.dir, { onChange: schedule, onError, rescanMs });
    this.watcher.start().catch(onError);
  }

  close(): void {
    this.watcher?.close();
    this.watcher = null;
    if (this.timer) clearTimeout(this.timer);
  }

  // Gives an object the next resourceVersion, and the uid and creationTimestamp an API server would
  // (kept from `previous` across updates, so "the oldest Ingress wins" means the first one written).
  private stamp(object: Record<string, unknown>, previous?: Record<string, unknown>): Record<string, unknown> {
    this.version += 1;
    const meta = (object.metadata ?? {}) as Record<string, unknown>;
    const prev = (previous?.metadata ?? {}) as Record<string, unknown>;
    return {
      ...object,
      metadata: {
        ...meta,
        resourceVersion: String(this.version),
        uid: meta.uid ?? prev.uid ?? crypto.randomUUID(),
        creationTimestamp: meta.creationTimestamp ?? prev.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      },
    };
  }
}
