// Endpoint changes from CloudEvents to NGINX over real HTTP, where the fan-out coalesces: a lone
// change goes at once, changes that arrive while pushes are in flight go together in the next request.
// A real handler (startHandler), real agents with a real NGINX, echo backends. What must hold: the
// last version wins whatever was coalesced, changes to different upstreams all land, and an agent
// that could not be reached gets the change once it answers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { MemoryReader, type Write } from '../../src/cluster/view-memory-reader.ts';
import { startHandler, type RunningHandler } from '../../src/handlers/serve.ts';
import { startTestAgent, type TestAgent } from '../agent/harness.ts';
import { freePort, startBackend, type Backend } from '../support/backend.ts';
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

function handlerFor(api: MemoryReader, agentUrls: string[]): Promise<RunningHandler> {
  return startHandler(handlerOptions({ agents: agentUrls, reader: api }));
}

/** Posts one change as a Knative resource event (binary mode) over HTTP; returns the status. */
async function deliver(h: RunningHandler, w: Write): Promise<number> {
  const res = await fetch(`${h.url}/events`, binary(`dev.knative.apiserver.resource.${w.action}`, w.object));
  await res.text();
  return res.status;
}

/** Which backend NGINX sends `host` to (null: none answered). */
async function backendAt(x: TestAgent, host: string): Promise<string | null> {
  const r = await x.get(host);
  return r.status === 200 ? (JSON.parse(r.body) as { backend: string }).backend : null;
}

/** Two hosts, each to its own Service, both routed to backend `a`. */
function twoHosts(api: MemoryReader): Write[] {
  return [
    api.put(ingress('one', 'one.example.com', [{ path: '/', service: 'one' }])),
    api.put(service('one')),
    api.put(endpointSlice('one', [a.address])),
    api.put(ingress('two', 'two.example.com', [{ path: '/', service: 'two' }])),
    api.put(service('two')),
    api.put(endpointSlice('two', [a.address])),
  ];
}

/** A real agent and a handler pushing to it, the two hosts delivered as events and served by NGINX. */
async function servedTwoHosts(t: { after(fn: () => Promise<void>): void }): Promise<{ api: MemoryReader; agent: TestAgent; h: RunningHandler }> {
  const api = new MemoryReader();
  const agent = await startTestAgent({ token: TOKEN });
  t.after(() => agent.stop());
  const h = await handlerFor(api, [agent.agent.apiUrl]);
  t.after(() => h.close());
  for (const w of twoHosts(api)) assert.equal(await deliver(h, w), 200);
  assert.ok(await eventually(async () => (await backendAt(agent, 'one.example.com')) === 'a' && (await backendAt(agent, 'two.example.com')) === 'a', 20_000), 'both hosts routed to a');
  return { api, agent, h };
}

