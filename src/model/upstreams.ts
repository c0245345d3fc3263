// Upstream names: `namespace-service-port`, kept unique. Two different (namespace, service, port)
// triples can join to the same name (ns a/svc b-c and ns a-b/svc c); the first in sort order keeps
// it, the others get `.<namespace length>.<service length>` (a dot never occurs in the parts, and
// the two lengths say where the parts split, so the result cannot collide with anything).
import { cmp } from './problems.ts';

/** One Service port as Ingresses reference it. */
export interface UpstreamRef {
  namespace: string;
  service: string;
  port: number | string;
}

/** `namespace-service-port`, before collisions are resolved. */
export function plainUpstreamName(ref: UpstreamRef): string {
  return `${ref.namespace}-${ref.service}-${ref.port}`;
}

/** A stable key of a triple (no two triples share one). */
export function upstreamRefKey(ref: UpstreamRef): string {
  return `${ref.namespace}/${ref.service}/${typeof ref.port === 'number' ? '#' : ''}${ref.port}`;
}

function disambiguated(ref: UpstreamRef): string {
  return `${plainUpstreamName(ref)}.${ref.namespace.length}.${ref.service.length}`;
}

function compareRefs(a: UpstreamRef, b: UpstreamRef): number {
  return cmp(a.namespace, b.namespace) || cmp(a.service, b.service) || cmp(String(a.port), String(b.port)) || cmp(typeof a.port, typeof b.port);
}

/** A triple in use whose name changed because a colliding triple came or went. */
export interface Rename {
  ref: UpstreamRef;
  from: string;
  to: string;
}

/**
 * The upstreams in use, counted by user (an Ingress key), so names stay unique as Ingresses come
 * and go. `add`/`remove` return the other triples whose name changed because of a collision appearing
 * or going away (their users must be re-rendered).
 */
export class UpstreamNames {
  private readonly users = new Map<string, { ref: UpstreamRef; users: Set<string> }>();
  private readonly groups = new Map<string, Map<string, UpstreamRef>>();
  private readonly byService = new Map<string, Map<string, UpstreamRef>>();

  /** The name of a triple in use (or what it would be if it were added now). */
  nameOf(ref: UpstreamRef): string {
    const plain = plainUpstreamName(ref);
    const group = this.groups.get(plain);
    if (!group) return plain;
    if (group.size === 1) {
      const only = group.values().next().value!;
      if (only.namespace === ref.namespace && only.service === ref.service && only.port === ref.port) return plain;
    }
    let first: UpstreamRef | undefined;
    for (const r of group.values()) if (!first || compareRefs(r, first) < 0) first = r;
    if (first && compareRefs(first, ref) < 0) return disambiguated(ref);
    return plain;
  }

  /** The triple behind a name, if in use. */
  refOf(name: string): UpstreamRef | undefined {
    const dot = name.indexOf('.');
    const group = this.groups.get(dot < 0 ? name : name.slice(0, dot));
    if (!group) return undefined;
    for (const r of group.values()) if (this.nameOf(r) === name) return r;
    return undefined;
  }

  /** Users (Ingress keys) of a triple. */
  usersOf(ref: UpstreamRef): ReadonlySet<string> {
    return this.users.get(upstreamRefKey(ref))?.users ?? new Set();
  }

  /** The triples in use of one Service (`namespace/name`). */
  refsOfService(serviceKey: string): UpstreamRef[] {
    return [...(this.byService.get(serviceKey)?.values() ?? [])];
  }

  /** Every triple in use. */
  refs(): UpstreamRef[] {
    return [...this.users.values()].map((u) => u.ref);
  }

  add(ref: UpstreamRef, user: string): Rename[] {
    const key = upstreamRefKey(ref);
    const held = this.users.get(key);
    if (held) {
      held.users.add(user);
      return [];
    }
    this.users.set(key, { ref, users: new Set([user]) });
    const svc = `${ref.namespace}/${ref.service}`;
    let ofService = this.byService.get(svc);
    if (!ofService) this.byService.set(svc, (ofService = new Map()));
    ofService.set(key, ref);
    const plain = plainUpstreamName(ref);
    const group = this.groups.get(plain);
    if (!group) {
      // The common case: no collision, nothing else can be renamed.
      this.groups.set(plain, new Map([[key, ref]]));
      return [];
    }
    const before = this.groupNames(ref);
    group.set(key, ref);
    return this.renamed(ref, before);
  }

  remove(ref: UpstreamRef, user: string): Rename[] {
    const key = upstreamRefKey(ref);
    const held = this.users.get(key);
    if (!held || !held.users.delete(user) || held.users.size > 0) return [];
    this.users.delete(key);
    const svc = `${ref.namespace}/${ref.service}`;
    const ofService = this.byService.get(svc);
    ofService?.delete(key);
    if (ofService?.size === 0) this.byService.delete(svc);
    const plain = plainUpstreamName(ref);
    const group = this.groups.get(plain);
    if (!group || group.size <= 1) {
      this.groups.delete(plain);
      return [];
    }
    const before = this.groupNames(ref);
    group.delete(key);
    return this.renamed(ref, before);
  }

  private groupNames(ref: UpstreamRef): Map<string, string> {
    const names = new Map<string, string>();
    for (const [k, r] of this.groups.get(plainUpstreamName(ref)) ?? []) names.set(k, this.nameOf(r));
    return names;
  }

  private renamed(ref: UpstreamRef, before: Map<string, string>): Rename[] {
    const out: Rename[] = [];
    for (const [k, r] of this.groups.get(plainUpstreamName(ref)) ?? []) {
      const was = before.get(k);
      const now = this.nameOf(r);
      if (was !== undefined && was !== now) out.push({ ref: r, from: was, to: now });
    }
    return out;
  }
}
