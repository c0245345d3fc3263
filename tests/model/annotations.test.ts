// Every supported ingress-nginx annotation: accepted values become typed settings, refused values
// give an error with the exact message; companions without their parent, unknown annotations and
// snippets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LocationSettings } from '../../src/model/index.ts';
import { defaultControllerSettings, parseObject, RoutingIndex } from '../../src/model/index.ts';
import { AN, annotated, authSecret, build, caSecret, ingress, messages, path, reasons, rule, service, tlsSecret } from './fixtures.ts';
import { CERT, KEY } from './tls-fixture.ts';

const HTPASSWD = 'alice:$apr1$w1Yz3lC9$7bI0mYzOx7o2uZ3gQ9b7A/\nbob:{SHA}fEqNCco3Yq9h5ZUglD3CZJT4lBs=\n';

function settingsOf(annotations: Record<string, string>, extra: unknown[] = []): { settings: LocationSettings | undefined; problems: ReturnType<typeof build>['problems'] } {
  const model = build([annotated(annotations), ...extra]);
  return { settings: model.servers[0]?.locations[0]?.settings, problems: model.problems.filter((p) => p.reason !== 'ServiceNotFound') };
}

function pick<T extends object>(o: T, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, (o as Record<string, unknown>)[k]]));
}

describe('accepted annotation values', () => {
  const cases: Record<string, { a: Record<string, string>; want: Partial<LocationSettings>; extra?: unknown[]; warnings?: string[] }> = {
    defaults: { a: {}, want: { backendProtocol: 'HTTP', forceSslRedirect: false, sslRedirect: false, rewriteTarget: undefined, cors: undefined } },
    'rewrite-target': { a: { 'rewrite-target': '/' }, want: { rewriteTarget: '/' } },
    'backend-protocol (any case)': { a: { 'backend-protocol': 'grpcs' }, want: { backendProtocol: 'GRPCS' } },
    'force-ssl-redirect (strconv.ParseBool forms)': { a: { 'force-ssl-redirect': 'True' }, want: { forceSslRedirect: true, sslRedirect: true } },
    'proxy-body-size': { a: { 'proxy-body-size': '8M' }, want: { proxyBodySize: '8m' } },
    'proxy-body-size 0 (unlimited)': { a: { 'proxy-body-size': '0' }, want: { proxyBodySize: '0' } },
    'proxy-buffer-size': { a: { 'proxy-buffer-size': '16k' }, want: { proxyBufferSize: '16k' } },
    'proxy timeouts': { a: { 'proxy-connect-timeout': '10', 'proxy-read-timeout': '3600', 'proxy-send-timeout': ' 120 ' }, want: { proxyConnectTimeout: 10, proxyReadTimeout: 3600, proxySendTimeout: 120 } },
    'whitelist-source-range': { a: { 'whitelist-source-range': '10.0.0.0/8, 192.168.1.1,2001:DB8::/32' }, want: { allowSourceRange: ['10.0.0.0/8', '192.168.1.1', '2001:db8::/32'] } },
    'allowlist-source-range wins over whitelist-source-range': {
      a: { 'allowlist-source-range': '10.0.0.0/8', 'whitelist-source-range': '1.2.3.4' },
      want: { allowSourceRange: ['10.0.0.0/8'] },
      warnings: [`metadata.annotations[${AN}whitelist-source-range]: ignored: allowlist-source-range is set`],
    },
    'limit-rps and limit-connections': { a: { 'limit-rps': '5', 'limit-connections': '10' }, want: { limitRps: 5, limitConnections: 10 } },
    'limit-rpm with limit-burst-multiplier': { a: { 'limit-rpm': '30', 'limit-burst-multiplier': '2' }, want: { limitRpm: 30, limitBurstMultiplier: 2, limitRps: undefined } },
    'limit-burst-multiplier unset (the renderer uses 5)': { a: { 'limit-rps': '5', 'limit-rpm': '100' }, want: { limitRps: 5, limitRpm: 100, limitBurstMultiplier: undefined } },
    'denylist-source-range': { a: { 'denylist-source-range': '10.1.0.0/16, 192.168.1.1,2001:DB8::/32' }, want: { denySourceRange: ['10.1.0.0/16', '192.168.1.1', '2001:db8::/32'], allowSourceRange: undefined } },
    'denylist-source-range with allowlist-source-range: both kept (the renderer denies first)': {
      a: { 'denylist-source-range': '10.1.0.0/16', 'allowlist-source-range': '10.0.0.0/8' },
      want: { denySourceRange: ['10.1.0.0/16'], allowSourceRange: ['10.0.0.0/8'] },
    },
    'proxy-buffering and proxy-request-buffering (any case)': { a: { 'proxy-buffering': 'on', 'proxy-request-buffering': 'Off' }, want: { proxyBuffering: true, proxyRequestBuffering: false } },
    'client-body-buffer-size': { a: { 'client-body-buffer-size': '1M' }, want: { clientBodyBufferSize: '1m' } },
    'client-body-buffer-size in bytes': { a: { 'client-body-buffer-size': '1000' }, want: { clientBodyBufferSize: '1000' } },
    'proxy-http-version 1.0': { a: { 'proxy-http-version': '1.0' }, want: { proxyHttpVersion: '1.0' } },
    'proxy-next-upstream with tries and timeout: lowercase, duplicates dropped': {
      a: { 'proxy-next-upstream': 'error  timeout HTTP_502 http_502 non_idempotent', 'proxy-next-upstream-tries': '5', 'proxy-next-upstream-timeout': '10' },
      want: { proxyNextUpstream: ['error', 'timeout', 'http_502', 'non_idempotent'], proxyNextUpstreamTries: 5, proxyNextUpstreamTimeout: 10 },
    },
    'proxy-next-upstream-tries 0 and timeout 0 alone (NGINX: no limit)': { a: { 'proxy-next-upstream-tries': '0', 'proxy-next-upstream-timeout': '0' }, want: { proxyNextUpstream: undefined, proxyNextUpstreamTries: 0, proxyNextUpstreamTimeout: 0 } },
    'proxy-next-upstream off': { a: { 'proxy-next-upstream': 'off' }, want: { proxyNextUpstream: ['off'] } },
    'proxy-next-upstream off makes tries and timeout moot': {
      a: { 'proxy-next-upstream': 'off', 'proxy-next-upstream-tries': '3', 'proxy-next-upstream-timeout': '5' },
      want: { proxyNextUpstream: ['off'], proxyNextUpstreamTries: undefined, proxyNextUpstreamTimeout: undefined },
      warnings: [
        `metadata.annotations[${AN}proxy-next-upstream-timeout]: ignored: proxy-next-upstream is "off"`,
        `metadata.annotations[${AN}proxy-next-upstream-tries]: ignored: proxy-next-upstream is "off"`,
      ],
    },
    'x-forwarded-prefix': { a: { 'x-forwarded-prefix': '/api/v1' }, want: { xForwardedPrefix: '/api/v1' } },
    'upstream-vhost with a port': { a: { 'upstream-vhost': 'Internal.Example.com:8080' }, want: { upstreamVhost: 'Internal.Example.com:8080' } },
    'upstream-vhost as an IPv4 address': { a: { 'upstream-vhost': '10.0.0.1' }, want: { upstreamVhost: '10.0.0.1' } },
    'upstream-vhost as an IPv6 address with a port': { a: { 'upstream-vhost': '[2001:db8::1]:443' }, want: { upstreamVhost: '[2001:db8::1]:443' } },
    'gRPC: buffering and HTTP version are ignored, the headers stay': {
      a: { 'backend-protocol': 'GRPC', 'proxy-buffering': 'off', 'proxy-request-buffering': 'off', 'proxy-http-version': '1.0', 'x-forwarded-prefix': '/p', 'upstream-vhost': 'api.test', 'proxy-next-upstream': 'error http_503' },
      want: { proxyBuffering: undefined, proxyRequestBuffering: undefined, proxyHttpVersion: undefined, xForwardedPrefix: '/p', upstreamVhost: 'api.test', proxyNextUpstream: ['error', 'http_503'] },
      warnings: [
        `metadata.annotations[${AN}proxy-buffering]: ignored: NGINX does not buffer gRPC (there is no grpc_buffering)`,
        `metadata.annotations[${AN}proxy-http-version]: ignored: gRPC is proxied over HTTP/2`,
        `metadata.annotations[${AN}proxy-request-buffering]: ignored: NGINX does not buffer gRPC (there is no grpc_buffering)`,
      ],
    },
    'enable-cors with defaults': {
      a: { 'enable-cors': 'true' },
      want: {
        cors: {
          allowOrigins: ['*'],
          allowMethods: ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS'],
          allowHeaders: ['DNT', 'Keep-Alive', 'User-Agent', 'X-Requested-With', 'If-Modified-Since', 'Cache-Control', 'Content-Type', 'Range', 'Authorization'],
          exposeHeaders: [],
          allowCredentials: true,
          maxAgeSeconds: 1728000,
        },
      },
    },
    'enable-cors with every companion': {
      a: {
        'enable-cors': 'true',
        'cors-allow-origin': 'https://a.com, https://*.b.com:8443',
        'cors-allow-methods': 'get, POST',
        'cors-allow-headers': 'X-Custom, Content-Type',
        'cors-expose-headers': 'X-Total',
        'cors-allow-credentials': 'false',
        'cors-max-age': '60',
      },
      want: { cors: { allowOrigins: ['https://a.com', 'https://*.b.com:8443'], allowMethods: ['GET', 'POST'], allowHeaders: ['X-Custom', 'Content-Type'], exposeHeaders: ['X-Total'], allowCredentials: false, maxAgeSeconds: 60 } },
    },
    'affinity cookie with defaults': { a: { affinity: 'cookie' }, want: { affinity: { cookieName: 'INGRESSCOOKIE' } } },
    'affinity cookie with name, path, max-age': {
      a: { affinity: 'cookie', 'session-cookie-name': 'route', 'session-cookie-path': '/app', 'session-cookie-max-age': '3600' },
      want: { affinity: { cookieName: 'route', cookiePath: '/app', cookieMaxAgeSeconds: 3600 } },
    },
    'upstream-hash-by': { a: { 'upstream-hash-by': '$remote_addr' }, want: { upstreamHashBy: '$remote_addr' } },
    'upstream-hash-by with families and literals': { a: { 'upstream-hash-by': '$arg_user-$http_x_tenant:$cookie_Session' }, want: { upstreamHashBy: '$arg_user-$http_x_tenant:$cookie_Session' } },
    'basic auth': {
      a: { 'auth-type': 'basic', 'auth-secret': 'users', 'auth-realm': 'Staff only' },
      extra: [authSecret('users', HTPASSWD)],
      want: { basicAuth: { realm: 'Staff only', htpasswd: HTPASSWD, secret: { kind: 'Secret', namespace: 'default', name: 'users' } } },
    },
    'basic auth, secret as namespace/name, default realm': {
      a: { 'auth-type': 'basic', 'auth-secret': 'default/users' },
      extra: [authSecret('users', `# comment\n\n${HTPASSWD}`)],
      want: { basicAuth: { realm: 'Authentication Required', htpasswd: HTPASSWD, secret: { kind: 'Secret', namespace: 'default', name: 'users' } } },
    },
    'external auth': {
      a: { 'auth-url': 'https://$host/oauth2/auth', 'auth-signin': 'https://$host/oauth2/start?rd=$escaped_request_uri', 'auth-response-headers': 'X-Auth-Request-User, X-Auth-Request-Email' },
      want: { externalAuth: { url: 'https://$host/oauth2/auth', signin: 'https://$host/oauth2/start?rd=$escaped_request_uri', responseHeaders: ['X-Auth-Request-User', 'X-Auth-Request-Email'] } },
    },
    'external auth to a cluster Service with a port': { a: { 'auth-url': 'http://auth.auth-system.svc.cluster.local:8080/verify' }, want: { externalAuth: { url: 'http://auth.auth-system.svc.cluster.local:8080/verify', responseHeaders: [] } } },
    'app-root': { a: { 'app-root': '/app1' }, want: { appRoot: '/app1' } },
    'permanent-redirect': { a: { 'permanent-redirect': 'https://www.example.com/new' }, want: { redirect: { url: 'https://www.example.com/new', code: 301 } } },
    'permanent-redirect with code and $request_uri': { a: { 'permanent-redirect': 'https://www.example.com$request_uri', 'permanent-redirect-code': '308' }, want: { redirect: { url: 'https://www.example.com$request_uri', code: 308 } } },
    'temporal-redirect': { a: { 'temporal-redirect': 'https://maintenance.example.com/' }, want: { redirect: { url: 'https://maintenance.example.com/', code: 302 } } },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, () => {
      const a = Object.fromEntries(Object.entries(c.a).map(([k, v]) => [AN + k, v]));
      const { settings, problems } = settingsOf(a, c.extra);
      assert.deepEqual(messages(problems), c.warnings ?? []);
      assert.ok(settings);
      assert.deepEqual(pick(settings, Object.keys(c.want)), c.want);
    });
  }
});

