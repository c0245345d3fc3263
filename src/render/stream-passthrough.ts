// The agent's SNI router for --enable-ssl-passthrough (templates/stream-passthrough.liquid): what
// listens on NGINX's HTTPS addresses when passthrough is on, and where NGINX's own HTTPS servers
// listen instead (a unix socket with the PROXY protocol, so they still see the client's address:
// the `_main` fragment believes it from unix sockets, templates/client-address.liquid).
import { loadTemplate, renderTemplate } from './engine.ts';
import { NginxText } from './filters.ts';

const LISTEN = /^((\d{1,3}\.){3}\d{1,3}:|\[[0-9a-fA-F:]+\]:)?\d{1,5}$/;
const RUN_DIR = /^\/[A-Za-z0-9._\/-]+$/;

const template = loadTemplate('stream-passthrough.liquid');

/** The socket NGINX's HTTPS servers listen on behind the router. */
export function routerHopSocket(runDir: string): string {
  if (!RUN_DIR.test(runDir)) throw new Error(`run directory ${JSON.stringify(runDir)}: expected an absolute path of [A-Za-z0-9._/-]`);
  return `${runDir}/https.sock`;
}

/** The `listen` line of NGINX's HTTPS servers behind the router (what listen-https*.conf hold then). */
export function routerHopLines(runDir: string, suffix: string): string {
  return `listen unix:${routerHopSocket(runDir)}${suffix} proxy_protocol;\n`;
}

/** stream-passthrough.conf: the router on `httpsListen`. */
export function renderStreamPassthrough(httpsListen: readonly string[], runDir: string): string {
  routerHopSocket(runDir);
  const listen = httpsListen.map((a) => {
    if (!LISTEN.test(a)) throw new Error(`listen address ${JSON.stringify(a)}: expected PORT, IP:PORT or [IPv6]:PORT`);
    return new NginxText(a);
  });
  return renderTemplate(template, { runDir, listen });
}
