// Finds NGINX's stream module (TCP and UDP services) and its njs module (Debian's
// libnginx-mod-stream and libnginx-mod-stream-js), and chooses how stream endpoints reach NGINX:
// njs reads the endpoint files the agent writes (no reload), or, without njs, reloads.
import { existsSync } from 'node:fs';

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

export type StreamEndpointMode = 'njs' | 'reload' | 'none';

/** njs when installed and not refused; reload without njs (or when asked); none without the stream module. */
export function chooseStreamMode(requested: 'auto' | 'reload', install: StreamInstall): { mode: StreamEndpointMode; message: string } {
  if (!install.module) return { mode: 'none', message: `stream endpoint mode: none (no TCP or UDP services: ${install.missing})` };
  if (requested !== 'reload' && install.jsModule) {
    return { mode: 'njs', message: 'stream endpoint mode: njs (TCP and UDP endpoint changes reach new connections at once, without a reload)' };
  }
  const why = requested === 'reload' ? 'as asked by --endpoint-mode reload' : install.missing;
  return { mode: 'reload', message: `stream endpoint mode: reload (TCP and UDP endpoint changes are applied by coalesced reloads; ${why})` };
}
