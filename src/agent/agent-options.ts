// The agent's options, the choices made from them at start (endpoint mode, NGINX skeleton
// settings), and the shape of its state as GET /v1/state reports it.
import type { Logger } from '../log.ts';
import type { FragmentResult } from '../protocol/agent-api.ts';
import type { LuaSettings, RequestMetricsSettings, SkeletonParams } from '../render/skeleton.ts';
import type { ControllerLabels } from './request-metrics.ts';
import type { ApiLimits } from './api.ts';
import type { PrefixLayout } from './layout.ts';
import type { NginxInstall } from './nginx-install.ts';
import type { ReloadReport } from './reloader.ts';
import type { WorkerUser } from './worker-user.ts';

/** How an Agent runs; `wharf agent` builds it from its flags, tests and local mode directly. */
export interface AgentOptions {
  /** The NGINX prefix the agent owns; it writes nothing outside it. */
  prefix: string;
  /** API address; port 0 picks a free port (see `apiPort`). */
  listen?: { host: string; port: number };
  /** Bearer token every /v1 call must send. */
  token: string;
  httpListen?: string[];
  httpsListen?: string[];
  /** auto (default): IPv6 twins of IPv4 wildcard and loopback listen addresses where the host has IPv6. */
  ipv6Listen?: 'auto' | 'off';
  /** The port clients use for HTTPS (redirects to HTTPS name it when it is not 443). */
  publicHttpsPort?: number;
  /** The port clients use for plain HTTP (default 80), sent to backends as X-Forwarded-Port. */
  publicHttpPort?: number;
  workerProcesses?: number | 'auto';
  workerConnections?: number;
  workerShutdownTimeoutSeconds?: number;
  /** The user NGINX's workers run as when the agent runs as root (default nobody); ignored otherwise. */
  workerUser?: string;
  /**
   * DNS servers for names NGINX resolves at request time (external auth), as `resolver` addresses
   * (IPv4 or [IPv6], optional port). Default: the nameservers of /etc/resolv.conf; [] for none.
   */
  resolvers?: string[];
  /** Seconds NGINX keeps a resolved name (the resolver's valid=); default 30. */
  resolverValidSeconds?: number;
  /** How long a reload may take to answer the new version on the version socket. */
  reloadTimeoutMs?: number;
  /** auto: Lua when installed; reload: static upstreams and reloads even with Lua (a baseline). */
  endpointMode?: 'auto' | 'lua' | 'reload';
  snapshot?: { url: string; token: string };
  accessLog?: boolean;
  errorLogLevel?: SkeletonParams['errorLogLevel'];
  nginxBin?: string;
  logger?: Logger;
  limits?: Partial<ApiLimits>;
  /** A request body that stops coming for this long loses its connection (default 30 s: api.ts apiTimeouts). */
  bodyStallMs?: number;
  /** Size of NGINX's certificate store in MiB (--certificate-store-size; default 64). */
  certificateStoreMb?: number;
  /** OCSP stapling (enable-ocsp): per request to a responder (default 5000 ms), first retry after a failure (default 10 s). */
  ocsp?: { timeoutMs?: number; retryMs?: number };
  /** Reload coalescing: a burst still arriving is over after this much quiet (ms). */
  burstQuietMs?: number;
  /**
   * Request metrics per Ingress, path, service and status class, counted by NGINX's log phase (Lua
   * mode only; default true), with at most `requestMetricsMaxSeries` series (default 5000).
   */
  requestMetrics?: boolean;
  requestMetricsMaxSeries?: number;
  /** ingress-nginx's constant labels of the request metrics (default: the controller name, POD_NAMESPACE, POD_NAME or the host name). */
  controllerLabels?: ControllerLabels;
  /**
   * --enable-ssl-passthrough: an SNI router (NGINX's stream module) takes the HTTPS addresses and
   * passes the TLS of ssl-passthrough hosts through to their Services; NGINX's HTTPS servers listen
   * behind it. The handler needs the same flag.
   */
  sslPassthrough?: boolean;
}

