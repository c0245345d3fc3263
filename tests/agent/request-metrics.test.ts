// Request metrics per Ingress: Ingress objects rendered as the handler tier renders them, applied to
// a real agent and NGINX, real requests through NGINX, then the agent's /metrics as Prometheus
// scrapes it (ingress-nginx's names and labels, the status as its class).
import { test, after } from 'node:test';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { startBackend, type Backend } from '../support/backend.ts';
import { eventually, request } from '../support/http.ts';
import { startTestAgent, type TestAgent } from './harness.ts';
import { ingressObject, renderObjects, serviceObject, type IngressSpec } from '../render/helpers.ts';
import { unixRequest } from '../../src/agent/unix-http.ts';
import { boundsMismatch, parseRequestMetricsDump } from '../../src/agent/request-metrics.ts';
import { parseExposition, sample, type Sample } from './exposition.ts';

const cleanup: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

/** Renders the Ingresses (and their Services) and applies them with one batch; resolves once NGINX serves them. */
async function applyIngresses(t: TestAgent, specs: IngressSpec[], endpoints: Record<string, string[]>, revision = 1): Promise<void> {
  const services = [...new Set(specs.flatMap((s) => (s.rules ?? []).flatMap((r) => r.paths.map((p) => p.service))))];
  const { fragments } = renderObjects([...specs.map(ingressObject), ...services.map(serviceObject)]);
  const batch = {
    fragments: fragments.map((f) => ({ ...f, revision })),
    endpoints: Object.entries(endpoints).map(([service, eps]) => ({ upstream: `default-${service}-80`, revision, endpoints: eps })),
  };
  const r = await t.api('POST', '/v1/batch?wait=1', batch);
  assert.equal(r.status, 200, r.text);
}

async function scrape(t: TestAgent): Promise<Sample[]> {
  const r = await t.api('GET', '/metrics');
  assert.equal(r.status, 200);
  return parseExposition(r.text);
}

async function startAgent(opts: Parameters<typeof startTestAgent>[0] = {}): Promise<TestAgent> {
  const t = await startTestAgent(opts);
  cleanup.push(() => t.stop());
  return t;
}

async function backend(name: string, handler?: Parameters<typeof startBackend>[1]): Promise<Backend> {
  const b = await startBackend(name, handler);
  cleanup.push(() => b.close());
  return b;
}

const get = (t: TestAgent, host: string, path: string, method = 'GET') => request({ port: t.httpPort, host, path, method });

test('requests are counted per host, path pattern, Ingress, service and status class, with ingress-nginx names', async () => {
  const t = await startAgent();
  const api = await backend('api', (req, res) => {
    req.resume();
    res.statusCode = req.url?.startsWith('/api/missing') ? 404 : 200;
    res.end('x'.repeat(500));
  });
  const web = await backend('web');
  await applyIngresses(t, [
    { name: 'shop', rules: [{ host: 'shop.example.com', paths: [{ pathType: 'Prefix', path: '/api', service: 'api' }, { pathType: 'Exact', path: '/static', service: 'web' }] }] },
    { name: 'blog', rules: [{ host: 'blog.example.com', paths: [{ pathType: 'Prefix', path: '/', service: 'gone' }] }] },
  ], { api: [api.address], web: [web.address], gone: [] });

  for (let i = 0; i < 3; i++) assert.equal((await get(t, 'shop.example.com', `/api/items/${i}`)).status, 200);
  assert.equal((await get(t, 'shop.example.com', '/api/missing/1')).status, 404);
  assert.equal((await get(t, 'shop.example.com', '/static', 'POST')).status, 200);
  assert.equal((await get(t, 'blog.example.com', '/post/1')).status, 503);
  // No rule: the server's own 404, counted nowhere (as ingress-nginx, which keeps no series without an Ingress).
  assert.equal((await get(t, 'shop.example.com', '/elsewhere')).status, 404);

  const m = await scrape(t);
  const base = { controller_class: 'wharf.io/ingress-controller', namespace: 'default', kind: 'Ingress', canary: '' };
  const shopApi = { ...base, host: 'shop.example.com', ingress: 'shop', path: '/api', service: 'api', method: 'GET' };
  assert.equal(sample(m, 'nginx_ingress_controller_requests', { ...shopApi, status: '2xx' }), 3);
  assert.equal(sample(m, 'nginx_ingress_controller_requests', { ...shopApi, status: '4xx' }), 1);
  assert.equal(sample(m, 'nginx_ingress_controller_requests', { ...base, host: 'shop.example.com', ingress: 'shop', path: '/static', service: 'web', method: 'POST', status: '2xx' }), 1);
  assert.equal(sample(m, 'nginx_ingress_controller_requests', { ...base, host: 'blog.example.com', ingress: 'blog', path: '/', service: 'gone', method: 'GET', status: '5xx' }), 1);
  // Only the four series above: the request URI never becomes a label, nor does the unmatched path.
  const requests = m.filter((s) => s.name === 'nginx_ingress_controller_requests');
  assert.equal(requests.length, 4, JSON.stringify(requests));

  const ok = { ...shopApi, status: '2xx' };
  assert.equal(sample(m, 'nginx_ingress_controller_request_duration_seconds_count', ok), 3);
  assert.equal(sample(m, 'nginx_ingress_controller_request_duration_seconds_bucket', { ...ok, le: '+Inf' }), 3);
  assert.ok(sample(m, 'nginx_ingress_controller_request_duration_seconds_bucket', { ...ok, le: '10' })! === 3);
  assert.equal(sample(m, 'nginx_ingress_controller_response_duration_seconds_count', ok), 3);
  // Each response is more than 500 bytes and less than 1000 (status line, headers, 500-byte body).
  assert.equal(sample(m, 'nginx_ingress_controller_response_size_bucket', { ...ok, le: '100' }), 0);
  assert.equal(sample(m, 'nginx_ingress_controller_bytes_sent_bucket', { ...ok, le: '100' }), 0);
  assert.equal(sample(m, 'nginx_ingress_controller_bytes_sent_bucket', { ...ok, le: '1000' }), 3);
  const sent = sample(m, 'nginx_ingress_controller_response_size_sum', ok)!;
  assert.ok(sent > 3 * 500 && sent < 3 * 1000, `response_size_sum ${sent}`);
  assert.equal(sample(m, 'nginx_ingress_controller_request_size_count', ok), 3);
  assert.ok(sample(m, 'nginx_ingress_controller_request_size_sum', ok)! > 3 * 30);
  // The 503 answered before any upstream: no upstream time.
  assert.equal(sample(m, 'nginx_ingress_controller_response_duration_seconds_count', { ingress: 'blog' }), undefined);
  assert.equal(sample(m, 'wharf_request_metrics_series', {}), 4);
  assert.equal(sample(m, 'wharf_request_metrics_overflow_total', {}), 0);

  // The bounds NGINX stores are the ones the agent exports from.
  const dump = await unixRequest({ socketPath: t.agent.layout.endpointsSocket, path: '/request-metrics' });
  assert.equal(boundsMismatch(parseRequestMetricsDump(dump.body)), null);
});