describe('refused annotation values', () => {
  const f = (n: string) => `metadata.annotations[${AN}${n}]`;
  const cases: Record<string, { a: Record<string, string>; want: string; extra?: unknown[] }> = {
    'rewrite-target with a variable': { a: { 'rewrite-target': '/$host' }, want: `${f('rewrite-target')}: Invalid value: "/$host": must contain only A-Z a-z 0-9, / - . _ ~ % ! & , = : @ + ? * ( ) and capture group references $1 to $9` },
    'rewrite-target relative': { a: { 'rewrite-target': 'foo' }, want: `${f('rewrite-target')}: Invalid value: "foo": must start with "/" or a capture group reference such as $1` },
    'use-regex not a bool': { a: { 'use-regex': 'yes' }, want: `${f('use-regex')}: Invalid value: "yes": must be "true" or "false"` },
    'ssl-redirect not a bool': { a: { 'ssl-redirect': 'on' }, want: `${f('ssl-redirect')}: Invalid value: "on": must be "true" or "false"` },
    'force-ssl-redirect not a bool': { a: { 'force-ssl-redirect': '2' }, want: `${f('force-ssl-redirect')}: Invalid value: "2": must be "true" or "false"` },
    'backend-protocol unsupported': { a: { 'backend-protocol': 'FCGI' }, want: `${f('backend-protocol')}: Invalid value: "FCGI": must be one of HTTP, HTTPS, GRPC, GRPCS` },
    'proxy-body-size with a space': { a: { 'proxy-body-size': '8 m' }, want: `${f('proxy-body-size')}: Invalid value: "8 m": must be a size such as 8m, 512k or 0 (digits and an optional k, m or g)` },
    'proxy-buffer-size with a unit NGINX lacks': { a: { 'proxy-buffer-size': '4t' }, want: `${f('proxy-buffer-size')}: Invalid value: "4t": must be a size such as 8m, 512k or 0 (digits and an optional k, m or g)` },
    'proxy-read-timeout with a unit': { a: { 'proxy-read-timeout': '60s' }, want: `${f('proxy-read-timeout')}: Invalid value: "60s": must be a whole number of seconds between 1 and 86400 (e.g. "60")` },
    'proxy-connect-timeout zero': { a: { 'proxy-connect-timeout': '0' }, want: `${f('proxy-connect-timeout')}: Invalid value: "0": must be a whole number of seconds between 1 and 86400 (e.g. "60")` },
    'proxy-send-timeout negative': { a: { 'proxy-send-timeout': '-1' }, want: `${f('proxy-send-timeout')}: Invalid value: "-1": must be a whole number of seconds between 1 and 86400 (e.g. "60")` },
    'whitelist-source-range bad prefix': { a: { 'whitelist-source-range': '10.0.0.0/33' }, want: `${f('whitelist-source-range')}: Invalid value: "10.0.0.0/33": item "10.0.0.0/33" must be an IPv4 or IPv6 address or CIDR such as 10.0.0.0/8 or 2001:db8::/32` },
    'allowlist-source-range not an address': { a: { 'allowlist-source-range': '10.0.0.0/8, example.com' }, want: `${f('allowlist-source-range')}: Invalid value: "10.0.0.0/8, example.com": item "example.com" must be an IPv4 or IPv6 address or CIDR such as 10.0.0.0/8 or 2001:db8::/32` },
    'allowlist-source-range empty': { a: { 'allowlist-source-range': ' , ' }, want: `${f('allowlist-source-range')}: Invalid value: " , ": must list at least one CIDR` },
    'limit-rps zero': { a: { 'limit-rps': '0' }, want: `${f('limit-rps')}: Invalid value: "0": must be a whole number of requests per second between 1 and 1000000` },
    'limit-rpm zero': { a: { 'limit-rpm': '0' }, want: `${f('limit-rpm')}: Invalid value: "0": must be a whole number of requests per minute between 1 and 1000000` },
    'limit-rpm with a directive': { a: { 'limit-rpm': '60; limit_req off' }, want: `${f('limit-rpm')}: Invalid value: "60; limit_req off": must be a whole number of requests per minute between 1 and 1000000` },
    'limit-burst-multiplier zero': { a: { 'limit-rps': '5', 'limit-burst-multiplier': '0' }, want: `${f('limit-burst-multiplier')}: Invalid value: "0": must be a whole number between 1 and 1000` },
    'limit-burst-multiplier with a newline': { a: { 'limit-rps': '5', 'limit-burst-multiplier': '5\nlimit_req off;' }, want: `${f('limit-burst-multiplier')}: Invalid value: "5\\nlimit_req off;": must be a whole number between 1 and 1000` },
    'denylist-source-range with a directive': { a: { 'denylist-source-range': '10.0.0.0/8; allow all' }, want: `${f('denylist-source-range')}: Invalid value: "10.0.0.0/8; allow all": item "10.0.0.0/8; allow all" must be an IPv4 or IPv6 address or CIDR such as 10.0.0.0/8 or 2001:db8::/32` },
    'denylist-source-range "all"': { a: { 'denylist-source-range': 'all' }, want: `${f('denylist-source-range')}: Invalid value: "all": item "all" must be an IPv4 or IPv6 address or CIDR such as 10.0.0.0/8 or 2001:db8::/32` },
    'proxy-buffering not on/off': { a: { 'proxy-buffering': 'true' }, want: `${f('proxy-buffering')}: Invalid value: "true": must be "on" or "off"` },
    'proxy-buffering with a directive': { a: { 'proxy-buffering': 'off; include /etc/passwd' }, want: `${f('proxy-buffering')}: Invalid value: "off; include /etc/passwd": must be "on" or "off"` },
    'proxy-request-buffering with a brace': { a: { 'proxy-request-buffering': 'off}' }, want: `${f('proxy-request-buffering')}: Invalid value: "off}": must be "on" or "off"` },
    'client-body-buffer-size with a newline': { a: { 'client-body-buffer-size': '16k\ninclude /etc/passwd;' }, want: `${f('client-body-buffer-size')}: Invalid value: "16k\\ninclude /etc/passwd;": must be a size such as 8m, 512k or 0 (digits and an optional k, m or g)` },
    'client-body-buffer-size with a variable': { a: { 'client-body-buffer-size': '$request_body' }, want: `${f('client-body-buffer-size')}: Invalid value: "$request_body": must be a size such as 8m, 512k or 0 (digits and an optional k, m or g)` },
    'proxy-http-version 2.0': { a: { 'proxy-http-version': '2.0' }, want: `${f('proxy-http-version')}: Invalid value: "2.0": must be "1.0" or "1.1"` },
    'proxy-http-version with a quote': { a: { 'proxy-http-version': '1.1"' }, want: `${f('proxy-http-version')}: Invalid value: "1.1\\"": must be "1.0" or "1.1"` },
    'proxy-next-upstream unknown condition': {
      a: { 'proxy-next-upstream': 'error http_418' },
      want: `${f('proxy-next-upstream')}: Invalid value: "error http_418": item "http_418" must be one of error, timeout, invalid_header, http_500, http_502, http_503, http_504, http_403, http_404, http_429, non_idempotent, off (separated by spaces)`,
    },
    'proxy-next-upstream separated by ";"': {
      a: { 'proxy-next-upstream': 'error;timeout' },
      want: `${f('proxy-next-upstream')}: Invalid value: "error;timeout": item "error;timeout" must be one of error, timeout, invalid_header, http_500, http_502, http_503, http_504, http_403, http_404, http_429, non_idempotent, off (separated by spaces)`,
    },
    'proxy-next-upstream with a newline': {
      a: { 'proxy-next-upstream': 'error\ninclude /etc/passwd;' },
      want: `${f('proxy-next-upstream')}: Invalid value: "error\\ninclude /etc/passwd;": item "error\\ninclude" must be one of error, timeout, invalid_header, http_500, http_502, http_503, http_504, http_403, http_404, http_429, non_idempotent, off (separated by spaces)`,
    },
    'proxy-next-upstream off with others': { a: { 'proxy-next-upstream': 'error off' }, want: `${f('proxy-next-upstream')}: Invalid value: "error off": "off" must stand alone (it turns retries off)` },
    'proxy-next-upstream empty': { a: { 'proxy-next-upstream': '  ' }, want: `${f('proxy-next-upstream')}: Invalid value: "  ": must list one or more of error, timeout, invalid_header, http_500, http_502, http_503, http_504, http_403, http_404, http_429, non_idempotent, off, separated by spaces` },
    'proxy-next-upstream-tries negative': { a: { 'proxy-next-upstream-tries': '-1' }, want: `${f('proxy-next-upstream-tries')}: Invalid value: "-1": must be a whole number of tries (0: one per endpoint) between 0 and 100` },
    'proxy-next-upstream-tries with a brace': { a: { 'proxy-next-upstream-tries': '3}' }, want: `${f('proxy-next-upstream-tries')}: Invalid value: "3}": must be a whole number of tries (0: one per endpoint) between 0 and 100` },
    'proxy-next-upstream-timeout with a unit': { a: { 'proxy-next-upstream-timeout': '5s' }, want: `${f('proxy-next-upstream-timeout')}: Invalid value: "5s": must be a whole number of seconds (0: no limit) between 0 and 86400` },
    'x-forwarded-prefix with a quote': { a: { 'x-forwarded-prefix': '/api"; include /etc/passwd; #' }, want: `${f('x-forwarded-prefix')}: Invalid value: "/api\\"; include /etc/passwd; #": must be a path prefix of A-Z a-z 0-9 and . _ ~ - / : @ + , = ! & % (e.g. "/api")` },
    'x-forwarded-prefix with a variable': { a: { 'x-forwarded-prefix': '/$request_body' }, want: `${f('x-forwarded-prefix')}: Invalid value: "/$request_body": must be a path prefix of A-Z a-z 0-9 and . _ ~ - / : @ + , = ! & % (e.g. "/api")` },
    'x-forwarded-prefix with a newline': { a: { 'x-forwarded-prefix': '/a\nproxy_pass http://evil;' }, want: `${f('x-forwarded-prefix')}: Invalid value: "/a\\nproxy_pass http://evil;": must be a path prefix of A-Z a-z 0-9 and . _ ~ - / : @ + , = ! & % (e.g. "/api")` },
    'x-forwarded-prefix with braces': { a: { 'x-forwarded-prefix': '/a{b}' }, want: `${f('x-forwarded-prefix')}: Invalid value: "/a{b}": must be a path prefix of A-Z a-z 0-9 and . _ ~ - / : @ + , = ! & % (e.g. "/api")` },
    'upstream-vhost with a directive': { a: { 'upstream-vhost': 'a.test; proxy_pass http://evil' }, want: `${f('upstream-vhost')}: Invalid value: "a.test; proxy_pass http://evil": must be a host name or IP address with an optional port, such as api.example.com, api.example.com:8080 or [2001:db8::1]:443` },
    'upstream-vhost with a header after a newline': { a: { 'upstream-vhost': 'a.test\r\nX-Evil: 1' }, want: `${f('upstream-vhost')}: Invalid value: "a.test\\r\\nX-Evil: 1": must be a host name or IP address with an optional port, such as api.example.com, api.example.com:8080 or [2001:db8::1]:443` },
    'upstream-vhost as a variable': { a: { 'upstream-vhost': '$http_x_target' }, want: `${f('upstream-vhost')}: Invalid value: "$http_x_target": must be a host name or IP address with an optional port, such as api.example.com, api.example.com:8080 or [2001:db8::1]:443` },
    'upstream-vhost with a quote': { a: { 'upstream-vhost': 'a.test"' }, want: `${f('upstream-vhost')}: Invalid value: "a.test\\"": must be a host name or IP address with an optional port, such as api.example.com, api.example.com:8080 or [2001:db8::1]:443` },
    'upstream-vhost with a bad port': { a: { 'upstream-vhost': 'a.test:99999' }, want: `${f('upstream-vhost')}: Invalid value: "a.test:99999": port must be between 1 and 65535` },
    'upstream-vhost with a bad IPv6 address': { a: { 'upstream-vhost': '[2001:db8::g]:443' }, want: `${f('upstream-vhost')}: Invalid value: "[2001:db8::g]:443": must be a host name or IP address with an optional port, such as api.example.com, api.example.com:8080 or [2001:db8::1]:443` },
    'upstream-vhost with an IPv6 address that is not one': { a: { 'upstream-vhost': '[1:2:3]' }, want: `${f('upstream-vhost')}: Invalid value: "[1:2:3]": "1:2:3" is not an IPv6 address` },
    'limit-connections decimal': { a: { 'limit-connections': '1.5' }, want: `${f('limit-connections')}: Invalid value: "1.5": must be a whole number of connections between 1 and 1000000` },
    'enable-cors not a bool': { a: { 'enable-cors': 'enabled' }, want: `${f('enable-cors')}: Invalid value: "enabled": must be "true" or "false"` },
    'cors-allow-origin with a path': { a: { 'enable-cors': 'true', 'cors-allow-origin': 'https://a.com/x' }, want: `${f('cors-allow-origin')}: Invalid value: "https://a.com/x": item "https://a.com/x" must be "*" or an origin such as https://example.com or https://*.example.com:8443` },
    'cors-allow-methods with a digit': { a: { 'enable-cors': 'true', 'cors-allow-methods': 'GET, P0ST' }, want: `${f('cors-allow-methods')}: Invalid value: "GET, P0ST": item "P0ST" must be an HTTP method such as GET` },
    'cors-allow-headers with a colon': { a: { 'enable-cors': 'true', 'cors-allow-headers': 'X-A: b' }, want: `${f('cors-allow-headers')}: Invalid value: "X-A: b": item "X-A: b" must be a header name of A-Z a-z 0-9 - _ (at most 64 characters)` },
    'cors-expose-headers with a space': { a: { 'enable-cors': 'true', 'cors-expose-headers': 'X A' }, want: `${f('cors-expose-headers')}: Invalid value: "X A": item "X A" must be a header name of A-Z a-z 0-9 - _ (at most 64 characters)` },
    'cors-allow-credentials not a bool': { a: { 'enable-cors': 'true', 'cors-allow-credentials': 'maybe' }, want: `${f('cors-allow-credentials')}: Invalid value: "maybe": must be "true" or "false"` },
    'cors-max-age not a number': { a: { 'enable-cors': 'true', 'cors-max-age': '1d' }, want: `${f('cors-max-age')}: Invalid value: "1d": must be a whole number of seconds between 0 and 315360000` },
    'affinity not cookie': { a: { affinity: 'ip' }, want: `${f('affinity')}: Invalid value: "ip": must be "cookie" (the only affinity wharf supports)` },
    'session-cookie-name with "="': { a: { affinity: 'cookie', 'session-cookie-name': 'a=b' }, want: `${f('session-cookie-name')}: Invalid value: "a=b": must be a cookie name (RFC 6265 token) of A-Z a-z 0-9 and ! % & * + - . ^ _ | ~` },
    'session-cookie-path relative': { a: { affinity: 'cookie', 'session-cookie-path': 'app' }, want: `${f('session-cookie-path')}: Invalid value: "app": must be an absolute path (start with "/")` },
    'session-cookie-max-age not a number': { a: { affinity: 'cookie', 'session-cookie-max-age': 'forever' }, want: `${f('session-cookie-max-age')}: Invalid value: "forever": must be a whole number of seconds between 1 and 315360000` },
    'upstream-hash-by with a variable outside the allowlist': {
      a: { 'upstream-hash-by': '$request_body' },
      want: `${f('upstream-hash-by')}: Invalid value: "$request_body": "$request_body" is not allowed: use $remote_addr, $binary_remote_addr, $request_uri, $uri, $host, $args, $server_name, $arg_*, $http_* or $cookie_*`,
    },
    'upstream-hash-by without a variable': { a: { 'upstream-hash-by': 'constant' }, want: `${f('upstream-hash-by')}: Invalid value: "constant": must contain at least one NGINX variable such as $remote_addr` },
    'canary not a bool': { a: { canary: 'si' }, want: `${f('canary')}: Invalid value: "si": must be "true" or "false"` },
    'canary-weight negative': { a: { canary: 'true', 'canary-weight': '-5' }, want: `${f('canary-weight')}: Invalid value: "-5": must be a whole number between 0 and 1000000` },
    'canary-weight-total zero': { a: { canary: 'true', 'canary-weight-total': '0' }, want: `${f('canary-weight-total')}: Invalid value: "0": must be a whole number between 1 and 1000000` },
    'canary-by-header with a space': { a: { canary: 'true', 'canary-by-header': 'X Canary' }, want: `${f('canary-by-header')}: Invalid value: "X Canary": must be a header name of A-Z a-z 0-9 - _ (at most 64 characters)` },
    'canary-by-header-value with a space': { a: { canary: 'true', 'canary-by-header': 'X-Canary', 'canary-by-header-value': 'a b' }, want: `${f('canary-by-header-value')}: Invalid value: "a b": must be a value of A-Z a-z 0-9 and ! % & * + - . ^ _ | ~ : / = , @` },
    'auth-type digest': { a: { 'auth-type': 'digest', 'auth-secret': 'users' }, want: `${f('auth-type')}: Invalid value: "digest": must be "basic" (the only auth-type wharf supports)` },
    'auth-type without auth-secret': { a: { 'auth-type': 'basic' }, want: `${f('auth-secret')}: Required value: auth-type "basic" needs the Secret holding the htpasswd file` },
    'auth-secret without auth-type': { a: { 'auth-secret': 'users' }, want: `${f('auth-type')}: Required value: auth-secret is set: set auth-type to "basic" (without it the location would be served without authentication)` },
    'auth-secret in another namespace': { a: { 'auth-type': 'basic', 'auth-secret': 'kube-system/users' }, want: `${f('auth-secret')}: Forbidden: the Secret must be in the Ingress's namespace "default"` },
    'auth-secret malformed': { a: { 'auth-type': 'basic', 'auth-secret': 'Users!' }, want: `${f('auth-secret')}: Invalid value: "Users!": must be a Secret name, or namespace/name` },
    'auth-secret missing': { a: { 'auth-type': 'basic', 'auth-secret': 'users' }, want: `${f('auth-secret')}: Invalid value: "users": Secret does not exist (create it before the Ingress)` },
    'auth-secret without the auth key': {
      a: { 'auth-type': 'basic', 'auth-secret': 'users' },
      extra: [{ kind: 'Secret', metadata: { name: 'users' }, data: { users: Buffer.from(HTPASSWD).toString('base64') } }],
      want: `${f('auth-secret')}: Invalid value: "users": Secret has no "auth" key (the htpasswd file)`,
    },
    'auth-secret with a bad htpasswd line': {
      a: { 'auth-type': 'basic', 'auth-secret': 'users' },
      extra: [authSecret('users', `${HTPASSWD}mallory:plaintext\n`)],
      want: `${f('auth-secret')}: Invalid value: "users": Secret "auth" line 3 is not "user:hash" with a supported hash ($apr1$, $2y$, $5$, $6$, {SHA}, {SSHA}, {PLAIN}, crypt)`,
    },
    'auth-realm with a quote': { a: { 'auth-type': 'basic', 'auth-secret': 'users', 'auth-realm': 'a"b' }, want: `${f('auth-realm')}: Invalid value: "a\\"b": must be 1 to 128 of A-Z a-z 0-9, space and . _ , : ( ) @ ! ? / + -`, extra: [authSecret('users', HTPASSWD)] },
    'auth-url not http(s)': { a: { 'auth-url': 'ftp://auth/x' }, want: `${f('auth-url')}: Invalid value: "ftp://auth/x": must be an absolute http(s) URL: scheme, host, optional port, path and query of A-Z a-z 0-9 - . _ ~ % ! & , = : @ + * ( ) / ?, no fragment` },
    'auth-url with a variable outside the allowlist': { a: { 'auth-url': 'http://auth/$request_body' }, want: `${f('auth-url')}: Invalid value: "http://auth/$request_body": "$request_body": the only NGINX variables allowed in a URL are $host, $scheme, $request_uri, $escaped_request_uri` },
    'auth-signin with a space': { a: { 'auth-url': 'http://auth/', 'auth-signin': 'http://x/a b' }, want: `${f('auth-signin')}: Invalid value: "http://x/a b": must be an absolute http(s) URL: scheme, host, optional port, path and query of A-Z a-z 0-9 - . _ ~ % ! & , = : @ + * ( ) / ?, no fragment` },
    'auth-url with a bad port': { a: { 'auth-url': 'http://auth:99999/' }, want: `${f('auth-url')}: Invalid value: "http://auth:99999/": port must be between 1 and 65535` },
    'auth-response-headers bad item': { a: { 'auth-url': 'http://auth/', 'auth-response-headers': 'X-User, X User' }, want: `${f('auth-response-headers')}: Invalid value: "X-User, X User": item "X User" must be a header name of A-Z a-z 0-9 - _ (at most 64 characters)` },
    'app-root relative': { a: { 'app-root': 'app' }, want: `${f('app-root')}: Invalid value: "app": must be an absolute path (start with "/")` },
    'permanent-redirect relative': { a: { 'permanent-redirect': '/new' }, want: `${f('permanent-redirect')}: Invalid value: "/new": must be an absolute http(s) URL: scheme, host, optional port, path and query of A-Z a-z 0-9 - . _ ~ % ! & , = : @ + * ( ) / ?, no fragment` },
    'permanent-redirect-code not a redirect': { a: { 'permanent-redirect': 'https://a.com/', 'permanent-redirect-code': '200' }, want: `${f('permanent-redirect-code')}: Invalid value: "200": must be one of 301, 302, 307, 308` },
    'temporal-redirect with a fragment': { a: { 'temporal-redirect': 'https://a.com/#x' }, want: `${f('temporal-redirect')}: Invalid value: "https://a.com/#x": character "#" is not allowed: must be an absolute http(s) URL` },
    'both redirects': { a: { 'permanent-redirect': 'https://a.com/', 'temporal-redirect': 'https://b.com/' }, want: `${f('temporal-redirect')}: Forbidden: set only one of permanent-redirect and temporal-redirect` },
    'server-alias with a space inside a name': { a: { 'server-alias': 'a.example.com b.example.com' }, want: `${f('server-alias')}: Invalid value: "a.example.com b.example.com": item "a.example.com b.example.com" must be a lowercase RFC 1123 subdomain: labels of a-z, 0-9 and '-', starting and ending with a letter or digit, joined by '.'` },
    'server-alias with a directive after ";"': { a: { 'server-alias': 'a.example.com;include /etc/passwd' }, want: `${f('server-alias')}: Invalid value: "a.example.com;include /etc/passwd": item "a.example.com;include /etc/passwd" must be a lowercase RFC 1123 subdomain: labels of a-z, 0-9 and '-', starting and ending with a letter or digit, joined by '.'` },
    'server-alias opening a block': { a: { 'server-alias': 'a.example.com { return 200; }' }, want: `${f('server-alias')}: Invalid value: "a.example.com { return 200; }": item "a.example.com { return 200; }" must be a lowercase RFC 1123 subdomain: labels of a-z, 0-9 and '-', starting and ending with a letter or digit, joined by '.'` },
    'server-alias with a newline': { a: { 'server-alias': 'a.example.com\ninclude /etc/passwd;' }, want: `${f('server-alias')}: Invalid value: "a.example.com\\ninclude /etc/passwd;": item "a.example.com\\ninclude /etc/passwd;" must be a lowercase RFC 1123 subdomain: labels of a-z, 0-9 and '-', starting and ending with a letter or digit, joined by '.'` },
    'server-alias as a variable': { a: { 'server-alias': '$host' }, want: `${f('server-alias')}: Invalid value: "$host": item "$host" must be a lowercase RFC 1123 subdomain: labels of a-z, 0-9 and '-', starting and ending with a letter or digit, joined by '.'` },
    'server-alias as a regex (ingress-nginx takes NGINX regexes)': { a: { 'server-alias': '~^www\\d+\\.example\\.com$' }, want: `${f('server-alias')}: Invalid value: "~^www\\\\d+\\\\.example\\\\.com$": item "~^www\\\\d+\\\\.example\\\\.com$" must be a host name such as www.example.com or *.example.com; regular expressions are not supported` },
    'server-alias with a trailing wildcard': { a: { 'server-alias': 'www.example.*' }, want: `${f('server-alias')}: Invalid value: "www.example.*": item "www.example.*" must be a host name such as www.example.com or *.example.com; a wildcard is only allowed as the whole first label` },
    'server-alias with a port': { a: { 'server-alias': 'a.example.com:8080' }, want: `${f('server-alias')}: Invalid value: "a.example.com:8080": item "a.example.com:8080" must be a DNS name without a port` },
    'server-alias as an IP address': { a: { 'server-alias': '10.0.0.1' }, want: `${f('server-alias')}: Invalid value: "10.0.0.1": item "10.0.0.1" must be a DNS name, not an IP address` },
    'server-alias empty': { a: { 'server-alias': ' , ' }, want: `${f('server-alias')}: Invalid value: " , ": must not be empty` },
    'from-to-www-redirect not a bool': { a: { 'from-to-www-redirect': 'yes' }, want: `${f('from-to-www-redirect')}: Invalid value: "yes": must be "true" or "false"` },
    'custom-http-errors with a code below 400': { a: { 'default-backend': 'errors', 'custom-http-errors': '404,302' }, want: `${f('custom-http-errors')}: Invalid value: "404,302": item "302" must be an HTTP status code between 400 and 599` },
    'custom-http-errors with a code above 599': { a: { 'default-backend': 'errors', 'custom-http-errors': '600' }, want: `${f('custom-http-errors')}: Invalid value: "600": item "600" must be an HTTP status code between 400 and 599` },
    'custom-http-errors with a directive after ";"': {
      a: { 'default-backend': 'errors', 'custom-http-errors': '404; error_page 500 http://evil' },
      want: `${f('custom-http-errors')}: Invalid value: "404; error_page 500 http://evil": item "404; error_page 500 http://evil" must be an HTTP status code between 400 and 599`,
    },
    'custom-http-errors with a named location': { a: { 'default-backend': 'errors', 'custom-http-errors': '404 = @evil' }, want: `${f('custom-http-errors')}: Invalid value: "404 = @evil": item "404 = @evil" must be an HTTP status code between 400 and 599` },
    'custom-http-errors with a newline': { a: { 'default-backend': 'errors', 'custom-http-errors': '404\nproxy_pass http://evil;' }, want: `${f('custom-http-errors')}: Invalid value: "404\\nproxy_pass http://evil;": item "404\\nproxy_pass http://evil;" must be an HTTP status code between 400 and 599` },
    'custom-http-errors empty': { a: { 'default-backend': 'errors', 'custom-http-errors': ' , ' }, want: `${f('custom-http-errors')}: Invalid value: " , ": must list HTTP status codes between 400 and 599, separated by commas (e.g. "404,503")` },
    'default-backend in another namespace': { a: { 'default-backend': 'kube-system/errors' }, want: `${f('default-backend')}: Invalid value: "kube-system/errors": must be the name of a Service in the Ingress's namespace (lowercase letters, digits and "-", at most 63, starting with a letter)` },
    'default-backend with a directive': { a: { 'default-backend': 'errors;proxy_pass http://evil' }, want: `${f('default-backend')}: Invalid value: "errors;proxy_pass http://evil": must be the name of a Service in the Ingress's namespace (lowercase letters, digits and "-", at most 63, starting with a letter)` },
    'default-backend as a variable': { a: { 'default-backend': '$http_x_backend' }, want: `${f('default-backend')}: Invalid value: "$http_x_backend": must be the name of a Service in the Ingress's namespace (lowercase letters, digits and "-", at most 63, starting with a letter)` },
    'a value longer than 4096 characters': { a: { 'app-root': `/${'a'.repeat(4096)}` }, want: `${f('app-root')}: Invalid value: "/${'a'.repeat(63)}...": must be at most 4096 characters` },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, () => {
      const a = Object.fromEntries(Object.entries(c.a).map(([k, v]) => [AN + k, v]));
      const model = build([annotated(a), ...(c.extra ?? [])]);
      const errors = model.problems.filter((p) => p.severity === 'error');
      assert.deepEqual(messages(errors), [c.want]);
      assert.deepEqual(model.servers, [], 'an Ingress with an annotation error is left out as a whole');
    });
  }
});

