// Finds the NGINX binary and, if installed, the Lua module that the endpoint API needs.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LuaSettings } from '../render/skeleton.ts';

export interface NginxInstall {
  bin: string;
  version: string;
  /** Null when the Lua module (or lua-resty-core) is missing: endpoints then fall back to reloads. */
  lua: LuaSettings | null;
  /** Why `lua` is null, for the start-up log and the metrics. */
  luaMissing: string | null;
  /**
   * The headers-more module (Debian's libnginx-mod-http-headers-more-filter), loaded when present so
   * that snippets may use more_* directives; null when it is not installed.
   */
  headersMore: string | null;
  /** The brotli module (Debian's libnginx-mod-http-brotli-filter), for the ConfigMap's enable-brotli; null when absent. */
  brotli: string | null;
}

const wharfLuaDir = fileURLToPath(new URL('../../templates/lua/', import.meta.url));
const packages = 'nginx-light libnginx-mod-http-lua lua-resty-core libnginx-mod-http-ndk';

/** Looks NGINX up (the option, $WHARF_NGINX, PATH, /usr/sbin/nginx) and checks for the Lua module. */
export function findNginx(opts: { bin?: string; modulesDir?: string; endpointsDictMb?: number; certificatesDictMb?: number | undefined } = {}): NginxInstall {
  const candidates = [opts.bin, process.env.WHARF_NGINX, 'nginx', '/usr/sbin/nginx'].filter((c): c is string => !!c);
  for (const bin of candidates) {
    // `nginx -v` prints "nginx version: nginx/1.22.1" on stderr.
    const probe = spawnSync(bin, ['-v'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) continue;
    const version = /nginx\/(\S+)/.exec(probe.stderr)?.[1] ?? 'unknown';
    const modulesDir = opts.modulesDir ?? process.env.WHARF_NGINX_MODULES ?? '/usr/lib/nginx/modules';
    const luaModule = `${modulesDir}/ngx_http_lua_module.so`;
    const ndkModule = `${modulesDir}/ndk_http_module.so`;
    const headersMore = headersMoreModule(modulesDir);
    const brotli = brotliModule(modulesDir);
    const missing = [luaModule, ndkModule, '/usr/share/lua/5.1/resty/core.lua'].filter((p) => !existsSync(p));
    if (missing.length) {
      return { bin, version, lua: null, luaMissing: `missing ${missing.join(', ')} (apt-get install ${packages})`, headersMore, brotli };
    }
    const lua: LuaSettings = {
      luaModule,
      ndkModule,
      packagePath: `${wharfLuaDir}?.lua;/usr/share/lua/5.1/?.lua;`,
      endpointsDictMb: opts.endpointsDictMb ?? 32,
      certificatesDictMb: opts.certificatesDictMb ?? 64,
    };
    return { bin, version, lua, luaMissing: null, headersMore, brotli };
  }
  throw new Error(`NGINX not found: install it (apt-get install ${packages}) or set WHARF_NGINX to the nginx binary`);
}

/**
 * The path of NGINX's headers-more module in `modulesDir` ($WHARF_NGINX_MODULES, else Debian's
 * /usr/lib/nginx/modules), or null when it is not installed. The agent loads it; the handler tier
 * accepts more_* snippet directives only when it is there (the same image runs both).
 */
export function headersMoreModule(modulesDir = process.env.WHARF_NGINX_MODULES ?? '/usr/lib/nginx/modules'): string | null {
  const path = `${modulesDir}/ngx_http_headers_more_filter_module.so`;
  return existsSync(path) ? path : null;
}

/**
 * The path of NGINX's brotli filter module in `modulesDir`, or null when it is not installed. The
 * agent loads it; the handler tier honours enable-brotli only when it is there (the same image).
 */
export function brotliModule(modulesDir = process.env.WHARF_NGINX_MODULES ?? '/usr/lib/nginx/modules'): string | null {
  const path = `${modulesDir}/ngx_http_brotli_filter_module.so`;
  return existsSync(path) ? path : null;
}
