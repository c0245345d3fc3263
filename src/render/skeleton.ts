// The agent's own NGINX files: nginx.conf (process settings, the Lua endpoint store, the internal
// unix-socket servers), the listen includes that fragments use, and the built-in default server.
// The handler tier never renders these: they depend on the agent's paths and ports only.
import { loadTemplate, renderTemplate } from './engine.ts';
import { defaultAgentNginxSettings, type AgentNginxSettings } from '../model/settings-agent.ts';
import { renderStreamPassthrough, routerHopLines } from './stream-passthrough.ts';

export interface LuaSettings {
  ndkModule: string;
  luaModule: string;
  /** lua_package_path value, e.g. "/opt/wharf/templates/lua/?.lua;/usr/share/lua/5.1/?.lua;;" */
  packagePath: string;
  /** Size of the endpoint dict; it must not change while NGINX runs (a new size drops the data). */
  endpointsDictMb: number;
  /** Size of the certificate dict (--certificate-store-size), likewise fixed while NGINX runs. */
  certificatesDictMb: number;
}

export interface RequestMetricsSettings {
  /** Series past this many are counted in an overflow counter only. */
  maxSeries: number;
  /** Size of their shared dict; like the endpoints', it must not change while NGINX runs. */
  dictMb: number;
}

export interface SkeletonParams {
  /** Directory of sockets, pid and temp files readable by NGINX's workers. */
  runDir: string;
  /** Directory only the agent may connect into (the endpoint control socket). */
  privateDir: string;
  /** Null when NGINX has no Lua module: endpoints then come as static upstreams (upstreams.conf). */
  lua: LuaSettings | null;
  /**
   * Request metrics counted in the log phase (templates/lua/wharf/request_metrics.lua); only with
   * `lua`. Null or absent: no log phase at all.
   */
  requestMetrics?: RequestMetricsSettings | null;
  /** The headers-more module's path (snippets' more_* directives), loaded when set. */
  headersMoreModule?: string | null;
  /** The brotli module's path (the ConfigMap's enable-brotli), loaded when set. */
  brotliModule?: string | null;
  /** Idle connections to backends each worker keeps (upstream-keepalive-connections; 0: none). Default 320. */
  upstreamKeepalive?: number;
  /** The access log line (log-format-upstream, normalized; log-format-escape-json). Default: ingress-nginx's. */
  logFormat?: { format: string; escapeJson: boolean };
  /** The user NGINX's workers run as (only when the master runs as root), and its group. */
  user: string | null;
  group?: string | null;
  errorLogLevel: 'debug' | 'info' | 'notice' | 'warn' | 'error';
  accessLog: boolean;
  workerProcesses: number | 'auto';
  workerConnections: number;
  workerShutdownTimeoutSeconds: number;
  /** `listen` arguments for plain HTTP and for TLS, e.g. ["80", "[::]:80"], ["443"]. */
  httpListen: string[];
  httpsListen: string[];
  /**
   * The port clients use for HTTPS, for redirects to HTTPS: 443 (the default) behind a Service that
   * maps 443 to NGINX's own port, or NGINX's port itself when clients reach it directly (local mode).
   */
  publicHttpsPort?: number;
  /** The port clients use for plain HTTP (80 behind a Service), sent to backends as X-Forwarded-Port. */
  publicHttpPort?: number;
  /**
   * DNS servers for names NGINX resolves at request time (external auth's `proxy_pass` to a
   * variable): IPv4 or [IPv6] addresses with an optional port. None: no `resolver` directive.
   */
  resolvers?: string[];
  /** How long NGINX keeps a resolved name before asking again (ExternalName backends, external auth); default 30. */
  resolverValidSeconds?: number;
  /**
   * --enable-ssl-passthrough: the HTTPS addresses belong to an SNI router in `stream {}`
   * (stream-passthrough.conf) and NGINX's HTTPS servers listen behind it on a unix socket with the
   * PROXY protocol. The stream module is loaded by the agent's stream files (stream-skeleton.ts).
   */
  sslPassthrough?: boolean;
}

/** The files that fragments rely on, by name relative to the NGINX prefix. */
export interface SkeletonFiles {
  'nginx.conf': string;
  'listen-http.conf': string;
  'listen-https.conf': string;
  'listen-default.conf': string;
  /** listen-default.conf with proxy_protocol (use-proxy-protocol: the default server includes it). */
  'listen-default-proxy-protocol.conf': string;
  /**
   * For servers whose certificate the agent stores (certificates by name): the TLS listen, and with
   * the Lua module the certificate chosen by SNI at each handshake. Without it, the server's
   * `include certificates/NAME.con[f];` brings the files the agent wrote (certificate-files.ts).
   */
  'listen-https-sni.conf': string;
  /**
   * What the default server does with a TLS client no host claims when it has no certificate of its
   * own (--default-ssl-certificate): with the Lua module, the agent's store decides (its `_default`
   * certificate, else the handshake is refused); without it, the handshake is refused.
   */
  'default-server-tls.conf': string;
  'proxy-pass-http.conf': string;
  'proxy-pass-https.conf': string;
  'proxy-pass-https-isolated.conf': string;
  'grpc-pass.conf': string;
  'grpcs-pass.conf': string;
  'grpcs-pass-isolated.conf': string;
  /** The SNI router of --enable-ssl-passthrough, included in `stream {}`; empty when it is off. */
  'stream-passthrough.conf': string;
}