describe('companions without their parent, unknown annotations, snippets', () => {
  it('companions without their parent are ignored with a warning', () => {
    const a = Object.fromEntries(
      Object.entries({
        'cors-allow-origin': '*',
        'session-cookie-name': 'x',
        'canary-weight': '5',
        'auth-realm': 'x',
        'auth-signin': 'https://a.com/',
        'permanent-redirect-code': '308',
        'limit-burst-multiplier': '3',
      }).map(([k, v]) => [AN + k, v]),
    );
    const { settings, problems } = settingsOf(a);
    assert.deepEqual(messages(problems), [
      `metadata.annotations[${AN}auth-realm]: ignored: auth-type is not set`,
      `metadata.annotations[${AN}auth-signin]: ignored: auth-url is not set`,
      `metadata.annotations[${AN}canary-weight]: ignored: canary is not "true"`,
      `metadata.annotations[${AN}cors-allow-origin]: ignored: enable-cors is not "true"`,
      `metadata.annotations[${AN}limit-burst-multiplier]: ignored: neither limit-rps nor limit-rpm is set`,
      `metadata.annotations[${AN}permanent-redirect-code]: ignored: permanent-redirect is not set`,
      `metadata.annotations[${AN}session-cookie-name]: ignored: affinity is not "cookie"`,
    ]);
    assert.ok(settings);
    assert.equal(settings.cors, undefined);
    assert.equal(settings.limitBurstMultiplier, undefined);
  });
  it('upstream-hash-by is ignored when affinity is set', () => {
    const { settings, problems } = settingsOf({ [`${AN}affinity`]: 'cookie', [`${AN}upstream-hash-by`]: '$remote_addr' });
    assert.deepEqual(reasons(problems), [`warning IgnoredAnnotation ann metadata.annotations[${AN}upstream-hash-by]`]);
    assert.equal(settings?.upstreamHashBy, undefined);
  });
  it('an unknown annotation under the prefix is a warning; other prefixes are not read', () => {
    const { settings, problems } = settingsOf({ [`${AN}proxy-redirect-from`]: 'http://a/', 'example.com/anything': 'x;}{#"', 'kubectl.kubernetes.io/last-applied-configuration': '{"a":"b"}' });
    assert.deepEqual(messages(problems), [`metadata.annotations[${AN}proxy-redirect-from]: not supported by wharf; ignored`]);
    assert.ok(settings);
  });
  // configuration-, server- and auth-snippet go through the allowlist (tests/model/snippets.test.ts).
  const snippets = ['stream-snippet', 'modsecurity-snippet'];
  for (const s of snippets) {
    it(`${s} is refused`, () => {
      const model = build([annotated({ [AN + s]: 'more_set_headers "X: y";' })]);
      assert.deepEqual(messages(model.problems.filter((p) => p.severity === 'error')), [
        `metadata.annotations[${AN}${s}]: Forbidden: snippets are refused: they inject raw NGINX configuration (the IngressNightmare hole, CVE-2025-1974)`,
      ]);
      assert.equal(model.problems.find((p) => p.severity === 'error')?.reason, 'SnippetRefused');
      assert.deepEqual(model.servers, []);
    });
  }
});

