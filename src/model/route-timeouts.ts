// HTTPRoute `timeouts` as NGINX can honour them. NGINX has no deadline for a whole request: its
// proxy timeouts bound each wait for the backend (connecting, each write, each read), and
// proxy_next_upstream_timeout bounds the time spent trying other endpoints. So:
//   backendRequest B: proxy_send_timeout and proxy_read_timeout B (a backend that does not answer
//     within B gets 504; one that streams a body slowly, each read within B, is not cut);
//   request R: proxy_next_upstream_timeout R (no retry starts after R), and the send and read
//     timeouts too when there is no backendRequest;
//   0s: that timeout is off (NGINX's own, or the ConfigMap's proxy-*-timeout, apply).
// docs/gateway-api.md says what differs from the specification. Pure.
import type { ProblemList } from './problems.ts';
import type { LocationSettings } from './types.ts';

/** The Gateway API's Duration: 1 to 4 parts of up to 5 digits and a unit (`1h30m`, `500ms`). */
const DURATION = /^([0-9]{1,5}(h|m|s|ms)){1,4}$/;
const PART = /([0-9]{1,5})(h|ms|m|s)/g;
const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
/** NGINX keeps timeouts in milliseconds in an int: stay well inside. */
const MAX_MS = 2_147_483_000;

/** A Duration in milliseconds, or the reason it is not one. */
export function durationMs(value: string): number | string {
  if (!DURATION.test(value)) return 'must be a Gateway API duration: 1 to 4 parts of a number (up to 5 digits) and h, m, s or ms, e.g. 1h30m or 500ms';
  let ms = 0;
  for (const m of value.matchAll(PART)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  if (ms > MAX_MS) return `must be at most ${MAX_MS / 1000} seconds`;
  return ms;
}

/** The location settings of a rule's `timeouts` (seconds, to the millisecond); problems go to `list`. */
export function timeoutSettings(timeouts: { request?: string | undefined; backendRequest?: string | undefined } | undefined, field: string, list: ProblemList): Partial<LocationSettings> {
  if (!timeouts) return {};
  const read = (name: 'request' | 'backendRequest'): number | null => {
    const v = timeouts[name];
    if (v === undefined) return null;
    const ms = durationMs(v);
    if (typeof ms === 'string') {
      list.invalid('InvalidTimeout', `${field}.timeouts.${name}`, v, ms);
      return null;
    }
    return ms;
  };
  const request = read('request');
  const backend = read('backendRequest');
  if (request !== null && request > 0 && backend !== null && backend > request) {
    list.invalid('InvalidTimeout', `${field}.timeouts.backendRequest`, timeouts.backendRequest!, `must not be longer than timeouts.request (${timeouts.request})`);
    return {};
  }
  const out: Partial<LocationSettings> = {};
  const perWait = backend !== null && backend > 0 ? backend : request !== null && request > 0 ? request : null;
  if (perWait !== null) {
    out.proxyReadTimeout = perWait / 1000;
    out.proxySendTimeout = perWait / 1000;
  }
  if (request !== null && request > 0) out.proxyNextUpstreamTimeout = request / 1000;
  return out;
}
