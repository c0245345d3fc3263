#!/usr/bin/env bash
# Installs what wharf needs on this machine: the npm packages (Node 24 among them) and NGINX with
# its Lua module. Safe to run again: it only does what is missing. Used by `npm test` and `npm start`.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'wharf setup: %s\n' "$*" >&2; }

# npm packages: install when node_modules is missing or older than the lock file.
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

# NGINX 1.22 + the Lua module from Debian's packages, the headers-more module (the more_*
# directives that snippet annotations may use), the brotli module (the ConfigMap's enable-brotli), and
# the stream module with njs (TCP and UDP services; njs brings their endpoints without a reload).
nginx_bin=${WHARF_NGINX:-$(command -v nginx || true)}
lua_module=/usr/lib/nginx/modules/ngx_http_lua_module.so
resty_core=/usr/share/lua/5.1/resty/core.lua
headers_more=/usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so
brotli=/usr/lib/nginx/modules/ngx_http_brotli_filter_module.so
stream=/usr/lib/nginx/modules/ngx_stream_module.so
stream_js=/usr/lib/nginx/modules/ngx_stream_js_module.so
packages="nginx-light libnginx-mod-http-lua lua-resty-core libnginx-mod-http-ndk libnginx-mod-http-headers-more-filter libnginx-mod-http-brotli-filter libnginx-mod-stream libnginx-mod-stream-js"
if [ -z "$nginx_bin" ] || [ ! -f "$lua_module" ] || [ ! -f "$resty_core" ] || [ ! -f "$headers_more" ] || [ ! -f "$brotli" ] || [ ! -f "$stream" ] || [ ! -f "$stream_js" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing NGINX and its Lua, headers-more, brotli, stream and stream njs modules: apt-get install $packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $packages >/dev/null
    # Debian's package starts a system NGINX on port 80; wharf runs its own, so stop that one.
    if command -v service >/dev/null; then service nginx stop >/dev/null 2>&1 || true; fi
  else
    say "NGINX with the Lua, headers-more, brotli, stream and stream njs modules is missing. Install it with: sudo apt-get install $packages (or set WHARF_NGINX to an nginx binary)"
    exit 1
  fi
fi
