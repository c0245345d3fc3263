// Admission control for the webhook: no review may stall the others. A review's work is linear in
// its size, but a large one (an Ingress with 10,000 rules) still costs some hundred milliseconds,
// and JavaScript runs one thing at a time. So reviews are told apart by size:
// - a small review (nearly all of them) is answered at once, as soon as its body is read, and never
//   waits behind a large one for longer than one slice of it;
// - a large review runs in the large-review lane, one at a time, a few milliseconds at a time
//   (`runSliced` drives the model's validation steps and lets other requests run in between);
//   a bounded number wait their turn, more are refused at once with 429;
// - all reviews at once are bounded too (429 with Retry-After, as POST /events is), so a flood
//   gets a quick answer rather than a timeout. The API server then applies the webhook's
//   failurePolicy with our message, well within the webhook's timeoutSeconds.
import { HTTPException } from 'hono/http-exception';

/** Sizes and bounds; every field has a default (see `admissionControlDefaults`). */
export interface AdmissionControlOptions {
  /** Reviews in progress at once (reading their body included); more get 429. */
  maxInFlight: number;
  /** A review body of this many bytes or more is large (an Ingress of some 400 rules and up). */
  largeBytes: number;
  /** Large reviews waiting behind the one in progress; more get 429. */
  maxLargeWaiting: number;
  /** How long a large review runs before it lets other work run (ms). */
  sliceMs: number;
}

export const admissionControlDefaults: Readonly<AdmissionControlOptions> = Object.freeze({ maxInFlight: 64, largeBytes: 64 << 10, maxLargeWaiting: 8, sliceMs: 8 });

const busy = (message: string) => new HTTPException(429, { message, res: new Response(null, { headers: { 'retry-after': '1' } }) });

/**
 * The time the API server waits for the webhook, from the `timeout` query parameter it adds to every
 * call (`?timeout=3s`, a Go duration in whole seconds); null when absent or not understood.
 */
export function callerTimeoutMs(value: string | undefined): number | null {
  const m = /^(\d{1,4})s$/.exec(value ?? '');
  return m ? Number(m[1]) * 1000 : null;
}

/** Lets the event loop run what is ready (I/O, other requests) before going on. */
const letOthersRun = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Runs a generator of steps to its end, `sliceMs` at a time: between slices other requests are
 * served. A step itself is not cut, so steps must be small (the model's are: a parse, a
 * translation, one host's merge).
 */
export async function runSliced<T>(steps: Generator<void, T>, sliceMs: number): Promise<T> {
  let sliceStart = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - sliceStart >= sliceMs) {
      await letOthersRun();
      sliceStart = performance.now();
    }
  }
}

/** The large-review lane: one large review runs at a time, sliced; a bounded number wait. */
export class LargeReviewLane {
  readonly #options: Pick<AdmissionControlOptions, 'maxLargeWaiting' | 'sliceMs' | 'largeBytes'>;
  readonly #onRefused: (() => void) | undefined;
  /** Large reviews admitted and not answered yet (reading, waiting or running). */
  #admitted = 0;
  #running = false;
  readonly #turns: (() => void)[] = [];

  constructor(options: Pick<AdmissionControlOptions, 'maxLargeWaiting' | 'sliceMs' | 'largeBytes'>, onRefused?: () => void) {
    this.#options = options;
    this.#onRefused = onRefused;
  }

  /** Admits one large review, or throws 429 when the lane is full; call the returned function when it is answered. */
  admit(): () => void {
    if (this.#admitted > this.#options.maxLargeWaiting) {
      this.#onRefused?.();
      throw busy(`${this.#admitted} large reviews (over ${this.#options.largeBytes} bytes) in progress or waiting (at most ${this.#options.maxLargeWaiting + 1}); retry shortly`);
    }
    this.#admitted++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#admitted--;
    };
  }

  /**
   * Runs one large review's steps when its turn comes (first come, first served), sliced. `deadline`
   * (performance.now() time): when the caller has given up by its turn, the review is not run (503).
   */
  async run<T>(steps: Generator<void, T>, deadline = Infinity): Promise<T> {
    if (this.#running) await new Promise<void>((resolve) => this.#turns.push(resolve));
    else this.#running = true;
    try {
      // The turn may come at the end of the previous review's last slice: let others run first.
      await letOthersRun();
      if (performance.now() >= deadline) {
        this.#onRefused?.();
        throw new HTTPException(503, { message: 'the review waited for larger ones past the timeout the API server gave it; not reviewed', res: new Response(null, { headers: { 'retry-after': '1' } }) });
      }
      return await runSliced(steps, this.#options.sliceMs);
    } finally {
      // The lane passes straight to the next one waiting, or is free.
      const next = this.#turns.shift();
      if (next) next();
      else this.#running = false;
    }
  }
}