/** The agent's files a fragment may include: every skeleton file but nginx.conf itself. */
export const FRAGMENT_INCLUDES: readonly string[] = Object.freeze([
  'listen-http.conf', 'listen-https.conf', 'listen-https-sni.conf', 'listen-default.conf', 'listen-default-proxy-protocol.conf',
  'default-server-tls.conf',
  'proxy-pass-http.conf', 'proxy-pass-https.conf', 'proxy-pass-https-isolated.conf',
  'grpc-pass.conf', 'grpcs-pass.conf', 'grpcs-pass-isolated.conf',
] satisfies readonly Exclude<keyof SkeletonFiles, 'nginx.conf'>[]);

/**
 * How a location hands its request to the balancer, by scheme: the files fragments include. With
 * the Lua module, a named upstream; without it, `$wharf_backend` (the agent's upstreams.conf maps
 * each endpoint set to a static upstream). A variable there is what reload mode needs and nothing
 * else: NGINX 1.22 creates an OpenSSL context for every location (and every `if` inside it) whose
 * proxy_pass or grpc_pass holds a variable, in case it is https, and that was a third of the time
 * NGINX spent reading wharf's configuration (10,000 Ingresses: 123,000 contexts, 10.6 s of CPU
 * against 80,000 and 7.2 s).
 */
function passFiles(lua: boolean): Pick<SkeletonFiles, 'proxy-pass-http.conf' | 'proxy-pass-https.conf' | 'proxy-pass-https-isolated.conf' | 'grpc-pass.conf' | 'grpcs-pass.conf' | 'grpcs-pass-isolated.conf'> {
  const to = (isolated: boolean) => (lua ? (isolated ? 'wharf_balancer_isolated' : 'wharf_balancer') : '$wharf_backend');
  return {
    'proxy-pass-http.conf': `proxy_pass http://${to(false)};\n`,
    'proxy-pass-https.conf': `proxy_pass https://${to(false)};\n`,
    'proxy-pass-https-isolated.conf': `proxy_pass https://${to(true)};\n`,
    'grpc-pass.conf': `grpc_pass grpc://${to(false)};\n`,
    'grpcs-pass.conf': `grpc_pass grpcs://${to(false)};\n`,
    'grpcs-pass-isolated.conf': `grpc_pass grpcs://${to(true)};\n`,
  };
}

/** The certificate NGINX needs to accept a TLS listen; never served (Lua sets the real one or refuses). */
export interface PlaceholderPaths {
  cert: string;
  key: string;
}

/** Server-level lines that choose the certificate by SNI from the agent's store (certificates.lua). */
function bySniLines(placeholder: PlaceholderPaths): string {
  for (const p of [placeholder.cert, placeholder.key]) {
    if (!/^\/[A-Za-z0-9._\/-]+$/.test(p)) throw new Error(`placeholder certificate path ${JSON.stringify(p)}: expected an absolute path of [A-Za-z0-9._/-]`);
  }
  return `ssl_certificate ${placeholder.cert};\nssl_certificate_key ${placeholder.key};\nssl_certificate_by_lua_block { wharf_certificates.serve() }\n`;
}

const LISTEN = /^((\d{1,3}\.){3}\d{1,3}:|\[[0-9a-fA-F:]+\]:)?\d{1,5}$/;

function listenLines(addresses: string[], suffix: string): string {
  return addresses
    .map((a) => {
      if (!LISTEN.test(a)) throw new Error(`listen address ${JSON.stringify(a)}: expected PORT, IP:PORT or [IPv6]:PORT`);
      return `listen ${a}${suffix};\n`;
    })
    .join('');
}

/** Each listen port with the port clients reach it on; a port both lists name is NGINX's own. */
function publicPorts(params: SkeletonParams): { listen: number; public: number }[] {
  const out = new Map<number, number>();
  const add = (addresses: string[], publicPort: number | undefined) => {
    for (const a of addresses) {
      const port = Number(/(\d{1,5})$/.exec(a)?.[1]);
      // An address that is not IP:PORT is refused by listenLines.
      if (Number.isInteger(port) && publicPort !== undefined && port !== publicPort && !out.has(port)) out.set(port, publicPort);
    }
  };
  add(params.httpsListen, params.publicHttpsPort ?? 443);
  add(params.httpListen, params.publicHttpPort ?? 80);
  return [...out].sort(([a], [b]) => a - b).map(([listen, p]) => ({ listen, public: p }));
}

