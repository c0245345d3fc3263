// Snippet annotations in a real NGINX, as a user sees them: response headers set, cleared and hidden
// at the client, request headers at the backend, Cache-Control from expires, HSTS kept beside a
// location's add_header, server-snippet on every location of the host (the oldest Ingress's),
// auth-snippet's headers at the auth service only. Ingress objects → buildModel → render → NGINX
// (with the headers-more module the skeleton loads when it is installed).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNginx, type TestNginx } from '../support/nginx.ts';
import { startBackend, type Backend } from '../support/backend.ts';
import { request, type Reply } from '../support/http.ts';
import { findNginx } from '../../src/agent/nginx-install.ts';
import { ingressObject, loadFragments, nginxTest, renderObjects, selfSigned, tlsSecretObject, type IngressSpec } from './helpers.ts';

let nginx: TestNginx;
const backends: Record<string, Backend> = {};
const cert = selfSigned('tls.snippets.test');

const site = (name: string, annotations: Record<string, string>, extra: Partial<IngressSpec> = {}): IngressSpec => ({
  name,
  annotations,
  rules: [{ host: `${name}.snippets.test`, paths: [{ pathType: 'Prefix', path: '/', service: 'app' }] }],
  ...extra,
});

before(async () => {
  assert.ok(findNginx().headersMore, 'the headers-more module is installed (scripts/setup.sh installs libnginx-mod-http-headers-more-filter)');
  // The application answers with headers a snippet should remove or hide.
  backends.app = await startBackend('app', (req, res) => {
    req.resume();
    res.setHeader('X-Powered-By', 'Express');
    if (req.url?.startsWith('/missing')) res.statusCode = 404;
    res.setHeader('X-Internal-Secret', 's3cret');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ url: req.url, headers: req.headers }));
  });
  backends.auth = await startBackend('auth', (req, res) => {
    req.resume();
    res.statusCode = req.headers['x-auth-scope'] === 'admin' ? 200 : 401;
    res.end();
  });
  nginx = await startNginx();
  const { model, fragments, certificates } = renderObjects([
    ingressObject(
      site('conf', {
        'configuration-snippet': [
          '# what migrating teams write most',
          'more_set_headers "X-Frame-Options: DENY" "X-Served-Host: $host";',
          'more_clear_headers X-Powered-*;',
          'more_set_headers -s "404 410" -t "application/json" "X-Not-Found: yes";',
          'proxy_hide_header X-Internal-Secret;',
          'add_header X-Request-Id $request_id always;',
          'proxy_set_header X-Client-Addr $remote_addr;',
          'more_set_input_headers "X-Tenant: $arg_tenant";',
          'more_clear_input_headers Cookie;',
          'expires 1h;',
        ].join('\n'),
      }),
    ),
    ingressObject(site('tls', { 'configuration-snippet': 'add_header X-Only-Here yes;' }, { tls: [{ hosts: ['tls.snippets.test'], secretName: 'tls' }] })),
    ingressObject(site('srv', { 'server-snippet': 'add_header X-Server old;\nmore_set_headers "X-Via: wharf";' }, { created: '2025-01-01T00:00:00Z' })),
    ingressObject({ ...site('srv-new', { 'server-snippet': 'add_header X-Server new;' }, { created: '2025-02-01T00:00:00Z' }), rules: [{ host: 'srv.snippets.test', paths: [{ pathType: 'Prefix', path: '/new', service: 'app' }] }] }),
    ingressObject(site('authed', { 'auth-url': `http://127.0.0.1:${backends.auth.port}/check`, 'auth-snippet': 'proxy_set_header X-Auth-Scope admin;' })),
    tlsSecretObject('tls', cert),
  ]);
  await loadFragments(nginx, fragments, certificates);
  for (const u of model.upstreams) await nginx.setEndpoints(u.upstream, [backends[u.service]!.address]);
});

after(async () => {
  await nginx?.stop();
  await Promise.all(Object.values(backends).map((b) => b.close()));
});

const get = (name: string, path = '/', o: { headers?: Record<string, string>; tls?: boolean } = {}): Promise<Reply> =>
  request({ port: o.tls ? nginx.httpsPort : nginx.httpPort, host: `${name}.snippets.test`, path, ...(o.headers ? { headers: o.headers } : {}), ...(o.tls ? { tls: true } : {}) });
