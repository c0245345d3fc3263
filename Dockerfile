# One image for every wharf process: `wharf handler`, `wharf agent` (which runs NGINX as its child)
# and `wharf source`. Node 24 runs the TypeScript files directly: there is no build step.
#
#   docker build -t REGISTRY/wharf:0.1.0 .
#
# Debian bookworm, with the same NGINX packages scripts/setup.sh installs for the tests, so the
# image runs the NGINX the tests ran against.

# --- npm packages, production only (node@24 is a devDependency for machines without Node 24; the
# base image has it, so it is left out with the rest of the dev tools).
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# --- the image
FROM node:24-bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      nginx-light libnginx-mod-http-lua lua-resty-core libnginx-mod-http-ndk libnginx-mod-http-headers-more-filter libnginx-mod-http-brotli-filter libnginx-mod-stream libnginx-mod-stream-js \
      tini ca-certificates \
 && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/* \
 && groupadd --system --gid 10001 wharf \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin wharf

WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
COPY templates ./templates
COPY wrangler-free-local ./wrangler-free-local

# A numeric user, so Kubernetes' runAsNonRoot can verify it. The image itself is never written to:
# the agent's NGINX prefix is a volume (/var/lib/wharf in the chart), the root filesystem can be
# read-only.
USER 10001:10001
# The agent listens on 7071, NGINX on 8080/8443 (high ports: no capability needed), the handler on 8443.
EXPOSE 7071 8080 8443

# tini is PID 1: it forwards SIGTERM to wharf (the agent then runs `nginx -s quit`) and reaps
# orphaned processes.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/src/cli.ts"]
CMD ["--help"]
