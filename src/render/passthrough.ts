// The stream-level file of a TLS passthrough host (ssl-passthrough, TLSRoute), shipped with its
// fragment: a line of the agent's SNI map (stream-passthrough.conf includes `files/*/passthrough.map`
// inside `map $ssl_preread_server_name $wharf_passthrough_upstream`). Its value is the model's name of
// the host's upstream, the name the agent keeps that upstream's endpoint set under: the agent reads
// the line to learn which upstreams passthrough routes to (src/agent/stream-files.ts), and NGINX's
// hop server picks an endpoint from that set at each new connection (njs,
// templates/njs/wharf_stream.js) or from the agent's upstream group (reload mode). So the fragment
// holds no endpoint: an endpoint change never re-renders it, and never reloads NGINX where njs is.
// The fragment's own config is http-level: the host's plain-HTTP server.
import { UPSTREAM_NAME } from '../protocol/agent-api.ts';
import { UnsafeValueError } from './filters.ts';

/** The file of a passthrough host's SNI map line, in its fragment's files. */
export const PASSTHROUGH_MAP_FILE = 'passthrough.map';

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DNS_NAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`);
const WILDCARD = new RegExp(`^\\*\\.(?=.{1,251}$)${LABEL}(?:\\.${LABEL})*$`);

/**
 * The map key of a host: the name itself; a wildcard as NGINX's `*.example.com` (any depth, not
 * example.com itself: the Gateway API's) or as a regex of one label (an Ingress's, as its server_name).
 */
function mapKey(host: string, deepWildcard: boolean): string {
  if (DNS_NAME.test(host)) return host;
  if (WILDCARD.test(host)) return deepWildcard ? host : `"~^[^.]+${host.slice(1).replace(/\./g, '\\.')}$"`;
  throw new UnsafeValueError('passthrough_host', host, 'not a lowercase DNS name or *.wildcard');
}

/** The SNI map line of a host: its name → the model's name of its upstream. */
export function renderPassthroughMapLine(host: string, upstream: string, deepWildcard = false): string {
  if (!UPSTREAM_NAME.test(upstream)) throw new UnsafeValueError('passthrough_upstream', upstream, 'not an upstream name ([a-z0-9.-])');
  return `${mapKey(host, deepWildcard)} ${upstream};\n`;
}

/** The upstream a passthrough map line names (the agent's reading of it); null when none. */
export function passthroughUpstreamOf(mapLine: string): string | null {
  const m = /^\S+ ([a-z0-9][a-z0-9.-]{0,252});$/m.exec(mapLine);
  return m ? m[1]! : null;
}

/** A passthrough host's files (added to its fragment's). */
export function passthroughFiles(host: string, upstream: string, deepWildcard = false): Record<string, { content: string; secret: boolean }> {
  return { [PASSTHROUGH_MAP_FILE]: { content: renderPassthroughMapLine(host, upstream, deepWildcard), secret: false } };
}
