// Where local mode serves a Gateway listener: the model's rule (src/model/listener-ports.ts) with
// NGINX on --http-port and --https-port. So with the defaults (8080, 8443) a listener on 80 is
// served on 8080, on 443 on 8443, on 8000 on 16000. Redirects keep the listener's declared port (the
// render's business); this only says where NGINX listens, in local mode's words.
import { listenerPort, type ListenerPort } from '../src/model/listener-ports.ts';

/** The two ports local mode was started with. */
export interface LocalPorts {
  httpPort: number;
  httpsPort: number;
}

export type LocalPort = ListenerPort;

/** The port NGINX listens on, in local mode, for a listener declared on `declared`. */
export function localListenerPort(declared: number, ports: LocalPorts): LocalPort {
  const r = listenerPort(declared, ports);
  if (r.ok) return r;
  // In local mode's words: its flags, and what to change.
  const m = /^NGINX serves port (\d+) on \1 \+ \((\d+) - 80\) = (\d+), (?:which is not a port|its (HTTP|HTTPS) port)$/.exec(r.reason);
  if (!m) return r;
  const rule = `local mode serves port ${m[1]} on ${m[1]} + (--http-port ${m[2]} - 80) = ${m[3]}`;
  return { ok: false, reason: m[4] ? `${rule}, which is --${m[4].toLowerCase()}-port: choose another listener port` : `${rule}, which is not a port: choose another listener port or --http-port` };
}
