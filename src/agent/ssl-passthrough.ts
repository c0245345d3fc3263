// --enable-ssl-passthrough on the agent: NGINX's stream module, which the SNI router needs
// (src/render/stream-passthrough.ts), found where Debian's libnginx-mod-stream installs it.
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** The stream module's path in `modulesDir`, or null when it is not installed. */
export function streamModule(modulesDir = process.env.WHARF_NGINX_MODULES ?? '/usr/lib/nginx/modules'): string | null {
  const path = `${modulesDir}/ngx_stream_module.so`;
  return existsSync(path) ? path : null;
}

/** The skeleton's passthrough settings for the flag; throws, saying what to install, when NGINX cannot route by SNI. */
export function sslPassthroughSettings(enabled: boolean, find: () => string | null = streamModule): { streamModule: string } | null {
  if (!enabled) return null;
  const module = find();
  if (!module) throw new Error('--enable-ssl-passthrough: NGINX has no stream module (apt-get install libnginx-mod-stream)');
  return { streamModule: module };
}

/**
 * The first directory on the way to `dir` that other users cannot enter (no o+x), or null. NGINX's
 * workers connect to the router's unix sockets in the run directory; when they run as another user
 * (the agent runs as root), every directory above it must let them through.
 */
export function unreachableAncestor(dir: string): string | null {
  let path = resolve(dir);
  const chain: string[] = [];
  for (;;) {
    chain.unshift(path);
    const up = dirname(path);
    if (up === path) break;
    path = up;
  }
  for (const p of chain) {
    try {
      if ((statSync(p).mode & 0o001) === 0) return p;
    } catch {
      return p;
    }
  }
  return null;
}
