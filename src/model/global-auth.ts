// The ConfigMap's global-auth-url and its companions (-signin, -response-headers, -method): external
// auth for every Ingress location that has no auth-url of its own and does not opt out with the
// enable-global-auth: "false" annotation, as ingress-nginx does. Part of the key table of
// global-settings.ts; applied to locations when a host is merged (merge-host.ts).
import { AUTH_METHODS } from './auth-cookie-rules.ts';
import { checkHeaderName, checkUrl, splitList } from './grammar.ts';
import { quote } from './problems.ts';
import type { GlobalSettings, Location } from './types.ts';

type KeyRule = (value: string, out: GlobalSettings) => string | null;

/** What the companions set; the URL makes it whole (globalAuthOf). */
type Draft = NonNullable<GlobalSettings['globalAuth']>;
const draft = (out: GlobalSettings): Draft => (out.globalAuth ??= { url: '', responseHeaders: [] });

/** The rows these keys add to the ConfigMap's key table. */
export const GLOBAL_AUTH_KEYS: Readonly<Record<string, KeyRule>> = {
  'global-auth-url': (v, out) => {
    const reason = checkUrl(v);
    if (reason) return reason;
    draft(out).url = v;
    return null;
  },
  'global-auth-signin': (v, out) => {
    const reason = checkUrl(v);
    if (reason) return reason;
    draft(out).signin = v;
    return null;
  },
  'global-auth-response-headers': (v, out) => {
    const items = splitList(v);
    if (items.length === 0 || items.length > 64) return 'must list 1 to 64 header names separated by commas';
    for (const item of items) {
      const reason = checkHeaderName(item);
      if (reason) return `item ${quote(item.slice(0, 40))} ${reason}`;
    }
    draft(out).responseHeaders = [...new Set(items)];
    return null;
  },
  'global-auth-method': (v, out) => {
    if (!AUTH_METHODS.includes(v)) return `must be one of ${AUTH_METHODS.join(', ')}`;
    draft(out).method = v;
    return null;
  },
};

/** Drops the companions when global-auth-url is not set (or invalid): there is no global auth then. */
export function settleGlobalAuth(out: GlobalSettings): void {
  if (out.globalAuth && out.globalAuth.url === '') delete out.globalAuth;
}

/** Where global auth never applies, as ingress-nginx's no-auth-locations default: HTTP-01 challenges. */
const NO_AUTH_PREFIX = '/.well-known/acme-challenge';

/**
 * A location's external auth once the global one is applied: its own auth-url, else the global one
 * unless the Ingress opted out, the location answers ACME challenges, or it is not an Ingress's.
 */
export function withGlobalAuth(location: Location, global: GlobalSettings): Location['settings']['externalAuth'] {
  const own = location.settings.externalAuth;
  const g = global.globalAuth;
  if (own || !g || location.settings.globalAuth === false || location.source.kind !== 'Ingress') return own;
  if (location.path === NO_AUTH_PREFIX || location.path.startsWith(`${NO_AUTH_PREFIX}/`)) return undefined;
  return { url: g.url, responseHeaders: g.responseHeaders, ...(g.signin !== undefined ? { signin: g.signin } : {}), ...(g.method !== undefined ? { method: g.method } : {}) };
}
