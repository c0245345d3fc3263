// log-format-upstream: the access log line as a strict grammar of literal text and NGINX variables.
// Variables come from an allowlist (NGINX's own request, response, upstream and TLS variables, the
// request and response headers, and ingress-nginx's names for what wharf's locations set); literal
// text is printable ASCII without a quote, a backslash or a bare `$`, so it can never close the
// quoted string of `log_format`. The result is normalized: every variable written as `${name}`.

/** NGINX variables a log line may use. */
const VARIABLES: ReadonlySet<string> = new Set([
  'remote_addr', 'remote_port', 'remote_user', 'time_local', 'time_iso8601', 'msec', 'request', 'request_method', 'request_uri',
  'uri', 'args', 'query_string', 'server_protocol', 'scheme', 'host', 'hostname', 'server_name', 'server_addr', 'server_port',
  'status', 'body_bytes_sent', 'bytes_sent', 'request_length', 'request_time', 'request_id', 'connection', 'connection_requests',
  'pipe', 'upstream_addr', 'upstream_status', 'upstream_response_time', 'upstream_connect_time', 'upstream_header_time',
  'upstream_response_length', 'upstream_bytes_received', 'upstream_bytes_sent', 'ssl_protocol', 'ssl_cipher', 'ssl_server_name',
  'ssl_session_reused', 'gzip_ratio', 'proxy_add_x_forwarded_for', 'pid', 'binary_remote_addr',
  // wharf's own, set by its locations (templates/location-upstream.liquid) and the skeleton.
  'wharf_upstream', 'wharf_canary_upstream', 'wharf_request_id', 'wharf_namespace', 'wharf_ingress_name', 'wharf_service_name', 'wharf_service_port',
]);

/** Header variables: $http_NAME (request), $sent_http_NAME (response), $upstream_http_NAME. */
const HEADER_VARIABLE = /^(?:http|sent_http|upstream_http)_[a-z0-9_]{1,64}$/;

/** ingress-nginx's variables and the wharf variables that carry the same thing. */
export const INGRESS_NGINX_VARIABLES: Readonly<Record<string, string>> = Object.freeze({
  proxy_upstream_name: 'wharf_upstream',
  proxy_alternative_upstream_name: 'wharf_canary_upstream',
  req_id: 'wharf_request_id',
  namespace: 'wharf_namespace',
  ingress_name: 'wharf_ingress_name',
  service_name: 'wharf_service_name',
  service_port: 'wharf_service_port',
});

/** ingress-nginx's default log-format-upstream ("upstreaminfo"), so log pipelines keep parsing. */
export const DEFAULT_LOG_FORMAT =
  '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" ' +
  '$request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name] $upstream_addr ' +
  '$upstream_response_length $upstream_response_time $upstream_status $req_id';

export const MAX_LOG_FORMAT = 4096;

/** The normalized format (every variable as `${name}`, ingress-nginx's names translated), or why not. */
export function parseLogFormat(v: string): { format: string } | { reason: string } {
  if (v.length === 0) return { reason: 'must not be empty' };
  if (v.length > MAX_LOG_FORMAT) return { reason: `must be at most ${MAX_LOG_FORMAT} characters` };
  let out = '';
  let i = 0;
  while (i < v.length) {
    const c = v[i]!;
    if (c === '$') {
      const m = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/.exec(v.slice(i, i + 80));
      if (!m) return { reason: `column ${i + 1}: "$" must start a variable name such as $status (write no "$" otherwise)` };
      const name = (m[1] ?? m[2])!;
      const real = INGRESS_NGINX_VARIABLES[name] ?? name;
      if (!VARIABLES.has(real) && !HEADER_VARIABLE.test(real)) {
        return { reason: `column ${i + 1}: $${name} is not a variable wharf logs (request, response, upstream and TLS variables, $http_*, $sent_http_*, $upstream_http_*, and ingress-nginx's $proxy_upstream_name, $req_id, $namespace, $ingress_name, $service_name, $service_port)` };
      }
      out += `\${${real}}`;
      i += m[0].length;
      continue;
    }
    const code = c.charCodeAt(0);
    if (code < 0x20 || code > 0x7e || c === "'" || c === '\\') {
      return { reason: `column ${i + 1}: ${JSON.stringify(c)} is not allowed: the format is printable ASCII without ' or \\` };
    }
    out += c;
    i++;
  }
  return { format: out };
}

/** True when `format` is what parseLogFormat returns (the renderer's last check). */
export function isNormalizedLogFormat(format: string): boolean {
  const r = parseLogFormat(format);
  return 'format' in r && r.format === format;
}