test('1,000 Ingresses and random request paths keep the series bounded: by the path patterns, then by the cap', async () => {
  const t = await startAgent({ requestMetricsMaxSeries: 600 });
  const app = await backend('app', (req, res) => {
    req.resume();
    res.end('ok');
  });
  const specs: IngressSpec[] = Array.from({ length: 1000 }, (_, i) => ({
    name: `app-${i}`,
    rules: [{ host: `h${i}.example.com`, paths: [{ pathType: 'Prefix', path: `/p${i % 7}`, service: 'app' }] }],
  }));
  await applyIngresses(t, specs, { app: [app.address] });
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  // First 500 Ingresses, each several times with random paths below its rule.
  let sent = 0;
  for (let i = 0; i < 500; i++) {
    for (let k = 0; k < 3; k++) {
      const r = await get(t, `h${i}.example.com`, `/p${i % 7}/${Math.floor(random() * 1e9).toString(36)}?q=${sent}`);
      assert.equal(r.status, 200);
      sent++;
    }
  }
  let m = await scrape(t);
  let series = m.filter((s) => s.name === 'nginx_ingress_controller_requests');
  assert.equal(series.length, 500);
  assert.equal(series.reduce((a, s) => a + s.value, 0), sent);
  assert.deepEqual([...new Set(series.map((s) => s.labels.path))].sort(), ['/p0', '/p1', '/p2', '/p3', '/p4', '/p5', '/p6']);

  // The other 500: the cap (600) stops the series at 600; their other requests are counted as overflow.
  let overflowSent = 0;
  for (let i = 500; i < 1000; i++) {
    const r = await get(t, `h${i}.example.com`, `/p${i % 7}/${Math.floor(random() * 1e9).toString(36)}`);
    assert.equal(r.status, 200);
    if (i >= 600) overflowSent++;
  }
  m = await scrape(t);
  series = m.filter((s) => s.name === 'nginx_ingress_controller_requests');
  assert.equal(series.length, 600);
  assert.equal(sample(m, 'wharf_request_metrics_series', {}), 600);
  assert.equal(sample(m, 'wharf_request_metrics_series_max', {}), 600);
  assert.equal(sample(m, 'wharf_request_metrics_overflow_total', {}), overflowSent);
});

