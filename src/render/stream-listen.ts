// Where NGINX listens for a TCP or UDP service port, and the lines of the include a stream
// fragment names for it (`include listen-tcp-9000.conf;`). The handler tier only names the port;
// the address is the agent's: the hosts of its own HTTP and HTTPS listen addresses, with the port
// moved as a Gateway listener's is (src/model/listener-ports.ts: P + (HTTP port − 80), so P itself
// in a cluster and P + 8000 in local mode with --http-port 8080). Pure.
import { listenerPort } from '../model/listener-ports.ts';
import { nginxPortsOf, type AgentListen } from './listener-ports.ts';

/** A stream port as fragments name it. `tcp-pp`: TCP whose clients send a PROXY protocol header. */
export interface StreamPortRef {
  protocol: 'tcp' | 'tcp-pp' | 'udp';
  port: number;
}

/** The include file of a stream port, by its reference. */
export function streamListenFile(ref: StreamPortRef): string {
  return ref.protocol === 'tcp-pp' ? `listen-tcp-${ref.port}-proxy-protocol.conf` : `listen-${ref.protocol}-${ref.port}.conf`;
}

/** The stream port includes in a fragment's config. */
export const STREAM_LISTEN_INCLUDE = /^ *include (listen-(tcp|udp)-([1-9][0-9]{0,4})(-proxy-protocol)?\.conf);$/gm;

/** The stream ports a fragment's config includes, by file name. */
export function streamPortsOf(config: string): Map<string, StreamPortRef> {
  const out = new Map<string, StreamPortRef>();
  for (const m of config.matchAll(STREAM_LISTEN_INCLUDE)) {
    const protocol = m[2] === 'udp' ? 'udp' : m[4] ? 'tcp-pp' : 'tcp';
    if (protocol === 'udp' && m[4]) continue;
    out.set(m[1]!, { protocol, port: Number(m[3]) });
  }
  return out;
}

const HOST = /^(?:((?:\d{1,3}\.){3}\d{1,3}|\[[0-9a-fA-F:]+\]):)?\d{1,5}$/;

/** The listen lines of one stream port, or why the agent cannot serve it. */
export function streamListenLines(ref: StreamPortRef, listen: AgentListen): { ok: true; text: string; port: number } | { ok: false; reason: string } {
  const ports = nginxPortsOf(listen);
  if (ref.protocol !== 'udp' && (ref.port === 80 || ref.port === 443)) return { ok: false, reason: `TCP port ${ref.port} is NGINX's HTTP${ref.port === 443 ? 'S' : ''} port` };
  const at = listenerPort(ref.port, ports);
  if (!at.ok) return { ok: false, reason: `port ${ref.port}: ${at.reason}` };
  const hosts = [...new Set([...listen.httpListen, ...listen.httpsListen].map((a) => HOST.exec(a)?.[1] ?? ''))];
  const suffix = ref.protocol === 'udp' ? ' udp' : ref.protocol === 'tcp-pp' ? ' proxy_protocol' : '';
  return { ok: true, port: at.port, text: hosts.map((h) => `listen ${h ? `${h}:` : ''}${at.port}${suffix};\n`).join('') };
}
