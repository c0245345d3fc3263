// The cluster view held in memory: what each handler replica decides from. Ordering rules, so that
// duplicated, reordered and lost events cannot make it go backwards:
//
// - add/update is applied only when its resourceVersion is newer than the one held for that object
//   (equal: a duplicate; older: stale);
// - delete leaves a tombstone with the deletion's resourceVersion, so a late add/update of the
//   deleted object is ignored; only a newer version (a re-creation) brings the name back;
// - objects are held without managedFields and kubectl's last-applied-configuration (view.ts:
//   withoutBookkeeping), which wharf never reads;
// - a full list (`replace`) is the truth as of its resourceVersion L: it replaces the kind's state,
//   except objects and tombstones the view saw at versions newer than L (events that overtook the
//   list). After it, an object the view does not hold and whose version is ≤ L is known to be
//   deleted already, so tombstones ≤ L can be forgotten: memory stays bounded by the live objects
//   plus the deletions since the last list.
import {
  KINDS,
  compareVersions,
  keyOf,
  numericVersion,
  formatKey,
  type ApplyResult,
  type Change,
  type ClusterView,
  type Kind,
  type KindList,
  type KubeObject,
  type ObjectKey,
  type RelistResult,
  withoutBookkeeping,
} from './view.ts';

interface Held {
  resourceVersion: string;
  /** null: a tombstone. */
  object: KubeObject | null;
}

export interface MemoryViewOptions {
  /**
   * Which objects of a known kind are worth holding (e.g. only TLS and Opaque Secrets, only the
   * global ConfigMap): others are answered `ignored` and never stored. Default: all.
   */
  keep?: (object: KubeObject) => boolean;
}

/** How an object is told apart inside one kind. */
const idOf = (key: ObjectKey): string => `${key.namespace}/${key.name}`;

const newer = (a: string, b: string): boolean => {
  const c = compareVersions(a, b);
  return c === 1 || c === null;
};

/** The in-memory ClusterView (the only one: adapters feed it, they do not replace it). */
export class MemoryView implements ClusterView {
  #objects = new Map<Kind, Map<string, Held>>(KINDS.map((k) => [k, new Map()]));
  #listVersion = new Map<Kind, string>();
  #keep: (object: KubeObject) => boolean;

  constructor(options: MemoryViewOptions = {}) {
    this.#keep = options.keep ?? (() => true);
  }

  get synced(): boolean {
    return this.#listVersion.size === KINDS.length;
  }

  apply(change: Change): ApplyResult {
    const byId = this.#objects.get(change.key.kind)!;
    const id = idOf(change.key);
    const held = byId.get(id);
    const listed = this.#listVersion.get(change.key.kind);
    const what = formatKey(change.key);

    if (change.action === 'delete') {
      const rv = change.resourceVersion ?? held?.resourceVersion;
      if (!held) {
        if (!rv || (listed !== undefined && !newer(rv, listed))) return { outcome: 'duplicate', reason: `${what} is not held` };
        byId.set(id, { resourceVersion: rv, object: null });
        return { outcome: 'applied', previous: null, current: null };
      }
      if (!held.object) {
        if (rv && compareVersions(rv, held.resourceVersion) === 1) held.resourceVersion = rv;
        return { outcome: 'duplicate', reason: `${what} is already deleted` };
      }
      if (rv && compareVersions(rv, held.resourceVersion) === -1) {
        return { outcome: 'stale', reason: `${what}: delete at resourceVersion ${rv} is older than the held ${held.resourceVersion}` };
      }
      const previous = held.object;
      byId.set(id, { resourceVersion: rv && newer(rv, held.resourceVersion) ? rv : held.resourceVersion, object: null });
      return { outcome: 'applied', previous, current: null };
    }

    if (!change.object) throw new Error(`${what}: ${change.action} without the object`);
    const object = withoutBookkeeping(change.object);
    if (!this.#keep(object)) return { outcome: 'ignored', reason: `${what} is not one wharf uses` };
    const rv = change.resourceVersion ?? object.metadata.resourceVersion ?? '';
    if (!held) {
      if (listed !== undefined && rv && !newer(rv, listed)) {
        return { outcome: 'stale', reason: `${what} at resourceVersion ${rv} is absent from the list at ${listed}: deleted since` };
      }
      byId.set(id, { resourceVersion: rv, object });
      return { outcome: 'applied', previous: null, current: object };
    }
    const c = compareVersions(rv, held.resourceVersion);
    if (c === 0) return { outcome: 'duplicate', reason: `${what} at resourceVersion ${rv} is already held` };
    if (c === -1) {
      const state = held.object ? 'held' : 'deleted at';
      return { outcome: 'stale', reason: `${what} at resourceVersion ${rv} is older than the ${state} ${held.resourceVersion}` };
    }
    const previous = held.object;
    byId.set(id, { resourceVersion: rv, object });
    return { outcome: 'applied', previous, current: object };
  }

  replace(lists: Partial<Record<Kind, KindList>>): RelistResult {
    const changed: RelistResult['changed'] = [];
    let highest = 0;
    for (const [kind, list] of Object.entries(lists) as [Kind, KindList][]) {
      const before = this.#objects.get(kind)!;
      const after = new Map<string, Held>();
      for (const listed of list.items) {
        if (listed.kind !== kind) throw new Error(`list of ${kind} holds a ${listed.kind} (${listed.metadata?.name})`);
        const object = withoutBookkeeping(listed);
        if (!this.#keep(object)) continue;
        after.set(idOf(keyOf(object)), { resourceVersion: object.metadata.resourceVersion ?? '', object });
      }
      // Events newer than the list overtook it: keep them (objects and tombstones alike).
      for (const [id, held] of before) {
        const listed = after.get(id);
        const reference = listed ? listed.resourceVersion : list.resourceVersion;
        if (compareVersions(held.resourceVersion, reference) === 1) after.set(id, held);
      }
      for (const id of new Set([...before.keys(), ...after.keys()])) {
        const previous = before.get(id)?.object ?? null;
        const current = after.get(id)?.object ?? null;
        if (previous === current) continue;
        if (previous && current && previous.metadata.resourceVersion === current.metadata.resourceVersion) continue;
        const sample = (current ?? previous)!;
        changed.push({ key: keyOf(sample), previous, current });
      }
      this.#objects.set(kind, after);
      this.#listVersion.set(kind, list.resourceVersion);
      highest = Math.max(highest, numericVersion(list.resourceVersion));
    }
    return { changed, resourceVersion: highest };
  }

  get(key: ObjectKey): KubeObject | null {
    return this.#objects.get(key.kind)!.get(idOf(key))?.object ?? null;
  }

  *list(kind: Kind): Iterable<KubeObject> {
    for (const held of this.#objects.get(kind)!.values()) if (held.object) yield held.object;
  }

  versionOf(key: ObjectKey): number {
    return numericVersion(this.#objects.get(key.kind)!.get(idOf(key))?.resourceVersion);
  }

  /** The list resourceVersion of a kind, once listed. */
  listVersion(kind: Kind): string | undefined {
    return this.#listVersion.get(kind);
  }

  counts(): Record<Kind, number> {
    const out = {} as Record<Kind, number>;
    for (const kind of KINDS) {
      let n = 0;
      for (const held of this.#objects.get(kind)!.values()) if (held.object) n++;
      out[kind] = n;
    }
    return out;
  }

  /** Tombstones held (metrics; bounded by the deletions since the last list). */
  tombstones(): number {
    let n = 0;
    for (const byId of this.#objects.values()) for (const held of byId.values()) if (!held.object) n++;
    return n;
  }
}
