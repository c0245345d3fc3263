// A Translation's candidates and canaries grouped by host, so that merging one host reads only what
// that host has: merging every host of a Translation is then linear in its size, not in its size
// times its hosts (an Ingress with 10,000 one-host rules took seconds to merge before).
// Computed once per Translation, on first use, and kept beside it (Translations are not changed
// once translated; a new version of an Ingress is a new Translation); small lists are just filtered.
import type { Candidate, CanaryCandidate, Translation } from './translate-ingress.ts';

interface ByHost {
  candidates: Map<string, Candidate[]>;
  canaries: Map<string, CanaryCandidate[]>;
}

const NONE: readonly never[] = Object.freeze([]);
const byHost = new WeakMap<Translation, ByHost>();

function group<T extends { host: string }>(items: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const list = out.get(item.host);
    if (list) list.push(item);
    else out.set(item.host, [item]);
  }
  return out;
}

function indexOf(t: Translation): ByHost {
  let b = byHost.get(t);
  if (!b) byHost.set(t, (b = { candidates: group(t.candidates), canaries: group(t.canaries) }));
  return b;
}

/** Up to this many, a Translation's lists are filtered rather than grouped (most Ingresses: cheaper). */
const SMALL = 16;

/** The candidates of `t` on `host`, in the Translation's order. */
export function candidatesOn(t: Translation, host: string): readonly Candidate[] {
  if (t.candidates.length <= SMALL) return t.candidates.filter((c) => c.host === host);
  return indexOf(t).candidates.get(host) ?? NONE;
}

/** The canary candidates of `t` on `host`, in the Translation's order. */
export function canariesOn(t: Translation, host: string): readonly CanaryCandidate[] {
  if (t.canaries.length <= SMALL) return t.canaries.filter((c) => c.host === host);
  return indexOf(t).canaries.get(host) ?? NONE;
}