const seen = (r: Reply): { url: string; headers: Record<string, string> } => {
  assert.equal(r.status, 200, `expected 200, got ${r.status}: ${r.body}`);
  return JSON.parse(r.body);
};

test('configuration-snippet: the client gets the headers it sets, not the ones it clears or hides; expires sets Cache-Control', async () => {
  const r = await get('conf', '/x?tenant=acme');
  assert.equal(r.headers['x-frame-options'], 'DENY');
  assert.equal(r.headers['x-served-host'], 'conf.snippets.test');
  assert.equal(r.headers['x-powered-by'], undefined);
  assert.equal(r.headers['x-internal-secret'], undefined);
  assert.match(String(r.headers['x-request-id']), /^[0-9a-f]{32}$/);
  assert.equal(r.headers['cache-control'], 'max-age=3600');
  assert.ok(r.headers.expires, 'an Expires header');
  assert.equal(r.headers['x-not-found'], undefined, 'more_set_headers -s 404: not on a 200');
  const missing = await get('conf', '/missing');
  assert.equal(missing.status, 404);
  assert.equal(missing.headers['x-not-found'], 'yes', 'more_set_headers -s 404 -t application/json: on the backend\'s 404');
});

test('configuration-snippet: the backend gets the request headers it sets, and not the cleared ones', async () => {
  const { headers } = seen(await get('conf', '/x?tenant=acme', { headers: { cookie: 'session=1', 'x-tenant': 'forged' } }));
  assert.equal(headers['x-client-addr'], '127.0.0.1');
  assert.equal(headers['x-tenant'], 'acme');
  assert.equal(headers.cookie, undefined);
  assert.equal(headers.host, 'conf.snippets.test', "wharf's own headers are still sent");
});

test('a location\'s add_header keeps the server\'s HSTS header (NGINX would drop it)', async () => {
  const r = await get('tls', '/', { tls: true });
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-only-here'], 'yes');
  assert.equal(r.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
});

test('server-snippet: the oldest Ingress\'s applies to every location of the host', async () => {
  for (const path of ['/', '/new']) {
    const r = await get('srv', path);
    assert.equal(r.status, 200, path);
    assert.equal(r.headers['x-server'], 'old', path);
    assert.equal(r.headers['x-via'], 'wharf', path);
  }
});

test('auth-snippet: the auth service gets its header, the backend does not', async () => {
  const { headers } = seen(await get('authed', '/private'));
  assert.equal(backends.auth!.requests.at(-1)!.headers['x-auth-scope'], 'admin');
  assert.equal(headers['x-auth-scope'], undefined);
});

test('every form the allowlist accepts, nginx -t accepts too', () => {
  const forms = [
    'expires 1h30m;', 'expires modified 7d;', 'expires @15h30m;', 'expires @24h;', 'expires epoch;', 'expires max;', 'expires off;', 'expires -1;',
    'expires 1y2M3w4d5h6m7s;', 'expires 999999y;', 'expires 999999999;', 'expires modified -1h;',
    'add_header X-A "" always;', 'add_header "X-A!#%&\'*+.^_`|~" "v";', 'add_header X-V "$sent_http_content_type $upstream_http_x_a ${host}x";',
    'more_set_headers -s "200 404" -t "text/html application/*" "X-A: 1" "X-B:";', 'more_clear_headers -t "text/plain" X-A X-B-*;',
    'more_set_input_headers -r -t "application/json" "X-A: $arg_a";', 'more_clear_input_headers -t "text/html" X-*;',
    'proxy_set_header X-A "";', 'grpc_set_header X-A $request_id;', 'proxy_hide_header X-A;', 'proxy_pass_header Server;',
  ];
  const objects = forms.map((f, i) => ingressObject(site(`form${i}`, { 'configuration-snippet': f, 'server-snippet': f.startsWith('proxy_set_header') || f.startsWith('grpc_') ? 'add_header X-S 1;' : f })));
  const { fragments } = renderObjects(objects);
  assert.equal(fragments.filter((f) => f.name.startsWith('form')).length, forms.length);
  assert.equal(nginxTest(nginx, fragments), '');
});
