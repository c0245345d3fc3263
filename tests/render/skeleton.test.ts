// The agent's skeleton in a real NGINX: the contract every fragment relies on (listen includes,
// $wharf_upstream + the Lua balancer, 503 without endpoints, retries, version socket).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startNginx, type TestNginx } from '../support/nginx.ts';
import { startBackend, type Backend, freePort } from '../support/backend.ts';
import { request } from '../support/http.ts';
import { FRAGMENT_INCLUDES, renderSkeleton, renderVersion } from '../../src/render/skeleton.ts';
import { UnsafeValueError } from '../../src/render/filters.ts';

const appFragment = `server {
    server_name app.example.com;
    include listen-http.conf;
    location / {
        set $wharf_upstream "default-app-80";
        proxy_http_version 1.1;
        proxy_set_header Connection $wharf_connection_upgrade;
        include proxy-pass-http.conf;
    }
}
`;

let nginx: TestNginx;
let a: Backend;
let b: Backend;
before(async () => {
  [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
  nginx = await startNginx({ fragments: { 'host-app.example.com': appFragment } });
});
after(async () => {
  await nginx?.stop();
  await Promise.all([a?.close(), b?.close()]);
});

const get = (host: string, path = '/') => request({ port: nginx.httpPort, host, path });

test('a host no server claims gets 404 from the default server', async () => {
  const r = await get('unknown.example.com');
  assert.equal(r.status, 404);
});

test('an upstream without endpoints answers 503 without trying a connection', async () => {
  const r = await get('app.example.com');
  assert.equal(r.status, 503);
  assert.match(r.body, /no ready endpoints/);
});

test('endpoints written to the shared dict route at once, and survive a reload', async () => {
  await nginx.setEndpoints('default-app-80', [a.address]);
  assert.equal(JSON.parse((await get('app.example.com', '/x')).body).backend, 'a');
  await nginx.load({ 'host-app.example.com': appFragment });
  assert.equal(JSON.parse((await get('app.example.com', '/y')).body).backend, 'a');
});

test('round robin spreads requests over every endpoint', async () => {
  await nginx.setEndpoints('default-app-80', [a.address, b.address]);
  const seen = new Set<string>();
  for (let i = 0; i < 10; i++) seen.add(JSON.parse((await get('app.example.com')).body).backend);
  assert.deepEqual([...seen].sort(), ['a', 'b']);
});

test('a refused connection is retried on another endpoint, so a dead pod is not seen', async () => {
  const dead = `127.0.0.1:${await freePort()}`;
  await nginx.setEndpoints('default-app-80', [dead, a.address, dead.replace(/\d+$/, String(await freePort()))]);
  for (let i = 0; i < 9; i++) {
    const r = await get('app.example.com');
    assert.equal(r.status, 200, `request ${i}: ${r.body}`);
  }
});

test('the endpoint socket refuses endpoints that are not ip:port', async () => {
  await assert.rejects(nginx.setEndpoints('default-app-80', ['a.example.com:80']), /400 endpoints\[0\]: Invalid value: "a\.example\.com:80": expected IPv4:port or \[IPv6\]:port/);
  await assert.rejects(nginx.setEndpoints('default-app-80', ['127.0.0.1:80;drop']), /400/);
});

test('skeleton settings that are not safe to write are refused', () => {
  const base = {
    runDir: '/tmp/run', privateDir: '/tmp/private', lua: null, user: null, errorLogLevel: 'warn' as const,
    accessLog: false, workerProcesses: 1, workerConnections: 512, workerShutdownTimeoutSeconds: 10,
    httpListen: ['80'], httpsListen: ['443'],
  };
  assert.throws(() => renderSkeleton({ ...base, runDir: '/tmp/run; load_module /x.so' }), UnsafeValueError);
  assert.throws(() => renderSkeleton({ ...base, httpListen: ['80 ssl; include /etc/passwd'] }), /listen address/);
  assert.throws(() => renderVersion(-1), /config version/);
  assert.throws(() => renderSkeleton({ ...base, headersMoreModule: '/x.so;\ninclude /etc/passwd' }), UnsafeValueError);
});

test('the headers-more module is loaded when installed (snippets\' more_* directives), and not otherwise', () => {
  const base = {
    runDir: '/tmp/run', privateDir: '/tmp/private', lua: null, user: null, errorLogLevel: 'warn' as const,
    accessLog: false, workerProcesses: 1, workerConnections: 512, workerShutdownTimeoutSeconds: 10,
    httpListen: ['80'], httpsListen: ['443'],
  };
  const module = '/usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so';
  assert.match(renderSkeleton({ ...base, headersMoreModule: module })['nginx.conf'], new RegExp(`^load_module ${module.replace(/\./g, '\\.')};$`, 'm'));
  assert.doesNotMatch(renderSkeleton({ ...base, headersMoreModule: null })['nginx.conf'], /headers_more/);
});

test('the files a fragment may include are the skeleton\'s; proxy_pass names the balancer with Lua, $wharf_backend without', () => {
  const base = {
    runDir: '/tmp/run', privateDir: '/tmp/private', user: null, errorLogLevel: 'warn' as const,
    accessLog: false, workerProcesses: 1, workerConnections: 512, workerShutdownTimeoutSeconds: 10,
    httpListen: ['80'], httpsListen: ['443'],
  };
  const lua = renderSkeleton({ ...base, lua: { ndkModule: '/m/ndk.so', luaModule: '/m/lua.so', packagePath: '/x/?.lua;;', endpointsDictMb: 8, certificatesDictMb: 8 } });
  const plain = renderSkeleton({ ...base, lua: null });
  assert.deepEqual(Object.keys(lua).filter((k) => k !== 'nginx.conf' && k !== 'stream-passthrough.conf').sort(), [...FRAGMENT_INCLUDES].sort());
  assert.equal(lua['proxy-pass-http.conf'], 'proxy_pass http://wharf_balancer;\n');
  assert.equal(lua['proxy-pass-https-isolated.conf'], 'proxy_pass https://wharf_balancer_isolated;\n');
  assert.equal(lua['grpcs-pass.conf'], 'grpc_pass grpcs://wharf_balancer;\n');
  assert.equal(plain['proxy-pass-http.conf'], 'proxy_pass http://$wharf_backend;\n');
  assert.equal(plain['grpcs-pass-isolated.conf'], 'grpc_pass grpcs://$wharf_backend;\n');
});

test('each listen port maps to the port clients reach it on (X-Forwarded-Port), and PROXY protocol has its own default listen file', () => {
  const base = {
    runDir: '/tmp/run', privateDir: '/tmp/private', lua: null, user: null, errorLogLevel: 'warn' as const,
    accessLog: false, workerProcesses: 1, workerConnections: 512, workerShutdownTimeoutSeconds: 10,
    httpListen: ['0.0.0.0:8080', '[::]:8080'], httpsListen: ['0.0.0.0:8443', '[::]:8443'],
  };
  const map = (conf: string) => /map \$server_port \$wharf_public_port \{([^}]*)\}/.exec(conf)![1]!.trim().split('\n').map((l) => l.trim());
  // Behind a Service: 8080 → 80, 8443 → 443 (the defaults), anything else as it is.
  assert.deepEqual(map(renderSkeleton(base)['nginx.conf']), ['default $server_port;', '8080 80;', '8443 443;']);
  // Reached directly (local mode): NGINX's own ports are the public ones.
  assert.deepEqual(map(renderSkeleton({ ...base, publicHttpPort: 8080, publicHttpsPort: 8443 })['nginx.conf']), ['default $server_port;']);
  const files = renderSkeleton(base);
  assert.equal(files['listen-default-proxy-protocol.conf'], [
    'listen 0.0.0.0:8080 proxy_protocol default_server;', 'listen [::]:8080 proxy_protocol default_server;',
    'listen 0.0.0.0:8443 ssl http2 proxy_protocol default_server;', 'listen [::]:8443 ssl http2 proxy_protocol default_server;', '',
  ].join('\n'));
  // The default server, not the listen file, says whether TLS clients get a certificate.
  assert.doesNotMatch(files['listen-default.conf'], /ssl_reject_handshake/);
});

test('without the Lua module, endpoints come as static upstreams and an empty one answers 503', async (t) => {
  const plain = await startNginx({ lua: false, fragments: { 'host-app.example.com': appFragment } });
  t.after(() => plain.stop());
  const get2 = (path = '/') => request({ port: plain.httpPort, host: 'app.example.com', path });
  await plain.load({ 'host-app.example.com': appFragment }, { 'upstreams.conf': 'map $wharf_upstream $wharf_backend { default wharf_no_endpoints; }\n' });
  assert.equal((await get2()).status, 503);
  await plain.load(
    { 'host-app.example.com': appFragment },
    {
      'upstreams.conf':
        'map $wharf_upstream $wharf_backend { default wharf_no_endpoints; "default-app-80" "default-app-80"; }\n' +
        `upstream default-app-80 { server ${b.address}; }\n`,
    },
  );
  assert.equal(JSON.parse((await get2('/z')).body).backend, 'b');
});