describe('default-backend and custom-http-errors', () => {
  const a = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [AN + k, v]));
  const errorsService = service('errors', [{ name: 'http', port: 8080 }, { name: 'metrics', port: 9090 }]);
  const field = (n: string) => `metadata.annotations[${AN}${n}]`;

  it('the default backend is the Service\'s first port, an upstream of the model; codes are sorted and unique', () => {
    const model = build([annotated(a({ 'default-backend': 'errors', 'custom-http-errors': '503, 404,404 ,500' })), errorsService]);
    const loc = model.servers[0]!.locations[0]!;
    assert.deepEqual(loc.defaultBackend, { upstream: 'default-errors-8080', namespace: 'default', service: 'errors', port: 8080 });
    assert.deepEqual(loc.settings.customHttpErrors, [404, 500, 503]);
    assert.deepEqual(model.upstreams.map((u) => u.upstream), ['default-errors-8080', 'default-svc-80']);
    assert.deepEqual(messages(model.problems.filter((p) => p.field.startsWith('metadata'))), []);
  });
  it('default-backend alone: a fallback without error pages', () => {
    const model = build([annotated(a({ 'default-backend': 'errors' })), errorsService]);
    const loc = model.servers[0]!.locations[0]!;
    assert.equal(loc.defaultBackend?.upstream, 'default-errors-8080');
    assert.equal(loc.settings.customHttpErrors, undefined);
  });
  it('custom-http-errors without default-backend is ignored with a warning when wharf has no --default-backend-service', () => {
    const { settings, problems } = settingsOf(a({ 'custom-http-errors': '404' }));
    assert.deepEqual(messages(problems), [`${field('custom-http-errors')}: ignored: default-backend is not set and wharf runs without --default-backend-service (nothing renders the pages)`]);
    assert.equal(settings?.customHttpErrors, undefined);
  });
  it('a missing default-backend Service is a warning like a missing backend Service; custom-http-errors wait for it', () => {
    const model = build([annotated(a({ 'default-backend': 'errors', 'custom-http-errors': '404' }))]);
    assert.deepEqual(messages(model.problems.filter((p) => p.field.startsWith('metadata'))), [
      `${field('custom-http-errors')}: ignored until the default-backend Service exists and has a port`,
      `${field('default-backend')}: Not found: "errors": no such Service in this namespace; there is no default backend until it exists`,
    ]);
    assert.deepEqual(reasons(model.problems.filter((p) => p.field === field('default-backend'))), [`warning ServiceNotFound ann ${field('default-backend')}`]);
    const loc = model.servers[0]!.locations[0]!;
    assert.equal(loc.defaultBackend, undefined);
    assert.equal(loc.settings.customHttpErrors, undefined);
    assert.deepEqual(model.upstreams.map((u) => u.upstream), ['default-svc-80']);
  });
  it('an ExternalName default-backend Service is a warning and no default backend', () => {
    const model = build([annotated(a({ 'default-backend': 'errors' })), service('errors', [{ port: 80 }], { type: 'ExternalName' })]);
    assert.deepEqual(reasons(model.problems.filter((p) => p.field === field('default-backend'))), [`warning ExternalNameService ann ${field('default-backend')}`]);
    assert.equal(model.servers[0]!.locations[0]!.defaultBackend, undefined);
  });
  it('a canary Ingress\'s default-backend and custom-http-errors are ignored (its primary\'s apply)', () => {
    const primary = ingress('primary', [rule('foo.com', path('/'))], { annotations: a({ 'default-backend': 'errors', 'custom-http-errors': '404' }) });
    const canary = ingress('canary', [rule('foo.com', path('/', 'Prefix', 'next'))], { annotations: a({ canary: 'true', 'default-backend': 'other', 'custom-http-errors': '500' }) });
    const model = build([primary, canary, errorsService]);
    const loc = model.servers[0]!.locations[0]!;
    assert.equal(loc.defaultBackend?.service, 'errors');
    assert.deepEqual(loc.settings.customHttpErrors, [404]);
    assert.deepEqual(reasons(model.problems.filter((p) => p.reason === 'IgnoredAnnotation')), [
      `warning IgnoredAnnotation canary ${field('custom-http-errors')}`,
      `warning IgnoredAnnotation canary ${field('default-backend')}`,
    ]);
  });
  it('RoutingIndex: the default-backend Service appearing or changing re-renders the host and pushes its endpoints', () => {
    const parsed = (raw: unknown) => {
      const r = parseObject(raw);
      if (!r.ok) throw new Error(r.problems.map((p) => p.message).join('; '));
      return r.value;
    };
    const index = new RoutingIndex(defaultControllerSettings);
    index.upsert(parsed(annotated(a({ 'default-backend': 'errors', 'custom-http-errors': '404' }))));
    assert.equal(index.server('foo.com')?.locations[0]?.defaultBackend, undefined);
    assert.deepEqual(index.ingressesUsingService('default/errors'), ['default/ann']);
    const added = index.upsert(parsed(errorsService));
    assert.deepEqual(added.hosts, ['foo.com']);
    assert.deepEqual(added.upstreams, ['default-errors-8080']);
    assert.equal(index.server('foo.com')?.locations[0]?.defaultBackend?.upstream, 'default-errors-8080');
    assert.deepEqual(index.server('foo.com')?.locations[0]?.settings.customHttpErrors, [404]);
    const moved = index.upsert(parsed(service('errors', [{ name: 'http', port: 8081 }])));
    assert.deepEqual(moved.hosts, ['foo.com']);
    assert.deepEqual(moved.upstreams, ['default-errors-8080', 'default-errors-8081']);
    assert.equal(index.server('foo.com')?.locations[0]?.defaultBackend?.upstream, 'default-errors-8081');
    assert.deepEqual(index.upstreams().map((u) => u.upstream), ['default-errors-8081', 'default-svc-80']);
  });
});

