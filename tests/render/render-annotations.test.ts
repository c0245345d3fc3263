// What each annotation renders to, as config text (snapshot-style: the lines that must appear, in
// order, in the host's fragment), from Ingress objects through buildModel. Behaviour in a real
// NGINX is in annotations.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authSecretObject, caSecretObject, ingressObject, proxySslSecretObject, renderObjects, selfSigned, serviceObject, tlsSecretObject } from './helpers.ts';
import type { Fragment } from '../../src/render/index.ts';

const cert = selfSigned('app.test', ['www.app.test']);
const htpasswd = 'user:$apr1$HeiA5Pzp$UgIyq34pdCCqyRLZGOHfD0\n';

function hostFragment(annotations: Record<string, string>, opts: { path?: string; pathType?: 'Prefix' | 'ImplementationSpecific' | 'Exact'; tls?: boolean; extra?: object[] } = {}): Fragment {
  const { fragments } = renderObjects([
    ingressObject({
      name: 'app',
      annotations,
      ...(opts.tls ? { tls: [{ hosts: ['app.test'], secretName: 'app-tls' }] } : {}),
      rules: [{ host: 'app.test', paths: [{ pathType: opts.pathType ?? 'Prefix', path: opts.path ?? '/app', service: 'app' }] }],
    }),
    tlsSecretObject('app-tls', cert),
    authSecretObject('htpasswd', htpasswd),
    ...(opts.extra ?? []),
  ]);
  const f = fragments.find((x) => x.name === 'app.test');
  assert.ok(f, 'the host has a fragment');
  return f;
}

/** The lines that say who a location serves (for the access log and the controller-wide error pages). */
const identity = (ingress: string, service: string): string[] => [`set $wharf_location "default ${ingress} ${service} 80";`];
const APP = identity('app', 'app');

/** Asserts that `expected` appear as consecutive lines (indentation ignored) in `config`. */
function assertLines(config: string, expected: (string | RegExp)[]): void {
  const lines = config.split('\n').map((l) => l.trim());
  const matches = (line: string, want: string | RegExp) => (typeof want === 'string' ? line === want : want.test(line));
  for (let i = 0; i + expected.length <= lines.length; i++) {
    if (expected.every((want, k) => matches(lines[i + k]!, want))) return;
  }
  assert.fail(`expected these lines in order:\n${expected.join('\n')}\n--- in ---\n${config}`);
}

