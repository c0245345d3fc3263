// One host's Server from the Translations of every Ingress that claims it: locations merged, the
// same host+path claimed twice resolved for the oldest Ingress (creationTimestamp, then UID) with a
// warning for the loser, canaries attached to their primary location, TLS from the oldest Ingress
// that has it, effective ssl-redirect, locations in NGINX precedence order. O(size of the host).
import { ANNOTATION_PREFIX } from './annotations.ts';
import { defaultMismatch } from './default-certificate.ts';
import { wwwTwin } from './grammar.ts';
import { canariesOn, candidatesOn } from './host-candidates.ts';
import { ProblemList, cmp } from './problems.ts';
import { DEFAULT_HOST, type Translation } from './translate-ingress.ts';
import { withGlobalAuth } from './global-auth.ts';
import { mergePassthrough } from './passthrough.ts';
import type { GlobalSettings, Location, LocationSettings, ObjectRef, Problem, Server, ServiceBackend, Tls } from './types.ts';
import type { UpstreamRef } from './upstreams.ts';

/** Older first: creationTimestamp, then uid, then namespace/name (so the order is total). */
export function compareAge(a: Translation, b: Translation): number {
  if (a.created !== b.created) return a.created < b.created ? -1 : 1;
  return cmp(a.uid, b.uid) || cmp(a.key, b.key);
}

const MATCH_ORDER: Record<Location['match'], number> = { Exact: 0, Prefix: 1, Regex: 2 };

/**
 * NGINX precedence: longest path first, then Exact, Prefix, Regex at equal length, then path; on
 * one path, the Gateway API's order between conditions: a method first, then more headers, then
 * more query parameters (locations without conditions last). Ties keep their order (the sort is
 * stable: older sources first).
 */
export function compareLocations(a: Location, b: Location): number {
  return b.path.length - a.path.length || MATCH_ORDER[a.match] - MATCH_ORDER[b.match] || cmp(a.path, b.path) || compareConditions(a, b);
}

function conditionRank(l: Location): [number, number, number] {
  let method = 0, headers = 0, query = 0;
  for (const c of l.conditions ?? []) {
    if (c.on === 'method') method = 1;
    else if (c.on === 'header') headers++;
    else if (c.on === 'query') query++;
  }
  return [method, headers, query];
}

/** Conditions that weigh in precedence: the scheme does not (it says which listeners a route is on). */
const ranked = (l: Location): number => (l.conditions ?? []).filter((c) => c.on !== 'scheme').length;

function compareConditions(a: Location, b: Location): number {
  if (!a.conditions?.length && !b.conditions?.length) return 0;
  const [am, ah, aq] = conditionRank(a);
  const [bm, bh, bq] = conditionRank(b);
  return bm - am || bh - ah || bq - aq || ranked(b) - ranked(a);
}

/** A route's location without its scheme condition (built anew: no `delete`, which slows V8's objects). */
function withoutScheme(l: Location, withName: (b: ServiceBackend) => ServiceBackend): Location {
  const kept = l.conditions!.filter((x) => x.on !== 'scheme');
  if (kept.length > 0) return { ...l, backend: l.backend && withName(l.backend), conditions: kept };
  const { conditions: _, ...rest } = l;
  return { ...rest, backend: l.backend && withName(l.backend) };
}

/** What makes two locations the same claim: match and path, and the conditions when there are any. */
export function claimKey(l: Pick<Location, 'match' | 'path' | 'conditions'>): string {
  const base = `${l.match} ${l.path}`;
  if (!l.conditions?.length) return base;
  return `${base} ${l.conditions.map((c) => `${c.on}:${c.name}:${c.match}:${c.value}`).sort().join('\u0000')}`;
}

export function compareRefs(a: ObjectRef, b: ObjectRef): number {
  return cmp(a.kind, b.kind) || cmp(a.namespace, b.namespace) || cmp(a.name, b.name);
}

function describe(t: Translation): string {
  return `${t.ref.namespace}/${t.ref.name}`;
}

