// Which server gets the extra names that server-alias and from-to-www-redirect ask for. A name
// another Ingress has as a host stays that host's; among the hosts asking for the same name, the
// oldest asking Ingress wins (creationTimestamp, then UID), then the first host, an alias before a
// www twin. The losers get a warning naming the winner, as host+path conflicts do. A host's result
// depends on the hosts that ask for its names and on whether those names are hosts, which the
// index tracks (routing-index.ts): a change to one Ingress can move a name between servers.
import { ANNOTATION_PREFIX } from './annotations.ts';
import { compareAge, type MergedHost, type NameRequest } from './merge-host.ts';
import { ProblemList, cmp } from './problems.ts';
import { certificateCovers } from './secrets.ts';
import type { Problem, Server, Tls } from './types.ts';

/** What resolving one host's names reads about other hosts. */
export interface NameLookup {
  /** The merge of a host (its server is null when no Ingress serves it). */
  merged(host: string): MergedHost;
  /** Hosts that may ask for `name` (a superset is fine: each one's requests are checked). */
  claimants(name: string): Iterable<string>;
}

const KIND_ORDER: Record<NameRequest['kind'], number> = { alias: 0, www: 1 };


/** The request that gets `name` among every host asking for it. */
function winnerOf(name: string, lookup: NameLookup): { request: NameRequest; host: string } {
  let best: { request: NameRequest; host: string } | null = null;
  for (const host of lookup.claimants(name)) {
    for (const request of lookup.merged(host).names) {
      if (request.name !== name) continue;
      if (
        !best ||
        (compareAge(request.owner, best.request.owner) || cmp(host, best.host) || KIND_ORDER[request.kind] - KIND_ORDER[best.request.kind]) < 0
      ) {
        best = { request, host };
      }
    }
  }
  // The asking host is among the claimants, so there is always one.
  return best!;
}

const field = (kind: NameRequest['kind']) => `metadata.annotations[${ANNOTATION_PREFIX}${kind === 'alias' ? 'server-alias' : 'from-to-www-redirect'}]`;
const what = (kind: NameRequest['kind']) => (kind === 'alias' ? 'an alias' : 'the www redirect');

/** Warns the owner of a request that it is ignored, or that HTTPS cannot serve it. */
function warn(problems: Problem[], r: NameRequest, host: string, reason: string, why: string): void {
  const list = new ProblemList(r.owner.ref);
  if (r.kind === 'alias') list.invalid(reason, field(r.kind), r.name, why, 'warning');
  else list.add('warning', reason, field(r.kind), `${field(r.kind)}: for host ${host}: ${why}`);
  problems.push(...list.items);
}

/**
 * A host's server with the names it won (`aliases`, `wwwRedirect`), and its problems with a warning
 * for each name it asked for and did not get. `m` is the host's own merge.
 */
export function resolveNames(host: string, m: MergedHost, lookup: NameLookup): { server: Server | null; problems: Problem[] } {
  if (!m.server || m.names.length === 0) return { server: m.server, problems: m.problems };
  const problems = [...m.problems];
  const aliases: string[] = [];
  let wwwRedirect: Server['wwwRedirect'];
  const tls: Tls | null = m.server.tls;
  for (const r of m.names) {
    const held = lookup.merged(r.name);
    if (held.server) {
      const holder = held.holder ? `${held.holder.namespace}/${held.holder.name}` : 'another Ingress';
      warn(problems, r, host, 'ServerNameConflict', `ignored: ${r.name} is a host of Ingress ${holder}`);
      continue;
    }
    const win = winnerOf(r.name, lookup);
    if (win.request !== r) {
      const by = win.request.owner === r.owner ? 'this Ingress' : `older Ingress ${win.request.owner.ref.namespace}/${win.request.owner.ref.name}`;
      warn(problems, r, host, 'ServerNameConflict', `ignored: ${r.name} is already ${what(win.request.kind)} of host ${win.host} (${by})`);
      continue;
    }
    const covered = tls !== null && certificateCovers(tls.names, r.name);
    if (r.kind === 'alias') {
      aliases.push(r.name);
      if (tls && !covered) warn(problems, r, host, 'CertificateMismatch', `the certificate of host ${host} (Secret ${tls.secret.name}) does not cover this name: HTTPS clients will refuse it`);
    } else {
      wwwRedirect = { from: r.name, tls: covered };
      if (tls && !covered) warn(problems, r, host, 'CertificateMismatch', `${r.name} is redirected over HTTP only: the certificate of the host (Secret ${tls.secret.name}) does not cover it`);
    }
  }
  if (aliases.length === 0 && !wwwRedirect) return { server: m.server, problems };
  const server: Server = { ...m.server };
  if (aliases.length > 0) server.aliases = aliases.sort(cmp);
  if (wwwRedirect) server.wwwRedirect = wwwRedirect;
  return { server, problems };
}