const cases: { name: string; annotations: Record<string, string>; opts?: Parameters<typeof hostFragment>[1]; lines: (string | RegExp)[][]; absent?: RegExp[] }[] = [
  {
    name: 'rewrite-target with capture groups: a case-insensitive regex location and a rewrite before the proxy',
    annotations: { 'use-regex': 'true', 'rewrite-target': '/$2' },
    opts: { path: '/api(/|$)(.*)', pathType: 'ImplementationSpecific' },
    lines: [['location ~* "^/api(/|$)(.*)" {', /^set \$wharf_metrics "/, '# default/app', 'set $wharf_upstream "default-app-80";', ...APP, 'rewrite "(?i)^/api(/|$)(.*)" "/$2" break;']],
  },
  {
    name: 'ssl-redirect on a TLS host: 308 to https, ACME challenges excepted; HSTS',
    annotations: {},
    opts: { tls: true },
    lines: [
      ['include listen-https-sni.conf;', 'include certificates/app.test.con[f];', 'add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;'],
      ['if ($wharf_plain_http) {', 'return 308 https://$host$wharf_https_port$request_uri;', '}'],
    ],
  },
  {
    name: 'force-ssl-redirect redirects a host without TLS',
    annotations: { 'force-ssl-redirect': 'true' },
    lines: [['if ($wharf_plain_http) {', 'return 308 https://$host$wharf_https_port$request_uri;']],
  },
  { name: 'backend-protocol HTTPS', annotations: { 'backend-protocol': 'HTTPS' }, lines: [['include proxy-pass-https.conf;']] },
  {
    name: 'backend-protocol GRPC uses grpc_pass and grpc headers, with the client\'s Host',
    annotations: { 'backend-protocol': 'GRPC', 'proxy-read-timeout': '30' },
    lines: [['grpc_read_timeout 30s;', 'grpc_set_header Host $host;', 'grpc_set_header X-Real-IP $remote_addr;'], ['include grpc-pass.conf;']],
    absent: [/proxy_pass/],
  },
  { name: 'proxy-body-size', annotations: { 'proxy-body-size': '8m' }, lines: [['client_max_body_size 8m;']] },
  {
    name: 'proxy timeouts',
    annotations: { 'proxy-connect-timeout': '3', 'proxy-read-timeout': '120', 'proxy-send-timeout': '90' },
    lines: [['proxy_connect_timeout 3s;', 'proxy_read_timeout 120s;', 'proxy_send_timeout 90s;']],
  },
  { name: 'proxy-buffer-size sets the buffers too', annotations: { 'proxy-buffer-size': '16k' }, lines: [['proxy_buffer_size 16k;', 'proxy_buffers 4 16k;']] },
  {
    name: 'whitelist-source-range: allow each range, deny the rest',
    annotations: { 'whitelist-source-range': '10.0.0.0/8, 192.168.1.1,2001:db8::/32' },
    lines: [['allow 10.0.0.0/8;', 'allow 192.168.1.1;', 'allow 2001:db8::/32;', 'deny all;']],
  },
  {
    name: 'limit-rps: a zone of the fragment, burst 5x, 429',
    annotations: { 'limit-rps': '5' },
    lines: [
      [/^limit_req_zone \$binary_remote_addr zone=app\.test_[0-9a-f]{12}_rps:1m rate=5r\/s;$/],
      [/^limit_req zone=app\.test_[0-9a-f]{12}_rps burst=25 nodelay;$/, 'limit_req_status 429;'],
    ],
  },
  {
    name: 'limit-rpm: a per-minute zone, burst 5x by default',
    annotations: { 'limit-rpm': '10' },
    lines: [
      [/^limit_req_zone \$binary_remote_addr zone=app\.test_[0-9a-f]{12}_rpm:1m rate=10r\/m;$/],
      [/^limit_req zone=app\.test_[0-9a-f]{12}_rpm burst=50 nodelay;$/, 'limit_req_status 429;'],
    ],
  },
  {
    name: 'limit-rpm with limit-rps and limit-burst-multiplier: per minute first, one limit_req_status',
    annotations: { 'limit-rps': '5', 'limit-rpm': '30', 'limit-burst-multiplier': '2' },
    lines: [
      [/^limit_req_zone \$binary_remote_addr zone=app\.test_[0-9a-f]{12}_rps:1m rate=5r\/s;$/, /^limit_req_zone \$binary_remote_addr zone=app\.test_[0-9a-f]{12}_rpm:1m rate=30r\/m;$/],
      [/^limit_req zone=app\.test_[0-9a-f]{12}_rpm burst=60 nodelay;$/, /^limit_req zone=app\.test_[0-9a-f]{12}_rps burst=10 nodelay;$/, 'limit_req_status 429;'],
    ],
  },
  {
    name: 'denylist-source-range alone: deny each range, everyone else passes',
    annotations: { 'denylist-source-range': '10.1.0.0/16, 2001:db8::/32' },
    lines: [['set $wharf_upstream "default-app-80";', ...APP, 'deny 10.1.0.0/16;', 'deny 2001:db8::/32;', 'proxy_http_version 1.1;']],
    absent: [/allow /, /deny all/],
  },
  {
    name: 'denylist-source-range with allowlist-source-range: denied first, then allowed, then the rest denied',
    annotations: { 'denylist-source-range': '10.1.2.3', 'allowlist-source-range': '10.0.0.0/8' },
    lines: [['deny 10.1.2.3;', 'allow 10.0.0.0/8;', 'deny all;']],
  },
  {
    name: 'client-body-buffer-size, proxy-buffering and proxy-request-buffering',
    annotations: { 'client-body-buffer-size': '16K', 'proxy-buffering': 'off', 'proxy-request-buffering': 'off' },
    lines: [['client_body_buffer_size 16k;', 'proxy_buffering off;', 'proxy_request_buffering off;']],
  },
  { name: 'proxy-buffering on', annotations: { 'proxy-buffering': 'on' }, lines: [['proxy_buffering on;', 'proxy_http_version 1.1;']], absent: [/proxy_request_buffering/] },
  {
    name: 'proxy-http-version 1.0 replaces 1.1',
    annotations: { 'proxy-http-version': '1.0' },
    lines: [['set $wharf_upstream "default-app-80";', ...APP, 'proxy_http_version 1.0;', 'proxy_set_header Host $host;', 'proxy_set_header X-Real-IP $remote_addr;']],
    absent: [/proxy_http_version 1\.1/],
  },
  {
    name: 'proxy-next-upstream with tries and timeout',
    annotations: { 'proxy-next-upstream': 'error timeout http_502', 'proxy-next-upstream-tries': '2', 'proxy-next-upstream-timeout': '10' },
    lines: [['proxy_next_upstream error timeout http_502;', 'proxy_next_upstream_tries 2;', 'proxy_next_upstream_timeout 10s;', 'proxy_http_version 1.1;']],
  },
  { name: 'proxy-next-upstream off', annotations: { 'proxy-next-upstream': 'off' }, lines: [['proxy_next_upstream off;', 'proxy_http_version 1.1;']], absent: [/_tries/] },
  { name: 'proxy-next-upstream-tries 0 alone', annotations: { 'proxy-next-upstream-tries': '0' }, lines: [['proxy_next_upstream_tries 0;', 'proxy_http_version 1.1;']] },
  {
    name: 'upstream-vhost and x-forwarded-prefix: the Host and X-Forwarded-Prefix request headers',
    annotations: { 'upstream-vhost': 'internal.test:8080', 'x-forwarded-prefix': '/api' },
    lines: [['proxy_http_version 1.1;', 'proxy_set_header Host "internal.test:8080";', 'proxy_set_header X-Forwarded-Prefix "/api";', 'proxy_set_header X-Real-IP $remote_addr;']],
    absent: [/proxy_set_header Host \$host/],
  },
  {
    name: 'x-forwarded-prefix alone keeps the request\'s Host and HTTP/1.1',
    annotations: { 'x-forwarded-prefix': '/api' },
    lines: [['proxy_http_version 1.1;', 'proxy_set_header Host $host;', 'proxy_set_header X-Forwarded-Prefix "/api";', 'proxy_set_header X-Real-IP $remote_addr;']],
  },
  {
    name: 'gRPC: grpc_next_upstream*, Host and X-Forwarded-Prefix by grpc_set_header; buffering and HTTP version not written',
    annotations: { 'backend-protocol': 'GRPC', 'proxy-next-upstream': 'error http_503', 'proxy-next-upstream-tries': '4', 'proxy-next-upstream-timeout': '0', 'upstream-vhost': 'api.internal', 'x-forwarded-prefix': '/p', 'proxy-buffering': 'on', 'proxy-http-version': '1.0' },
    lines: [
      ['grpc_next_upstream error http_503;', 'grpc_next_upstream_tries 4;', 'grpc_next_upstream_timeout 0s;', 'grpc_set_header Host "api.internal";', 'grpc_set_header X-Forwarded-Prefix "/p";', 'grpc_set_header X-Real-IP $remote_addr;'],
    ],
    absent: [/^\s*proxy_/m],
  },
  {
    name: 'limit-connections',
    annotations: { 'limit-connections': '3' },
    lines: [[/^limit_conn_zone \$binary_remote_addr zone=app\.test_[0-9a-f]{12}_conn:1m;$/], [/^limit_conn app\.test_[0-9a-f]{12}_conn 3;$/, 'limit_conn_status 429;']],
  },
  {
    name: 'CORS with listed origins: echo the matching origin, preflight answered with 204',
    annotations: { 'enable-cors': 'true', 'cors-allow-origin': 'https://a.test, https://*.b.test', 'cors-allow-methods': 'GET, POST', 'cors-expose-headers': 'X-Total', 'cors-max-age': '60' },
    lines: [
      ['set $wharf_cors_origin "";', 'if ($http_origin = "https://a.test") {', 'set $wharf_cors_origin $http_origin;', '}', 'if ($http_origin ~* "^https://[A-Za-z0-9-]+\\\\.b\\\\.test$") {'],
      ['if ($request_method = OPTIONS) {', 'add_header Access-Control-Allow-Origin $wharf_cors_origin always;', 'add_header Vary Origin always;', 'add_header Access-Control-Allow-Credentials true always;', 'add_header Access-Control-Allow-Methods "GET, POST" always;'],
      ['add_header Access-Control-Max-Age 60 always;', 'return 204;'],
      ['add_header Access-Control-Expose-Headers "X-Total" always;'],
    ],
  },
  {
    name: 'cookie affinity: the cookie is the hash key, set from the request id when missing',
    annotations: { affinity: 'cookie', 'session-cookie-name': 'route-id', 'session-cookie-max-age': '3600' },
    lines: [[
      'set $wharf_affinity_cookie "";', 'set $wharf_hash_key "";', 'if ($http_cookie ~ "(?:^|;\\\\s*)route-id=([^;]+)") {', 'set $wharf_hash_key $1;', '}',
      'if ($wharf_hash_key = "") {', 'set $wharf_hash_key $request_id;', 'set $wharf_affinity_cookie "route-id=$request_id; Path=/; Max-Age=3600; HttpOnly$wharf_https_secure";', '}',
    ], ['add_header Set-Cookie $wharf_affinity_cookie;']],
  },
  { name: 'upstream-hash-by', annotations: { 'upstream-hash-by': '$arg_user' }, lines: [['set $wharf_upstream "default-app-80";', ...APP, 'set $wharf_hash_key "$arg_user";']] },
  {
    name: 'basic auth: realm and the htpasswd file shipped with the fragment',
    annotations: { 'auth-type': 'basic', 'auth-secret': 'htpasswd', 'auth-realm': 'Staff only' },
    lines: [['auth_basic "Staff only";', /^auth_basic_user_file files\/app\.test\/auth-[0-9a-f]{12};$/]],
  },
  {
    name: 'external auth: an internal location proxies to auth-url; headers copied; 401 goes to auth-signin',
    annotations: { 'auth-url': 'http://auth.test:9000/check', 'auth-signin': 'https://login.test/start', 'auth-response-headers': 'X-User, X-Email' },
    lines: [
      [/^location = "\/_wharf\/auth\/[0-9a-f]{12}" \{$/, 'internal;', 'set $wharf_auth_url "http://auth.test:9000/check";', 'proxy_pass_request_body off;'],
      ['set $escaped_request_uri $request_uri;'],
      [/^auth_request "\/_wharf\/auth\/[0-9a-f]{12}";$/, 'auth_request_set $wharf_auth_header_0 $upstream_http_x_user;', 'auth_request_set $wharf_auth_header_1 $upstream_http_x_email;',
        'error_page 401 =302 "https://login.test/start?rd=$scheme://$host$escaped_request_uri";'],
      ['proxy_set_header X-User $wharf_auth_header_0;', 'proxy_set_header X-Email $wharf_auth_header_1;'],
    ],
  },
  { name: 'app-root redirects / only', annotations: { 'app-root': '/app1' }, opts: { path: '/' }, lines: [['if ($uri = "/") {', 'return 302 "/app1";', '}', '# default/app', 'set $wharf_upstream "default-app-80";', ...APP]] },
  { name: 'permanent-redirect', annotations: { 'permanent-redirect': 'https://new.test/x' }, lines: [['return 301 "https://new.test/x";']], absent: [/proxy_pass/] },
  { name: 'permanent-redirect-code', annotations: { 'permanent-redirect': 'https://new.test/', 'permanent-redirect-code': '308' }, lines: [['return 308 "https://new.test/";']] },
  { name: 'temporal-redirect', annotations: { 'temporal-redirect': 'https://tmp.test/$request_uri' }, lines: [['return 302 "https://tmp.test/$request_uri";']] },
  { name: 'a host without server-level annotations: one server, named by the host only', annotations: {}, lines: [['server_name app.test;', 'include listen-http.conf;']], absent: [/wharf_www_port/, /^server \{[\s\S]*^server \{/m] },
  {
    name: 'server-alias: the host then its aliases (sorted; a wildcard as a one-label regex) on the same server_name line',
    annotations: { 'server-alias': 'B.test, *.w.test' },
    lines: [['server {', 'server_name app.test "~^[^.]+\\\\.w\\\\.test$" b.test;', 'include listen-http.conf;']],
  },
  {
    name: 'from-to-www-redirect: a second server for the www twin answers 308 to the host, keeping scheme, port, path and query',
    annotations: { 'from-to-www-redirect': 'true' },
    lines: [[
      '# wharf: from-to-www-redirect www.app.test to app.test', 'server {', 'server_name www.app.test;', 'include listen-http.conf;', 'set $wharf_www_port "";',
      'if ($http_host ~ "(:[0-9]+)$") {', 'set $wharf_www_port $1;', '}', 'return 308 $scheme://app.test$wharf_www_port$request_uri;', '}',
    ]],
    absent: [/listen-https/],
  },
  {
    name: 'from-to-www-redirect on a TLS host whose certificate covers the twin: the twin listens on HTTPS with the host\'s certificate',
    annotations: { 'from-to-www-redirect': 'true' },
    opts: { tls: true },
    lines: [['server_name www.app.test;', 'include listen-http.conf;', 'include listen-https-sni.conf;', 'include certificates/app.test.con[f];', 'set $wharf_www_port "";']],
  },
  {
    name: 'default-backend: the balancer\'s fallback upstream, set before the proxy; no error pages without custom-http-errors',
    annotations: { 'default-backend': 'errors' },
    opts: { extra: [serviceObject('errors')] },
    lines: [['set $wharf_upstream "default-app-80";', ...APP, 'set $wharf_default_upstream "default-errors-80";', 'proxy_http_version 1.1;']],
    absent: [/error_page/, /intercept_errors/, /location @/],
  },
  {
    name: 'custom-http-errors: intercepted codes go to one named location per code, which proxies to the default backend with ingress-nginx\'s headers',
    annotations: { 'default-backend': 'errors', 'custom-http-errors': '503,404' },
    opts: { extra: [serviceObject('errors')] },
    lines: [
      ['set $wharf_default_upstream "default-errors-80";', 'proxy_intercept_errors on;', /^error_page 404 = @wharf_error_[0-9a-f]{12}_404;$/, /^error_page 503 = @wharf_error_[0-9a-f]{12}_503;$/, 'proxy_http_version 1.1;'],
      [
        /^location @wharf_error_[0-9a-f]{12}_404 \{$/, 'internal;', 'proxy_intercept_errors off;', 'set $wharf_upstream "default-errors-80";', 'set $wharf_canary_upstream "";', 'set $wharf_hash_key "";',
        'set $wharf_default_upstream "";', 'proxy_http_version 1.1;', 'proxy_set_header Connection "";', 'proxy_set_header Host $host;', 'proxy_set_header X-Code 404;',
        'proxy_set_header X-Format $http_accept;', 'proxy_set_header X-Original-URI $request_uri;', 'proxy_set_header X-Namespace "default";', 'proxy_set_header X-Ingress-Name "app";',
        'proxy_set_header X-Service-Name "app";', 'proxy_set_header X-Service-Port "80";', 'proxy_set_header X-Request-ID $wharf_request_id;', 'proxy_set_header X-Forwarded-For $remote_addr;',
        'rewrite (.*) / break;', 'include proxy-pass-http.conf;', '}',
      ],
      [/^location @wharf_error_[0-9a-f]{12}_503 \{$/, 'internal;'],
    ],
  },
  {
    name: 'custom-http-errors on a gRPC backend: grpc_intercept_errors',
    annotations: { 'default-backend': 'errors', 'custom-http-errors': '404', 'backend-protocol': 'GRPC' },
    opts: { extra: [serviceObject('errors')] },
    lines: [['grpc_intercept_errors on;', /^error_page 404 = @wharf_error_[0-9a-f]{12}_404;$/]],
    absent: [/proxy_intercept_errors on/],
  },
  {
    name: 'custom-http-errors without default-backend renders nothing',
    annotations: { 'custom-http-errors': '404' },
    lines: [['set $wharf_upstream "default-app-80";', ...APP, 'proxy_http_version 1.1;']],
    absent: [/error_page/, /intercept_errors/, /wharf_default_upstream/],
  },
  {
    name: 'auth-tls: the server asks for a certificate and verifies it with the CA; the location requires a verified one (400), checks the CN (403) and tells the backend',
    annotations: { 'auth-tls-secret': 'client-ca', 'auth-tls-verify-depth': '2', 'auth-tls-pass-certificate-to-upstream': 'true', 'auth-tls-match-cn': 'CN=alice|CN=bob smith' },
    opts: { tls: true, extra: [caSecretObject('client-ca', cert.cert)] },
    lines: [
      ['include certificates/app.test.con[f];', 'ssl_client_certificate files/app.test/ca.crt;', 'ssl_verify_client optional_no_ca;', 'ssl_verify_depth 2;'],
      ['return 308 https://$host$wharf_https_port$request_uri;', '}', 'if ($ssl_client_verify != SUCCESS) {', 'return 400;', '}', 'if ($ssl_client_s_dn !~ "CN=alice|CN=bob smith") {', 'return 403;', '}'],
      ['proxy_set_header ssl-client-cert $ssl_client_escaped_cert;', 'proxy_set_header ssl-client-verify $ssl_client_verify;', 'proxy_set_header ssl-client-subject-dn $ssl_client_s_dn;', 'proxy_set_header ssl-client-issuer-dn $ssl_client_i_dn;'],
    ],
  },
  {
    name: 'auth-tls-verify-client optional with an error page: only a failed certificate is redirected; ssl-client-cert is cleared',
    annotations: { 'auth-tls-secret': 'client-ca', 'auth-tls-verify-client': 'optional', 'auth-tls-error-page': 'https://login.test/cert' },
    opts: { tls: true, extra: [caSecretObject('client-ca', cert.cert)] },
    lines: [['if ($ssl_client_verify ~ "^FAILED") {', 'return 302 "https://login.test/cert";', '}'], ['proxy_set_header ssl-client-cert "";']],
    absent: [/ssl_client_s_dn !~/],
  },
  {
    name: 'auth-tls-verify-client optional_no_ca checks nothing in the location, but the backend learns the result',
    annotations: { 'auth-tls-secret': 'client-ca', 'auth-tls-verify-client': 'optional_no_ca', 'backend-protocol': 'GRPC' },
    opts: { tls: true, extra: [caSecretObject('client-ca', cert.cert)] },
    lines: [['grpc_set_header ssl-client-cert "";', 'grpc_set_header ssl-client-verify $ssl_client_verify;']],
    absent: [/if \(\$ssl_client_verify/],
  },
  {
    name: 'auth-tls without TLS on the host: the location answers 403 and the server asks nothing',
    annotations: { 'auth-tls-secret': 'client-ca' },
    opts: { extra: [caSecretObject('client-ca', cert.cert)] },
    lines: [['location = "/app" {', /^set \$wharf_metrics "/, 'return 403;']],
    absent: [/ssl_client_certificate|ssl_verify_client|ssl-client-/],
  },
  {
    name: 'proxy-ssl-*: client certificate, CA, verification, name, SNI, protocols and ciphers before proxy_pass https',
    annotations: { 'backend-protocol': 'HTTPS', 'proxy-ssl-secret': 'backend-ssl', 'proxy-ssl-verify': 'on', 'proxy-ssl-verify-depth': '2', 'proxy-ssl-name': 'Backend.Internal', 'proxy-ssl-server-name': 'on', 'proxy-ssl-protocols': 'TLSv1.3 TLSv1.2', 'proxy-ssl-ciphers': 'HIGH:!aNULL:!MD5' },
    opts: { extra: [proxySslSecretObject('backend-ssl', { ...cert, ca: cert.cert }, 'kubernetes.io/tls')] },
    lines: [['set $wharf_tls_isolated 1;'], [
      'proxy_ssl_session_reuse off;', /^proxy_ssl_certificate files\/app\.test\/proxy-ssl-[0-9a-f]{12}\.crt;$/, /^proxy_ssl_certificate_key files\/app\.test\/proxy-ssl-[0-9a-f]{12}\.key;$/,
      /^proxy_ssl_trusted_certificate files\/app\.test\/proxy-ssl-[0-9a-f]{12}-ca\.crt;$/, 'proxy_ssl_verify on;', 'proxy_ssl_verify_depth 2;', 'proxy_ssl_name backend.internal;',
      'proxy_ssl_server_name on;', 'proxy_ssl_protocols TLSv1.2 TLSv1.3;', 'proxy_ssl_ciphers HIGH:!aNULL:!MD5;', 'proxy_http_version 1.1;',
    ], ['include proxy-pass-https-isolated.conf;']],
    absent: [/return 502/, /grpc_ssl/],
  },
  {
    name: 'proxy-ssl-* on GRPCS: grpc_ssl_*',
    annotations: { 'backend-protocol': 'GRPCS', 'proxy-ssl-secret': 'client-ca', 'proxy-ssl-verify': 'on', 'proxy-ssl-server-name': 'off' },
    opts: { extra: [caSecretObject('client-ca', cert.cert)] },
    lines: [['set $wharf_tls_isolated 1;'], ['grpc_ssl_session_reuse off;', /^grpc_ssl_trusted_certificate files\/app\.test\/proxy-ssl-[0-9a-f]{12}-ca\.crt;$/, 'grpc_ssl_verify on;', 'grpc_ssl_verify_depth 1;', 'grpc_ssl_server_name off;'], ['include grpcs-pass-isolated.conf;']],
    absent: [/proxy_ssl/, /ssl_certificate/],
  },
  {
    name: 'proxy-ssl-verify on without ca.crt: the location answers 502 and verifies nothing it could not',
    annotations: { 'backend-protocol': 'HTTPS', 'proxy-ssl-secret': 'app-tls', 'proxy-ssl-verify': 'on' },
    lines: [['location = "/app" {', /^set \$wharf_metrics "/, 'return 502;']],
    absent: [/proxy_ssl/, /wharf_tls_isolated/],
  },
];

for (const c of cases) {
  test(`renders ${c.name}`, () => {
    const f = hostFragment(c.annotations, c.opts);
    for (const block of c.lines) assertLines(f.config, block);
    for (const re of c.absent ?? []) assert.doesNotMatch(f.config, re);
  });
}

test('canary: weight and header choose $wharf_upstream before the proxy; the canary Ingress adds no location', () => {
  const { fragments } = renderObjects([
    ingressObject({ name: 'main', rules: [{ host: 'app.test', paths: [{ pathType: 'Prefix', path: '/', service: 'main' }] }] }),
    ingressObject({
      name: 'canary',
      annotations: { canary: 'true', 'canary-weight': '20', 'canary-by-header': 'X-Canary', 'canary-by-header-value': 'yes' },
      rules: [{ host: 'app.test', paths: [{ pathType: 'Prefix', path: '/', service: 'canary' }] }],
    }),
  ]);
  const f = fragments.find((x) => x.name === 'app.test')!;
  assertLines(f.config, [
    'set $wharf_upstream "default-main-80";', ...identity('main', 'main'), 'set $wharf_canary_upstream "default-canary-80";', 'set $wharf_canary_weight 20;', 'set $wharf_canary_weight_total 100;',
    'if ($http_x_canary = "yes") {', 'set $wharf_upstream "default-canary-80";', 'set $wharf_canary_weight 0;', '}',
  ]);
  assert.equal(f.config.match(/^\s*location /gm)?.length, 1, 'one location for /');
});

test('htpasswd files are shipped with the fragment as secrets; the certificate is not (it goes to the agent\'s store by name)', () => {
  const f = hostFragment({ 'auth-type': 'basic', 'auth-secret': 'htpasswd' }, { tls: true });
  const names = Object.keys(f.files);
  assert.equal(names.length, 1);
  assert.ok(!f.config.includes('BEGIN'), 'no PEM in the config');
  const auth = names.find((n) => n.startsWith('auth-'))!;
  assert.deepEqual(f.files[auth], { content: htpasswd, secret: true });
});

test('the client CA bundle is shipped with the fragment as ca.crt, not secret; a host without auth-tls ships none and sets no ssl_verify_client', () => {
  const f = hostFragment({ 'auth-tls-secret': 'client-ca' }, { tls: true, extra: [caSecretObject('client-ca', cert.cert)] });
  assert.deepEqual(f.files['ca.crt'], { content: cert.cert, secret: false });
  const plain = hostFragment({}, { tls: true });
  assert.equal(plain.files['ca.crt'], undefined);
  assert.doesNotMatch(plain.config, /ssl_verify_client|ssl_client_certificate|ssl-client-/);
});

test('_main carries the global ConfigMap settings', () => {
  const { fragments } = renderObjects([
    ingressObject({ name: 'app', rules: [{ host: 'app.test', paths: [{ pathType: 'Prefix', path: '/', service: 'app' }] }] }),
  ]);
  const main = fragments.find((f) => f.name === '_main')!;
  assertLines(main.config, ['client_max_body_size 1m;', 'proxy_connect_timeout 5s;', 'proxy_read_timeout 60s;', 'proxy_send_timeout 60s;']);
  assert.deepEqual(fragments.map((f) => f.name), ['_main', '_default', 'app.test']);
});

test('custom-http-errors: each location of a host gets its own named locations; a Prefix path\'s two blocks share them', () => {
  const { fragments } = renderObjects([
    ingressObject({
      name: 'app',
      annotations: { 'default-backend': 'errors', 'custom-http-errors': '404' },
      rules: [{ host: 'app.test', paths: [{ pathType: 'Prefix', path: '/a', service: 'app' }, { pathType: 'Exact', path: '/b', service: 'other' }] }],
    }),
    serviceObject('errors'),
  ]);
  const config = fragments.find((x) => x.name === 'app.test')!.config;
  const named = [...config.matchAll(/^\s*location (@\S+) \{$/gm)].map((m) => m[1]);
  assert.equal(named.length, 2);
  assert.equal(new Set(named).size, 2);
  const uses = named.map((n) => config.split(`error_page 404 = ${n};`).length - 1).sort();
  assert.deepEqual(uses, [1, 2], '/b\'s one block uses one, /a\'s two blocks the other');
  assert.equal(config.match(/error_page 404 = /g)?.length, 3, '/a (two blocks) and /b');
  assert.match(config, /X-Service-Name "other";/);
});

test('proxy-ssl-secret files ship with the fragment, the client key as a secret; a location without proxy-ssl-* ships none', () => {
  const f = hostFragment({ 'backend-protocol': 'HTTPS', 'proxy-ssl-secret': 'backend-ssl' }, { extra: [proxySslSecretObject('backend-ssl', cert)] });
  const names = Object.keys(f.files).filter((n) => n.startsWith('proxy-ssl-'));
  assert.equal(names.length, 2);
  assert.deepEqual(f.files[names.find((n) => n.endsWith('.crt'))!], { content: cert.cert, secret: false });
  assert.deepEqual(f.files[names.find((n) => n.endsWith('.key'))!], { content: cert.key, secret: true });
  assert.doesNotMatch(f.config, /proxy_ssl_verify|proxy_ssl_trusted/);
  const plain = hostFragment({ 'backend-protocol': 'HTTPS' });
  assert.deepEqual(Object.keys(plain.files), []);
  assert.doesNotMatch(plain.config, /proxy_ssl|wharf_tls_isolated/);
});