describe('client-certificate authentication (auth-tls-*)', () => {
  const f = (n: string) => `metadata.annotations[${AN}${n}]`;
  const tlsHost = (name: string, annotations: Record<string, string>, o: { created?: string; paths?: ReturnType<typeof path>[]; tls?: boolean } = {}) =>
    ingress(name, [rule('example.com', ...(o.paths ?? [path('/')]))], {
      annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [AN + k, v])),
      ...(o.tls === false ? {} : { tls: [{ hosts: ['example.com'], secretName: 'cert' }] }),
      created: o.created ?? '2024-01-01T00:00:00Z',
    });
  const objects = [tlsSecret('cert', CERT, KEY), caSecret('ca', CERT)];
  const server = (model: ReturnType<typeof build>) => model.servers.find((s) => s.host === 'example.com')!;

  it('every annotation: the location checks, the server verifies with the CA and depth', () => {
    const model = build([
      tlsHost('a', { 'auth-tls-secret': 'default/ca', 'auth-tls-verify-client': 'optional', 'auth-tls-verify-depth': '2', 'auth-tls-error-page': 'https://login.example.com/cert', 'auth-tls-pass-certificate-to-upstream': 'true', 'auth-tls-match-cn': 'CN=alice|CN=bob' }),
      ...objects,
    ]);
    assert.deepEqual(messages(model.problems.filter((p) => p.reason !== 'ServiceNotFound')), []);
    const s = server(model);
    assert.deepEqual(s.locations[0]!.settings.clientAuth, { verify: 'optional', errorPage: 'https://login.example.com/cert', passCertificate: true, matchCn: 'CN=alice|CN=bob', refused: false });
    assert.deepEqual(s.clientAuth, { ca: CERT, depth: 2, secret: { kind: 'Secret', namespace: 'default', name: 'ca' } });
  });

  it('defaults: verify-client on, depth 1, no certificate for the backend; ca.crt may sit in a kubernetes.io/tls Secret', () => {
    const both = caSecret('cert', CERT, { type: 'kubernetes.io/tls', extra: { 'tls.crt': CERT, 'tls.key': KEY } });
    const model = build([tlsHost('a', { 'auth-tls-secret': 'cert' }), both]);
    const s = server(model);
    assert.deepEqual(s.locations[0]!.settings.clientAuth, { verify: 'on', passCertificate: false, refused: false });
    assert.equal(s.clientAuth?.depth, 1);
  });

  const refused: Record<string, { a: Record<string, string>; want: string }> = {
    'verify-client not a mode': { a: { 'auth-tls-secret': 'ca', 'auth-tls-verify-client': 'required' }, want: `${f('auth-tls-verify-client')}: Invalid value: "required": must be one of on, off, optional, optional_no_ca` },
    'verify-depth zero': { a: { 'auth-tls-secret': 'ca', 'auth-tls-verify-depth': '0' }, want: `${f('auth-tls-verify-depth')}: Invalid value: "0": must be a whole number of certificates between 1 and 100` },
    'error-page with a variable': { a: { 'auth-tls-secret': 'ca', 'auth-tls-error-page': 'https://x.com$request_uri' }, want: `${f('auth-tls-error-page')}: Invalid value: "https://x.com$request_uri": must be an absolute http(s) URL without NGINX variables` },
    'error-page not a URL': { a: { 'auth-tls-secret': 'ca', 'auth-tls-error-page': '/cert' }, want: `${f('auth-tls-error-page')}: Invalid value: "/cert": must be an absolute http(s) URL: scheme, host, optional port, path and query of A-Z a-z 0-9 - . _ ~ % ! & , = : @ + * ( ) / ?, no fragment` },
    'pass-certificate not a bool': { a: { 'auth-tls-secret': 'ca', 'auth-tls-pass-certificate-to-upstream': 'yes' }, want: `${f('auth-tls-pass-certificate-to-upstream')}: Invalid value: "yes": must be "true" or "false"` },
    'match-cn injection (CVE-2025-1097)': { a: { 'auth-tls-secret': 'ca', 'auth-tls-match-cn': 'CN=a") { return 200; } #' }, want: `${f('auth-tls-match-cn')}: Invalid value: "CN=a\\") { return 200; } #": must be CN= followed by A-Z a-z 0-9 space . _ * | = , -` },
    'match-cn a regex PCRE refuses': { a: { 'auth-tls-secret': 'ca', 'auth-tls-match-cn': 'CN=a|*b' }, want: `${f('auth-tls-match-cn')}: Invalid value: "CN=a|*b": "*" must follow a character it repeats (not "|" or "*")` },
    'secret with a path': { a: { 'auth-tls-secret': 'default/ca/x' }, want: `${f('auth-tls-secret')}: Invalid value: "default/ca/x": must be a Secret name, or namespace/name` },
    'secret in another namespace': { a: { 'auth-tls-secret': 'other/ca' }, want: `${f('auth-tls-secret')}: Forbidden: the Secret must be in the Ingress's namespace "default"` },
    'match-cn without auth-tls-secret (it would serve without checks)': {
      a: { 'auth-tls-match-cn': 'CN=alice' },
      want: `${f('auth-tls-secret')}: Required value: auth-tls-match-cn is set: set auth-tls-secret to the Secret holding ca.crt (without it the locations would be served without client certificate authentication)`,
    },
  };
  for (const [name, c] of Object.entries(refused)) {
    it(`refused: ${name}`, () => {
      const model = build([tlsHost('a', c.a), ...objects]);
      assert.deepEqual(messages(model.problems.filter((p) => p.severity === 'error')), [c.want]);
      assert.deepEqual(model.servers, []);
    });
  }

  const warned: Record<string, { objects: unknown[]; want: string[] }> = {
    'a missing Secret': {
      objects: [tlsHost('a', { 'auth-tls-secret': 'nope' }), tlsSecret('cert', CERT, KEY)],
      want: [`${f('auth-tls-secret')}: Invalid value: "nope": Secret does not exist (create it before the Ingress); the locations of this Ingress answer 403 until it is fixed`],
    },
    'a Secret without ca.crt': {
      objects: [tlsHost('a', { 'auth-tls-secret': 'users' }), tlsSecret('cert', CERT, KEY), authSecret('users', HTPASSWD)],
      want: [`${f('auth-tls-secret')}: Invalid value: "users": Secret has no "ca.crt" key (the PEM bundle of the CA certificates); the locations of this Ingress answer 403 until it is fixed`],
    },
    'a ca.crt that is not PEM': {
      objects: [tlsHost('a', { 'auth-tls-secret': 'ca' }), tlsSecret('cert', CERT, KEY), caSecret('ca', 'not a certificate')],
      want: [`${f('auth-tls-secret')}: Invalid value: "ca": Secret "ca.crt" is not a bundle of PEM certificates; the locations of this Ingress answer 403 until it is fixed`],
    },
    'a PEM block that does not parse': {
      objects: [tlsHost('a', { 'auth-tls-secret': 'ca' }), tlsSecret('cert', CERT, KEY), caSecret('ca', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')],
      want: [],
    },
    'a Secret with a certificate revocation list (unsupported: revoked certificates would pass)': {
      objects: [tlsHost('a', { 'auth-tls-secret': 'ca' }), tlsSecret('cert', CERT, KEY), caSecret('ca', CERT, { extra: { 'ca.crl': 'x' } })],
      want: [`${f('auth-tls-secret')}: Invalid value: "ca": Secret has a "ca.crl", which wharf does not support (revoked certificates would pass); the locations of this Ingress answer 403 until it is fixed`],
    },
    'a host without TLS': {
      objects: [tlsHost('a', { 'auth-tls-secret': 'ca' }, { tls: false }), caSecret('ca', CERT)],
      want: [`${f('auth-tls-secret')}: Invalid value: "ca": host example.com has no TLS certificate, so no client certificate can be asked for; the locations of this Ingress there answer 403`],
    },
  };
  for (const [name, c] of Object.entries(warned)) {
    it(`refused with a warning, its locations answer 403: ${name}`, () => {
      const model = build(c.objects);
      const problems = model.problems.filter((p) => p.reason !== 'ServiceNotFound');
      assert.ok(problems.every((p) => p.severity === 'warning'), JSON.stringify(messages(problems)));
      if (c.want.length > 0) assert.deepEqual(messages(problems), c.want);
      else assert.match(messages(problems).join('\n'), /"ca\.crt" cannot be parsed/);
      const s = server(model);
      assert.equal(s.locations[0]!.settings.clientAuth?.refused, true);
      assert.equal(s.clientAuth, undefined);
    });
  }

  it('verify-client off asks for nothing: the other auth-tls annotations are ignored with a warning', () => {
    const model = build([tlsHost('a', { 'auth-tls-secret': 'ca', 'auth-tls-verify-client': 'off', 'auth-tls-match-cn': 'CN=x' }), ...objects]);
    assert.deepEqual(messages(model.problems.filter((p) => p.reason !== 'ServiceNotFound')), [
      `${f('auth-tls-match-cn')}: ignored: auth-tls-verify-client is "off"`,
      `${f('auth-tls-secret')}: ignored: auth-tls-verify-client is "off"`,
    ]);
    assert.equal(server(model).locations[0]!.settings.clientAuth, undefined);
  });

  it('one CA per host: the oldest Ingress sets it; a newer one with another depth is refused with a warning, one with the same CA shares it, one without asks nothing', () => {
    const model = build([
      tlsHost('old', { 'auth-tls-secret': 'ca' }, { paths: [path('/a')] }),
      tlsHost('same', { 'auth-tls-secret': 'ca2', 'auth-tls-verify-client': 'optional_no_ca' }, { paths: [path('/b')], created: '2024-01-02T00:00:00Z' }),
      tlsHost('deeper', { 'auth-tls-secret': 'ca', 'auth-tls-verify-depth': '3' }, { paths: [path('/c')], created: '2024-01-03T00:00:00Z' }),
      tlsHost('open', {}, { paths: [path('/d')], created: '2024-01-04T00:00:00Z' }),
      ...objects,
      caSecret('ca2', CERT),
    ]);
    assert.deepEqual(messages(model.problems.filter((p) => p.reason !== 'ServiceNotFound')), [
      `${f('auth-tls-secret')}: Invalid value: "ca": host example.com already verifies client certificates with the CA bundle and depth of older Ingress default/old; the locations of this Ingress there answer 403`,
    ]);
    const s = server(model);
    const byPath = Object.fromEntries(s.locations.map((l) => [l.path, l.settings.clientAuth?.refused ?? 'none']));
    assert.deepEqual(byPath, { '/a': false, '/b': false, '/c': true, '/d': 'none' });
    assert.deepEqual(s.clientAuth?.secret.name, 'ca');
  });

  it('RoutingIndex: the CA Secret appearing re-renders the host (403 until then)', () => {
    const parsed = (raw: unknown) => {
      const r = parseObject(raw);
      if (!r.ok) throw new Error(r.problems.map((p) => p.message).join('; '));
      return r.value;
    };
    const index = new RoutingIndex(defaultControllerSettings);
    index.upsert(parsed(tlsSecret('cert', CERT, KEY)));
    index.upsert(parsed(tlsHost('a', { 'auth-tls-secret': 'ca' })));
    assert.equal(index.server('example.com')?.locations[0]?.settings.clientAuth?.refused, true);
    const added = index.upsert(parsed(caSecret('ca', CERT)));
    assert.deepEqual(added.hosts, ['example.com']);
    assert.equal(index.server('example.com')?.locations[0]?.settings.clientAuth?.refused, false);
    assert.equal(index.server('example.com')?.clientAuth?.ca, CERT);
  });
});

