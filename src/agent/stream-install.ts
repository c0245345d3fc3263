// Finds NGINX's stream module (TCP and UDP services) and its njs module (Debian's
// libnginx-mod-stream and libnginx-mod-stream-js), and chooses how stream endpoints reach NGINX:
// njs reads the endpoint files the agent writes (no reload), or, without njs, reloads.
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

const packages = 'libnginx-mod-stream libnginx-mod-stream-js';

/** What the stream side of this NGINX can do. */
export interface StreamInstall {
  /** The stream module's path; null: no stream {} at all (stream fragments are not served). */
  module: string | null;
  /** The stream njs module's path; null: stream endpoints change by reloads. */
  jsModule: string | null;
  /** Why a module is missing, for the start-up log. */
  missing: string | null;
}

/** The stream modules in `modulesDir` ($WHARF_NGINX_MODULES, else Debian's /usr/lib/nginx/modules). */
export function findStreamModules(modulesDir = process.env.WHARF_NGINX_MODULES ?? '/usr/lib/nginx/modules'): StreamInstall {
  const module = `${modulesDir}/ngx_stream_module.so`;
  const jsModule = `${modulesDir}/ngx_stream_js_module.so`;
  if (!existsSync(module)) return { module: null, jsModule: null, missing: `missing ${module} (apt-get install ${packages})` };
  if (!existsSync(jsModule)) return { module, jsModule: null, missing: `missing ${jsModule} (apt-get install libnginx-mod-stream-js)` };
  return { module, jsModule, missing: null };
}

/**
 * --enable-ssl-passthrough's SNI router is a stream server (src/render/stream-passthrough.ts), in the
 * stream block this module's files load: true when asked for, and throws, saying what to install,
 * when NGINX has no stream module.
 */
export function passthroughNeedsStream(enabled: boolean, install: StreamInstall): boolean {
  if (enabled && !install.module) throw new Error(`--enable-ssl-passthrough: NGINX has no stream module to route TLS by SNI (${install.missing})`);
  return enabled;
}

export type StreamEndpointMode = 'njs' | 'reload' | 'none';

/**
 * The first folder above `dir` that another user cannot enter (no o+x), or null. njs runs in NGINX's
 * workers: when they are another user than the agent (it runs as root), they must reach its files.
 */
export function unreachableForWorkers(dir: string): string | null {
  for (let d = dir; ; d = dirname(d)) {
    try {
      if ((statSync(d).mode & 0o001) === 0) return d;
    } catch {
      // not created yet: its parents decide
    }
    if (d === dirname(d)) return null;
  }
}

/**
 * njs when installed, not refused, and NGINX's workers can read the agent's endpoint files
 * (`blockedAt`: the folder that keeps them out); reload otherwise; none without the stream module.
 */
export function chooseStreamMode(requested: 'auto' | 'reload', install: StreamInstall, blockedAt: string | null = null): { mode: StreamEndpointMode; message: string } {
  if (!install.module) return { mode: 'none', message: `stream endpoint mode: none (no TCP or UDP services: ${install.missing})` };
  if (requested !== 'reload' && install.jsModule && blockedAt) {
    return { mode: 'reload', message: `stream endpoint mode: reload (NGINX's workers cannot enter ${blockedAt} to read the endpoint files njs needs: give it o+x, or another --prefix)` };
  }
  if (requested !== 'reload' && install.jsModule) {
    return { mode: 'njs', message: 'stream endpoint mode: njs (TCP, UDP and TLS passthrough endpoint changes reach new connections at once, without a reload)' };
  }
  const why = requested === 'reload' ? 'as asked by --endpoint-mode reload' : install.missing;
  return { mode: 'reload', message: `stream endpoint mode: reload (TCP, UDP and TLS passthrough endpoint changes are applied by coalesced reloads; ${why})` };
}
