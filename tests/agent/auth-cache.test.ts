// External auth as ingress-nginx's users tune it, through the agent and a real NGINX: auth-method
// (the auth request's method), auth-cache-key/-duration (answers kept per key, so the auth service is
// asked once per client and duration), and the ConfigMap's global-auth-url (every Ingress location
// without its own auth-url, unless the Ingress says enable-global-auth: "false"; never ACME challenges).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startBackend, type Backend } from '../support/backend.ts';
import { request } from '../support/http.ts';
import { ingressObject, renderObjects, serviceObject } from '../render/helpers.ts';
import { startTestAgent, backendOf, type TestAgent } from './harness.ts';

/** An auth service that allows requests with `x-pass: yes` (or the Authorization `Bearer good`). */
function authService(name: string): Promise<Backend> {
  return startBackend(name, (req, res) => {
    const ok = req.headers['x-pass'] === 'yes' || req.headers.authorization === 'Bearer good';
    res.writeHead(ok ? 200 : 401, ok ? { 'x-user': 'alice' } : {}).end();
  });
}

async function apply(agent: TestAgent, objects: object[], endpoints: Record<string, string>): Promise<void> {
  const { fragments } = renderObjects(objects);
  const put = await agent.api('POST', '/v1/batch?wait=1', {
    fragments: fragments.map((f) => ({ ...f, revision: 1 })),
    endpoints: Object.entries(endpoints).map(([upstream, address]) => ({ upstream, revision: 1, endpoints: [address] })),
  });
  assert.ok(put.json.fragments.every((f: { status: string }) => f.status === 'applied'), put.text);
}

test('auth-method and auth-cache-key: the auth service gets GET, and is asked once per key until the duration ends', async (t) => {
  const app = await startBackend('app');
  const auth = await authService('auth');
  t.after(() => Promise.all([app.close(), auth.close()]));
  const agent = await startTestAgent();
  t.after(() => agent.stop());
  await apply(agent, [
    ingressObject({
      name: 'cached',
      rules: [{ host: 'cached.example.com', paths: [{ pathType: 'Prefix', path: '/', service: 'app' }] }],
      annotations: {
        'auth-url': `http://127.0.0.1:${auth.port}/check`,
        'auth-method': 'GET',
        'auth-cache-key': '$http_authorization',
        'auth-cache-duration': '200 202 1m, 401 1s',
      },
    }),
    serviceObject('app'),
  ], { 'default-app-80': app.address });
  const get = (headers: Record<string, string>, method = 'GET') => request({ port: agent.httpPort, host: 'cached.example.com', path: '/x', method, headers, ...(method === 'POST' ? { body: 'data' } : {}) });

  for (let i = 0; i < 3; i++) {
    const r = await get({ authorization: 'Bearer good' });
    assert.equal(r.status, 200, r.body.slice(0, 200));
    assert.equal(backendOf(r), 'app');
  }
  assert.equal(auth.requests.length, 1, 'three requests with one key: the auth service was asked once');
  assert.equal(auth.requests[0]!.method, 'GET');

  assert.equal((await get({ authorization: 'Bearer other' })).status, 401, 'another key is asked for itself');
  assert.equal(auth.requests.length, 2);
  // A refused key is kept 1 s ("401 1s"), then asked again.
  assert.equal((await get({ authorization: 'Bearer other' })).status, 401);
  assert.equal(auth.requests.length, 2, 'the 401 came from the cache');
  await new Promise((r) => setTimeout(r, 2100));
  assert.equal((await get({ authorization: 'Bearer other' })).status, 401);
  assert.equal(auth.requests.length, 3, 'after 1 s the auth service was asked again');

  // A POST to the location: the auth request is still a GET (auth-method); NGINX caches GET and HEAD
  // requests only, so it is asked.
  const post = await get({ authorization: 'Bearer good' }, 'POST');
  assert.equal(post.status, 200);
  assert.equal(auth.requests.at(-1)!.method, 'GET');
  // The cache lives in a directory of its own in the prefix, which NGINX created.
  assert.ok(readdirSync(join(agent.prefix, 'run')).includes('auth-cache-cached.example.com'));
});

test('global-auth-url: every Ingress without its own auth-url, unless enable-global-auth is "false"; never ACME challenges', async (t) => {
  const app = await startBackend('app');
  const global = await authService('global');
  const own = await startBackend('own', (req, res) => res.writeHead(req.headers['x-own'] === 'yes' ? 200 : 403).end());
  t.after(() => Promise.all([app.close(), global.close(), own.close()]));
  const agent = await startTestAgent();
  t.after(() => agent.stop());
  const paths = [{ pathType: 'Prefix' as const, path: '/', service: 'app' }];
  await apply(agent, [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'wharf', namespace: 'wharf' }, data: { 'global-auth-url': `http://127.0.0.1:${global.port}/global`, 'global-auth-response-headers': 'X-User', 'global-auth-method': 'GET' } },
    ingressObject({ name: 'plain', rules: [{ host: 'plain.example.com', paths: [...paths, { pathType: 'Prefix', path: '/.well-known/acme-challenge', service: 'app' }] }] }),
    ingressObject({ name: 'optout', rules: [{ host: 'optout.example.com', paths }], annotations: { 'enable-global-auth': 'false' } }),
    ingressObject({ name: 'own', rules: [{ host: 'own.example.com', paths }], annotations: { 'auth-url': `http://127.0.0.1:${own.port}/own` } }),
    serviceObject('app'),
  ], { 'default-app-80': app.address });
  const get = (host: string, path = '/x', headers: Record<string, string> = {}) => request({ port: agent.httpPort, host, path, method: 'POST', body: 'b', headers });

  assert.equal((await get('plain.example.com')).status, 401, 'the global auth service refused');
  const allowed = await get('plain.example.com', '/x', { 'x-pass': 'yes' });
  assert.equal(allowed.status, 200);
  assert.equal(JSON.parse(allowed.body).headers['x-user'], 'alice', 'global-auth-response-headers reach the backend');
  assert.equal(global.requests.at(-1)!.method, 'GET', 'global-auth-method');
  assert.equal(global.requests.at(-1)!.url, '/global');

  const before = global.requests.length;
  const acme = await get('plain.example.com', '/.well-known/acme-challenge/token');
  assert.equal(acme.status, 200, 'HTTP-01 challenges are never behind global auth');
  assert.equal((await get('optout.example.com')).status, 200, 'enable-global-auth: "false"');
  assert.equal((await get('own.example.com')).status, 403, 'its own auth-url answered');
  assert.equal((await get('own.example.com', '/x', { 'x-own': 'yes' })).status, 200);
  assert.equal(global.requests.length, before, 'the global auth service was not asked for these');
});
