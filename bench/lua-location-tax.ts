// What the Lua module adds to every NGINX (re)load, per configuration block. Debian's
// lua-nginx-module (0.10.23) creates an SSL context for every location configuration it merges (each
// server's own, each `location`, each `if`), used or not, for its cosockets; upstream made it lazy in
// 0.10.26 ("optimize: Optimized use of SSL contexts"). With thousands of hosts that is most of a
// reload, and a reload is the floor of every Ingress edit.
//
// Measured as the same shape of configuration (the servers and location blocks of a rendered
// configuration, each answering `return 200`) read by `nginx -t` with and without the module
// loaded: the difference is the module's cost, not wharf's. bench/local.ts reports it beside its
// edit figures; alone: `node bench/lua-location-tax.ts SERVERS LOCATIONS_PER_SERVER`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNginx } from '../src/agent/nginx-install.ts';

export interface ConfigShape {
  servers: number;
  /** Location configurations below the servers: `location` and `if` blocks. */
  locations: number;
}

/** Counts the server and location blocks of the .conf files under `prefix`. */
export function configShape(prefix: string): ConfigShape {
  const shape = { servers: 0, locations: 0 };
  for (const file of readdirSync(prefix, { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.conf')) continue;
    const text = readFileSync(join(prefix, file), 'utf8');
    shape.servers += text.match(/^\s*server\s*\{/gm)?.length ?? 0;
    shape.locations += text.match(/^\s*(location\s[^{]*|if\s*\(.*\)\s*)\{/gm)?.length ?? 0;
  }
  return shape;
}

/** Milliseconds of `nginx -t` (the least of `runs`) for `shape`, with and without the Lua module. */
export function luaLocationTax(shape: ConfigShape, runs = 3): { with_lua_ms: number; without_lua_ms: number; per_location_conf_us: number } {
  const nginx = findNginx();
  if (!nginx.lua) throw new Error(`the Lua module is not installed: ${nginx.luaMissing}`);
  const dir = mkdtempSync(join(tmpdir(), 'wharf-lua-tax-'));
  try {
    const perServer = Math.ceil(shape.locations / Math.max(1, shape.servers));
    const servers: string[] = [];
    for (let i = 0; i < shape.servers; i++) {
      const locations = Array.from({ length: perServer }, (_, j) => `location /l${j} { return 200; }`).join(' ');
      servers.push(`server { listen 127.0.0.1:9; server_name h${i}.example; ${locations} }`);
    }
    const http = `error_log stderr; pid ${dir}/nginx.pid; events {}
http { access_log off; server_names_hash_bucket_size 128; server_names_hash_max_size 65536;
${servers.join('\n')}
}\n`;
    const modules = `load_module ${nginx.lua.ndkModule};\nload_module ${nginx.lua.luaModule};\n`;
    writeFileSync(join(dir, 'with.conf'), modules + http);
    writeFileSync(join(dir, 'without.conf'), http);
    // Alternating, so that the machine's load falls on both alike; the least of each.
    const time = (file: string) => {
      const at = performance.now();
      const test = spawnSync(nginx.bin, ['-p', dir, '-c', join(dir, file), '-t', '-q'], { encoding: 'utf8' });
      if (test.status !== 0) throw new Error(`nginx -t failed: ${test.stderr}`);
      return performance.now() - at;
    };
    let withLua = Infinity;
    let withoutLua = Infinity;
    for (let k = 0; k < runs; k++) {
      withLua = Math.min(withLua, time('with.conf'));
      withoutLua = Math.min(withoutLua, time('without.conf'));
    }
    const confs = shape.servers * (1 + perServer);
    const round = (n: number) => Math.round(n * 10) / 10;
    return { with_lua_ms: round(withLua), without_lua_ms: round(withoutLua), per_location_conf_us: round(((withLua - withoutLua) * 1000) / Math.max(1, confs)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const servers = Number(process.argv[2] ?? 2000);
  const perServer = Number(process.argv[3] ?? 1);
  const tax = luaLocationTax({ servers, locations: servers * perServer });
  console.log(JSON.stringify({ servers, locations_per_server: perServer, ...tax, with_over_without: Math.round((tax.with_lua_ms / tax.without_lua_ms) * 100) / 100 }));
}
