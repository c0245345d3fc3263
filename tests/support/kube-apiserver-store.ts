// The storage of the fake API server, with etcd's semantics where clients can tell: one global
// revision for every write, every object's revisions kept until compaction (so a paged list is
// served from one consistent snapshot and a watch replays from any revision after the compaction
// point), and a compaction that makes older revisions unreachable (410 Gone for those who ask).

export type Obj = Record<string, any>;

export interface Revision {
  rv: number;
  /** null: deleted at this revision. */
  object: Obj | null;
}

export interface LogEntry {
  rv: number;
  plural: string;
  key: string;
  /** The object after the write (for a delete: the last state, stamped with the deletion's revision). */
  object: Obj;
  /** The object before (null for a create). */
  previous: Obj | null;
  deleted: boolean;
}

/** A parsed field or label selector: every requirement must hold. */
export type Requirement = { key: string; op: '=' | '!=' | 'exists' | '!exists' | 'in' | 'notin'; values: string[] };

export class SelectorError extends Error {}

/** Parses `a=b,c!=d` (field selectors) or label selectors (`k=v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a)`). */
export function parseSelector(raw: string | null, labels: boolean): Requirement[] {
  if (!raw) return [];
  const out: Requirement[] = [];
  // Split on commas outside parentheses.
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of raw) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  for (const part of parts.map((p) => p.trim())) {
    if (!part) continue;
    let m: RegExpExecArray | null;
    if ((m = /^([^!=\s]+)\s*(==|=|!=)\s*([^,]*)$/.exec(part))) {
      out.push({ key: m[1]!, op: m[2] === '!=' ? '!=' : '=', values: [m[3]!.trim()] });
    } else if (labels && (m = /^([^\s!=()]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part))) {
      out.push({ key: m[1]!, op: m[2] as 'in' | 'notin', values: m[3]!.split(',').map((v) => v.trim()) });
    } else if (labels && (m = /^!([^\s!=()]+)$/.exec(part))) {
      out.push({ key: m[1]!, op: '!exists', values: [] });
    } else if (labels && /^[^\s!=()]+$/.test(part)) {
      out.push({ key: part, op: 'exists', values: [] });
    } else {
      throw new SelectorError(`unable to parse requirement: ${JSON.stringify(part)}`);
    }
  }
  return out;
}

/** True when `value` (undefined: absent) satisfies the requirement. */
export function satisfies(r: Requirement, value: string | undefined): boolean {
  switch (r.op) {
    case '=':
      return value === r.values[0];
    case '!=':
      return value !== r.values[0];
    case 'exists':
      return value !== undefined;
    case '!exists':
      return value === undefined;
    case 'in':
      return value !== undefined && r.values.includes(value);
    case 'notin':
      return value === undefined || !r.values.includes(value);
  }
}

export const keyOf = (namespace: string, name: string): string => (namespace ? `${namespace}/${name}` : name);

/** Objects by resource (plural) and `namespace/name`, with their history since the last compaction. */
export class VersionedStore {
  #revision: number;
  #compactedAt: number;
  #history = new Map<string, Map<string, Revision[]>>();
  #log: LogEntry[] = [];
  #listeners = new Set<(entry: LogEntry) => void>();

  constructor(startRevision = 100) {
    this.#revision = startRevision;
    this.#compactedAt = startRevision;
  }

  get revision(): number {
    return this.#revision;
  }
  /** Revisions at or below this are gone: watches and continue tokens from before it get 410. */
  get compactedAt(): number {
    return this.#compactedAt;
  }

  onWrite(listener: (entry: LogEntry) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #revisions(plural: string): Map<string, Revision[]> {
    let m = this.#history.get(plural);
    if (!m) this.#history.set(plural, (m = new Map()));
    return m;
  }

  current(plural: string, key: string): Obj | null {
    const revs = this.#revisions(plural).get(key);
    const last = revs?.[revs.length - 1];
    return last?.object ? structuredClone(last.object) : null;
  }

  /** Every live object of a resource at a revision (≥ compactedAt), sorted by key as etcd lists them. */
  at(plural: string, rv: number): { key: string; object: Obj }[] {
    return this.storedAt(plural, rv).map(({ key, object }) => ({ key, object: structuredClone(object) }));
  }

  /**
   * As `at`, but the stored objects themselves, not copies: read them, never change them. A paged
   * list copies only its page (copying every object for every page made listing 30,000 objects
   * take minutes).
   */
  storedAt(plural: string, rv: number): { key: string; object: Obj }[] {
    const out: { key: string; object: Obj }[] = [];
    for (const [key, revs] of this.#revisions(plural)) {
      let found: Revision | undefined;
      for (let i = revs.length - 1; i >= 0; i--) {
        if (revs[i]!.rv <= rv) {
          found = revs[i];
          break;
        }
      }
      if (found?.object) out.push({ key, object: found.object });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Writes (object) or deletes (null); stamps the object with the new revision; returns the stored copy. */
  write(plural: string, key: string, object: Obj | null): Obj {
    const revs = this.#revisions(plural);
    const list = revs.get(key) ?? [];
    const previous = list[list.length - 1]?.object ?? null;
    if (!object && !previous) throw new Error(`${plural} ${key} does not exist`);
    const rv = ++this.#revision;
    const stored = structuredClone(object ?? previous!);
    stored.metadata.resourceVersion = String(rv);
    list.push({ rv, object: object ? stored : null });
    revs.set(key, list);
    const entry: LogEntry = { rv, plural, key, object: stored, previous, deleted: !object };
    this.#log.push(entry);
    for (const l of this.#listeners) l(entry);
    return structuredClone(stored);
  }

  /** Moves the revision forward without a write (etcd restored with `--bump-revision`). */
  advance(by: number): void {
    this.#revision += by;
  }

  /** Log entries of a resource after a revision (the caller checks compaction first). */
  since(plural: string, rv: number): LogEntry[] {
    return this.#log.filter((e) => e.plural === plural && e.rv > rv);
  }

  /** Forgets every revision older than `rv` (default: now) except the latest state of each object. */
  compact(rv = this.#revision): void {
    for (const revs of this.#history.values()) {
      for (const [key, list] of revs) {
        let base = -1;
        for (let i = 0; i < list.length; i++) if (list[i]!.rv <= rv) base = i;
        const kept = base >= 0 ? list.slice(base) : list;
        if (kept.length === 1 && kept[0]!.object === null && kept[0]!.rv <= rv) revs.delete(key);
        else revs.set(key, kept);
      }
    }
    this.#log = this.#log.filter((e) => e.rv > rv);
    this.#compactedAt = Math.max(this.#compactedAt, rv);
  }
}
