// Waiting, briefly, for agents to acknowledge a push: POST /events answers once every healthy agent
// holds the event's changes (an endpoint set in NGINX's workers, a fragment written with its reload
// queued), or once a short bound passed, whichever comes first. The answer then means "applied" in
// the normal case, and a sender that goes faster than the agents gets its answers later (natural
// back-pressure), not a queue that grows. An agent that is away, retrying, being sent its snapshot,
// or that let a wait run out, is not waited for: the event source is never tied to an unhealthy
// agent. The change is in the view before anything is waited on, so relists and snapshots make
// every agent converge whatever happens here (docs/architecture.md "POST /events").
//
// The fan-out (fanout.ts) owns one AgentAcks per agent: it registers what a healthy agent was sent
// (`expectUpdate`), reports the agent's answers (`acknowledge`) and failures (`release`).
import type { DesiredUpdate } from './fanout.ts';

/** One update's wait, across agents: done when nothing it expects is outstanding, or at the bound. */
export class AckWait {
  /** Outstanding acknowledgements per agent. */
  readonly #outstanding = new Map<AgentAcks, number>();
  #resolve: (() => void) | null = null;
  #timer: NodeJS.Timeout | null = null;
  readonly done: Promise<void>;

  constructor() {
    this.done = new Promise((r) => (this.#resolve = r));
  }

  /** True when some agent's acknowledgement is outstanding. */
  get expecting(): boolean {
    return this.#outstanding.size > 0;
  }

  /** True until it is done (everything acknowledged, or the bound passed). */
  get open(): boolean {
    return this.#resolve !== null;
  }

  /** Called by AgentAcks.expect for each change it waits for. */
  add(agent: AgentAcks): void {
    this.#outstanding.set(agent, (this.#outstanding.get(agent) ?? 0) + 1);
  }

  /** One of `agent`'s expected acknowledgements came (or is no longer waited for). */
  settleOne(agent: AgentAcks): void {
    const n = (this.#outstanding.get(agent) ?? 0) - 1;
    if (n > 0) this.#outstanding.set(agent, n);
    else this.#outstanding.delete(agent);
    if (this.#outstanding.size === 0) this.#finish();
  }

  /** Starts the bound; resolves at once when nothing is expected. */
  arm(withinMs: number): void {
    if (!this.open) return;
    if (this.#outstanding.size === 0) return this.#finish();
    this.#timer = setTimeout(() => {
      this.#timer = null;
      // An agent that did not answer within the bound is slow: not waited for until it catches up.
      for (const agent of this.#outstanding.keys()) agent.lagging = true;
      this.#outstanding.clear();
      this.#finish();
    }, withinMs);
    this.#timer.unref();
  }

  #finish(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const r = this.#resolve;
    this.#resolve = null;
    r?.();
  }
}

/** The keys of changes, one space per lane's kind. */
const ackKey = {
  endpoints: (upstream: string): string => `e:${upstream}`,
  fragment: (name: string): string => `f:${name}`,
  certificate: (name: string): string => `c:${name}`,
};

interface Expected {
  revision: number;
  wait: AckWait;
}

/** One agent's outstanding acknowledgements, by change key (`e:upstream`, `f:fragment`, `c:certificate`). */
export class AgentAcks {
  readonly #expected = new Map<string, Expected[]>();
  /**
   * A wait on this agent ran out (it is slow), or a push to it failed: it is not waited for again
   * until its lanes are quiet after a success (the fan-out clears this: `caughtUp`).
   */
  lagging = false;

  /** `wait` waits for this agent to acknowledge every change of `update`. */
  expectUpdate(update: DesiredUpdate, wait: AckWait): void {
    for (const e of update.endpoints) this.expect(ackKey.endpoints(e.upstream), e.revision, wait);
    for (const f of update.fragments) this.expect(ackKey.fragment(f.name), f.revision, wait);
    for (const c of update.certificates ?? []) this.expect(ackKey.certificate(c.name), c.revision, wait);
  }

  /** `wait` waits for this agent to acknowledge `key` at `revision` or newer. */
  expect(key: string, revision: number, wait: AckWait): void {
    wait.add(this);
    const list = this.#expected.get(key);
    if (list) list.push({ revision, wait });
    else this.#expected.set(key, [{ revision, wait }]);
  }

  /** The agent answered a push of `key` at `revision`: every wait for it at that revision or older is settled. */
  acknowledge(key: string, revision: number): void {
    if (this.#expected.size === 0) return;
    const list = this.#expected.get(key);
    if (!list) return;
    let kept = 0;
    for (const e of list) {
      if (e.revision <= revision) {
        if (e.wait.open) e.wait.settleOne(this);
      } else list[kept++] = e;
    }
    if (kept === 0) this.#expected.delete(key);
    else list.length = kept;
  }

  /** The agent answered a request carrying these changes (or refused them for good: nothing to wait for). */
  acknowledgeSent(fragments: readonly { name: string; revision: number }[], endpoints: readonly { upstream: string; revision: number }[], certificates: readonly { name: string; revision: number }[]): void {
    if (this.#expected.size === 0) return;
    for (const e of endpoints) this.acknowledge(ackKey.endpoints(e.upstream), e.revision);
    for (const f of fragments) this.acknowledge(ackKey.fragment(f.name), f.revision);
    for (const c of certificates) this.acknowledge(ackKey.certificate(c.name), c.revision);
  }

  /** The agent failed, was switched to a snapshot or removed: nothing is waited for from it. */
  release(): void {
    if (this.#expected.size === 0) return;
    this.lagging = true;
    const all = [...this.#expected.values()];
    this.#expected.clear();
    for (const list of all) for (const e of list) if (e.wait.open) e.wait.settleOne(this);
  }

  /** Its lanes are quiet after a success: waited for again. */
  caughtUp(): void {
    this.lagging = false;
  }
}