/** A name a host asks for besides its own, before other hosts' claims are weighed (server-names.ts). */
export interface NameRequest {
  name: string;
  kind: 'alias' | 'www';
  /** The Ingress whose annotation asks for it. */
  owner: Translation;
}

/** The merge of one host; `server` is null when no location is left. */
export interface MergedHost {
  server: Server | null;
  /** Conflict warnings, for the Ingresses that lost. */
  problems: Problem[];
  /** server-alias and from-to-www-redirect names this host asks for (empty for most hosts). */
  names: NameRequest[];
  /** The oldest Ingress with a location here: named when another Ingress asks for this host as a name. */
  holder: ObjectRef | null;
}

/**
 * Merges a host. `contributors` are the accepted Translations with candidates for this host (any
 * order); `nameOf` gives the unique upstream name of a Service port.
 */
export function mergeHost(host: string, contributors: readonly Translation[], global: GlobalSettings, nameOf: (ref: UpstreamRef) => string, defaultTls: Tls | null = null): MergedHost {
  const ordered = [...contributors].filter((t) => !t.rejected && t.handled).sort(compareAge);
  const problems: Problem[] = [];
  const claims = new Map<string, { location: Location; owner: Translation; sslRedirect: boolean | undefined }>();
  let fallback: { location: Location; owner: Translation; sslRedirect: boolean | undefined } | null = null;
  const withName = (b: ServiceBackend): ServiceBackend => ({ ...b, upstream: nameOf(b) });

  let tls: Tls | null = null;
  let tlsOwner: Translation | null = null;
  if (host !== DEFAULT_HOST) {
    // An Ingress's own certificate wins over the default one another Ingress of the host asks for.
    let defaultTls: Tls | null = null;
    for (const t of ordered) {
      const mine = t.tls.get(host);
      if (!mine) continue;
      if (mine.tls.fromDefault) {
        defaultTls ??= mine.tls;
        continue;
      }
      if (!tlsOwner) {
        tlsOwner = t;
        tls = mine.tls;
      } else if (mine.tls.secret.name !== tls!.secret.name || mine.tls.secret.namespace !== tls!.secret.namespace) {
        problems.push({
          object: t.ref,
          severity: 'warning',
          reason: 'TlsConflict',
          field: mine.field,
          message: `${mine.field}: Invalid value: ${JSON.stringify(mine.tls.secret.name)}: host ${host} already uses the Secret of older Ingress ${describe(tlsOwner)}`,
        });
      }
    }
    tls ??= defaultTls;
    // Said to every Ingress that asked for the default certificate on the host.
    if (tls?.fromDefault) {
      for (const t of ordered) {
        const mine = t.tls.get(host);
        const problem = mine?.tls.fromDefault ? defaultMismatch(tls, host, t.ref, mine.field) : null;
        if (problem) problems.push(problem);
      }
    }
  }

  // ssl-passthrough: the name's TLS goes to a Service; NGINX terminates none for it.
  const passthrough = ordered.some((t) => t.passthrough) ? mergePassthrough(host, ordered, (t) => candidatesOn(t, host), withName, tlsOwner, problems) : null;
  if (passthrough) tls = null;

  // A server without TLS is served over plain HTTP only (the default server refuses TLS handshakes):
  // a route's `scheme http` condition (it attached to HTTP listeners only) always holds there, and
  // is left out, so such routes render as they would without it.
  // (The default server is not, when an HTTPS listener on 443 without a hostname gives it a certificate.)
  const plainOnly = tls === null && defaultTls === null;

  /**
   * The older claim that serves every request a scheme-only location (a route of listeners of one
   * protocol) would: the same path and other conditions without a scheme (an Ingress, a route of
   * both protocols). It wins, as between two claims of the same key.
   */
  const shadowing = (l: Location, t: Translation) => {
    if (!l.conditions?.some((c) => c.on === 'scheme')) return undefined;
    const held = claims.get(claimKey({ ...l, conditions: l.conditions.filter((c) => c.on !== 'scheme') }));
    return held && held.owner !== t ? held : undefined;
  };

  for (const t of ordered) {
    const list = new ProblemList(t.ref);
    for (const c of candidatesOn(t, host)) {
      // A TLSRoute's: its Service gets the host's TLS (passthrough above), no HTTP request.
      if (c.passthroughOnly) continue;
      const location = plainOnly && c.location.conditions?.some((x) => x.on === 'scheme' && x.value === 'http')
        ? withoutScheme(c.location, withName)
        : { ...c.location, backend: c.location.backend && withName(c.location.backend) };
      if (c.location.defaultBackend) location.defaultBackend = withName(c.location.defaultBackend);
      if (c.location.backends) location.backends = c.location.backends.map((w) => ({ weight: w.weight, backend: w.backend && withName(w.backend) }));
      if (c.location.filters?.mirrors) location.filters = { ...c.location.filters, mirrors: c.location.filters.mirrors.map(withName) };
      if (c.fallback) {
        fallback ??= { location, owner: t, sslRedirect: c.sslRedirect };
        continue;
      }
      const key = claimKey(location);
      const held = claims.get(key) ?? shadowing(location, t);
      if (!held) {
        claims.set(key, { location, owner: t, sslRedirect: c.sslRedirect });
      } else if (held.owner === t) {
        list.invalid('DuplicatePath', c.field, c.location.path, `${c.location.match} path repeated in this ${t.ref.kind}; the first one is used`, 'warning');
      } else {
        const where = host === DEFAULT_HOST ? 'the default server' : `host ${host}`;
        list.invalid('HostPathConflict', c.field, c.location.path, `${where} path is already served by older ${held.owner.ref.kind} ${describe(held.owner)}`, 'warning');
      }
    }
    problems.push(...list.items);
  }
  if (fallback && !claims.has('Prefix /')) claims.set('Prefix /', fallback);

  for (const t of ordered) {
    const list = new ProblemList(t.ref);
    for (const c of canariesOn(t, host)) {
      const held = claims.get(`${c.match} ${c.path}`);
      if (!held) {
        list.invalid('CanaryWithoutPrimary', c.field, c.path, `no other Ingress serves this path on ${host === DEFAULT_HOST ? 'the default server' : host}; the canary is ignored`, 'warning');
      } else if (held.location.backend?.external || c.backend.external) {
        // The balancer splits traffic between endpoint sets; an ExternalName backend is a name NGINX resolves.
        list.invalid('ExternalNameService', c.field, c.path, 'the canary or its primary is an ExternalName Service, which wharf proxies to by name without the balancer; the canary is ignored', 'warning');
      } else if (held.location.canary) {
        list.invalid('CanaryConflict', c.field, c.path, `older canary ${held.location.canary.source.namespace}/${held.location.canary.source.name} already serves this path`, 'warning');
      } else {
        held.location = {
          ...held.location,
          canary: {
            backend: withName(c.backend),
            weight: c.weight,
            weightTotal: c.weightTotal,
            ...(c.header !== undefined ? { header: c.header } : {}),
            ...(c.headerValue !== undefined ? { headerValue: c.headerValue } : {}),
            source: t.ref,
          },
        };
      }
    }
    problems.push(...list.items);
  }

  const claimOwners = new Set([...claims.values()].map((c) => c.owner));
  const { clientAuth, refused } = clientAuthOf(host, tls, ordered, claimOwners, problems);

  const locations: Location[] = [];
  const sources = new Map<string, ObjectRef>();
  const owners = new Set<Translation>();
  // Locations of one Ingress share one settings object per effective sslRedirect (fewer copies).
  // A second pair for the locations the ConfigMap's global-auth-url applies to.
  const settingsFor = new Map<LocationSettings, (LocationSettings | null)[]>();
  for (const { location, owner, sslRedirect } of claims.values()) {
    const redirect = location.settings.forceSslRedirect || (tls !== null && (sslRedirect ?? global.sslRedirect));
    let pair = settingsFor.get(location.settings);
    if (!pair) settingsFor.set(location.settings, (pair = [null, null, null, null]));
    const externalAuth = withGlobalAuth(location, global);
    const globalAuth = externalAuth !== location.settings.externalAuth;
    const i = (redirect ? 1 : 0) + (globalAuth ? 2 : 0);
    // Settings belong to one Ingress (their owner), so `refused` is the same for every use of them.
    const settings = (pair[i] ??= refused.has(owner) && location.settings.clientAuth
      ? { ...location.settings, sslRedirect: redirect, clientAuth: { ...location.settings.clientAuth, refused: true } }
      : { ...location.settings, sslRedirect: redirect });
    if (globalAuth) {
      if (externalAuth) settings.externalAuth = externalAuth;
      else delete settings.externalAuth;
    }
    location.settings = settings;
    locations.push(location);
    owners.add(owner);
    sources.set(owner.key, owner.ref);
    if (location.canary) sources.set(`${location.canary.source.namespace}/${location.canary.source.name}`, location.canary.source);
  }
  locations.sort(compareLocations);
  const names = locations.length > 0 && host !== DEFAULT_HOST ? requestedNames(host, ordered, owners, problems) : [];
  const snippet = serverSnippetOf(host, ordered, owners, problems);
  problems.sort((a, b) => cmp(a.object.namespace, b.object.namespace) || cmp(a.object.name, b.object.name) || cmp(a.field, b.field));
  if (passthrough) sources.set(`${passthrough.source.kind} ${passthrough.source.namespace}/${passthrough.source.name}`, passthrough.source);
  if (locations.length === 0 && passthrough) {
    // A TLSRoute's host alone: its SNI is routed, NGINX serves nothing else for the name.
    return { server: { host, locations: [], tls: null, sslRedirect: false, sources: [...sources.values()].sort(compareRefs), passthrough, ...(host.startsWith('*.') ? { deepWildcard: true } : {}) }, problems, names: [], holder: passthrough.source };
  }
  if (locations.length === 0) return { server: null, problems, names, holder: null };
  return {
    names,
    holder: ordered.find((t) => owners.has(t))!.ref,
    server: {
      host,
      locations,
      tls,
      sslRedirect: locations.every((l) => l.settings.sslRedirect),
      sources: [...sources.values()].sort(compareRefs),
      ...(clientAuth ? { clientAuth } : {}),
      ...(snippet ? { snippet } : {}),
      ...(passthrough ? { passthrough } : {}),
      ...(host.startsWith('*.') && [...owners].some((o) => o.deepWildcards) ? { deepWildcard: true } : {}),
    },
    problems,
  };
}

