// The endpoint sets the handler tier sent, with their revisions. Kept in memory so that a restarted
// NGINX master (whose shared dict starts empty) gets every set again, and so that the no-Lua
// fallback can render them as static upstreams. Pure bookkeeping, no I/O.
import { UPSTREAM_NAME } from '../protocol/agent-api.ts';
import { endpointProblem } from '../protocol/endpoint-address.ts';

export interface EndpointSet {
  upstream: string;
  revision: number;
  /** Null after a delete (a tombstone keeping the revision). */
  endpoints: string[] | null;
  /** Highest revision NGINX acknowledged (Lua mode) or applied through a reload. */
  appliedRevision: number | null;
}

export class EndpointStore {
  private readonly sets = new Map<string, EndpointSet>();
  private changed = false;

  get(upstream: string): EndpointSet | undefined {
    return this.sets.get(upstream);
  }

  all(): EndpointSet[] {
    return [...this.sets.values()].sort((a, b) => (a.upstream < b.upstream ? -1 : a.upstream > b.upstream ? 1 : 0));
  }

  get size(): number {
    return this.sets.size;
  }

  /**
   * Accepts a set (null: delete) unless an equal or newer revision was accepted. 'unchanged': a newer
   * revision of the same endpoints, nothing to send to NGINX.
   */
  set(upstream: string, revision: number, endpoints: string[] | null): 'stale' | 'changed' | 'unchanged' {
    const current = this.sets.get(upstream);
    if (current && revision <= current.revision) return 'stale';
    const same = current && sameList(current.endpoints, endpoints);
    if (current) {
      current.revision = revision;
      current.endpoints = endpoints;
      // Unchanged endpoints under a newer revision: NGINX already holds them.
      if (same && current.appliedRevision !== null) current.appliedRevision = revision;
    } else {
      this.sets.set(upstream, { upstream, revision, endpoints, appliedRevision: null });
    }
    if (!same) this.changed = true;
    return same ? 'unchanged' : 'changed';
  }

  /**
   * Deletes every set not in `keep` (a complete snapshot); with `below`, only those held at a
   * revision below it (the snapshot's: newer ones stay). Returns the upstreams deleted.
   */
  retainOnly(keep: Set<string>, below = Infinity): string[] {
    const removed: string[] = [];
    for (const s of this.sets.values()) {
      if (keep.has(s.upstream) || s.endpoints === null || s.revision >= below) continue;
      s.endpoints = null;
      removed.push(s.upstream);
      this.changed = true;
    }
    return removed;
  }

  /** Whether any set changed since the last call (reload mode: upstreams.conf must be rewritten). */
  takeChanged(): boolean {
    const c = this.changed;
    this.changed = false;
    return c;
  }

  markChanged(): void {
    this.changed = true;
  }

  markApplied(upstream: string, revision: number): void {
    const s = this.sets.get(upstream);
    if (s && (s.appliedRevision === null || revision > s.appliedRevision)) s.appliedRevision = revision;
  }
}

function sameList(a: string[] | null, b: string[] | null): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  return a.every((x, i) => x === b[i]);
}

/**
 * upstreams.conf for NGINX without the Lua module: `$wharf_backend` maps each upstream with
 * endpoints to a static upstream of the same name (or its twin without keepalive, for locations
 * with their own backend TLS settings), everything else to wharf_no_endpoints (503).
 * Names and endpoints are checked again here, since this text goes into NGINX's config.
 */
export function renderUpstreams(sets: { upstream: string; endpoints: string[] | null }[]): string {
  const live = sets
    .filter((s) => s.endpoints && s.endpoints.length > 0)
    .sort((a, b) => (a.upstream < b.upstream ? -1 : a.upstream > b.upstream ? 1 : 0));
  // volatile: a location that sets $wharf_upstream again after $wharf_backend was read (an error
  // page's named location) must get the new upstream, not the value NGINX cached for the request.
  // Keyed by $wharf_tls_isolated too: a location with its own backend TLS settings (proxy-ssl-*)
  // sets it to 1 and gets a twin upstream without keepalive, since NGINX hands a kept-alive
  // connection to any location that asks for the same address (one made with another location's
  // client certificate, or without its checks). `_` never appears in upstream names.
  const map: string[] = ['map "$wharf_tls_isolated:$wharf_upstream" $wharf_backend {', '    volatile;', '    default wharf_no_endpoints;'];
  const blocks: string[] = [];
  for (const s of live) {
    if (!UPSTREAM_NAME.test(s.upstream)) throw new Error(`upstream ${JSON.stringify(s.upstream)}: not a valid upstream name`);
    map.push(`    ":${s.upstream}" "${s.upstream}";`, `    "1:${s.upstream}" "${s.upstream}_isolated";`);
    const servers: string[] = [];
    for (const e of new Set(s.endpoints)) {
      const problem = endpointProblem(e);
      if (problem) throw new Error(`endpoint ${JSON.stringify(e)} of ${s.upstream}: ${problem}`);
      servers.push(`    server ${e};`);
    }
    blocks.push(`upstream ${s.upstream} {`, ...servers, '    keepalive 16;', '}');
    blocks.push(`upstream ${s.upstream}_isolated {`, ...servers, '}');
  }
  map.push('}');
  return [...map, ...blocks, ''].join('\n');
}
