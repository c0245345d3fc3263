// The agent's stream {} files: the modules to load, the stream block itself (templates/
// stream.conf.liquid), and how a stream fragment hands its connection to an endpoint
// (stream-proxy-pass.conf; stream-passthrough-proxy-pass.conf for the hop of TLS passthrough hosts):
// through njs, which reads the agent's endpoint files at each new connection, or, without njs,
// through the upstream groups of stream-upstreams.conf (reloads).
// Pure: the agent writes what this returns.
import { loadTemplate, renderTemplate } from './engine.ts';

/** The stream side of the skeleton; null in SkeletonParams terms means no stream module. */
export interface StreamSkeletonParams {
  module: string;
  /** The stream njs module; null: endpoints by reloads. */
  jsModule: string | null;
  /** templates/njs/wharf_stream.js, absolute. */
  njsFile: string;
  /** Where the agent writes one file per upstream (njs reads them). */
  endpointsDir: string;
  runDir: string;
  accessLog: boolean;
  /** The agent's loopback UDP port for the session log (stream-metrics.ts); null: no metrics. */
  metricsPort?: number | null;
}

/** The stream files, by name relative to the NGINX prefix. */
export interface StreamSkeletonFiles {
  /** load_module lines, included near the top of nginx.conf (before any block). */
  'stream-modules.conf': string;
  'stream.conf': string;
  'stream-proxy-pass.conf': string;
  /**
   * The same for the hop server of --enable-ssl-passthrough (templates/stream-passthrough.liquid),
   * and that server's session logs: a passthrough host's upstream is known there only once the
   * ClientHello is read, so its sessions are logged by its own format (wharf_passthrough_metrics,
   * defined beside the router), not by the stream block's, which reads $wharf_stream_upstream.
   */
  'stream-passthrough-proxy-pass.conf': string;
}

const streamTemplate = loadTemplate('stream.conf.liquid');
const PATH = /^\/[A-Za-z0-9._\/-]+$/;

/** Renders the stream files; throws on a path NGINX could not read unquoted. */
export function renderStreamSkeleton(p: StreamSkeletonParams): StreamSkeletonFiles {
  for (const path of [p.module, ...(p.jsModule ? [p.jsModule] : []), p.njsFile, p.endpointsDir, p.runDir]) {
    if (!PATH.test(path)) throw new Error(`stream skeleton path ${JSON.stringify(path)}: expected an absolute path of [A-Za-z0-9._/-]`);
  }
  const njs = p.jsModule !== null;
  return {
    'stream-modules.conf': `load_module ${p.module};\n` + (njs ? `load_module ${p.jsModule};\n` : ''),
    'stream.conf': renderTemplate(streamTemplate, { njs, njsFile: p.njsFile, endpointsDir: p.endpointsDir, runDir: p.runDir, accessLog: p.accessLog, metricsPort: p.metricsPort ?? null }),
    'stream-proxy-pass.conf': njs ? 'proxy_pass $wharf_stream_peer;\n' : 'proxy_pass $wharf_stream_backend;\n',
    'stream-passthrough-proxy-pass.conf': (njs ? 'proxy_pass $wharf_passthrough_peer;\n' : 'proxy_pass $wharf_passthrough_backend;\n') + passthroughLogs(p),
  };
}

/** The hop server's access_log lines: the agent's metrics socket, and stdout as for every stream server. */
function passthroughLogs(p: StreamSkeletonParams): string {
  if (p.metricsPort != null && !(Number.isInteger(p.metricsPort) && p.metricsPort >= 1 && p.metricsPort <= 65535)) throw new Error(`stream metrics port ${p.metricsPort}: expected 1-65535`);
  const metrics = p.metricsPort ? `access_log syslog:server=127.0.0.1:${p.metricsPort},nohostname,tag=wharf_stream wharf_passthrough_metrics;\n` : '';
  const stdout = p.accessLog ? 'access_log /dev/stdout wharf_stream;\n' : '';
  return metrics || stdout ? metrics + stdout : 'access_log off;\n';
}

/** The files that make "no stream module": nothing to load, no stream block. */
export const noStreamFiles: StreamSkeletonFiles = Object.freeze({ 'stream-modules.conf': '', 'stream.conf': '', 'stream-proxy-pass.conf': '', 'stream-passthrough-proxy-pass.conf': '' });
