// Where local mode serves a Gateway listener. In a cluster, wharf's Service maps 80 and 443 to
// NGINX's ports; on one machine NGINX listens on --http-port and --https-port instead, and a
// listener on any other port P is moved by the same offset: P + (--http-port − 80). So with the
// defaults (8080, 8443) a listener on 80 is served on 8080, on 443 on 8443, on 8000 on 16000.
// Redirects keep the listener's declared port (the render's business); this only says where NGINX
// listens. Pure: the render (through local mode's settings) and local mode's messages use it.

/** The two ports local mode was started with. */
export interface LocalPorts {
  httpPort: number;
  httpsPort: number;
}

export type LocalPort = { ok: true; port: number } | { ok: false; reason: string };

/** The port NGINX listens on, in local mode, for a listener declared on `declared`. */
export function localListenerPort(declared: number, ports: LocalPorts): LocalPort {
  if (!Number.isInteger(declared) || declared < 1 || declared > 65535) return { ok: false, reason: 'must be a port number (1-65535)' };
  if (declared === 80) return { ok: true, port: ports.httpPort };
  if (declared === 443) return { ok: true, port: ports.httpsPort };
  const offset = ports.httpPort - 80;
  const port = declared + offset;
  const rule = `local mode serves port ${declared} on ${declared} + (--http-port ${ports.httpPort} - 80)`;
  if (port < 1 || port > 65535) return { ok: false, reason: `${rule} = ${port}, which is not a port: choose another listener port or --http-port` };
  // Only 80 and 443 may land on the two main ports (another port there would share their server).
  if (port === ports.httpPort || port === ports.httpsPort) {
    return { ok: false, reason: `${rule} = ${port}, which is --${port === ports.httpPort ? 'http' : 'https'}-port: choose another listener port` };
  }
  return { ok: true, port };
}