/**
 * The server-level CA and depth of a host's client-certificate checks, and the Ingresses whose checks
 * cannot run here, with a warning each: NGINX has one ssl_client_certificate and ssl_verify_depth per
 * server. As ingress-nginx, the oldest Ingress with client auth (and a location here) sets them; a
 * newer one asking for another CA or depth is refused rather than verified against a CA it did not
 * trust, and client auth on a host without TLS cannot ask for a certificate at all: their locations
 * answer 403 (never weaker than asked).
 */
function clientAuthOf(
  host: string,
  tls: Tls | null,
  ordered: readonly Translation[],
  owners: ReadonlySet<Translation>,
  problems: Problem[],
): { clientAuth: Server['clientAuth']; refused: Set<Translation> } {
  let clientAuth: Server['clientAuth'];
  let caOwner: Translation | null = null;
  const refused = new Set<Translation>();
  for (const t of ordered) {
    const mine = t.clientAuth;
    if (!mine || !owners.has(t)) continue;
    const list = new ProblemList(t.ref);
    if (tls === null) {
      refused.add(t);
      const where = host === DEFAULT_HOST ? 'the default server has no TLS' : `host ${host} has no TLS certificate`;
      list.invalid('ClientAuthWithoutTls', mine.field, mine.secret.name, `${where}, so no client certificate can be asked for; the locations of this Ingress there answer 403`, 'warning');
    } else if (!clientAuth) {
      clientAuth = { ca: mine.ca, depth: mine.depth, secret: mine.secret };
      caOwner = t;
    } else if (clientAuth.ca !== mine.ca || clientAuth.depth !== mine.depth) {
      refused.add(t);
      list.invalid('ClientAuthConflict', mine.field, mine.secret.name, `host ${host} already verifies client certificates with the CA bundle and depth of older Ingress ${describe(caOwner!)}; the locations of this Ingress there answer 403`, 'warning');
    }
    problems.push(...list.items);
  }
  return { clientAuth, refused };
}

