// What the routing index keeps of each Ingress, held compactly. The index keeps one Translation and
// one merged host per Ingress for the life of the process; built by `push`, their arrays carry
// spare capacity (V8 gives a pushed array room for 17), most of their lists are empty, and their
// field paths (`spec.rules[0].http.paths[1].path`) are strings built in pieces. Measured with a heap
// snapshot at 10,000 Ingresses of one host and two paths: of a Translation's 1,920 bytes, 320 were
// field paths, 376 empty lists and an empty Map, about 250 spare capacity; of a merged host's 873,
// about 210. Compacting keeps the same values (equal arrays, the same strings), so the model and
// what is rendered are unchanged; shared empties are frozen, so a write to one fails loudly.
import type { MergedHost } from './merge-host.ts';
import type { Translation } from './translate-ingress.ts';

const EMPTY: never[] = Object.freeze([]) as unknown as never[];

/** An empty Map that refuses writes: one for every Translation without TLS. */
class EmptyMap<K, V> extends Map<K, V> {
  override set(): this {
    throw new TypeError('a compacted Translation is not changed');
  }
}
const NO_TLS = new EmptyMap<string, { tls: never; field: string }>();

/** The same elements without spare capacity; the shared empty array for none. */
function tight<T>(a: T[]): T[] {
  return a.length === 0 ? EMPTY : a.slice();
}

/** Field paths repeat across Ingresses (`spec.rules[0].http.paths[0].path`): one string each. */
const fields = new Map<string, string>();
const FIELDS_MAX = 10_000;
function field(f: string): string {
  const known = fields.get(f);
  if (known !== undefined) return known;
  if (fields.size < FIELDS_MAX) fields.set(f, f);
  return f;
}

/** A Translation as the index keeps it (call once it is complete: it is not changed after). */
export function compactTranslation(t: Translation): Translation {
  for (const c of t.candidates) c.field = field(c.field);
  for (const c of t.canaries) c.field = field(c.field);
  t.candidates = tight(t.candidates);
  t.canaries = tight(t.canaries);
  t.problems = tight(t.problems);
  t.hosts = tight(t.hosts);
  t.secrets = tight(t.secrets);
  t.services = tight(t.services);
  t.upstreamRefs = tight(t.upstreamRefs);
  t.serverAliases = tight(t.serverAliases);
  t.names = tight(t.names);
  if (t.tls.size === 0) t.tls = NO_TLS as unknown as Translation['tls'];
  return t;
}

/** A merged host as the index caches it. */
export function compactMerged(m: MergedHost): MergedHost {
  m.problems = tight(m.problems);
  m.names = tight(m.names);
  if (m.server) {
    m.server.locations = tight(m.server.locations);
    m.server.sources = tight(m.server.sources);
  }
  return m;
}

/**
 * A cache that keeps at most `capacity` entries, forgetting the oldest first. The index's merged
 * hosts are a cache (each is recomputed from the translations when missing: O(that host)), but kept
 * for every host they were 703 B an Ingress, 70 MB at 100,000: only the recently merged are kept.
 */
export class BoundedCache<K, V> extends Map<K, V> {
  readonly #capacity: number;
  constructor(capacity: number) {
    super();
    this.#capacity = capacity;
  }
  override set(key: K, value: V): this {
    if (!this.has(key) && this.size >= this.#capacity) this.delete(this.keys().next().value as K);
    return super.set(key, value);
  }
}
