// An in-memory ClusterReader that behaves like the API server where the view cares: one global,
// growing resourceVersion for every write, lists stamped with the current version, gets that see the
// latest state. Tests (and benchmarks) write objects here, and turn the writes into events however
// they like (in any order, twice, or not at all), then let the view relist.
import { CLUSTER_SCOPED, keyOf, type ClusterReader, type Kind, type KindList, type KubeObject, type ObjectKey } from './view.ts';

const idOf = (key: ObjectKey): string => `${key.kind}/${key.namespace}/${key.name}`;

/** What a write did, as an event source would report it. */
export interface Write {
  action: 'add' | 'update' | 'delete';
  /** The object as written (for deletes: the last state, stamped with the deletion's version). */
  object: KubeObject;
}

export class MemoryReader implements ClusterReader {
  #objects = new Map<string, KubeObject>();
  #version: number;

  constructor(options: { startVersion?: number } = {}) {
    this.#version = options.startVersion ?? 1000;
  }

  /** The current resourceVersion (the last write's). */
  get resourceVersion(): number {
    return this.#version;
  }

  /** Creates or replaces an object; stamps it with the next resourceVersion (and a uid when new). */
  put(object: KubeObject): Write {
    const key = keyOf(object);
    const id = idOf(key);
    const existing = this.#objects.get(id);
    this.#version += 1;
    const stamped: KubeObject = structuredClone(object);
    stamped.metadata.resourceVersion = String(this.#version);
    if (!CLUSTER_SCOPED.has(key.kind)) stamped.metadata.namespace = key.namespace || 'default';
    stamped.metadata.uid ??= existing?.metadata.uid ?? `uid-${id}-${this.#version}`;
    stamped.metadata.creationTimestamp ??= existing?.metadata.creationTimestamp ?? new Date(Date.UTC(2026, 0, 1, 0, 0, this.#version % 60)).toISOString();
    this.#objects.set(id, stamped);
    return { action: existing ? 'update' : 'add', object: structuredClone(stamped) };
  }

  /** Deletes an object; returns its last state stamped with the deletion's resourceVersion. */
  delete(key: ObjectKey): Write | null {
    const id = idOf(key);
    const existing = this.#objects.get(id);
    if (!existing) return null;
    this.#objects.delete(id);
    this.#version += 1;
    const last = structuredClone(existing);
    last.metadata.resourceVersion = String(this.#version);
    return { action: 'delete', object: last };
  }

  async list(kind: Kind): Promise<KindList> {
    const items = [...this.#objects.values()].filter((o) => o.kind === kind).map((o) => structuredClone(o));
    return { items, resourceVersion: String(this.#version) };
  }

  async get(key: ObjectKey): Promise<KubeObject | null> {
    const o = this.#objects.get(idOf(key));
    return o ? structuredClone(o) : null;
  }
}
