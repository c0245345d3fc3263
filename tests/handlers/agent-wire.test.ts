// The endpoint lane's own HTTP/1.1 client (agent-wire.ts, behind httpAgentClient's putEndpoints,
// deleteEndpoints and endpoints-only batches) against real node:http servers standing for agents
// that close kept-alive connections, answer chunked or with errors, hang, or are not there. What
// must hold is what node:http gave: the answer as sent, errors that say whether a retry can help,
// a connection the agent closed meanwhile tried once more, never a hung push.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { AgentError, httpAgentClient } from '../../src/handlers/agent-client.ts';
import { freePort } from '../support/backend.ts';

const TOKEN = 'x'.repeat(32);

/** A server standing for an agent; `handle` answers each request (its body already read). */
async function agentServer(t: { after(fn: () => Promise<void>): void }, handle: (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void) {
  const sockets = new Set<Socket>();
  const seen: { method: string; url: string; authorization: string | undefined; host: string | undefined; body: string; socket: Socket }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, host: req.headers.host, body, socket: req.socket });
      handle(req, body, res);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(
    () =>
      new Promise<void>((r) => {
        server.close(() => r());
        for (const s of sockets) s.destroy();
      }),
  );
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { server, url, seen, sockets };
}

const applied = (res: http.ServerResponse, upstream = 'u') => {
  const text = JSON.stringify({ upstream, revision: 1, status: 'applied' });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
};

test('an endpoint push sends the request node:http sent (method, path, token, Host, JSON body) and reads the answer', async (t) => {
  const a = await agentServer(t, (_req, _body, res) => applied(res, 'ns-web-80'));
  const client = httpAgentClient({ url: a.url, token: TOKEN });
  t.after(async () => client.close?.());
  assert.deepEqual(await client.putEndpoints('ns-web-80', { revision: 7, endpoints: ['10.0.0.1:8080'] }), { upstream: 'ns-web-80', revision: 1, status: 'applied' });
  await client.deleteEndpoints('ns/odd name', 9);
  await client.batch({ fragments: [], endpoints: [{ upstream: 'a', revision: 3, endpoints: [] }, { upstream: 'b', revision: 4, endpoints: ['10.0.0.2:80'] }], complete: false });
  const host = new URL(a.url).host;
  assert.deepEqual(
    a.seen.map(({ method, url, authorization, host: h, body }) => ({ method, url, authorization, host: h, body })),
    [
      { method: 'PUT', url: '/v1/endpoints/ns-web-80', authorization: `Bearer ${TOKEN}`, host, body: '{"revision":7,"endpoints":["10.0.0.1:8080"]}' },
      { method: 'DELETE', url: '/v1/endpoints/ns%2Fodd%20name?revision=9', authorization: `Bearer ${TOKEN}`, host, body: '' },
      { method: 'POST', url: '/v1/batch', authorization: `Bearer ${TOKEN}`, host, body: '{"fragments":[],"endpoints":[{"upstream":"a","revision":3,"endpoints":[]},{"upstream":"b","revision":4,"endpoints":["10.0.0.2:80"]}],"complete":false}' },
    ],
  );
  assert.equal(new Set(a.seen.map((s) => s.socket)).size, 1, 'one kept-alive connection carried them all');
});

test('answers are read as the agent sends them: chunked, and errors with their status and whether a retry helps', async (t) => {
  const a = await agentServer(t, (req, _body, res) => {
    if (req.url!.includes('chunked')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"upstream":"chunked",');
      setTimeout(() => res.end('"status":"applied"}'), 20);
    } else if (req.url!.includes('bad')) {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"endpoints[0]: Invalid value: \\"x\\": not an address"}');
    } else res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' }).end('{"error":"not applied"}');
  });
  const client = httpAgentClient({ url: a.url, token: TOKEN });
  t.after(async () => client.close?.());
  assert.deepEqual(await client.putEndpoints('chunked', { revision: 1, endpoints: [] }), { upstream: 'chunked', status: 'applied' });
  await assert.rejects(client.putEndpoints('bad', { revision: 1, endpoints: ['x'] }), (e: unknown) => e instanceof AgentError && e.status === 400 && !e.retry && /not an address/.test(e.message));
  await assert.rejects(client.putEndpoints('busy', { revision: 1, endpoints: [] }), (e: unknown) => e instanceof AgentError && e.status === 503 && e.retry);
  // The connection is still good after error answers.
  assert.deepEqual(await client.putEndpoints('chunked', { revision: 2, endpoints: [] }), { upstream: 'chunked', status: 'applied' });
  assert.equal(new Set(a.seen.map((s) => s.socket)).size, 1);
});

