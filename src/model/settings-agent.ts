// The ConfigMap keys that live in the agent's own nginx.conf rather than in a fragment: the worker
// processes and connections, the balancer's upstream keepalive, and the access log's format; and
// enable-ocsp, which the agent itself acts on (ocsp-stapler.ts). The
// handler ships them in the `_main` fragment's file `agent.json` (AgentNginxSettings); the agent
// renders its nginx.conf with them in place of its flags' values, and reloads.
import { parseBool, parseInteger } from './grammar.ts';
import { DEFAULT_LOG_FORMAT, isNormalizedLogFormat, parseLogFormat } from './log-format.ts';
import type { SettingKey } from './settings-table.ts';
import type { GlobalSettings } from './types.ts';

/** What the ConfigMap sets of the agent's nginx.conf (absent: the agent's flags, else ingress-nginx's default). */
export interface AgentNginxSettings {
  workerProcesses?: number | 'auto';
  workerConnections?: number;
  upstreamKeepalive?: number;
  /** Normalized by parseLogFormat. */
  logFormat?: string;
  logEscapeJson?: boolean;
  /** enable-ocsp: the agent fetches OCSP responses and NGINX staples them (not part of nginx.conf). */
  enableOcsp?: boolean;
}

/** The name of the `_main` fragment's file that carries AgentNginxSettings as JSON. */
export const AGENT_SETTINGS_FILE = 'agent.json';

/** ingress-nginx's defaults the agent uses where neither the ConfigMap nor a flag says otherwise. */
export const defaultAgentNginxSettings = Object.freeze({
  upstreamKeepalive: 320,
  logFormat: (parseLogFormat(DEFAULT_LOG_FORMAT) as { format: string }).format,
  logEscapeJson: false,
});

const agent = (out: GlobalSettings): AgentNginxSettings => (out.agent ??= {});

/** The agent-level keys of the ConfigMap. */
export const AGENT_KEYS: Readonly<Record<string, SettingKey>> = Object.freeze({
  'worker-processes': {
    rule: (v, out) => {
      if (v === 'auto') agent(out).workerProcesses = 'auto';
      else {
        const n = parseInteger(v, 1, 1024);
        if (n === null) return 'must be "auto" (one per CPU) or a whole number between 1 and 1024';
        agent(out).workerProcesses = n;
      }
      return null;
    },
    does: 'worker_processes of every agent\'s NGINX, in place of its --worker-processes (chart: nginx.workerProcesses); a reload applies it',
  },
  'max-worker-connections': {
    rule: (v, out) => {
      const n = parseInteger(v, 0, 1_000_000);
      if (n === null || (n > 0 && n < 64)) return 'must be 0 (the agent\'s default, 16384) or a whole number between 64 and 1000000';
      if (n > 0) agent(out).workerConnections = n;
      return null;
    },
    does: 'worker_connections of every agent\'s NGINX (default 16384; 0: the default)',
  },
  'upstream-keepalive-connections': {
    rule: (v, out) => {
      const n = parseInteger(v, 0, 100_000);
      if (n === null) return 'must be a whole number between 0 (no kept connections) and 100000';
      agent(out).upstreamKeepalive = n;
      return null;
    },
    does: 'idle connections to backends each NGINX worker keeps for reuse (keepalive of the balancer\'s upstream; default 320, 0: none)',
  },
  'log-format-upstream': {
    rule: (v, out) => {
      const r = parseLogFormat(v);
      if ('reason' in r) return r.reason;
      agent(out).logFormat = r.format;
      return null;
    },
    does: 'the access log line (with the agent\'s --access-log): NGINX variables from an allowlist and ingress-nginx\'s $proxy_upstream_name, $req_id, $namespace, $ingress_name, $service_name; ingress-nginx\'s default format',
  },
  'log-format-escape-json': {
    rule: (v, out) => {
      const b = parseBool(v);
      if (b === null) return 'must be "true" or "false"';
      agent(out).logEscapeJson = b;
      return null;
    },
    does: 'escapes variables in the access log for JSON (log_format escape=json; default "false")',
  },
  'enable-ocsp': {
    rule: (v, out) => {
      const b = parseBool(v);
      if (b === null) return 'must be "true" or "false"';
      agent(out).enableOcsp = b;
      return null;
    },
    does: 'OCSP stapling (default "false"): each agent fetches the OCSP response of every certificate whose leaf names a responder and whose chain holds its issuer, renews it halfway to its nextUpdate, and NGINX staples it from memory (Lua mode; docs/certificates.md)',
  },
});

/**
 * AgentNginxSettings from the `_main` fragment's agent.json, checked again on the agent's side
 * (the same ranges and log grammar as the keys); null when absent or not valid.
 */
export function agentSettingsFromJson(text: string | undefined): AgentNginxSettings | null {
  if (text === undefined) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const r = raw as Record<string, unknown>;
  const int = (v: unknown, min: number, max: number) => typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
  const out: AgentNginxSettings = {};
  for (const [k, v] of Object.entries(r)) {
    if (k === 'workerProcesses' && (v === 'auto' || int(v, 1, 1024))) out.workerProcesses = v as number | 'auto';
    else if (k === 'workerConnections' && int(v, 64, 1_000_000)) out.workerConnections = v as number;
    else if (k === 'upstreamKeepalive' && int(v, 0, 100_000)) out.upstreamKeepalive = v as number;
    else if (k === 'logFormat' && typeof v === 'string' && isNormalizedLogFormat(v)) out.logFormat = v;
    else if (k === 'logEscapeJson' && typeof v === 'boolean') out.logEscapeJson = v;
    else if (k === 'enableOcsp' && typeof v === 'boolean') out.enableOcsp = v;
    else return null;
  }
  return out;
}
