// POST /events is served twice: on node:http ahead of Hono (events-http.ts, what `wharf handler`
// listens with) and by the app's Hono route (app.request(), other runtimes). Both must answer every
// request alike: status, message, the headers a sender acts on. And the CloudEvent parser's shortcut
// for the common case must read exactly what the `cloudevents` SDK reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { HTTP } from 'cloudevents';
import { MemoryReader } from '../../src/cluster/view-memory-reader.ts';
import { parseEvents } from '../../src/handlers/cloudevents.ts';
import { listenHandler, type RunningHandler } from '../../src/handlers/serve.ts';
import type { ClusterReader } from '../../src/cluster/view.ts';
import { TOKEN, batchOf, binary, service, structured } from './fixtures.ts';
import { handlerOptions } from './support.ts';

async function handler(reader: ClusterReader): Promise<RunningHandler> {
  return listenHandler(handlerOptions({ reader }));
}

interface Seen {
  status: number;
  body: unknown;
  headers: Record<string, string | null>;
}

const SENDER_HEADERS = ['content-type', 'retry-after', 'www-authenticate'];

/** One request over real HTTP (the node:http route); `chunked` sends the body without a Content-Length. */
function overNode(url: string, init: { headers: Record<string, string>; body: string }, chunked = false): Promise<Seen> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/events`, { method: 'POST', headers: chunked ? init.headers : { ...init.headers, 'content-length': String(Buffer.byteLength(init.body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
          headers: Object.fromEntries(SENDER_HEADERS.map((h) => [h, (res.headers[h] as string | undefined)?.replace(/;\s*charset=utf-8$/i, '') ?? null])),
        }),
      );
    });
    req.on('error', reject);
    if (chunked) for (let i = 0; i < init.body.length; i += 1 << 20) req.write(init.body.slice(i, i + (1 << 20)));
    req.end(chunked ? undefined : init.body);
  });
}

async function overHono(h: RunningHandler, init: { headers: Record<string, string>; body: string }): Promise<Seen> {
  const res = await h.handler.app.request('/events', { method: 'POST', headers: init.headers, body: init.body });
  return { status: res.status, body: await res.json(), headers: Object.fromEntries(SENDER_HEADERS.map((h) => [h, res.headers.get(h)?.replace(/;\s*charset=utf-8$/i, '') ?? null])) };
}

const asInit = (init: RequestInit) => ({ headers: init.headers as Record<string, string>, body: init.body as string });
const withHeaders = (init: RequestInit, headers: Record<string, string | undefined>) => {
  const all: Record<string, string> = { ...(init.headers as Record<string, string>) };
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) delete all[k];
    else all[k] = v;
  }
  return { headers: all, body: init.body as string };
};

test('before the first list, both routes answer 503 with Retry-After', async (t) => {
  const h = await handler({ list: () => new Promise(() => {}), get: async () => null });
  t.after(() => h.close());
  const init = asInit(binary('io.wharf.resource.add', { ...service('web'), metadata: { name: 'web', namespace: 'default', resourceVersion: '3' } }));
  const [node, hono] = [await overNode(h.url, init), await overHono(h, init)];
  assert.equal(node.status, 503);
  assert.equal(node.headers['retry-after'], '2');
  assert.deepEqual(node, hono);
});

test('every refusal reads the same from the node:http route as from the Hono route, and nothing is applied', async (t) => {
  const api = new MemoryReader();
  const h = await handler(api);
  t.after(() => h.close());
  await h.synced;
  const web = api.put(service('web')).object;
  const good = binary('io.wharf.resource.add', web);
  const cases: [string, { headers: Record<string, string>; body: string }, number][] = [
    ['no token', withHeaders(good, { authorization: undefined }), 401],
    ['a wrong token', withHeaders(good, { authorization: 'Bearer not-the-events-token-at-all' }), 401],
    ['a body over the limit', { ...withHeaders(good, {}), body: `{"x":"${'x'.repeat(9 << 20)}"}` }, 413],
    ['malformed JSON (structured)', { headers: { 'content-type': 'application/cloudevents+json', authorization: `Bearer ${TOKEN}` }, body: '{"specversion": "1.0",' }, 400],
    ['malformed JSON (binary)', { ...withHeaders(good, {}), body: '{"apiVersion": "v1", ' }, 400],
    ['no ce-type', withHeaders(good, { 'ce-type': undefined }), 400],
    ['an unknown kind', asInit(binary('io.wharf.resource.add', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', resourceVersion: '5' } })), 400],
    ['a batch with a bad event', asInit(batchOf([{ action: 'add', object: web }, { action: 'add', object: { ...web, kind: 'Pod' } }])), 400],
    ['not a CloudEvent', { headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: '{}' }, 400],
    ['schemaurl on a 1.0 event (the SDK refuses it)', withHeaders(good, { 'ce-schemaurl': 'http://example.com/s' }), 400],
  ];
  for (const [name, init, status] of cases) {
    const [node, hono] = [await overNode(h.url, init), await overHono(h, init)];
    assert.equal(node.status, status, `${name}: ${JSON.stringify(node.body)}`);
    assert.deepEqual(node, hono, name);
  }
  // Without a Content-Length, the body is counted as it comes.
  const chunked = await overNode(h.url, cases[2]![1], true);
  assert.deepEqual(chunked, await overHono(h, cases[2]![1]));
  const ready = (await (await h.handler.app.request('/readyz')).json()) as { objects: Record<string, number> };
  assert.equal(ready.objects.Service ?? 0, 0, 'nothing applied');

  // Accepted: the first copy applies (over node:http), the second is a duplicate (over Hono).
  const node = await overNode(h.url, asInit(good));
  const hono = await overHono(h, asInit(good));
  assert.deepEqual([node.status, node.headers['content-type'], (node.body as { results: { result: string }[] }).results.map((r) => r.result)], [200, 'application/json', ['applied']]);
  assert.deepEqual([hono.status, hono.headers['content-type'], (hono.body as { results: { result: string }[] }).results.map((r) => r.result)], [200, 'application/json', ['duplicate']]);
});

test('on one kept-alive connection, a token already accepted does not let a wrong or missing one through', async (t) => {
  const api = new MemoryReader();
  const h = await handler(api);
  t.after(() => h.close());
  await h.synced;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const sockets = new Set<unknown>();
  const post = (init: { headers: Record<string, string>; body: string }) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request(`${h.url}/events`, { method: 'POST', agent, headers: { ...init.headers, 'content-length': String(Buffer.byteLength(init.body)) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('socket', (s) => sockets.add(s));
      req.on('error', reject);
      req.end(init.body);
    });
  const event = (name: string) => asInit(binary('io.wharf.resource.add', api.put(service(name)).object));
  assert.equal(await post(event('one')), 200);
  assert.equal(await post(withHeaders(binary('io.wharf.resource.add', api.put(service('two')).object), { authorization: 'Bearer not-the-events-token-at-all' })), 401);
  assert.equal(await post(withHeaders(binary('io.wharf.resource.add', api.put(service('three')).object), { authorization: undefined })), 401);
  assert.equal(await post(withHeaders(binary('io.wharf.resource.add', api.put(service('four')).object), { authorization: `Bearer ${TOKEN}x` })), 401);
  assert.equal(await post(event('five')), 200);
  assert.equal(sockets.size, 1, 'every request went over the same connection');
  const ready = (await (await h.handler.app.request('/readyz')).json()) as { objects: Record<string, number> };
  assert.equal(ready.objects.Service, 2, 'only the two events with the token were applied');
});

test("the parser's shortcut reads binary and structured events as the cloudevents SDK does", () => {
  const object = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default', resourceVersion: '7' }, spec: { ports: [{ port: 80 }] } };
  const body = JSON.stringify(object);
  const base = { 'ce-specversion': '1.0', 'ce-id': 'id-1', 'ce-source': 'src', 'ce-type': 'dev.knative.apiserver.resource.update' };
  const variants: Record<string, string>[] = [
    { ...base, 'content-type': 'application/json' },
    { ...base, 'content-type': 'application/json; charset=utf-8' },
    { ...base, 'content-type': 'application/json', 'ce-time': '2026-01-01T00:00:00Z', 'ce-subject': 'x', 'ce-knativearrivaltime': '2026-01-01T00:00:00Z', 'ce-kind': 'Service' },
    { ...base, 'content-type': 'application/json;charset=utf-8' },
    { ...base, 'content-type': 'application/vnd.x+json' },
  ];
  for (const headers of variants) {
    const sdk = HTTP.toEvent({ headers, body }) as { id: string; source: string; type: string; data: unknown };
    const [ours] = parseEvents(new Headers(headers), body);
    assert.deepEqual({ id: ours!.id, source: ours!.source, type: ours!.type, object: ours!.object }, { id: sdk.id, source: sdk.source, type: sdk.type, object: typeof sdk.data === 'string' ? JSON.parse(sdk.data) : sdk.data }, JSON.stringify(headers));
    // node:http's header object gives the same.
    assert.deepEqual(parseEvents(Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])), body), [ours]);
  }
  // A broken body: the SDK's JSON error, word for word.
  let sdkError = '';
  try {
    HTTP.toEvent({ headers: { ...base, 'content-type': 'application/json' }, body: '{"a": ' });
  } catch (e) {
    sdkError = (e as Error).message;
  }
  assert.throws(() => parseEvents(new Headers({ ...base, 'content-type': 'application/json' }), '{"a": '), { message: `(event): Invalid value: ${sdkError}` });
  // Structured: the same event.
  const s = structured('io.wharf.resource.add', object, 'sid');
  const sdk = HTTP.toEvent({ headers: { 'content-type': 'application/cloudevents+json' }, body: JSON.stringify(s) }) as { id: string; data: unknown };
  const [ours] = parseEvents(new Headers({ 'content-type': 'application/cloudevents+json' }), JSON.stringify(s));
  assert.deepEqual([ours!.id, ours!.object], [sdk.id, sdk.data]);
});
