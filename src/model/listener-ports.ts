// Where NGINX listens for a Gateway listener declared on port P. NGINX's own HTTP and HTTPS ports
// serve the listeners on 80 and 443 (in a cluster the NGINX Service maps 80 and 443 to them; in
// local mode they are --http-port and --https-port). Any other port P is moved by the same offset:
// P + (HTTP port − 80). So with NGINX on 8080 and 8443 (the chart's and local mode's defaults) a
// listener on 8000 is served on 16000, which the chart's Service exposes as 8000; with NGINX on 80
// and 443, every port stays itself. Pure: the model checks listeners with it (status), the agent
// writes its listen lines with it, local mode prints it.

/** NGINX's own HTTP and HTTPS ports (the ones listeners on 80 and 443 are served on). */
export interface NginxPorts {
  httpPort: number;
  httpsPort: number;
}

export type ListenerPort = { ok: true; port: number } | { ok: false; reason: string };

/** The port NGINX listens on for a listener declared on `declared`. */
export function listenerPort(declared: number, ports: NginxPorts): ListenerPort {
  if (!Number.isInteger(declared) || declared < 1 || declared > 65535) return { ok: false, reason: 'must be a port number (1-65535)' };
  if (declared === 80) return { ok: true, port: ports.httpPort };
  if (declared === 443) return { ok: true, port: ports.httpsPort };
  const offset = ports.httpPort - 80;
  const port = declared + offset;
  const rule = `NGINX serves port ${declared} on ${declared} + (${ports.httpPort} - 80) = ${port}`;
  if (port < 1 || port > 65535) return { ok: false, reason: `${rule}, which is not a port` };
  // Only 80 and 443 may land on the two main ports (another port there would share their server).
  if (port === ports.httpPort || port === ports.httpsPort) return { ok: false, reason: `${rule}, its ${port === ports.httpPort ? 'HTTP' : 'HTTPS'} port` };
  return { ok: true, port };
}

/** NGINX on 80 and 443: every listener port is served on itself. */
export const IDENTITY_PORTS: NginxPorts = Object.freeze({ httpPort: 80, httpsPort: 443 });
