// What the routing model's route features do in a real NGINX, from hand-made models: conditions on
// headers, query parameters and the method (chosen by maps, in precedence order, falling back to
// shorter Prefix paths), weighted backends (split_clients, weight 0 and unusable backends), request
// and response header changes, redirects and path rewrites. The Gateway API tests
// (tests/gateway/*) reach the same rendering through the translation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNginx, type TestNginx } from '../support/nginx.ts';
import { startBackend, type Backend } from '../support/backend.ts';
import { request } from '../support/http.ts';
import type { Location, RequestCondition, RouteFilters, WeightedBackend } from '../../src/model/types.ts';
import { renderModel } from '../../src/render/index.ts';
import { compareLocations } from '../../src/model/merge-host.ts';
import { backend, loadFragments, location, model, server as unsorted } from './helpers.ts';

const header = (name: string, value: string, match: RequestCondition['match'] = 'Exact'): RequestCondition => ({ on: 'header', name, match, value });
const query = (name: string, value: string, match: RequestCondition['match'] = 'Exact'): RequestCondition => ({ on: 'query', name, match, value });
const method = (value: string): RequestCondition => ({ on: 'method', name: '', match: 'Exact', value });
const routed = (path: string, match: Location['match'], service: string | null, extra: Partial<Location>): Location => location(path, match, service, {}, extra);
// The model keeps a server's locations in precedence order (merge-host.ts); so do these.
const server = (host: string, locations: Location[]) => unsorted(host, [...locations].sort(compareLocations));
const weighted = (...shares: [string | null, number][]): WeightedBackend[] => shares.map(([s, weight]) => ({ backend: s === null ? null : backend(s), weight }));

const servers = [
  server('conditions.test', [
    routed('/', 'Prefix', 'a', {}),
    routed('/api', 'Prefix', 'b', { conditions: [header('version', 'two')] }),
    routed('/api', 'Prefix', 'c', { conditions: [method('POST')] }),
    routed('/api', 'Prefix', 'd', { conditions: [query('animal', 'whale'), header('color', '^bl.e$', 'RegularExpression')] }),
    routed('/only', 'Exact', 'b', { conditions: [header('version', 'two')] }),
  ]),
  server('weights.test', [
    routed('/split', 'Prefix', null, { backends: weighted(['a', 70], ['b', 30], ['c', 0]) }),
    routed('/zero', 'Prefix', null, { backends: weighted(['a', 0]) }),
    routed('/invalid', 'Prefix', null, { backends: weighted([null, 1]) }),
    routed('/half', 'Prefix', null, { backends: weighted(['a', 1], [null, 1]) }),
  ]),
  server('filters.test', [
    routed('/headers', 'Prefix', 'a', {
      filters: {
        requestHeaders: { set: [{ name: 'X-Set', value: 'set value' }], add: [{ name: 'X-Add', value: 'added' }], remove: ['X-Remove'] },
        responseHeaders: { set: [{ name: 'X-Powered-By', value: 'wharf' }], add: [{ name: 'X-Extra', value: 'one' }], remove: ['X-Backend'] },
      } satisfies RouteFilters,
    }),
    routed('/old', 'Prefix', null, { filters: { redirect: { scheme: 'https', hostname: 'new.test', port: null, path: { type: 'ReplacePrefixMatch', value: '/new' }, code: 301 } } }),
    routed('/same', 'Prefix', null, { filters: { redirect: { scheme: null, hostname: null, port: 8443, path: null, code: 302 } } }),
    routed('/rewrite', 'Prefix', 'a', { filters: { rewritePath: { type: 'ReplacePrefixMatch', value: '/' } } }),
    routed('/full', 'Prefix', 'a', { filters: { rewritePath: { type: 'ReplaceFullPath', value: '/replaced' } } }),
  ]),
];

let nginx: TestNginx;
const backends: Record<string, Backend> = {};

before(async () => {
  for (const name of ['a', 'b', 'c', 'd']) {
    backends[name] = await startBackend(name, (req, res) => {
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.setHeader('x-backend', name);
        res.setHeader('x-powered-by', 'node');
        res.end(JSON.stringify({ backend: name, method: req.method, url: req.url, headers: req.headers }));
      });
    });
  }
  nginx = await startNginx();
  const { fragments, failures } = renderModel(model(servers));
  assert.deepEqual(failures, []);
  await loadFragments(nginx, fragments);
  for (const name of Object.keys(backends)) await nginx.setEndpoints(`default-${name}-80`, [backends[name]!.address]);
});

after(async () => {
  await nginx?.stop();
  await Promise.all(Object.values(backends).map((b) => b.close()));
});

