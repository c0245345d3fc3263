// The handler's side of Ingress status and Events: whenever a recompute may have changed what wharf
// concludes about an Ingress (handled or not, its problems, its hosts), or an agent's NGINX refused
// a fragment that carries it, the Ingress's verdict goes to the status writer
// (src/cluster/status-writer.ts), which compares with the cluster and writes only what differs.
import type { IngressVerdict } from '../cluster/status-verdict.ts';
import { verdictOf } from '../cluster/status-verdict.ts';
import type { RoutingIndex } from '../model/index.ts';
import { splitKey } from '../model/cluster-state.ts';
import { DEFAULT_FRAGMENT, fragmentName } from '../render/index.ts';
import type { Quarantined } from './quarantine.ts';

/** What the status writer offers (IngressStatusWriter; tests pass a recording one). */
export interface VerdictSink {
  set(verdict: IngressVerdict): void;
  forget(namespace: string, name: string): void;
}

/** The fragments an Ingress's content goes to: its hosts' (`_default` for rules without a host). */
export function fragmentsOf(index: RoutingIndex, ingressKey: string): string[] {
  return index.hostsOf(ingressKey).map((h) => (h === '' ? DEFAULT_FRAGMENT : fragmentName(h)));
}

export class IngressVerdicts {
  readonly #index: RoutingIndex;
  readonly #sink: VerdictSink;
  #quarantined: Quarantined = new Map();
  /** Ingresses a verdict was given for, so one that left the model between two lists is forgotten. */
  #known = new Set<string>();

  constructor(index: RoutingIndex, sink: VerdictSink) {
    this.#index = index;
    this.#sink = sink;
  }

  /** After a recompute: the Ingresses it affected (model keys), or every one after a full list. */
  affected(keys: string[] | 'all'): void {
    if (keys !== 'all') {
      for (const key of keys) this.#tell(key);
      return;
    }
    for (const key of this.#known) if (!this.#index.ingresses.has(key)) this.#tell(key);
    for (const key of this.#index.ingresses.keys()) this.#tell(key);
  }

  /** The agents' quarantined fragments changed: tell again every Ingress on a fragment that entered or left. */
  quarantined(now: Quarantined, previous: Quarantined): void {
    this.#quarantined = now;
    const changed = new Set<string>();
    for (const [name, error] of now) if (previous.get(name) !== error) changed.add(name);
    for (const name of previous.keys()) if (!now.has(name)) changed.add(name);
    if (changed.size === 0) return;
    for (const key of this.#index.ingresses.keys()) if (fragmentsOf(this.#index, key).some((f) => changed.has(f))) this.#tell(key);
  }

  /** NGINX's error for the first quarantined fragment the Ingress contributes to, if any. */
  #nginxError(key: string): string | null {
    if (this.#quarantined.size === 0) return null;
    for (const f of fragmentsOf(this.#index, key)) {
      const error = this.#quarantined.get(f);
      if (error) return error;
    }
    return null;
  }

  #tell(key: string): void {
    const ingress = this.#index.ingresses.get(key);
    if (!ingress) {
      const { namespace, name } = splitKey(key);
      this.#known.delete(key);
      this.#sink.forget(namespace, name);
      return;
    }
    this.#known.add(key);
    this.#sink.set(verdictOf(this.#index, ingress, this.#nginxError(key)));
  }
}