test('a new Ingress gets its series without a reload of its own, and the counts survive later reloads', async () => {
  const t = await startAgent();
  const app = await backend('app');
  const first: IngressSpec = { name: 'first', rules: [{ host: 'first.example.com', paths: [{ pathType: 'Prefix', path: '/', service: 'app' }] }] };
  await applyIngresses(t, [first], { app: [app.address] });
  const reloads = async () => (await scrape(t)).filter((s) => s.name === 'wharf_agent_reloads_total').reduce((a, s) => a + s.value, 0);
  const before = await reloads();

  const second: IngressSpec = { name: 'second', rules: [{ host: 'second.example.com', paths: [{ pathType: 'Prefix', path: '/shop', service: 'app' }] }] };
  await applyIngresses(t, [first, second], { app: [app.address] }, 2);
  // The one reload that puts the new server in place; nothing about metrics needs another.
  assert.equal(await reloads(), before + 1);
  for (let i = 0; i < 5; i++) assert.equal((await get(t, 'second.example.com', `/shop/${i}`)).status, 200);
  const m = await scrape(t);
  assert.equal(sample(m, 'nginx_ingress_controller_requests', { ingress: 'second', path: '/shop', status: '2xx' }), 5);
  assert.equal(await reloads(), before + 1);

  // Another change reloads NGINX: the shared dict keeps the counts, new workers add to them.
  const third: IngressSpec = { name: 'third', rules: [{ host: 'third.example.com', paths: [{ pathType: 'Prefix', path: '/', service: 'app' }] }] };
  await applyIngresses(t, [first, second, third], { app: [app.address] }, 3);
  await t.retired();
  assert.equal((await get(t, 'second.example.com', '/shop/again')).status, 200);
  assert.equal(sample(await scrape(t), 'nginx_ingress_controller_requests', { ingress: 'second', path: '/shop', status: '2xx' }), 6);
});

test('without the Lua module (endpoint mode reload) there are no request metrics, and the agent says so once', async () => {
  const t = await startAgent({ endpointMode: 'reload' });
  const app = await backend('app');
  await applyIngresses(t, [{ name: 'app', rules: [{ host: 'app.example.com', paths: [{ pathType: 'Prefix', path: '/', service: 'app' }] }] }], { app: [app.address] });
  assert.equal((await get(t, 'app.example.com', '/')).status, 200);
  const text = (await t.api('GET', '/metrics')).text;
  assert.doesNotMatch(text, /nginx_ingress_controller_requests/);
  assert.equal(t.logs.filter((l) => l.includes('request metrics: none')).length, 1);
});

test('Gateway API routes are counted under their kind, namespace and name; a request sent to a canary names it', async () => {
  const t = await startAgent();
  const app = await backend('app');
  const gw = 'gateway.networking.k8s.io/v1';
  const route = {
    apiVersion: gw,
    kind: 'HTTPRoute',
    metadata: { name: 'shop-route', namespace: 'default' },
    spec: {
      parentRefs: [{ name: 'gw' }],
      hostnames: ['routes.example.com'],
      rules: [
        // A condition beside the path: the path's location hands off to a named location per route rule.
        { matches: [{ path: { type: 'PathPrefix', value: '/cart' }, headers: [{ name: 'x-beta', value: '1' }] }], backendRefs: [{ name: 'beta', port: 80 }] },
        { matches: [{ path: { type: 'PathPrefix', value: '/cart' } }], backendRefs: [{ name: 'cart', port: 80, weight: 1 }, { name: 'cart2', port: 80, weight: 1 }] },
      ],
    },
  };
  const objects = [
    { apiVersion: gw, kind: 'GatewayClass', metadata: { name: 'wharf' }, spec: { controllerName: 'wharf.io/gateway-controller' } },
    { apiVersion: gw, kind: 'Gateway', metadata: { name: 'gw', namespace: 'default' }, spec: { gatewayClassName: 'wharf', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] } },
    route,
    ingressObject({ name: 'main', rules: [{ host: 'canary.example.com', paths: [{ pathType: 'Prefix', path: '/', service: 'stable' }] }] }),
    ingressObject({ name: 'main-canary', annotations: { canary: 'true', 'canary-weight': '100' }, rules: [{ host: 'canary.example.com', paths: [{ pathType: 'Prefix', path: '/', service: 'preview' }] }] }),
    ...['beta', 'cart', 'cart2', 'stable', 'preview'].map(serviceObject),
  ];
  const { fragments } = renderObjects(objects);
  const r = await t.api('POST', '/v1/batch?wait=1', {
    fragments: fragments.map((f) => ({ ...f, revision: 1 })),
    endpoints: ['beta', 'cart', 'cart2', 'stable', 'preview'].map((s) => ({ upstream: `default-${s}-80`, revision: 1, endpoints: [app.address] })),
  });
  assert.equal(r.status, 200, r.text);
  for (let i = 0; i < 4; i++) assert.equal((await get(t, 'routes.example.com', `/cart/${i}`)).status, 200);
  assert.equal((await request({ port: t.httpPort, host: 'routes.example.com', path: '/cart/x', headers: { 'x-beta': '1' } })).status, 200);
  for (let i = 0; i < 2; i++) assert.equal((await get(t, 'canary.example.com', '/')).status, 200);

  const m = await scrape(t);
  const routeSeries = { kind: 'HTTPRoute', namespace: 'default', ingress: 'shop-route', host: 'routes.example.com', path: '/cart', status: '2xx' };
  assert.equal(sample(m, 'nginx_ingress_controller_requests', { ...routeSeries, service: 'cart,cart2' }), 4);
  assert.equal(sample(m, 'nginx_ingress_controller_requests', { ...routeSeries, service: 'beta' }), 1);
  assert.equal(sample(m, 'nginx_ingress_controller_requests', { kind: 'Ingress', ingress: 'main', service: 'stable', canary: 'default-preview-80' }), 2);
});

