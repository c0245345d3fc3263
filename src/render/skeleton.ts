// The agent's own NGINX files: nginx.conf (process settings, the Lua endpoint store, the internal
// unix-socket servers), the listen includes that fragments use, and the built-in default server.
// The handler tier never renders these: they depend on the agent's paths and ports only.
import { loadTemplate, renderTemplate } from './engine.ts';

export interface LuaSettings {
  ndkModule: string;
  luaModule: string;
  /** lua_package_path value, e.g. "/opt/wharf/templates/lua/?.lua;/usr/share/lua/5.1/?.lua;;" */
  packagePath: string;
  /** Size of the endpoint dict; it must not change while NGINX runs (a new size drops the data). */
  endpointsDictMb: number;
}

export interface SkeletonParams {
  /** Directory of sockets, pid and temp files readable by NGINX's workers. */
  runDir: string;
  /** Directory only the agent may connect into (the endpoint control socket). */
  privateDir: string;
  /** Null when NGINX has no Lua module: endpoints then come as static upstreams (upstreams.conf). */
  lua: LuaSettings | null;
  /** The headers-more module's path (snippets' more_* directives), loaded when set. */
  headersMoreModule?: string | null;
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
  /**
   * DNS servers for names NGINX resolves at request time (external auth's `proxy_pass` to a
   * variable): IPv4 or [IPv6] addresses with an optional port. None: no `resolver` directive.
   */
  resolvers?: string[];
}

/** The files that fragments rely on, by name relative to the NGINX prefix. */
export interface SkeletonFiles {
  'nginx.conf': string;
  'listen-http.conf': string;
  'listen-https.conf': string;
  'listen-default.conf': string;
  /** listen-default.conf for a default server with a certificate: TLS handshakes are not refused. */
  'listen-default-cert.conf': string;
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

const nginxConf = loadTemplate('nginx.conf.liquid');

/** Renders the agent's files; throws on a setting that is not safe to write. */
export function renderSkeleton(params: SkeletonParams): SkeletonFiles {
  return {
    'nginx.conf': renderTemplate(nginxConf, {
      ...params,
      publicHttpsPort: params.publicHttpsPort ?? 443,
      group: params.group ?? null,
      resolvers: params.resolvers ?? [],
      headersMoreModule: params.headersMoreModule ?? null,
    }),
    'listen-http.conf': listenLines(params.httpListen, ''),
    'listen-https.conf': listenLines(params.httpsListen, ' ssl http2'),
    'listen-default.conf':
      listenLines(params.httpListen, ' default_server') +
      listenLines(params.httpsListen, ' ssl http2 default_server') +
      (params.httpsListen.length > 0 ? 'ssl_reject_handshake on;\n' : ''),
    'listen-default-cert.conf': listenLines(params.httpListen, ' default_server') + listenLines(params.httpsListen, ' ssl http2 default_server'),
  };
}

/** The config-version include: the worker that serves /configVersion answers with its version. */
export function renderVersion(version: number): string {
  if (!Number.isSafeInteger(version) || version < 0) throw new Error(`config version ${version}: not a non-negative integer`);
  return `return 200 "${version}";\n`;
}

/**
 * The default server used while the handler tier has sent no `default` fragment: every request
 * that no host matches gets 404, and TLS handshakes for unknown names are refused.
 */
export const builtinDefaultServer = `server {
    include listen-default.conf;
    location / {
        return 404;
    }
}
`;
