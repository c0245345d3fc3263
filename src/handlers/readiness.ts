// What /readyz says. Liveness (/healthz) is only "the process runs"; readiness is "the view is
// synced, and every API wharf requires is served": until then /readyz answers 503 and names each
// stream still waiting and why (the last failure, or "no answer yet"), and every group/version the
// API server does not serve with what wharf does without it. An optional API that is missing
// (the Gateway API) is named too but does not make the handler unready. Admission, by contrast,
// answers from the first second whatever this says (app.ts).
import type { MissingApi } from '../cluster/api-presence.ts';
import type { StreamState } from '../cluster/kubernetes-view-feed.ts';

/** The handler's own part of /readyz (the app adds object counts and agents). */
export interface ReadinessReport {
  ready: boolean;
  /** Streams not listed yet, with why. */
  waiting: { stream: string; reason: string }[];
  /** Group/versions the API server does not serve. */
  missingApis: MissingApi[];
}

export interface ReadinessInputs {
  /** The view holds a full list of every kind (the not-served ones as empty). */
  synced: boolean;
  /** The watch streams (absent with --no-watch or without a cluster). */
  streams?: StreamState[];
  missingApis: MissingApi[];
  /** Without watches: why the first list has not succeeded yet (null while it runs). */
  listError?: string | null;
}

export function readinessReport(i: ReadinessInputs): ReadinessReport {
  const waiting: ReadinessReport['waiting'] = [];
  // A stream whose required API is missing waits for it; one whose optional API is missing does not.
  for (const s of i.streams ?? []) if (s.state === 'waiting' || (s.state === 'not-served' && s.required)) waiting.push({ stream: s.stream, reason: s.reason ?? '' });
  if (!i.synced && !i.streams) waiting.push({ stream: 'cluster', reason: i.listError ?? 'listing: no answer from the API server yet' });
  const requiredMissing = i.missingApis.some((m) => m.required);
  return { ready: i.synced && !requiredMissing, waiting, missingApis: i.missingApis };
}