/** The request metrics' settings in the skeleton: null when off or without Lua. */
export function requestMetricsSettings(o: AgentOptions, mode: 'lua' | 'reload'): RequestMetricsSettings | null {
  if (mode !== 'lua' || o.requestMetrics === false) return null;
  const maxSeries = o.requestMetricsMaxSeries ?? 5000;
  // About 4 KB a series at worst (its names, and one entry per bucket of four histograms), twice over.
  return { maxSeries, dictMb: Math.ceil((maxSeries * 8) / 1024) + 1 };
}

/** Lua when asked for or available; reload when asked for or when NGINX lacks the Lua module. */
export function chooseEndpointMode(requested: 'auto' | 'lua' | 'reload', install: NginxInstall): { mode: 'lua' | 'reload'; message: string } {
  if (requested === 'lua' && !install.lua) throw new Error(`--endpoint-mode lua: NGINX has no Lua module: ${install.luaMissing}`);
  if (requested !== 'reload' && install.lua) {
    return { mode: 'lua', message: 'endpoint mode: lua (endpoint changes go to NGINX workers at once, without a reload)' };
  }
  const why = requested === 'reload' ? 'as asked by --endpoint-mode reload' : install.luaMissing;
  return { mode: 'reload', message: `endpoint mode: reload (endpoint changes are applied by coalesced reloads; ${why})` };
}

/** The skeleton settings for these options, in this prefix. */
export function skeletonParams(
  o: AgentOptions,
  layout: PrefixLayout,
  lua: LuaSettings | null,
  host: { worker: WorkerUser | null; resolvers: string[]; headersMoreModule?: string | null; brotliModule?: string | null; sslPassthrough?: boolean } = { worker: null, resolvers: [] },
): SkeletonParams {
  return {
    runDir: layout.runDir,
    privateDir: layout.privateDir,
    lua,
    requestMetrics: lua ? requestMetricsSettings(o, 'lua') : null,
    headersMoreModule: host.headersMoreModule ?? null,
    brotliModule: host.brotliModule ?? null,
    user: host.worker?.user ?? null,
    group: host.worker?.group ?? null,
    resolvers: host.resolvers,
    ...(o.resolverValidSeconds !== undefined ? { resolverValidSeconds: o.resolverValidSeconds } : {}),
    errorLogLevel: o.errorLogLevel ?? 'warn',
    accessLog: o.accessLog ?? false,
    workerProcesses: o.workerProcesses ?? 'auto',
    workerConnections: o.workerConnections ?? 16384,
    workerShutdownTimeoutSeconds: o.workerShutdownTimeoutSeconds ?? 60,
    httpListen: o.httpListen ?? ['80'],
    httpsListen: o.httpsListen ?? ['443'],
    publicHttpsPort: o.publicHttpsPort ?? 443,
    publicHttpPort: o.publicHttpPort ?? 80,
    ...(host.sslPassthrough ? { sslPassthrough: host.sslPassthrough } : {}),
  };
}

/** What GET /v1/state answers. */
export interface AgentState {
  ready: boolean;
  endpointMode: 'lua' | 'reload';
  /** TCP and UDP services: njs (endpoint files, no reload), reload (no njs), none (no stream module). */
  streamEndpointMode?: 'njs' | 'reload' | 'none';
  nginx: { running: boolean; pid: number | null; version: string };
  desiredVersion: number;
  appliedVersion: number;
  queueDepth: number;
  reloads: number;
  lastReload: (Omit<ReloadReport, 'durationMs'> & { durationMs: number; at: string }) | null;
  counts: { fragments: number; quarantined: number; endpointSets: number; certificates: number };
  /** lua: certificates served from NGINX's memory by SNI; reload: as files, after a reload. */
  certificateMode: 'lua' | 'reload';
  /** Empty in a summary. */
  fragments: (FragmentResult & { deleted: boolean })[];
  endpoints: { upstream: string; revision: number; endpoints: number | null; appliedRevision: number | null }[];
  /** Names and revisions only: never a certificate's or a key's content. Empty in a summary. */
  /** `ocsp` (enable-ocsp, a responder named): fetching, stapled, revoked, unknown, failing or no issuer. */
  certificates: { name: string; revision: number; deleted: boolean; appliedRevision: number | null; error?: string; ocsp?: string }[];
}