test('a request that a reload finds in flight is counted when it ends in the retiring worker', async () => {
  const t = await startAgent();
  const slow = await backend('slow', (req, res) => {
    req.resume();
    setTimeout(() => res.end('late'), req.url === '/download' ? 1000 : 0);
  });
  const spec: IngressSpec = { name: 'slow', rules: [{ host: 'slow.example.com', paths: [{ pathType: 'Prefix', path: '/', service: 'slow' }] }] };
  await applyIngresses(t, [spec], { slow: [slow.address] });
  // A first request starts the worker's flush timer, which a reload fires one last time.
  assert.equal((await get(t, 'slow.example.com', '/')).status, 200);
  const inFlight = get(t, 'slow.example.com', '/download');
  await new Promise((r) => setTimeout(r, 200));
  // A reload while the request waits for its backend: the old worker finishes it, then exits.
  await applyIngresses(t, [spec, { name: 'other', rules: [{ host: 'other.example.com', paths: [{ pathType: 'Prefix', path: '/', service: 'slow' }] }] }], { slow: [slow.address] }, 2);
  assert.equal((await inFlight).status, 200);
  await t.retired();
  const count = await eventually(async () => (sample(await scrape(t), 'nginx_ingress_controller_requests', { ingress: 'slow' }) ?? 0) >= 2, 5000, 100);
  assert.ok(count, 'the request that ended in the retiring worker was not counted');
  assert.equal(sample(await scrape(t), 'nginx_ingress_controller_requests', { ingress: 'slow' }), 2);
});

/** NGINX's workers (the master's children) and the CPU time each has used, in ns. */
function workersCpu(master: number): Map<number, number> {
  const pids = readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return new Map(pids.map((p) => [p, Number(readFileSync(`/proc/${p}/schedstat`, 'utf8').split(' ')[0])]));
}

test('with two workers, one scrape two seconds after the last request has them all (each worker flushes every second), each once', async () => {
  // Each worker keeps its counts in its own Lua tables and adds them to the shared dict every second;
  // a scrape adds those of the worker that serves it. So another worker's requests reach a scrape at
  // most a second (plus a timer's lateness) after they end: if a flush lost them, they never would.
  const t = await startAgent({ workerProcesses: 2 });
  const app = await backend('app');
  await applyIngresses(t, [{ name: 'busy', rules: [{ host: 'busy.example.com', paths: [{ pathType: 'Prefix', path: '/', service: 'app' }] }] }], { app: [app.address] });
  const total = async () => sample(await scrape(t), 'nginx_ingress_controller_requests', { ingress: 'busy' }) ?? 0;
  // The workers the batch's reload retired have exited.
  assert.ok(await eventually(() => workersCpu(t.agent.nginxPid!).size === 2, 10_000, 50));
  const before = workersCpu(t.agent.nginxPid!);
  let sent = 0;
  // Bursts of concurrent connections until both workers have served some (each used 1 ms of CPU).
  const bothServed = () => [...workersCpu(t.agent.nginxPid!)].every(([pid, ns]) => ns - (before.get(pid) ?? ns) > 1e6);
  for (let burst = 0; burst < 20 && !(sent > 0 && bothServed()); burst++) {
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => get(t, 'busy.example.com', `/b${burst}/${i}`)));
    for (const r of replies) assert.equal(r.status, 200);
    sent += replies.length;
  }
  assert.ok(bothServed(), 'the requests all went to one worker');
  // One scrape, after the flush interval and some slack: the worker that serves it adds its own
  // counts, the other worker's must already be in the dict. Polling instead would let each worker
  // serve a scrape in turn and hide a flush that never happens.
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal(await total(), sent);
  // Later flushes add nothing twice; the next requests are counted the same way.
  for (let i = 0; i < 20; i++) assert.equal((await get(t, 'busy.example.com', `/more/${i}`)).status, 200);
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal(await total(), sent + 20);
});
