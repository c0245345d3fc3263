// Authentication through the agent, with fragments the handler tier's renderer makes from Ingress
// objects: basic auth reads its htpasswd file in NGINX's workers, which run as an unprivileged user
// when the agent (and so NGINX's master) runs as root, as these tests do here; external auth proxies
// to a host name, which NGINX resolves at request time through the skeleton's `resolver`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startBackend } from '../support/backend.ts';
import { request } from '../support/http.ts';
import { authSecretObject, ingressObject, renderObjects, serviceObject } from '../render/helpers.ts';
import { findPasswdEntry } from '../../src/agent/worker-user.ts';
import { startTestDns } from './dns-server.ts';
import { startTestAgent, backendOf } from './harness.ts';

// user:secret (apr1), made with `openssl passwd -apr1 -salt HeiA5Pzp secret`.
const htpasswd = 'user:$apr1$HeiA5Pzp$UgIyq34pdCCqyRLZGOHfD0\n';
const basic = (credentials: string) => ({ authorization: `Basic ${Buffer.from(credentials).toString('base64')}` });

test('basic auth through the agent: workers read the htpasswd file, no other user can', async (t) => {
  const app = await startBackend('app');
  t.after(() => app.close());
  const agent = await startTestAgent();
  t.after(() => agent.stop());
  const { fragments } = renderObjects([
    ingressObject({
      name: 'staff',
      rules: [{ host: 'staff.example.com', paths: [{ pathType: 'Prefix', path: '/', service: 'app' }] }],
      annotations: { 'auth-type': 'basic', 'auth-secret': 'htpasswd', 'auth-realm': 'Staff only' },
    }),
    serviceObject('app'),
    authSecretObject('htpasswd', htpasswd),
  ]);
  const host = fragments.find((f) => f.name === 'staff.example.com')!;
  // With `_main`, as the handler tier sends it: hosts use its variables (the client's address).
  const main = fragments.find((f) => f.name === '_main')!;
  const put = await agent.api('POST', '/v1/batch?wait=1', {
    fragments: [{ ...host, revision: 1 }, { ...main, revision: 1 }],
    endpoints: [{ upstream: 'default-app-80', revision: 1, endpoints: [app.address] }],
  });
  assert.deepEqual(put.json.fragments.map((f: { status: string }) => f.status), ['applied', 'applied'], put.text);

  const get = (headers: Record<string, string> = {}) => request({ port: agent.httpPort, host: 'staff.example.com', path: '/', headers });
  assert.equal((await get()).status, 401, 'no credentials');
  assert.equal((await get(basic('user:wrong'))).status, 401, 'a wrong password');
  const ok = await get(basic('user:secret'));
  assert.equal(ok.status, 200, `the right password: ${ok.status} ${ok.body.slice(0, 200)}`);
  assert.equal(backendOf(ok), 'app');

  // The file NGINX's workers read: mode 0600, owned by the user they run as.
  const dir = join(agent.prefix, 'files', 'staff.example.com');
  const file = readdirSync(dir).find((f) => f.startsWith('auth-'))!;
  const st = statSync(join(dir, file));
  assert.equal(st.mode & 0o777, 0o600);
  const conf = readFileSync(join(agent.prefix, 'nginx.conf'), 'utf8');
  if (process.getuid!() === 0) {
    const nobody = findPasswdEntry(readFileSync('/etc/passwd', 'utf8'), 'nobody')!;
    assert.equal(st.uid, nobody.uid, 'as root, the workers\' user owns the secret files');
    assert.match(conf, /^user nobody \S+;$/m, 'as root, nginx.conf names the workers\' user');
  } else {
    assert.equal(st.uid, process.getuid!(), 'not root: the workers run as the agent\'s user, which owns the file');
    assert.doesNotMatch(conf, /^user /m);
  }
});

test('external auth to a host name: NGINX resolves it through the skeleton\'s resolver', async (t) => {
  const app = await startBackend('app');
  const auth = await startBackend('auth', (req, res) => {
    res.writeHead(req.headers['x-pass'] === 'yes' ? 200 : 401).end();
  });
  const dns = await startTestDns({ 'auth.wharf.test': '127.0.0.1' });
  t.after(() => Promise.all([app.close(), auth.close(), dns.close()]));
  const agent = await startTestAgent({ resolvers: [dns.address] });
  t.after(() => agent.stop());
  assert.match(readFileSync(join(agent.prefix, 'nginx.conf'), 'utf8'), new RegExp(`^    resolver ${dns.address} valid=30s;$`, 'm'));

  const { fragments } = renderObjects([
    ingressObject({
      name: 'guarded',
      rules: [{ host: 'guarded.example.com', paths: [{ pathType: 'Prefix', path: '/', service: 'app' }] }],
      annotations: { 'auth-url': `http://auth.wharf.test:${auth.port}/check` },
    }),
    serviceObject('app'),
  ]);
  const host = fragments.find((f) => f.name === 'guarded.example.com')!;
  // With `_main`, as the handler tier sends it: hosts use its variables (the client's address).
  const main = fragments.find((f) => f.name === '_main')!;
  const put = await agent.api('POST', '/v1/batch?wait=1', {
    fragments: [{ ...host, revision: 1 }, { ...main, revision: 1 }],
    endpoints: [{ upstream: 'default-app-80', revision: 1, endpoints: [app.address] }],
  });
  assert.deepEqual(put.json.fragments.map((f: { status: string }) => f.status), ['applied', 'applied'], put.text);

  const get = (headers: Record<string, string> = {}) => request({ port: agent.httpPort, host: 'guarded.example.com', path: '/x', headers });
  const allowed = await get({ 'x-pass': 'yes' });
  assert.equal(allowed.status, 200, `allowed by the auth service: ${allowed.status} ${allowed.body.slice(0, 200)}`);
  assert.equal(backendOf(allowed), 'app');
  assert.equal((await get()).status, 401, 'refused by the auth service');
  assert.ok(dns.questions.includes('auth.wharf.test A'), `NGINX asked the resolver: ${JSON.stringify(dns.questions)}`);
  assert.ok(auth.requests.every((r) => r.url === '/check'));
});