async function who(host: string, path: string, o: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<string> {
  const r = await request({ port: nginx.httpPort, host, path, ...o });
  if (r.status !== 200) return String(r.status);
  return (JSON.parse(r.body) as { backend: string }).backend;
}

const conditionRows: [string, { method?: string; headers?: Record<string, string>; body?: string }, string][] = [
  ['/api/x', {}, 'a'],
  ['/api/x', { headers: { version: 'two' } }, 'b'],
  ['/api/x', { headers: { version: 'Two' } }, 'a'],
  ['/api/x', { method: 'POST', body: 'hello' }, 'c'],
  // A method outranks a header (the Gateway API's precedence).
  ['/api/x', { method: 'POST', headers: { version: 'two' }, body: 'x' }, 'c'],
  ['/api/x?animal=whale', { headers: { color: 'blue' } }, 'd'],
  ['/api/x?animal=whale', { headers: { color: 'blues' } }, 'a'],
  ['/api/x?animal=whales', { headers: { color: 'blue' } }, 'a'],
  ['/other', { headers: { version: 'two' } }, 'a'],
  ['/only', { headers: { version: 'two' } }, 'b'],
  // Exact /only's condition fails: the Prefix / route still matches.
  ['/only', {}, 'a'],
];

for (const [path, o, want] of conditionRows) {
  test(`conditions: ${o.method ?? 'GET'} ${path} ${JSON.stringify(o.headers ?? {})} goes to ${want}`, async () => {
    assert.equal(await who('conditions.test', path, o), want);
  });
}

test('conditions: the request body reaches the route a condition chose', async () => {
  const r = await request({ port: nginx.httpPort, host: 'conditions.test', path: '/api/post', method: 'POST', body: 'hello body' });
  assert.equal(r.status, 200);
  assert.equal((JSON.parse(r.body) as { headers: Record<string, string> }).headers['content-length'], '10');
});

test('weights: 70/30/0 splits requests about 70/30, and weight 0 gets none', async () => {
  const counts: Record<string, number> = {};
  for (let i = 0; i < 300; i++) {
    const b = await who('weights.test', '/split');
    counts[b] = (counts[b] ?? 0) + 1;
  }
  assert.equal(counts.c, undefined, JSON.stringify(counts));
  assert.ok(counts.a! > 170 && counts.a! < 250, JSON.stringify(counts));
  assert.equal((counts.a ?? 0) + (counts.b ?? 0), 300);
});

test('weights: every weight 0, or only unusable backends, answer 500; an unusable half answers 500 about half the time', async () => {
  assert.equal(await who('weights.test', '/zero'), '500');
  assert.equal(await who('weights.test', '/invalid'), '500');
  const seen = new Set<string>();
  for (let i = 0; i < 60; i++) seen.add(await who('weights.test', '/half'));
  assert.deepEqual([...seen].sort(), ['500', 'a']);
});

test('request headers: set replaces, add appends to the client\'s value, remove removes', async () => {
  const r = await request({ port: nginx.httpPort, host: 'filters.test', path: '/headers', headers: { 'x-set': 'client', 'x-add': 'client', 'x-remove': 'gone' } });
  const h = (JSON.parse(r.body) as { headers: Record<string, string> }).headers;
  assert.equal(h['x-set'], 'set value');
  assert.equal(h['x-add'], 'client,added');
  assert.equal(h['x-remove'], undefined);
  const bare = await request({ port: nginx.httpPort, host: 'filters.test', path: '/headers' });
  assert.equal((JSON.parse(bare.body) as { headers: Record<string, string> }).headers['x-add'], 'added');
});

test('response headers: set replaces the backend\'s, add adds, remove hides', async () => {
  const r = await request({ port: nginx.httpPort, host: 'filters.test', path: '/headers' });
  assert.equal(r.headers['x-powered-by'], 'wharf');
  assert.equal(r.headers['x-extra'], 'one');
  assert.equal(r.headers['x-backend'], undefined);
});

test('redirects: scheme, host, prefix replacement and code; the request\'s scheme and host by default', async () => {
  const r = await request({ port: nginx.httpPort, host: 'filters.test', path: '/old/page?q=1' });
  assert.equal(r.status, 301);
  assert.equal(r.headers.location, 'https://new.test/new/page?q=1');
  const s = await request({ port: nginx.httpPort, host: 'filters.test', path: '/same/x?y' });
  assert.equal(s.status, 302);
  assert.equal(s.headers.location, 'http://filters.test:8443/same/x?y');
});

test('rewrites: the backend sees the prefix replaced, or the whole path replaced, with the query', async () => {
  const r = await request({ port: nginx.httpPort, host: 'filters.test', path: '/rewrite/deep/x?q=1' });
  assert.equal((JSON.parse(r.body) as { url: string }).url, '/deep/x?q=1');
  const top = await request({ port: nginx.httpPort, host: 'filters.test', path: '/rewrite' });
  assert.equal((JSON.parse(top.body) as { url: string }).url, '/');
  const full = await request({ port: nginx.httpPort, host: 'filters.test', path: '/full/anything?z=2' });
  assert.equal((JSON.parse(full.body) as { url: string }).url, '/replaced?z=2');
});
