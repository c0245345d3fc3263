// The stream-level files of a TLS passthrough host (ssl-passthrough), shipped with its fragment: a
// line of the agent's SNI map (stream-passthrough.conf includes `files/*/passthrough.map` inside
// `map $ssl_preread_server_name ...`) and the upstream that line names (`files/*/passthrough-upstream.conf`,
// included at stream level). The fragment's own config is http-level: the host's plain-HTTP server.
//
// THE ENDPOINT SEAM: renderPassthroughUpstream is the only place a passthrough backend's endpoints
// reach NGINX. Today it writes them into a static upstream block, so an endpoint change re-renders
// the host's fragment (src/handlers/desired-config.ts re-renders passthrough hosts whose upstream's
// endpoint set changed) and the agent reloads. A reload-free mechanism (njs choosing the peer from
// the endpoint sets the agent keeps) replaces this one function and that re-render, nothing else.
import { endpointProblem } from '../protocol/endpoint-address.ts';
import { UnsafeValueError } from './filters.ts';
import { shortId } from './names.ts';

/** The file of a passthrough host's SNI map line, in its fragment's files. */
export const PASSTHROUGH_MAP_FILE = 'passthrough.map';
/** The file of its upstream block, in its fragment's files. */
export const PASSTHROUGH_UPSTREAM_FILE = 'passthrough-upstream.conf';

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DNS_NAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`);
const WILDCARD = new RegExp(`^\\*\\.(?=.{1,251}$)${LABEL}(?:\\.${LABEL})*$`);

/** The stream upstream of a host: one per host, so two hosts on one Service never declare it twice. */
export function passthroughUpstreamName(host: string): string {
  return `wharf_passthrough_${shortId(host, 16)}`;
}

/**
 * The map key of a host: the name itself; a wildcard as NGINX's `*.example.com` (any depth, not
 * example.com itself: the Gateway API's) or as a regex of one label (an Ingress's, as its server_name).
 */
function mapKey(host: string, deepWildcard: boolean): string {
  if (DNS_NAME.test(host)) return host;
  if (WILDCARD.test(host)) return deepWildcard ? host : `"~^[^.]+${host.slice(1).replace(/\./g, '\\.')}$"`;
  throw new UnsafeValueError('passthrough_host', host, 'not a lowercase DNS name or *.wildcard');
}

/** The SNI map line of a host: its name → its upstream. */
export function renderPassthroughMapLine(host: string, deepWildcard = false): string {
  return `${mapKey(host, deepWildcard)} ${passthroughUpstreamName(host)};\n`;
}

/**
 * The upstream a passthrough host's connections go to: its endpoints, or (none ready) a server
 * marked down, so that NGINX closes the client's connection at once instead of trying anything.
 * A refused connection is tried on the next endpoint (proxy_next_upstream is on in stream).
 */
export function renderPassthroughUpstream(host: string, endpoints: readonly string[] | null): string {
  const lines = [`upstream ${passthroughUpstreamName(host)} {`];
  for (const e of new Set(endpoints ?? [])) {
    const problem = endpointProblem(e);
    if (problem) throw new UnsafeValueError('passthrough_endpoint', e, problem);
    lines.push(`    server ${e};`);
  }
  if (lines.length === 1) lines.push('    server 127.0.0.1:1 down; # no ready endpoint');
  lines.push('}', '');
  return lines.join('\n');
}

/** A passthrough host's files (added to its fragment's). */
export function passthroughFiles(host: string, endpoints: readonly string[] | null, deepWildcard = false): Record<string, { content: string; secret: boolean }> {
  return {
    [PASSTHROUGH_MAP_FILE]: { content: renderPassthroughMapLine(host, deepWildcard), secret: false },
    [PASSTHROUGH_UPSTREAM_FILE]: { content: renderPassthroughUpstream(host, endpoints), secret: false },
  };
}
