// What a snippet directive that is not on the allowlist (snippet-rules.ts) should become instead:
// the annotation that does the same job, or why nothing does. One line each, for the denial message.

const ANN = 'nginx.ingress.kubernetes.io/';
const annotation = (...names: string[]): string => `use the ${names.map((n) => ANN + n).join(' or ')} annotation${names.length > 1 ? 's' : ''}`;

/** Directives users put in snippets that an annotation (or nothing) replaces. */
export const INSTEAD: Readonly<Record<string, string>> = {
  proxy_read_timeout: annotation('proxy-read-timeout'),
  proxy_send_timeout: annotation('proxy-send-timeout'),
  proxy_connect_timeout: annotation('proxy-connect-timeout'),
  grpc_read_timeout: annotation('proxy-read-timeout'),
  grpc_send_timeout: annotation('proxy-send-timeout'),
  grpc_connect_timeout: annotation('proxy-connect-timeout'),
  client_max_body_size: annotation('proxy-body-size'),
  client_body_buffer_size: annotation('client-body-buffer-size'),
  proxy_buffering: annotation('proxy-buffering'),
  proxy_request_buffering: annotation('proxy-request-buffering'),
  proxy_buffer_size: annotation('proxy-buffer-size'),
  proxy_http_version: annotation('proxy-http-version'),
  proxy_next_upstream: annotation('proxy-next-upstream'),
  proxy_next_upstream_tries: annotation('proxy-next-upstream-tries'),
  proxy_next_upstream_timeout: annotation('proxy-next-upstream-timeout'),
  allow: annotation('whitelist-source-range'),
  deny: annotation('denylist-source-range'),
  limit_req: annotation('limit-rps', 'limit-rpm'),
  limit_conn: annotation('limit-connections'),
  auth_basic: 'use the nginx.ingress.kubernetes.io/auth-type: basic and auth-secret annotations',
  auth_basic_user_file: 'use the nginx.ingress.kubernetes.io/auth-type: basic and auth-secret annotations',
  auth_request: annotation('auth-url'),
  return: annotation('permanent-redirect', 'temporal-redirect'),
  rewrite: annotation('rewrite-target', 'app-root'),
  error_page: annotation('custom-http-errors'),
  server_name: annotation('server-alias'),
  proxy_pass: 'the backend comes from the Ingress\'s rules',
  grpc_pass: 'the backend comes from the Ingress\'s rules (with nginx.ingress.kubernetes.io/backend-protocol: GRPC)',
  location: 'add a path to the Ingress\'s rules instead',
  if: 'conditions are not supported in snippets',
  set: 'snippets cannot set variables',
  include: 'snippets never read files',
  load_module: 'snippets never load modules',
  root: 'wharf serves no files',
  alias: 'wharf serves no files',
  try_files: 'wharf serves no files',
  access_log: 'the access log is the agent\'s (wharf agent --access-log)',
  error_log: 'the error log is the agent\'s',
  proxy_ssl_verify: annotation('proxy-ssl-verify'),
  proxy_ssl_name: annotation('proxy-ssl-name'),
  proxy_ssl_server_name: annotation('proxy-ssl-server-name'),
  ssl_verify_client: annotation('auth-tls-verify-client'),
};

/** Why a directive that is not on the allowlist (`allowed`) is refused, and what to use instead. */
export function refusal(name: string, allowed: readonly string[]): string {
  if (/_by_lua/.test(name) || name.startsWith('lua_')) return `${name} is not allowed in snippets: wharf never runs Lua from an Ingress`;
  const instead = INSTEAD[name];
  if (instead) return `${name} is not allowed in snippets: ${instead}`;
  if (/^(?:ssl_|proxy_ssl_|grpc_ssl_)/.test(name)) return `${name} is not allowed in snippets: use the auth-tls-* or proxy-ssl-* annotations`;
  return `${name} is not on wharf's snippet allowlist (${allowed.join(', ')}; see docs/snippets.md)`;
}
