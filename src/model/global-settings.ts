// wharf's global settings from its ConfigMap (the keys ingress-nginx users know), with defaults.
import { GLOBAL_AUTH_KEYS, settleGlobalAuth } from './global-auth.ts';
import { CLIENT_ADDRESS_KEYS, clientAddressProblems, defaultClientAddressSettings, realIpEnabled } from './client-address.ts';
import { parseBool, parseInteger, parseSize } from './grammar.ts';
import { ProblemList } from './problems.ts';
import type { ConfigMap } from './schemas.ts';
import { ERROR_PAGE_KEYS } from './settings-errors.ts';
import { HTTP_KEYS } from './settings-http.ts';
import { HSTS_KEYS } from './settings-hsts.ts';
import { AGENT_KEYS } from './settings-agent.ts';
import { descriptionsOf, rulesOf, type KeyRule } from './settings-table.ts';
import type { GlobalSettings, Problem } from './types.ts';

/** What wharf runs with when the ConfigMap is absent or does not set a key (ingress-nginx's defaults). */
export const defaultGlobalSettings: Readonly<GlobalSettings> = Object.freeze({
  proxyBodySize: '1m',
  proxyConnectTimeout: 5,
  proxyReadTimeout: 60,
  proxySendTimeout: 60,
  sslRedirect: true,
  hsts: true,
  ...defaultClientAddressSettings,
});

const seconds = (key: 'proxyConnectTimeout' | 'proxyReadTimeout' | 'proxySendTimeout'): KeyRule => (v, out) => {
  const n = parseInteger(v, 1, 86400);
  if (n === null) return 'must be a whole number of seconds between 1 and 86400';
  out[key] = n;
  return null;
};
const bool = (key: 'sslRedirect' | 'hsts'): KeyRule => (v, out) => {
  const b = parseBool(v);
  if (b === null) return 'must be "true" or "false"';
  out[key] = b;
  return null;
};

const KEYS: Record<string, KeyRule> = {
  'proxy-body-size': (v, out) => {
    const s = parseSize(v);
    if (s === null) return 'must be a size such as 8m, 512k or 0 (digits and an optional k, m or g)';
    out.proxyBodySize = s;
    return null;
  },
  'proxy-connect-timeout': seconds('proxyConnectTimeout'),
  'proxy-read-timeout': seconds('proxyReadTimeout'),
  'proxy-send-timeout': seconds('proxySendTimeout'),
  'ssl-redirect': bool('sslRedirect'),
  hsts: bool('hsts'),
  'allow-snippet-annotations': (v, out) => {
    const b = parseBool(v);
    if (b === null) return 'must be "true" or "false"';
    out.allowSnippetAnnotations = b;
    return null;
  },
  ...GLOBAL_AUTH_KEYS,
  ...CLIENT_ADDRESS_KEYS,
  ...rulesOf(ERROR_PAGE_KEYS),
  ...rulesOf(HTTP_KEYS),
  ...rulesOf(HSTS_KEYS),
  ...rulesOf(AGENT_KEYS),
};

/** What wharf does with the keys of the settings-*.ts tables, by key (for the migration guide). */
export const SETTING_DESCRIPTIONS: Readonly<Record<string, string>> = Object.freeze(descriptionsOf(ERROR_PAGE_KEYS, HTTP_KEYS, HSTS_KEYS, AGENT_KEYS));

/** The ConfigMap keys wharf reads (the migration report lists the others as ignored). */
export const SETTING_KEYS: readonly string[] = Object.freeze(Object.keys(KEYS).sort());

/** The global settings a ConfigMap gives; an invalid value is an error and keeps the default. */
export function parseGlobalSettings(configMap: ConfigMap | null, nginx: { brotli?: boolean | undefined; sslPassthrough?: boolean | undefined } = {}): { settings: GlobalSettings; problems: Problem[] } {
  const settings: GlobalSettings = { ...defaultGlobalSettings, ...(nginx.sslPassthrough ? { sslPassthrough: true } : {}) };
  if (!configMap) return { settings, problems: [] };
  const { namespace, name, uid } = configMap.metadata;
  const problems = new ProblemList(uid ? { kind: 'ConfigMap', namespace, name, uid } : { kind: 'ConfigMap', namespace, name });
  for (const key of Object.keys(configMap.data).sort()) {
    const field = `data[${key}]`;
    const rule = KEYS[key];
    if (!rule) {
      problems.add('warning', 'UnknownSetting', field, `${field}: Unsupported key: wharf does not read it; it is ignored`);
      continue;
    }
    const value = configMap.data[key]!;
    const reason = rule(value.trim(), settings);
    if (reason) problems.invalid('InvalidSetting', field, value, `${reason}; the default is used`);
  }
  settleGlobalAuth(settings);
  clientAddressProblems(settings, problems);
  passthroughAddressProblems(settings, problems);
  if (settings.http?.enableBrotli && nginx.brotli === false) {
    settings.http.enableBrotli = false;
    const field = 'data[enable-brotli]';
    problems.add('warning', 'IgnoredSetting', field, `${field}: ignored: NGINX has no brotli module (Debian's libnginx-mod-http-brotli-filter)`);
  }
  return { settings, problems: problems.items };
}

/**
 * With --enable-ssl-passthrough, HTTPS reaches NGINX's servers through the agent's SNI router, which
 * gives the client's address by PROXY protocol: what the client-address keys cannot combine with.
 */
function passthroughAddressProblems(s: GlobalSettings, problems: ProblemList): void {
  if (!s.sslPassthrough) return;
  if (s.useProxyProtocol) {
    const field = 'data[use-proxy-protocol]';
    problems.add('warning', 'PassthroughProxyProtocol', field, `${field}: with --enable-ssl-passthrough, the SNI router on the HTTPS port does not read a load balancer's PROXY header: HTTPS clients fail`);
  } else if (realIpEnabled(s)) {
    const field = s.useForwardedHeaders ? 'data[use-forwarded-headers]' : 'data[enable-real-ip]';
    problems.add('warning', 'PassthroughClientAddress', field, `${field}: with --enable-ssl-passthrough, HTTPS requests show the SNI router's address (unix:), not the client's`);
  }
}
