// ExternalName Services as backends, through the agent and a real NGINX: the location proxies to the
// Service's externalName, which NGINX resolves at request time through the skeleton's resolver and
// resolves again once the answer is older than --resolver-valid (here 1 s). There are no endpoints
// and no Lua balancer for such a backend: the name is the whole routing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startBackend } from '../support/backend.ts';
import { request } from '../support/http.ts';
import { renderObjects, serviceObject } from '../render/helpers.ts';
import { startTestDns } from './dns-server.ts';
import { startTestAgent, backendOf } from './harness.ts';

const externalService = (name: string, externalName: string, ports?: { name: string; port: number }[]) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default', uid: `uid-svc-${name}` },
  spec: { type: 'ExternalName', externalName, ...(ports ? { ports } : {}) },
});

const ingress = (paths: { path: string; service: string; port: { number: number } | { name: string } }[]) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name: 'ext', namespace: 'default', uid: 'uid-ext', creationTimestamp: '2025-01-01T00:00:00Z', annotations: {} },
  spec: {
    ingressClassName: 'wharf',
    rules: [{ host: 'ext.example.com', http: { paths: paths.map((p) => ({ path: p.path, pathType: 'Prefix', backend: { service: { name: p.service, port: p.port } } })) } }],
  },
});

test('an ExternalName backend: NGINX resolves the name, and resolves it again when the answer expires', async (t) => {
  const first = await startBackend('first');
  // The same port on another loopback address: what a DNS change moves the name to.
  const second = http.createServer((req, res) => res.end(JSON.stringify({ backend: 'second', url: req.url, headers: req.headers })));
  await new Promise<void>((r) => second.listen(first.port, '127.0.0.2', r));
  const local = await startBackend('local');
  const records: Record<string, string> = { 'api.partner.test': '127.0.0.1' };
  const dns = await startTestDns(records);
  t.after(() => Promise.all([first.close(), new Promise((r) => second.close(r)), local.close(), dns.close()]));
  const agent = await startTestAgent({ resolvers: [dns.address], resolverValidSeconds: 1 });
  t.after(() => agent.stop());

  const { fragments, model } = renderObjects([
    ingress([
      { path: '/api', service: 'partner', port: { number: first.port } },
      { path: '/named', service: 'partner-named', port: { name: 'web' } },
      { path: '/', service: 'app', port: { number: 80 } },
    ]),
    externalService('partner', 'api.partner.test'),
    externalService('partner-named', 'API.Partner.test.', [{ name: 'web', port: first.port }]),
    serviceObject('app'),
  ]);
  assert.deepEqual(model.problems.filter((p) => p.reason === 'ExternalNameService'), [], 'ExternalName is accepted');
  // The host and `_main`, whose maps its locations read (the client's address, the HTTPS redirect).
  const sent = fragments.filter((f) => f.name === 'ext.example.com' || f.name === '_main');
  const put = await agent.api('POST', '/v1/batch?wait=1', {
    fragments: sent.map((f) => ({ ...f, revision: 1 })),
    endpoints: [{ upstream: 'default-app-80', revision: 1, endpoints: [local.address] }],
  });
  assert.ok(put.json.fragments.every((f: { status: string }) => f.status === 'applied'), put.text);

  const get = (path: string) => request({ port: agent.httpPort, host: 'ext.example.com', path });
  const r1 = await get('/api/v1?q=1');
  assert.equal(r1.status, 200, r1.body.slice(0, 200));
  assert.equal(backendOf(r1), 'first');
  assert.equal(first.requests.at(-1)!.url, '/api/v1?q=1');
  assert.equal(first.requests.at(-1)!.headers.host, 'ext.example.com', 'the client\'s Host, as ingress-nginx sends it (upstream-vhost changes it)');
  assert.equal(backendOf(await get('/named')), 'first', 'a port by name: the ExternalName Service\'s port of that name');
  assert.equal(backendOf(await get('/other')), 'local', 'Services with endpoints still go through the balancer');
  assert.ok(dns.questions.includes('api.partner.test A'), JSON.stringify(dns.questions));

  records['api.partner.test'] = '127.0.0.2';
  // NGINX keeps the answer for --resolver-valid (1 s here, counted in whole seconds), then asks again.
  const asked = dns.questions.length;
  const started = Date.now();
  let moved = await get('/api/v2');
  while (backendOf(moved) !== 'second' && Date.now() - started < 5000) {
    await new Promise((r) => setTimeout(r, 200));
    moved = await get('/api/v2');
  }
  assert.equal(backendOf(moved), 'second', `after the answer expired, the new address: ${moved.body.slice(0, 200)}`);
  assert.ok(dns.questions.length > asked, 'NGINX asked the resolver again');
  assert.ok(Date.now() - started >= 500, 'not before the answer expired');
});

test('an ExternalName Service whose externalName is not a DNS name: a warning, the Ingress is admitted, nothing of it reaches NGINX', () => {
  const { model, fragments } = renderObjects([
    ingress([{ path: '/api', service: 'bad', port: { number: 443 } }]),
    externalService('bad', 'x"; return 200 "owned'),
  ]);
  const problem = model.problems.find((p) => p.reason === 'ExternalNameService');
  assert.equal(problem?.severity, 'warning');
  assert.match(problem!.message, /spec\.rules\[0\]\.http\.paths\[0\]\.backend\.service\.name: Invalid value: .*externalName must be a lowercase RFC 1123 subdomain/);
  const config = fragments.find((f) => f.name === 'ext.example.com')?.config ?? '';
  assert.doesNotMatch(config, /owned/);
});
