// Work in steps: a generator that yields between small parts of a larger piece of work (translating
// an Ingress, checking one for admission), so that the handler can let other requests run in
// between (src/handlers/admission-control.ts). Pure code stays pure: it only yields.

/** Runs a generator of steps to its end (for callers that do not let anything run in between). */
export function runSteps<T>(steps: Generator<void, T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}