const SNIPPET_FIELD = `metadata.annotations[${ANNOTATION_PREFIX}server-snippet]`;

/**
 * server-snippet for a host: the oldest Ingress with a location here that sets one, as other
 * server-level settings; a newer one's is ignored with a warning naming the older Ingress.
 */
function serverSnippetOf(host: string, ordered: readonly Translation[], owners: ReadonlySet<Translation>, problems: Problem[]): Server['snippet'] {
  let owner: Translation | null = null;
  for (const t of ordered) {
    if (!t.serverSnippet || !owners.has(t)) continue;
    if (host === DEFAULT_HOST) {
      const message = `${SNIPPET_FIELD}: ignored for rules without a host: the default server answers every other host too`;
      problems.push({ object: t.ref, severity: 'warning', reason: 'IgnoredAnnotation', field: SNIPPET_FIELD, message });
    } else if (!owner) owner = t;
    else {
      const message = `${SNIPPET_FIELD}: ignored for host ${host}: older Ingress ${describe(owner)} sets its server-snippet`;
      problems.push({ object: t.ref, severity: 'warning', reason: 'ServerSnippetConflict', field: SNIPPET_FIELD, message });
    }
  }
  return owner ? { directives: owner.serverSnippet!, source: owner.ref } : undefined;
}

