// End to end over real HTTP: three handler replicas (startHandler, as `wharf handler` runs them),
// two real agents each driving a real NGINX, echo backends. Events for an Ingress, its Service, its
// EndpointSlice and its TLS Secret arrive in any order, twice, at any replica; every agent must end
// with the same configuration and NGINX must route; an EndpointSlice change must not reload NGINX.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryReader, type Write } from '../../src/cluster/view-memory-reader.ts';
import { startHandler, type RunningHandler } from '../../src/handlers/serve.ts';
import { startTestAgent, type TestAgent } from '../agent/harness.ts';
import { selfSigned } from '../render/helpers.ts';
import { startBackend, type Backend } from '../support/backend.ts';
import { eventually, request } from '../support/http.ts';
import { TOKEN, binary, endpointSlice, ingress, service, tlsSecret } from './fixtures.ts';
import { handlerOptions } from './support.ts';

let agents: TestAgent[] = [];
let handlers: RunningHandler[] = [];
let a: Backend;
let b: Backend;
const api = new MemoryReader();

before(async () => {
  [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
  agents = await Promise.all([startTestAgent({ token: TOKEN }), startTestAgent({ token: TOKEN })]);
  handlers = await Promise.all(
    [0, 1, 2].map(() =>
      startHandler(handlerOptions({ agents: agents.map((x) => x.agent.apiUrl), reader: api })),
    ),
  );
});

after(async () => {
  await Promise.all(handlers.map((h) => h.close()));
  await Promise.all(agents.map((x) => x.stop()));
  await Promise.all([a?.close(), b?.close()]);
});

/** Posts one change as a Knative resource event (binary mode) to a handler over HTTP. */
async function deliver(h: RunningHandler, w: Write): Promise<number> {
  const init = binary(`dev.knative.apiserver.resource.${w.action}`, w.object);
  const res = await fetch(`${h.url}/events`, init);
  await res.text();
  return res.status;
}

/** GET /v1/state of an agent (with the shared token; the harness's api() uses its own). */
async function agentState(x: TestAgent): Promise<any> {
  const res = await fetch(`${x.agent.apiUrl}/v1/state`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return res.json();
}

/** Waits until every agent has applied every fragment (no reload pending). */
async function settled(): Promise<void> {
  await Promise.all(handlers.map((h) => h.fanout.idle()));
  for (const x of agents) {
    const ok = await eventually(async () => {
      const s = await agentState(x);
      return s.appliedVersion === s.desiredVersion && s.fragments.every((f: { status: string }) => f.status !== 'pending');
    }, 20_000);
    assert.ok(ok, `agent ${x.agent.apiUrl} did not apply everything`);
    await x.retired();
  }
}

/** What an agent serves: fragment files by name, and endpoint revisions. */
function served(x: TestAgent, names: string[]): Record<string, string> {
  return Object.fromEntries(names.map((n) => [n, readFileSync(join(x.prefix, 'fragments', `${n}.conf`), 'utf8')]));
}

async function reloads(x: TestAgent): Promise<number> {
  const text = (await x.api('GET', '/metrics')).text;
  let n = 0;
  for (const m of text.matchAll(/^wharf_agent_reloads_total\{result="[a-z]+"\} (\d+)/gm)) n += Number(m[1]);
  return n;
}

test('events in any order, twice, at any replica: every agent serves the same config and NGINX routes', async () => {
  const cert = selfSigned('cafe.example.com');
  const writes = [
    api.put(ingress('cafe', 'cafe.example.com', [{ path: '/' }], { tls: [{ hosts: ['cafe.example.com'], secretName: 'cafe-tls' }] })),
    api.put(service('web')),
    api.put(endpointSlice('web', [a.address])),
    api.put(tlsSecret('cafe-tls', cert.cert, cert.key)),
  ];
  // Every event twice, shuffled, each copy to a replica chosen at random.
  const deliveries = [...writes, ...writes].map((w) => ({ w, h: handlers[Math.floor(Math.random() * handlers.length)]!, k: Math.random() }));
  deliveries.sort((x, y) => x.k - y.k);
  for (const d of deliveries) assert.equal(await deliver(d.h, d.w), 200);
  // A replica only knows what reached it; the relist is the level-triggered truth for all of them.
  for (const h of handlers) await h.handler.relist();
  await settled();

  const names = ['_main', '_default', 'cafe.example.com'];
  const first = served(agents[0]!, names);
  assert.deepEqual(served(agents[1]!, names), first);
  const states = await Promise.all(agents.map(async (x) => (await agentState(x)).fragments.map((f: { name: string; revision: number }) => `${f.name}@${f.revision}`).sort()));
  assert.deepEqual(states[1], states[0]);

  for (const x of agents) {
    const https = await request({ port: x.httpsPort, host: 'cafe.example.com', path: '/menu', tls: true });
    assert.equal(https.status, 200, https.body);
    assert.equal(JSON.parse(https.body).backend, 'a');
    const plain = await request({ port: x.httpPort, host: 'cafe.example.com', path: '/menu' });
    assert.equal(plain.status, 308, 'a TLS host redirects plain HTTP');
  }
});

test('an EndpointSlice event moves traffic without a reload', async () => {
  await settled();
  const before = await Promise.all(agents.map(reloads));
  const moved = api.put(endpointSlice('web', [b.address]));
  assert.equal(await deliver(handlers[1]!, moved), 200);
  for (const x of agents) {
    const routed = await eventually(async () => {
      const r = await request({ port: x.httpsPort, host: 'cafe.example.com', path: '/', tls: true });
      return r.status === 200 && JSON.parse(r.body).backend === 'b';
    }, 5000, 5);
    assert.ok(routed, `agent ${x.agent.apiUrl} routes to the new endpoint`);
  }
  assert.deepEqual(await Promise.all(agents.map(reloads)), before, 'no reload');
});

test('bad input over real HTTP gets a clear 4xx and the replica keeps serving', async () => {
  const h = handlers[0]!;
  const post = (init: RequestInit) => fetch(`${h.url}/events`, init).then(async (r) => ({ status: r.status, body: await r.text() }));
  const big = await post({ ...binary('io.wharf.resource.add', service('x')), body: 'x'.repeat(20 << 20) });
  assert.equal(big.status, 413);
  const noUid = await fetch(`${h.url}/admission`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { kind: { group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' }, operation: 'CREATE', object: ingress('x', 'x.example.com') } }),
  });
  assert.equal(noUid.status, 400);
  assert.match(await noUid.text(), /request\.uid: Required value/);
  const malformed = await post({ method: 'POST', headers: { 'content-type': 'application/cloudevents+json', authorization: `Bearer ${TOKEN}` }, body: '{' });
  assert.equal(malformed.status, 400);
  assert.equal((await fetch(`${h.url}/healthz`)).status, 200);
});

test('an agent that restarts empty gets the full snapshot from the handler', async () => {
  await settled();
  const x = agents[1]!;
  const url = x.agent.apiUrl;
  await x.stop();
  // A push while it is away marks it away; the fan-out then probes with the snapshot.
  const w = api.put(endpointSlice('web', [a.address]));
  await deliver(handlers[2]!, w);
  for (const h of handlers) await h.handler.relist();
  const port = Number(new URL(url).port);
  const back = await startTestAgent({ token: TOKEN, listen: { host: '127.0.0.1', port } });
  agents[1] = back;
  const routed = await eventually(async () => {
    const r = await request({ port: back.httpsPort, host: 'cafe.example.com', path: '/', tls: true }).catch(() => null);
    return r?.status === 200 && JSON.parse(r.body).backend === 'a';
  }, 15_000, 20);
  assert.ok(routed, 'the restarted agent serves the host again');
});
