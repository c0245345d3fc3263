// Cookie affinity's cookie as ingress-nginx users configure it, through the agent and a real NGINX:
// session-cookie-samesite, session-cookie-secure and session-cookie-expires (written as Max-Age:
// the same lifetime, which NGINX can write without computing a date). Without session-cookie-secure
// the cookie is Secure on HTTPS only, as ingress-nginx does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend } from '../support/backend.ts';
import { request } from '../support/http.ts';
import { ingressObject, renderObjects, selfSigned, serviceObject, tlsSecretObject } from '../render/helpers.ts';
import { startTestAgent, backendOf } from './harness.ts';

test('session-cookie-samesite, -secure and -expires: the Set-Cookie the client gets', async (t) => {
  const app = await startBackend('app');
  t.after(() => app.close());
  const agent = await startTestAgent();
  t.after(() => agent.stop());
  const paths = (service: string) => [{ pathType: 'Prefix' as const, path: '/', service }];
  const { fragments, certificates } = renderObjects([
    ingressObject({ name: 'strict', rules: [{ host: 'strict.example.com', paths: paths('app') }], annotations: { affinity: 'cookie', 'session-cookie-name': 'route', 'session-cookie-samesite': 'Strict', 'session-cookie-secure': 'true', 'session-cookie-expires': '172800' } }),
    ingressObject({ name: 'both', rules: [{ host: 'both.example.com', paths: paths('app') }], annotations: { affinity: 'cookie', 'session-cookie-samesite': 'None', 'session-cookie-secure': 'true', 'session-cookie-expires': '172800', 'session-cookie-max-age': '60' } }),
    ingressObject({ name: 'tls', rules: [{ host: 'tls.example.com', paths: paths('app') }], tls: [{ hosts: ['tls.example.com'], secretName: 'tls' }], annotations: { affinity: 'cookie', 'ssl-redirect': 'false' } }),
    ingressObject({ name: 'insecure', rules: [{ host: 'insecure.example.com', paths: paths('app') }], tls: [{ hosts: ['insecure.example.com'], secretName: 'tls' }], annotations: { affinity: 'cookie', 'session-cookie-secure': 'false' } }),
    tlsSecretObject('tls', selfSigned('tls.example.com', ['insecure.example.com'])),
    serviceObject('app'),
  ]);
  const put = await agent.api('POST', '/v1/batch?wait=1', {
    fragments: fragments.map((f) => ({ ...f, revision: 1 })),
    certificates: certificates.map((c) => ({ ...c, revision: 1 })),
    endpoints: [{ upstream: 'default-app-80', revision: 1, endpoints: [app.address] }],
  });
  assert.ok(put.json.fragments.every((f: { status: string }) => f.status === 'applied'), put.text);

  const strict = await request({ port: agent.httpPort, host: 'strict.example.com', path: '/' });
  assert.equal(backendOf(strict), 'app');
  assert.match(String(strict.headers['set-cookie']?.[0]), /^route=[0-9a-f]{32}; Path=\/; Max-Age=172800; SameSite=Strict; Secure; HttpOnly$/);
  const both = await request({ port: agent.httpPort, host: 'both.example.com', path: '/' });
  assert.match(String(both.headers['set-cookie']?.[0]), /^INGRESSCOOKIE=[0-9a-f]{32}; Path=\/; Max-Age=60; SameSite=None; Secure; HttpOnly$/, 'session-cookie-max-age wins over -expires');
  const cookie = async (host: string, tls: boolean) => String((await request({ port: tls ? agent.httpsPort : agent.httpPort, host, path: '/', tls })).headers['set-cookie']?.[0]);
  assert.match(await cookie('tls.example.com', true), /^INGRESSCOOKIE=[0-9a-f]{32}; Path=\/; HttpOnly; Secure$/, 'unset: Secure over HTTPS');
  assert.match(await cookie('tls.example.com', false), /^INGRESSCOOKIE=[0-9a-f]{32}; Path=\/; HttpOnly$/, 'unset: not over HTTP');
  assert.match(await cookie('insecure.example.com', true), /^INGRESSCOOKIE=[0-9a-f]{32}; Path=\/; HttpOnly$/, '"false": never');
});
