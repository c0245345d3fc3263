// What the answer to POST /events means with --event-ack-wait: once the healthy agents hold the
// event's changes (NGINX already routes to the new endpoint when the sender reads the answer), and
// never later than the bound because of an agent that hangs or is down (and not at all once it let a
// wait run out). Without it (the default), once the push is written, whatever the agent does. A real
// handler (startHandler), a real agent with its NGINX, and a second agent that answers, hangs or is
// gone, as a plain HTTP server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { Socket } from 'node:net';
import { MemoryReader } from '../../src/cluster/view-memory-reader.ts';
import { startHandler, type RunningHandler } from '../../src/handlers/serve.ts';
import { startTestAgent, type TestAgent } from '../agent/harness.ts';
import { startBackend, type Backend } from '../support/backend.ts';
import { eventually } from '../support/http.ts';
import { TOKEN, binary, endpointSlice, ingress, service } from './fixtures.ts';
import { handlerOptions } from './support.ts';

let a: Backend;
let b: Backend;

before(async () => {
  [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
});

after(async () => {
  await Promise.all([a?.close(), b?.close()]);
});

/**
 * An agent as a plain HTTP server: while `mode` is 'answer', it forwards each call to `target` after
 * `delayMs` (a slow apply), or answers 200 `{}` without a target; while 'hang', it never answers.
 */
async function hop(t: { after(fn: () => Promise<void>): void }, target?: string): Promise<{ url: string; mode: 'answer' | 'hang'; delayMs: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const state = {
    url: '',
    mode: 'answer' as 'answer' | 'hang',
    delayMs: 0,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        for (const s of sockets) s.destroy();
      }),
  };
  const to = target ? new URL(target) : null;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (state.mode === 'hang') return;
      if (!to) return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      const body = Buffer.concat(chunks);
      const headers = { ...req.headers, 'content-length': String(body.length) };
      delete headers['transfer-encoding'];
      setTimeout(() => {
        const forward = http.request({ hostname: to.hostname, port: to.port, method: req.method, path: req.url, headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        forward.on('error', () => res.destroy());
        forward.end(body);
      }, state.delayMs);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  t.after(() => state.close());
  return state;
}

/** Which backend NGINX sends `host` to, asked once (null: none answered). */
async function backendAt(x: TestAgent, host: string): Promise<string | null> {
  const r = await x.get(host);
  return r.status === 200 ? (JSON.parse(r.body) as { backend: string }).backend : null;
}

/** Posts an EndpointSlice event for Service `one`; returns the status and how long the answer took. */
async function flip(h: RunningHandler, api: MemoryReader, to: Backend): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${h.url}/events`, binary('dev.knative.apiserver.resource.update', api.put(endpointSlice('one', [to.address])).object));
  await res.text();
  return { status: res.status, ms: performance.now() - started };
}

/**
 * A real agent serving one.example.com from backend `a` and a handler pushing to it (through
 * `front`, a hop made for its URL, when given) and to `others`.
 */
async function served(
  t: { after(fn: () => Promise<void>): void },
  o: { others?: string[]; eventAckWaitMs: number; front?: (url: string) => Promise<string> },
): Promise<{ api: MemoryReader; agent: TestAgent; h: RunningHandler }> {
  const api = new MemoryReader();
  const agent = await startTestAgent({ token: TOKEN });
  t.after(() => agent.stop());
  const first = o.front ? await o.front(agent.agent.apiUrl) : agent.agent.apiUrl;
  const h = await startHandler(handlerOptions({ agents: [first, ...(o.others ?? [])], reader: api, eventAckWaitMs: o.eventAckWaitMs }));
  t.after(() => h.close());
  for (const w of [api.put(ingress('one', 'one.example.com', [{ path: '/', service: 'one' }])), api.put(service('one')), api.put(endpointSlice('one', [a.address]))]) {
    const res = await fetch(`${h.url}/events`, binary(`dev.knative.apiserver.resource.${w.action}`, w.object));
    assert.equal(res.status, 200, await res.text());
  }
  assert.ok(await eventually(async () => (await backendAt(agent, 'one.example.com')) === 'a', 20_000), 'one.example.com routed to a');
  assert.ok(await eventually(() => h.fanout.status().every((s) => s.up === true && s.queuedEndpoints === 0 && s.queuedFragments === 0), 10_000), 'every agent answered its snapshot');
  // NGINX workers from before the reload that brought the host accept connections a little longer.
  await agent.retired();
  return { api, agent, h };
}

test('POST /events answers once the agent holds the change: NGINX routes to the new endpoint when the answer arrives', async (t) => {
  // The agent takes 100 ms more to apply each call than NGINX needs (a hop that delays them): an
  // answer that came before the agent held the change would find NGINX still on the old endpoint.
  // A generous bound, so that a loaded machine cannot make the answer come first either.
  let slow: Awaited<ReturnType<typeof hop>> | null = null;
  const { api, agent, h } = await served(t, { eventAckWaitMs: 10_000, front: async (url) => (slow = await hop(t, url)).url });
  slow!.delayMs = 100;
  for (let i = 0; i < 10; i++) {
    const target = i % 2 === 0 ? b : a;
    assert.equal((await flip(h, api, target)).status, 200);
    // Asked once, right after the answer: no polling.
    assert.equal(await backendAt(agent, 'one.example.com'), target.name, `change ${i}: NGINX routes to ${target.name} as soon as the event is answered`);
  }
});

test('by default POST /events answers once the push is written, without waiting for the agent', async (t) => {
  // The same agent, 1 s slower than NGINX: the answer comes well before it holds the change.
  let slow: Awaited<ReturnType<typeof hop>> | null = null;
  const api = new MemoryReader();
  const agent = await startTestAgent({ token: TOKEN });
  t.after(() => agent.stop());
  slow = await hop(t, agent.agent.apiUrl);
  const h = await startHandler(handlerOptions({ agents: [slow.url], reader: api }));
  t.after(() => h.close());
  for (const w of [api.put(ingress('one', 'one.example.com', [{ path: '/', service: 'one' }])), api.put(service('one')), api.put(endpointSlice('one', [a.address]))]) {
    assert.equal((await fetch(`${h.url}/events`, binary(`dev.knative.apiserver.resource.${w.action}`, w.object))).status, 200);
  }
  assert.ok(await eventually(async () => (await backendAt(agent, 'one.example.com')) === 'a', 20_000), 'one.example.com routed to a');
  slow.delayMs = 1000;
  const r = await flip(h, api, b);
  assert.equal(r.status, 200);
  assert.ok(r.ms < 500, `answered in ${Math.round(r.ms)} ms`);
  assert.ok(await eventually(async () => (await backendAt(agent, 'one.example.com')) === 'b', 10_000), 'and the change still reaches NGINX');
});

test('an agent that hangs delays the answer by the bound at most, and once it let a wait run out, not at all', async (t) => {
  const other = await hop(t);
  const bound = 2000;
  const { api, agent, h } = await served(t, { others: [other.url], eventAckWaitMs: bound });
  // Both agents answer: the answer waits for both, and NGINX routes to the change when it arrives.
  assert.equal((await flip(h, api, b)).status, 200);
  assert.equal(await backendAt(agent, 'one.example.com'), 'b');

  other.mode = 'hang';
  const first = await flip(h, api, a);
  assert.equal(first.status, 200);
  assert.ok(first.ms >= bound * 0.9 && first.ms < bound + 1500, `the first event after the agent hung was answered at the bound (${Math.round(first.ms)} ms, bound ${bound})`);
  // The healthy agent was still waited for.
  assert.equal(await backendAt(agent, 'one.example.com'), 'a');

  const second = await flip(h, api, b);
  assert.equal(second.status, 200);
  assert.ok(second.ms < bound / 2, `the next event was not held by the hanging agent (${Math.round(second.ms)} ms)`);
  assert.equal(await backendAt(agent, 'one.example.com'), 'b', 'and still waited for the healthy one');
});

test('an agent that is down does not delay the answer', async (t) => {
  const other = await hop(t);
  const bound = 2000;
  const { api, agent, h } = await served(t, { others: [other.url], eventAckWaitMs: bound });
  await other.close();
  for (let i = 0; i < 3; i++) {
    const target = i % 2 === 0 ? b : a;
    const r = await flip(h, api, target);
    assert.equal(r.status, 200);
    assert.ok(r.ms < bound / 2, `event ${i} answered in ${Math.round(r.ms)} ms with one agent down (bound ${bound})`);
    assert.equal(await backendAt(agent, 'one.example.com'), target.name);
  }
  assert.ok(await eventually(() => h.fanout.status().find((s) => s.agent === other.url)!.up === false, 5000), 'the handler saw the agent away');
});
