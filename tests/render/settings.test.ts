// The ConfigMap's http-level and HSTS keys in a real NGINX, as a client sees them: the TLS versions
// and ciphers a handshake may use, the HSTS header, the Server header, gzip and brotli encoding,
// keepalive, header buffers and the proxy buffer. ConfigMap → RoutingIndex → render → NGINX.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { startNginx, type TestNginx } from '../support/nginx.ts';
import { startBackend, type Backend } from '../support/backend.ts';
import { request, type Reply } from '../support/http.ts';
import { defaultControllerSettings, RoutingIndex, stateFromObjects } from '../../src/model/index.ts';
import { renderModel } from '../../src/render/index.ts';
import { findNginx } from '../../src/agent/nginx-install.ts';
import { ingressObject, loadFragments, selfSigned, serviceObject, tlsSecretObject } from './helpers.ts';

let nginx: TestNginx;
let app: Backend;
const cert = selfSigned('tuned.test');

before(async () => {
  assert.ok(findNginx().brotli, 'the brotli module is installed (scripts/setup.sh installs libnginx-mod-http-brotli-filter)');
  // Answers with a 2 KiB response header under /big-header, else JSON of about 1 KiB.
  app = await startBackend('app', (req, res) => {
    req.resume();
    if (req.url === '/big-header') res.setHeader('x-big', 'b'.repeat(2048));
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ filler: 'x'.repeat(1000) }));
  });
  nginx = await startNginx();
  const { state, problems } = stateFromObjects([
    ingressObject({ name: 'tuned', rules: [{ host: 'tuned.test', paths: [{ pathType: 'Prefix', path: '/', service: 'app' }] }], tls: [{ hosts: ['tuned.test'], secretName: 'tuned-tls' }] }),
    serviceObject('app'),
    tlsSecretObject('tuned-tls', cert),
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'wharf', namespace: 'default' },
      data: {
        'ssl-protocols': 'TLSv1.2',
        'ssl-ciphers': 'ECDHE-ECDSA-AES256-GCM-SHA384',
        'hsts-max-age': '300',
        'hsts-include-subdomains': 'false',
        'hsts-preload': 'true',
        'server-tokens': 'true',
        'use-gzip': 'true',
        'gzip-level': '6',
        'gzip-types': 'application/json',
        'enable-brotli': 'true',
        'keep-alive': '0',
        'large-client-header-buffers': '2 1k',
        'proxy-buffer-size': '1k',
        'ssl-redirect': 'false',
      },
    },
  ]);
  assert.deepEqual(problems, []);
  const model = new RoutingIndex(defaultControllerSettings, state).model();
  assert.deepEqual(model.problems, []);
  const { fragments, failures, certificates } = renderModel(model);
  assert.deepEqual(failures, []);
  await loadFragments(nginx, fragments, certificates);
  for (const u of model.upstreams) await nginx.setEndpoints(u.upstream, [app.address]);
});

after(async () => {
  await nginx?.stop();
  await app?.close();
});

const get = (path = '/', headers: Record<string, string> = {}): Promise<Reply> => request({ port: nginx.httpPort, host: 'tuned.test', path, headers });

/** A TLS handshake with these client limits: the protocol and cipher it agreed, or the error. */
function handshake(o: Pick<tls.ConnectionOptions, 'minVersion' | 'maxVersion' | 'ciphers'>): Promise<{ protocol: string | null; cipher: string } | { error: string }> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port: nginx.httpsPort, servername: 'tuned.test', rejectUnauthorized: false, ...o }, () => {
      resolve({ protocol: s.getProtocol(), cipher: s.getCipher().name });
      s.end();
    });
    s.on('error', (e) => resolve({ error: e.message }));
  });
}

test('ssl-protocols: a client that only speaks TLSv1.3 is refused in the handshake; TLSv1.2 is served', async () => {
  const refused = await handshake({ minVersion: 'TLSv1.3' });
  assert.ok('error' in refused, `TLSv1.3 should be refused, got ${JSON.stringify(refused)}`);
  assert.deepEqual(await handshake({ maxVersion: 'TLSv1.2' }), { protocol: 'TLSv1.2', cipher: 'ECDHE-ECDSA-AES256-GCM-SHA384' });
});

test('ssl-ciphers: a client offering only another cipher is refused', async () => {
  const r = await handshake({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
  assert.ok('error' in r, `expected a refused handshake, got ${JSON.stringify(r)}`);
});

test('hsts-max-age, hsts-include-subdomains, hsts-preload: the header of HTTPS answers', async () => {
  const r = await request({ port: nginx.httpsPort, host: 'tuned.test', path: '/', tls: true });
  assert.equal(r.status, 200);
  assert.equal(r.headers['strict-transport-security'], 'max-age=300; preload');
});

test('server-tokens: the Server header names NGINX\'s version', async () => {
  assert.match(String((await get('/')).headers.server), /^nginx\/\d+\.\d+\.\d+$/);
});

test('use-gzip and enable-brotli: responses of gzip-types are compressed for clients that accept it', async () => {
  const gz = await get('/', { 'Accept-Encoding': 'gzip' });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.match(String(gz.headers.vary), /Accept-Encoding/);
  const br = await get('/', { 'Accept-Encoding': 'br' });
  assert.equal(br.headers['content-encoding'], 'br');
  assert.equal((await get('/')).headers['content-encoding'], undefined, 'not for a client that accepts neither');
});

test('keep-alive 0: NGINX closes the connection after each answer', async () => {
  assert.equal((await get('/')).headers.connection, 'close');
});

test('large-client-header-buffers: a header longer than one buffer gets 400', async () => {
  assert.equal((await get('/', { 'X-Long': 'l'.repeat(1500) })).status, 400);
  assert.equal((await get('/', { 'X-Short': 's'.repeat(500) })).status, 200);
});

test('proxy-buffer-size: a backend header larger than the buffer gets 502', async () => {
  assert.equal((await get('/big-header')).status, 502);
});