const nginxConf = loadTemplate('nginx.conf.liquid');

/**
 * The agent's parameters with what the ConfigMap sets of its nginx.conf (the `_main` fragment's
 * agent.json) in place of its flags' values.
 */
export function withAgentSettings(params: SkeletonParams, s: AgentNginxSettings | null): SkeletonParams {
  if (!s) return params;
  const logFormat = s.logFormat !== undefined || s.logEscapeJson !== undefined
    ? { format: s.logFormat ?? defaultAgentNginxSettings.logFormat, escapeJson: s.logEscapeJson ?? defaultAgentNginxSettings.logEscapeJson }
    : params.logFormat;
  return {
    ...params,
    workerProcesses: s.workerProcesses ?? params.workerProcesses,
    workerConnections: s.workerConnections ?? params.workerConnections,
    ...(s.upstreamKeepalive !== undefined ? { upstreamKeepalive: s.upstreamKeepalive } : {}),
    ...(logFormat ? { logFormat } : {}),
  };
}

/** Renders the agent's files; throws on a setting that is not safe to write. */
export function renderSkeleton(params: SkeletonParams, placeholder: PlaceholderPaths | null = null): SkeletonFiles {
  // With the Lua module the default server takes its certificate from the store too: `_default` when
  // the store has one, else the handshake is refused (what ssl_reject_handshake does without Lua).
  const sni = params.lua && placeholder ? bySniLines(placeholder) : '';
  // --enable-ssl-passthrough: the HTTPS servers listen behind the SNI router (stream-passthrough.ts).
  // Behind the router every HTTPS connection starts with its PROXY header (use-proxy-protocol or not).
  const pp = params.sslPassthrough ? '' : ' proxy_protocol';
  const httpsLines = (suffix: string) => (params.sslPassthrough ? routerHopLines(params.runDir, suffix) : listenLines(params.httpsListen, suffix));
  return {
    'nginx.conf': renderTemplate(nginxConf, {
      ...params,
      publicHttpsPort: params.publicHttpsPort ?? 443,
      group: params.group ?? null,
      resolvers: params.resolvers ?? [],
      resolverValidSeconds: params.resolverValidSeconds ?? 30,
      headersMoreModule: params.headersMoreModule ?? null,
      publicPorts: publicPorts(params),
      requestMetrics: params.lua ? (params.requestMetrics ?? null) : null,
      brotliModule: params.brotliModule ?? null,
      sslPassthrough: params.sslPassthrough === true,
      upstreamKeepalive: params.upstreamKeepalive ?? defaultAgentNginxSettings.upstreamKeepalive,
      logFormat: params.logFormat ?? { format: defaultAgentNginxSettings.logFormat, escapeJson: defaultAgentNginxSettings.logEscapeJson },
    }),
    'listen-http.conf': listenLines(params.httpListen, ''),
    'listen-https.conf': httpsLines(' ssl http2'),
    // The default server says whether it presents a certificate or refuses handshakes
    // (default-server.liquid): a client without SNI, or with a name no host claims, lands there.
    'listen-default.conf': listenLines(params.httpListen, ' default_server') + httpsLines(' ssl http2 default_server'),
    'listen-default-proxy-protocol.conf':
      listenLines(params.httpListen, ' proxy_protocol default_server') + httpsLines(` ssl http2${pp} default_server`),
    'listen-https-sni.conf': httpsLines(' ssl http2') + (params.httpsListen.length > 0 ? sni : ''),
    'default-server-tls.conf': params.httpsListen.length > 0 ? sni || 'ssl_reject_handshake on;\n' : '',
    ...passFiles(params.lua !== null),
    'stream-passthrough.conf': params.sslPassthrough && params.httpsListen.length > 0 ? renderStreamPassthrough(params.httpsListen, params.runDir) : '',
  };
}

/** The config-version include: the worker that serves /configVersion answers with its version. */
export function renderVersion(version: number): string {
  if (!Number.isSafeInteger(version) || version < 0) throw new Error(`config version ${version}: not a non-negative integer`);
  return `return 200 "${version}";\n`;
}

/**
 * The default server used while the handler tier has sent no `default` fragment: every request
 * that no host matches gets 404 (without NGINX's version: server_tokens comes with `_main`), and TLS
 * handshakes for unknown names are refused.
 */
export const builtinDefaultServer = `server {
    include listen-default.conf;
    include default-server-tls.conf;
    server_tokens off;
    location / {
        return 404;
    }
}
`;
