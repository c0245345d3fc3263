// The controller-wide default backend (--default-backend-service) and error pages (the ConfigMap's
// custom-http-errors) in a real NGINX: what a client and the error-page service see for requests no
// rule matches, for listed codes of any Ingress, and for Services without endpoints.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNginx, type TestNginx } from '../support/nginx.ts';
import { startBackend, type Backend } from '../support/backend.ts';
import { request, type Reply } from '../support/http.ts';
import { defaultControllerSettings, RoutingIndex, stateFromObjects } from '../../src/model/index.ts';
import { renderModel } from '../../src/render/index.ts';
import { ingressObject, loadFragments, serviceObject, type IngressSpec } from './helpers.ts';

let nginx: TestNginx;
const backends: Record<string, Backend> = {};
const settings = { ...defaultControllerSettings, defaultBackendService: 'default/errors' };

const site = (name: string, annotations: Record<string, string> = {}, path = '/', service = 'app'): IngressSpec => ({
  name,
  annotations,
  rules: [{ host: `${name}.test`, paths: [{ pathType: 'Prefix', path, service }] }],
});
const configMap = (data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'wharf', namespace: 'default' }, data });

before(async () => {
  // An application that answers 404 under /gone, 500 under /boom, and 200 otherwise.
  backends.app = await startBackend('app', (req, res) => {
    req.resume();
    res.statusCode = req.url?.startsWith('/gone') ? 404 : req.url?.startsWith('/boom') ? 500 : 200;
    res.end(`app ${res.statusCode}`);
  });
  // An error-page service as ingress-nginx's example: answers with the status in X-Code (200 without).
  backends.errors = await startBackend('errors', (req, res) => {
    req.resume();
    res.statusCode = Number(req.headers['x-code'] ?? 200);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ backend: 'errors', url: req.url, headers: req.headers }));
  });
  backends.own = await startBackend('own', (req, res) => {
    req.resume();
    res.statusCode = Number(req.headers['x-code'] ?? 200);
    res.end(`own page ${req.headers['x-code']}`);
  });
  nginx = await startNginx();
  const { state, problems } = stateFromObjects([
    ingressObject(site('plain')),
    ingressObject(site('api', {}, '/api')),
    ingressObject(site('empty', {}, '/', 'nobody')),
    ingressObject(site('listed', { 'custom-http-errors': '500' })),
    ingressObject(site('ownpages', { 'default-backend': 'own' })),
    serviceObject('app'),
    serviceObject('errors'),
    serviceObject('nobody'),
    serviceObject('own'),
    configMap({ 'custom-http-errors': '404, 503' }),
  ]);
  assert.deepEqual(problems, []);
  const index = new RoutingIndex(settings, state);
  const model = index.model();
  assert.deepEqual(model.problems.filter((p) => p.severity === 'error'), []);
  const { fragments, failures, certificates } = renderModel(model);
  assert.deepEqual(failures, []);
  await loadFragments(nginx, fragments, certificates);
  for (const u of model.upstreams) await nginx.setEndpoints(u.upstream, u.service === 'nobody' ? [] : [backends[u.service]!.address]);
});

after(async () => {
  await nginx?.stop();
  await Promise.all(Object.values(backends).map((b) => b.close()));
});

const get = (host: string, path = '/', headers: Record<string, string> = {}): Promise<Reply> => request({ port: nginx.httpPort, host, path, headers });
const page = (r: Reply): { backend: string; url: string; headers: Record<string, string> } => JSON.parse(r.body);

test('a host no Ingress names is answered by the default backend, with the request as it came and X-Code 404', async () => {
  const r = await get('unknown.test', '/some/where?q=1', { Accept: 'text/html', 'X-Request-ID': 'abc' });
  assert.equal(r.status, 404, 'the error-page service answers with X-Code');
  const p = page(r);
  assert.equal(p.backend, 'errors');
  assert.equal(p.url, '/some/where?q=1');
  assert.equal(p.headers['x-code'], '404');
  assert.equal(p.headers['x-original-uri'], '/some/where?q=1');
  assert.equal(p.headers['x-format'], 'text/html');
  assert.equal(p.headers['x-request-id'], 'abc');
  assert.equal(p.headers.host, 'unknown.test');
});

test('a path no rule of a known host covers goes to the default backend too', async () => {
  assert.equal((await get('api.test', '/api/x')).body, 'app 200', 'the rule still routes');
  const p = page(await get('api.test', '/elsewhere'));
  assert.equal(p.backend, 'errors');
  assert.equal(p.headers['x-code'], '404');
});

test('custom-http-errors from the ConfigMap: a listed code of any Ingress is rendered by the default backend with ingress-nginx\'s headers', async () => {
  const before = backends.errors!.requests.length;
  const r = await get('plain.test', '/gone/page?x=1', { Accept: 'application/json' });
  assert.equal(r.status, 404);
  const p = page(r);
  assert.equal(p.backend, 'errors');
  assert.equal(p.url, '/?x=1', 'the error-page service is asked for /, as ingress-nginx does');
  assert.equal(p.headers['x-code'], '404');
  assert.equal(p.headers['x-original-uri'], '/gone/page?x=1');
  assert.equal(p.headers['x-format'], 'application/json');
  assert.equal(p.headers['x-namespace'], 'default');
  assert.equal(p.headers['x-ingress-name'], 'plain');
  assert.equal(p.headers['x-service-name'], 'app');
  assert.equal(p.headers['x-service-port'], '80');
  assert.match(p.headers['x-request-id'] ?? '', /^[0-9a-f]{32}$/);
  assert.equal(backends.errors!.requests.length, before + 1);
  const boom = await get('plain.test', '/boom');
  assert.equal(boom.status, 500, 'a code not listed passes through');
  assert.equal(boom.body, 'app 500');
  assert.equal((await get('plain.test', '/fine')).body, 'app 200');
});

test('an Ingress\'s own custom-http-errors replace the ConfigMap\'s list; its own default-backend renders the ConfigMap\'s codes', async () => {
  const listed = await get('listed.test', '/boom');
  assert.equal(listed.status, 500);
  assert.equal(page(listed).headers['x-ingress-name'], 'listed');
  const gone = await get('listed.test', '/gone');
  assert.equal(gone.body, 'app 404', '404 is not in this Ingress\'s list');
  const own = await get('ownpages.test', '/gone');
  assert.equal(own.status, 404);
  assert.equal(own.body, 'own page 404');
});

test('a Service without endpoints is answered by the default backend instead of 503', async () => {
  const r = await get('empty.test', '/x');
  const p = page(r);
  assert.equal(p.backend, 'errors');
  assert.equal(p.url, '/x', 'the request goes as it came, as to the Service itself');
});