describe('TLS to HTTPS backends (proxy-ssl-*)', () => {
  const f = (n: string) => `metadata.annotations[${AN}${n}]`;
  const https = (annotations: Record<string, string>, protocol = 'HTTPS') =>
    ingress('a', [rule('example.com', path('/'))], {
      annotations: Object.fromEntries(Object.entries({ 'backend-protocol': protocol, ...annotations }).map(([k, v]) => [AN + k, v])),
      created: '2024-01-01T00:00:00Z',
    });
  const sslOf = (model: ReturnType<typeof build>) => model.servers.find((s) => s.host === 'example.com')?.locations[0]?.settings.proxySsl;
  const others = (model: ReturnType<typeof build>) => messages(model.problems.filter((p) => p.reason !== 'ServiceNotFound'));
  const both = caSecret('backend', CERT, { type: 'kubernetes.io/tls', extra: { 'tls.crt': CERT, 'tls.key': KEY } });

  it('every annotation: client certificate and CA from one Secret, verification, name, SNI, protocols, ciphers', () => {
    const model = build([
      https({ 'proxy-ssl-secret': 'default/backend', 'proxy-ssl-verify': 'on', 'proxy-ssl-verify-depth': '3', 'proxy-ssl-name': 'API.internal.example', 'proxy-ssl-server-name': 'on', 'proxy-ssl-protocols': 'TLSv1.3  TLSv1.2 TLSv1.3', 'proxy-ssl-ciphers': 'HIGH:!aNULL:!MD5' }),
      both,
    ]);
    assert.deepEqual(others(model), []);
    assert.deepEqual(sslOf(model), {
      verify: true, depth: 3, name: 'api.internal.example', serverName: true, protocols: ['TLSv1.2', 'TLSv1.3'], ciphers: 'HIGH:!aNULL:!MD5', refused: false,
      secret: { kind: 'Secret', namespace: 'default', name: 'backend' }, clientCertificate: { cert: CERT, key: KEY }, ca: CERT,
    });
  });

  it('GRPCS too; without a Secret the other settings apply alone; no annotation sets nothing', () => {
    assert.deepEqual(sslOf(build([https({ 'proxy-ssl-server-name': 'on', 'proxy-ssl-name': 'grpc.example' }, 'GRPCS')])), { verify: false, depth: 1, name: 'grpc.example', serverName: true, refused: false });
    assert.equal(sslOf(build([https({})])), undefined);
  });

  it('a CA-only Opaque Secret verifies; a client-certificate-only kubernetes.io/tls Secret presents it', () => {
    const ca = sslOf(build([https({ 'proxy-ssl-secret': 'ca', 'proxy-ssl-verify': 'on' }), caSecret('ca', CERT)]));
    assert.equal(ca?.ca, CERT);
    assert.equal(ca?.clientCertificate, undefined);
    const client = sslOf(build([https({ 'proxy-ssl-secret': 'cert' }), tlsSecret('cert', CERT, KEY)]));
    assert.deepEqual(client?.clientCertificate, { cert: CERT, key: KEY });
    assert.equal(client?.refused, false);
  });

  const refused: Record<string, { a: Record<string, string>; want: string }> = {
    'verify not on/off': { a: { 'proxy-ssl-secret': 'ca', 'proxy-ssl-verify': 'true' }, want: `${f('proxy-ssl-verify')}: Invalid value: "true": must be "on" or "off"` },
    'server-name not on/off': { a: { 'proxy-ssl-server-name': 'yes' }, want: `${f('proxy-ssl-server-name')}: Invalid value: "yes": must be "on" or "off"` },
    'verify-depth zero': { a: { 'proxy-ssl-secret': 'ca', 'proxy-ssl-verify-depth': '0' }, want: `${f('proxy-ssl-verify-depth')}: Invalid value: "0": must be a whole number of certificates between 1 and 100` },
    'secret in another namespace': { a: { 'proxy-ssl-secret': 'other/ca' }, want: `${f('proxy-ssl-secret')}: Forbidden: the Secret must be in the Ingress's namespace "default"` },
    'secret with a path': { a: { 'proxy-ssl-secret': 'default/ca/x' }, want: `${f('proxy-ssl-secret')}: Invalid value: "default/ca/x": must be a Secret name, or namespace/name` },
    'verify on without a Secret (it would proxy unverified)': {
      a: { 'proxy-ssl-verify': 'on' },
      want: `${f('proxy-ssl-secret')}: Required value: proxy-ssl-verify is "on": set proxy-ssl-secret to the Secret holding ca.crt (without it the backend's certificate could not be verified)`,
    },
    'name injection': { a: { 'proxy-ssl-name': 'a.com; proxy_ssl_verify off' }, want: `${f('proxy-ssl-name')}: Invalid value: "a.com; proxy_ssl_verify off": must be a lowercase RFC 1123 subdomain: labels of a-z, 0-9 and '-', starting and ending with a letter or digit, joined by '.'` },
    'name with a variable': { a: { 'proxy-ssl-name': '$host' }, want: `${f('proxy-ssl-name')}: Invalid value: "$host": must be a lowercase RFC 1123 subdomain: labels of a-z, 0-9 and '-', starting and ending with a letter or digit, joined by '.'` },
    'name a wildcard': { a: { 'proxy-ssl-name': '*.example.com' }, want: `${f('proxy-ssl-name')}: Invalid value: "*.example.com": must be a host name such as backend.example.com (no wildcard: it is the name the certificate is checked for)` },
    'protocols SSLv3': { a: { 'proxy-ssl-protocols': 'TLSv1.2 SSLv3' }, want: `${f('proxy-ssl-protocols')}: Invalid value: "TLSv1.2 SSLv3": item "SSLv3" must be one of TLSv1, TLSv1.1, TLSv1.2, TLSv1.3 (separated by spaces; SSLv2 and SSLv3 are not supported)` },
    'protocols injection': { a: { 'proxy-ssl-protocols': 'TLSv1.2;' }, want: `${f('proxy-ssl-protocols')}: Invalid value: "TLSv1.2;": item "TLSv1.2;" must be one of TLSv1, TLSv1.1, TLSv1.2, TLSv1.3 (separated by spaces; SSLv2 and SSLv3 are not supported)` },
    'ciphers injection': {
      a: { 'proxy-ssl-ciphers': 'HIGH; } location / { return 200' },
      want: `${f('proxy-ssl-ciphers')}: Invalid value: "HIGH; } location / { return 200": item "HIGH; } location / { return 200" must be an OpenSSL cipher name or alias (A-Z a-z 0-9 . _ -, joined by "+", optionally after ! - or +), @STRENGTH or @SECLEVEL=n, items separated by ":"`,
    },
    'ciphers quoted': { a: { 'proxy-ssl-ciphers': '"HIGH"' }, want: `${f('proxy-ssl-ciphers')}: Invalid value: "\\"HIGH\\"": item "\\"HIGH\\"" must be an OpenSSL cipher name or alias (A-Z a-z 0-9 . _ -, joined by "+", optionally after ! - or +), @STRENGTH or @SECLEVEL=n, items separated by ":"` },
    'ciphers selecting nothing (nginx -t would fail)': { a: { 'proxy-ssl-ciphers': 'HIGH:!HIGH' }, want: `${f('proxy-ssl-ciphers')}: Invalid value: "HIGH:!HIGH": selects no cipher OpenSSL knows (e.g. "HIGH:!aNULL:!MD5" or "ECDHE-RSA-AES128-GCM-SHA256")` },
    'ciphers a TLSv1.3 suite': { a: { 'proxy-ssl-ciphers': 'TLS_AES_128_GCM_SHA256' }, want: `${f('proxy-ssl-ciphers')}: Invalid value: "TLS_AES_128_GCM_SHA256": item "TLS_AES_128_GCM_SHA256" is a TLSv1.3 suite, which OpenSSL chooses itself: list TLSv1.2 ciphers or aliases such as HIGH` },
  };
  for (const [name, c] of Object.entries(refused)) {
    it(`refused: ${name}`, () => {
      const model = build([https(c.a), caSecret('ca', CERT)]);
      assert.deepEqual(messages(model.problems.filter((p) => p.severity === 'error')), [c.want]);
      assert.deepEqual(model.servers, []);
    });
  }

  const warned: Record<string, { objects: unknown[]; want: string }> = {
    'a missing Secret': { objects: [https({ 'proxy-ssl-secret': 'nope' })], want: `${f('proxy-ssl-secret')}: Invalid value: "nope": Secret does not exist (create it before the Ingress); the locations of this Ingress answer 502 until it is fixed` },
    'verify on, the Secret has no ca.crt': {
      objects: [https({ 'proxy-ssl-secret': 'cert', 'proxy-ssl-verify': 'on' }), tlsSecret('cert', CERT, KEY)],
      want: `${f('proxy-ssl-secret')}: Invalid value: "cert": Secret has no "ca.crt" to verify the backend's certificate with (proxy-ssl-verify is "on"); the locations of this Ingress answer 502 until it is fixed`,
    },
    'a ca.crt that is not PEM': { objects: [https({ 'proxy-ssl-secret': 'ca' }), caSecret('ca', 'not a certificate')], want: `${f('proxy-ssl-secret')}: Invalid value: "ca": Secret "ca.crt" is not a bundle of PEM certificates; the locations of this Ingress answer 502 until it is fixed` },
    'tls.crt without tls.key': { objects: [https({ 'proxy-ssl-secret': 'half' }), caSecret('half', CERT, { extra: { 'tls.crt': CERT } })], want: `${f('proxy-ssl-secret')}: Invalid value: "half": Secret has tls.crt but no tls.key; the locations of this Ingress answer 502 until it is fixed` },
    'another Secret type': { objects: [https({ 'proxy-ssl-secret': 'ca' }), caSecret('ca', CERT, { type: 'kubernetes.io/basic-auth' })], want: `${f('proxy-ssl-secret')}: Invalid value: "ca": Secret has type "kubernetes.io/basic-auth", not Opaque or kubernetes.io/tls; the locations of this Ingress answer 502 until it is fixed` },
    'a Secret with none of the keys': { objects: [https({ 'proxy-ssl-secret': 'users' }), authSecret('users', HTPASSWD)], want: `${f('proxy-ssl-secret')}: Invalid value: "users": Secret has none of tls.crt with tls.key (a client certificate) and ca.crt (CA certificates); the locations of this Ingress answer 502 until it is fixed` },
  };
  for (const [name, c] of Object.entries(warned)) {
    it(`refused with a warning, its locations answer 502: ${name}`, () => {
      const model = build(c.objects);
      assert.deepEqual(others(model), [c.want]);
      const ssl = sslOf(model);
      assert.equal(ssl?.refused, true);
      assert.equal(ssl?.ca, undefined);
    });
  }

  it('ignored with a warning on HTTP backends and on canaries; verify-depth without verify', () => {
    assert.deepEqual(others(build([https({ 'proxy-ssl-secret': 'ca' }, 'HTTP'), caSecret('ca', CERT)])), [`${f('proxy-ssl-secret')}: ignored: backend-protocol is HTTP, not HTTPS or GRPCS (no TLS to the backend)`]);
    const depth = build([https({ 'proxy-ssl-secret': 'ca', 'proxy-ssl-verify-depth': '2' }), caSecret('ca', CERT)]);
    assert.deepEqual(others(depth), [`${f('proxy-ssl-verify-depth')}: ignored: proxy-ssl-verify is not "on"`]);
    const canary = ingress('c', [rule('example.com', path('/'))], { annotations: { [`${AN}canary`]: 'true', [`${AN}backend-protocol`]: 'HTTPS', [`${AN}proxy-ssl-name`]: 'x.example' }, created: '2024-01-02T00:00:00Z' });
    assert.ok(others(build([https({}), canary])).includes(`${f('proxy-ssl-name')}: ignored: canary Ingresses add backends to the paths of other Ingresses, whose proxy-ssl-* settings apply`));
  });

  it('RoutingIndex: the Secret appearing re-renders the host (502 until then)', () => {
    const parsed = (raw: unknown) => {
      const r = parseObject(raw);
      if (!r.ok) throw new Error(r.problems.map((p) => p.message).join('; '));
      return r.value;
    };
    const index = new RoutingIndex(defaultControllerSettings);
    index.upsert(parsed(https({ 'proxy-ssl-secret': 'ca', 'proxy-ssl-verify': 'on' })));
    assert.equal(index.server('example.com')?.locations[0]?.settings.proxySsl?.refused, true);
    assert.deepEqual(index.upsert(parsed(caSecret('ca', CERT))).hosts, ['example.com']);
    assert.equal(index.server('example.com')?.locations[0]?.settings.proxySsl?.ca, CERT);
  });
});