test('a kept-alive connection the agent closed meanwhile is tried once more on a new one; an agent that always drops it fails the push', async (t) => {
  let drop = 0;
  const a = await agentServer(t, (req, _body, res) => {
    if (drop > 0) {
      drop--;
      req.socket.destroy();
    } else applied(res);
  });
  a.server.keepAliveTimeout = 100;
  const client = httpAgentClient({ url: a.url, token: TOKEN });
  t.after(async () => client.close?.());
  await client.putEndpoints('u', { revision: 1, endpoints: [] });
  // The agent closes the idle connection (its keep-alive timeout): the next push still goes through.
  await new Promise((r) => setTimeout(r, 300));
  await client.putEndpoints('u', { revision: 2, endpoints: [] });
  // The agent drops a reused connection without answering: sent again once, on a new connection.
  drop = 1;
  await client.putEndpoints('u', { revision: 3, endpoints: [] });
  assert.equal(a.seen.filter((s) => s.body.includes('"revision":3')).length, 2, 'the dropped push was sent twice');
  // Dropped again on the new connection too: not sent a third time, and the error says a retry can help.
  drop = 2;
  await assert.rejects(client.putEndpoints('u', { revision: 4, endpoints: [] }), (e: unknown) => e instanceof AgentError && e.status === null && e.retry);
  assert.equal(a.seen.filter((s) => s.body.includes('"revision":4')).length, 2);
});

test('an agent that does not answer fails the push after the timeout; one that is not listening fails it at once', async (t) => {
  const a = await agentServer(t, () => {});
  const client = httpAgentClient({ url: a.url, token: TOKEN, timeoutMs: 300 });
  t.after(async () => client.close?.());
  const started = performance.now();
  await assert.rejects(client.putEndpoints('u', { revision: 1, endpoints: [] }), (e: unknown) => e instanceof AgentError && e.status === null && e.retry && /ETIMEDOUT/.test(e.message));
  assert.ok(performance.now() - started >= 250, 'not before the timeout');
  const gone = httpAgentClient({ url: `http://127.0.0.1:${await freePort()}`, token: TOKEN });
  t.after(async () => gone.close?.());
  await assert.rejects(gone.putEndpoints('u', { revision: 1, endpoints: [] }), (e: unknown) => e instanceof AgentError && e.status === null && /ECONNREFUSED/.test(e.message));
  // Closing the client fails what is in flight.
  const hanging = client.putEndpoints('u', { revision: 2, endpoints: [] });
  await new Promise((r) => setTimeout(r, 50));
  client.close?.();
  await assert.rejects(hanging, (e: unknown) => e instanceof AgentError && /ECLOSED/.test(e.message));
});

test('40 pushes at once use at most 16 connections, and every one is answered', async (t) => {
  const a = await agentServer(t, (_req, _body, res) => setTimeout(() => applied(res), 5));
  const client = httpAgentClient({ url: a.url, token: TOKEN });
  t.after(async () => client.close?.());
  const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => client.putEndpoints(`u${i}`, { revision: i + 1, endpoints: [] })));
  assert.equal(answers.length, 40);
  assert.equal(a.seen.length, 40);
  const connections = new Set(a.seen.map((s) => s.socket)).size;
  assert.ok(connections <= 16 && connections >= 2, `${connections} connections`);
});

test('an answer past 16 MiB fails the push instead of being read without end', async (t) => {
  const a = await agentServer(t, (_req, _body, res) => {
    // Endless: a broken or hostile peer. The client must give up by itself.
    res.writeHead(200, { 'content-type': 'application/json' });
    const piece = Buffer.alloc(1 << 20, 0x20);
    const more = () => {
      while (!res.destroyed && res.write(piece));
      if (!res.destroyed) res.once('drain', more);
    };
    more();
  });
  const client = httpAgentClient({ url: a.url, token: TOKEN });
  t.after(async () => client.close?.());
  await assert.rejects(client.putEndpoints('u', { revision: 1, endpoints: [] }), (e: unknown) => e instanceof AgentError && e.status === null && /EPROTO|over 16777216 bytes/.test(e.message));
});