const ALIAS_FIELD = `metadata.annotations[${ANNOTATION_PREFIX}server-alias]`;
const WWW_FIELD = `metadata.annotations[${ANNOTATION_PREFIX}from-to-www-redirect]`;

/**
 * The names a served host asks for, as ingress-nginx gives them: server-alias of the oldest Ingress
 * on the host that sets it (a newer one's aliases are ignored with a warning), and the www twin when
 * an Ingress with a location here sets from-to-www-redirect (the oldest such names the claim).
 */
function requestedNames(host: string, ordered: readonly Translation[], owners: ReadonlySet<Translation>, problems: Problem[]): NameRequest[] {
  const names: NameRequest[] = [];
  let aliasOwner: Translation | null = null;
  let wwwOwner: Translation | null = null;
  for (const t of ordered) {
    if (t.serverAliases.length > 0) {
      if (!aliasOwner) {
        aliasOwner = t;
        // ingress-nginx drops an alias equal to the host itself without a word.
        for (const name of t.serverAliases) if (name !== host) names.push({ name, kind: 'alias', owner: t });
      } else {
        const list = new ProblemList(t.ref);
        list.invalid('ServerNameConflict', ALIAS_FIELD, t.serverAliases.join(','), `ignored for host ${host}: older Ingress ${describe(aliasOwner)} sets the aliases of this host`, 'warning');
        problems.push(...list.items);
      }
    }
    if (t.fromToWww && !wwwOwner && owners.has(t)) wwwOwner = t;
  }
  if (wwwOwner) {
    const twin = wwwTwin(host);
    if (twin) names.push({ name: twin, kind: 'www', owner: wwwOwner });
    else {
      const why = host.startsWith('*.') ? 'a wildcard host has no www twin' : `www.${host} is not a valid host name (too long)`;
      problems.push({ object: wwwOwner.ref, severity: 'warning', reason: 'IgnoredAnnotation', field: WWW_FIELD, message: `${WWW_FIELD}: ignored for host ${host}: ${why}` });
    }
  }
  return names;
}