test('a burst of 200 events for one EndpointSlice, 16 at a time, ends with the agent holding and NGINX routing the last version', async (t) => {
  const { api, agent, h } = await servedTwoHosts(t);

  // 199 versions of other endpoint sets (1 to 7 addresses nobody serves), the 200th to backend b.
  const versions = Array.from({ length: 200 }, (_, i) =>
    i === 199 ? endpointSlice('one', [b.address]) : endpointSlice('one', Array.from({ length: (i % 7) + 1 }, (_, k) => `10.255.${k}.${i % 250}:8080`)),
  );
  const writes = versions.map((v) => api.put(v));
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = next++; i < writes.length; i = next++) assert.equal(await deliver(h, writes[i]!), 200);
    }),
  );
  // The events may have been answered in any order; the view kept the newest resourceVersion.
  await h.fanout.idle();
  const desired = h.handler.snapshot().endpoints.find((e) => e.upstream === 'default-one-80');
  assert.ok(desired && !('deleted' in desired), 'the handler holds the upstream');
  assert.deepEqual(desired.endpoints, [b.address], 'the handler holds the last version');
  const state = (await (await fetch(`${agent.agent.apiUrl}/v1/state`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { endpoints: { upstream: string; revision: number; endpoints: number | null }[] };
  const held = state.endpoints.find((e) => e.upstream === 'default-one-80');
  assert.deepEqual(held && { revision: held.revision, endpoints: held.endpoints }, { revision: desired.revision, endpoints: 1 }, 'the agent holds the last revision');
  assert.ok(await eventually(async () => (await backendAt(agent, 'one.example.com')) === 'b', 5000, 5), 'NGINX routes to the last version');
  assert.equal(await backendAt(agent, 'two.example.com'), 'a', 'the other host kept its endpoints');
});

test('two events in flight at once for different EndpointSlices both land', async (t) => {
  const { api, agent, h } = await servedTwoHosts(t);
  for (let round = 0; round < 20; round++) {
    const target = round % 2 === 0 ? b : a;
    const statuses = await Promise.all([deliver(h, api.put(endpointSlice('one', [target.address]))), deliver(h, api.put(endpointSlice('two', [target.address])))]);
    assert.deepEqual(statuses, [200, 200]);
    for (const host of ['one.example.com', 'two.example.com']) {
      assert.ok(await eventually(async () => (await backendAt(agent, host)) === target.name, 5000, 2), `round ${round}: ${host} routed to ${target.name}`);
    }
  }
});

test('an agent that cannot be reached gets an endpoint change once it answers', async (t) => {
  const api = new MemoryReader();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // The handler starts with its agent away: its first pushes fail.
  const h = await handlerFor(api, [url]);
  t.after(() => h.close());
  for (const w of twoHosts(api)) assert.equal(await deliver(h, w), 200);
  assert.ok(await eventually(() => h.fanout.status()[0]!.up === false, 5000), 'the handler saw the agent away');
  // The change comes while the agent is away; the CloudEvent is answered (the view holds it).
  assert.equal(await deliver(h, api.put(endpointSlice('one', [b.address]))), 200);
  const agent = await startTestAgent({ token: TOKEN, listen: { host: '127.0.0.1', port } });
  t.after(() => agent.stop());
  assert.ok(await eventually(async () => (await backendAt(agent, 'one.example.com')) === 'b', 30_000), 'NGINX routes one.example.com to the change made while the agent was away');
  assert.ok(await eventually(async () => (await backendAt(agent, 'two.example.com')) === 'a', 5000), 'and two.example.com to a');
  assert.equal(h.fanout.status()[0]!.up, true);
});

test('the full snapshot reaches an agent written as it is sent (chunked, never one string), the same as GET /snapshot, and NGINX serves it', async (t) => {
  const api = new MemoryReader();
  twoHosts(api);
  const agent = await startTestAgent({ token: TOKEN });
  t.after(() => agent.stop());
  // A recording hop in front of the agent: how the handler sends its batches, and what.
  const agentUrl = new URL(agent.agent.apiUrl);
  const seen: { transferEncoding: string | undefined; contentLength: string | undefined; body: string }[] = [];
  const hop = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.method === 'POST' && req.url === '/v1/batch') seen.push({ transferEncoding: req.headers['transfer-encoding'], contentLength: req.headers['content-length'], body: body.toString('utf8') });
      const headers = { ...req.headers, 'content-length': String(body.length) };
      delete headers['transfer-encoding'];
      const forward = http.request({ hostname: agentUrl.hostname, port: agentUrl.port, method: req.method, path: req.url, headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      forward.end(body);
    });
  });
  await new Promise<void>((r) => hop.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => hop.close(() => r())));
  const h = await handlerFor(api, [`http://127.0.0.1:${(hop.address() as { port: number }).port}`]);
  t.after(() => h.close());

  assert.ok(await eventually(async () => (await backendAt(agent, 'one.example.com')) === 'a' && (await backendAt(agent, 'two.example.com')) === 'a', 10_000, 20), 'NGINX serves the snapshot');
  const complete = seen.filter((s) => (JSON.parse(s.body) as { complete: boolean }).complete);
  assert.equal(complete.length, 1, 'one full snapshot');
  assert.equal(complete[0]!.transferEncoding, 'chunked');
  assert.equal(complete[0]!.contentLength, undefined);
  const snapshot = await (await fetch(`${h.url}/snapshot`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
  assert.deepEqual(JSON.parse(complete[0]!.body), snapshot);
});
