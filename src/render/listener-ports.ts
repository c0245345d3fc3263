// The agent's files for Gateway listeners on their own ports (not 80 or 443): for each port a
// fragment's servers include (`include listen-http-8000.conf;`, written by host.liquid), the listen
// lines of that include, and a default server on the port that answers 404 to hosts no route names
// (refusing the TLS handshake on an HTTPS port), as the agent's default server does on its own
// ports. The handler tier only names the port; where NGINX listens for it is the agent's business:
// its own addresses with the port moved as src/model/listener-ports.ts says. Pure.
import { listenerPort, type NginxPorts } from '../model/listener-ports.ts';
import { LISTEN_FILE } from './filters.ts';

/** A Gateway listener's port as the fragments name it: protocol and declared port. */
export interface ListenerPortRef {
  /** h2c: HTTP/2 cleartext with prior knowledge (an HTTP listener for GRPCRoutes only). */
  protocol: 'http' | 'https' | 'h2c';
  port: number;
}

const INCLUDE = /^ *include (listen-(?:https?|h2c)-[1-9][0-9]{0,4}\.conf);$/gm;

/** `http 8000`: a ListenerPortRef as one comparable string. */
export const portRefKey = (r: ListenerPortRef): string => `${r.protocol} ${r.port}`;

/** The Gateway listener ports a fragment's config includes, by portRefKey. */
export function listenerPortsOf(config: string): Map<string, ListenerPortRef> {
  const out = new Map<string, ListenerPortRef>();
  for (const m of config.matchAll(INCLUDE)) {
    const g = LISTEN_FILE.exec(m[1]!)!;
    const ref: ListenerPortRef = { protocol: (g[1] ?? g[3]) as ListenerPortRef['protocol'], port: Number(g[2] ?? g[4]) };
    out.set(portRefKey(ref), ref);
  }
  return out;
}

const ADDRESS = /^(?:((?:\d{1,3}\.){3}\d{1,3}|\[[0-9a-fA-F:]+\]):)?(\d{1,5})$/;

/** The port of a listen address (`8080`, `0.0.0.0:8080`, `[::]:8080`). */
export function portOfListen(address: string): number {
  const m = ADDRESS.exec(address);
  if (!m) throw new Error(`listen address ${JSON.stringify(address)}: expected PORT, IP:PORT or [IPv6]:PORT`);
  return Number(m[2]);
}

/** The agent's listen addresses, as the skeleton has them. */
export interface AgentListen {
  httpListen: string[];
  httpsListen: string[];
}

/** NGINX's own ports: those of the agent's first HTTP and HTTPS addresses. */
export function nginxPortsOf(listen: AgentListen): NginxPorts {
  const http = listen.httpListen[0] ?? listen.httpsListen[0];
  if (http === undefined) throw new Error('the agent listens on no HTTP or HTTPS address');
  const httpPort = portOfListen(http);
  // Without HTTPS (--https-listen none) there is no HTTPS port for another port to land on: -1.
  return { httpPort, httpsPort: listen.httpsListen[0] !== undefined ? portOfListen(listen.httpsListen[0]) : -1 };
}

export type ListenerPortFiles =
  | { ok: true; listen: { name: string; text: string }; server: { name: string; text: string } }
  | { ok: false; reason: string };

/**
 * The two files of one Gateway listener port: `listen-<protocol>-<port>.conf` (in the prefix, for
 * the fragments' servers) and `listeners/<protocol>-<port>.conf` (the port's default server).
 */
export function listenerPortFiles(ref: ListenerPortRef, listen: AgentListen): ListenerPortFiles {
  const at = listenerPort(ref.port, nginxPortsOf(listen));
  if (!at.ok) return { ok: false, reason: `listener port ${ref.port}: ${at.reason}` };
  const own = ref.protocol === 'https' ? listen.httpsListen : listen.httpListen;
  const addresses = own.length > 0 ? own : [...listen.httpListen, ...listen.httpsListen];
  const hosts = [...new Set(addresses.map((a) => ADDRESS.exec(a)?.[1] ?? ''))];
  const lines = (suffix: string) => hosts.map((h) => `listen ${h ? `${h}:` : ''}${at.port}${suffix};\n`).join('');
  const tls = ref.protocol === 'https' ? ' ssl http2' : ref.protocol === 'h2c' ? ' http2' : '';
  return {
    ok: true,
    listen: { name: `listen-${ref.protocol}-${ref.port}.conf`, text: lines(tls) },
    server: {
      name: `${ref.protocol}-${ref.port}.conf`,
      text:
        `# wharf: the default server of Gateway listener port ${ref.port} (${ref.protocol}), served on ${at.port}\n` +
        `server {\n${lines(`${tls} default_server`).replace(/^(?=.)/gm, '    ')}` +
        (ref.protocol === 'https' ? '    ssl_reject_handshake on;\n' : '') +
        '    location / {\n        return 404;\n    }\n}\n',
    },
  };
}
