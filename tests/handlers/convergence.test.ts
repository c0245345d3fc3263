// Three handler replicas, each receiving any subset of the events, in any order, some twice, all
// pushing to the same agents: every agent must end with the configuration a fresh replica computes
// from the cluster's final state. In-memory agents here; tests/handlers/e2e.test.ts does it with
// the real agent and NGINX.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryReader, type Write } from '../../src/cluster/view-memory-reader.ts';
import { keyOf } from '../../src/cluster/view.ts';
import { selfSigned } from '../render/helpers.ts';
import { fakeAgent, type FakeAgent } from './fake-agent.ts';
import { batchOf, endpointSlice, ingress, service, tlsSecret } from './fixtures.ts';
import { testHandler, type TestHandler } from './support.ts';
import { SLOT, above, contentBits, nextRevision } from '../../src/handlers/desired-config.ts';

/** A small deterministic PRNG (mulberry32), so a failing seed can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], rnd: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

const certA = selfSigned('cafe.example.com');
const certB = selfSigned('cafe.example.com');

/** The story of a small cluster: every write, as the API server made it. */
function history(api: MemoryReader): Write[] {
  const tls = { tls: [{ hosts: ['cafe.example.com'], secretName: 'cafe-tls' }] };
  const w: Write[] = [];
  w.push(api.put(service('web')));
  w.push(api.put(ingress('cafe', 'cafe.example.com', [{ path: '/' }], tls)));
  w.push(api.put(tlsSecret('cafe-tls', certA.cert, certA.key)));
  w.push(api.put(endpointSlice('web', ['10.0.0.1:8080'])));
  w.push(api.put(endpointSlice('web', ['10.0.0.1:8080', '10.0.0.2:8080'])));
  w.push(api.put(service('tea')));
  w.push(api.put(ingress('cafe', 'cafe.example.com', [{ path: '/' }, { path: '/tea', service: 'tea' }], tls)));
  w.push(api.put(endpointSlice('tea', ['10.0.1.1:8080'])));
  w.push(api.put(ingress('menu', 'menu.example.com')));
  w.push(api.put(ingress('mover', 'a.example.com', [{ path: '/move' }])));
  w.push(api.put(ingress('mover', 'b.example.com', [{ path: '/move' }])));
  w.push(api.delete(keyOf(ingress('menu', null)))!);
  w.push(api.put(tlsSecret('cafe-tls', certB.cert, certB.key)));
  w.push(api.put(endpointSlice('web', ['10.0.0.2:8080', '10.0.0.3:8080'])));
  w.push(api.put(ingress('nohost', null, [{ path: '/fallback' }])));
  return w;
}

/** What an agent holds, without revisions: fragment configs and files, endpoint sets, certificates. */
function holdings(agent: FakeAgent) {
  const files = Object.fromEntries([...agent.fragments].filter(([, f]) => f.config !== null).map(([n, f]) => [n, f.files]));
  return { configs: agent.configs(), files, endpoints: agent.liveEndpoints(), certificates: agent.liveCertificates() };
}

/** What a fresh replica that lists the final state pushes. */
async function reference(api: MemoryReader) {
  const fresh = testHandler({ api, agents: [fakeAgent('http://reference')] });
  await fresh.relist();
  await fresh.fanout.idle();
  const h = holdings(fresh.agents[0]!);
  await fresh.close();
  return h;
}

async function replicas(api: MemoryReader, agents: FakeAgent[]): Promise<TestHandler[]> {
  const r = [testHandler({ api, agents }), testHandler({ api, agents }), testHandler({ api, agents })];
  for (const h of r) await h.relist();
  return r;
}

for (const seed of [1, 2, 3, 4, 5]) {
  test(`every event to every replica, shuffled and duplicated, converges without a relist (seed ${seed})`, async () => {
    const rnd = random(seed);
    const api = new MemoryReader();
    const agents = [fakeAgent('http://a0'), fakeAgent('http://a1')];
    const handlers = await replicas(api, agents);
    const writes = history(api);
    const deliveries = shuffle(
      writes.flatMap((w) => handlers.flatMap((h) => [{ h, w }, { h, w }])),
      rnd,
    );
    for (const { h, w } of deliveries) {
      const r = await h.post('/events', batchOf([w]));
      assert.equal(r.status, 200, JSON.stringify(r.json));
    }
    for (const h of handlers) await h.fanout.idle();
    const want = await reference(api);
    for (const a of agents) assert.deepEqual(holdings(a), want, `agent ${a.url}`);
    for (const h of handlers) await h.close();
  });

  test(`each event to a random replica or none, then a relist, converges every agent (seed ${seed})`, async () => {
    const rnd = random(100 + seed);
    const api = new MemoryReader();
    const agents = [fakeAgent('http://a0'), fakeAgent('http://a1'), fakeAgent('http://a2')];
    const handlers = await replicas(api, agents);
    const writes = history(api);
    // Some events are lost (Knative gives up after 5 tries), some delivered twice, out of order.
    const deliveries = shuffle(
      writes.flatMap((w) => {
        const n = Math.floor(rnd() * 3);
        return Array.from({ length: n }, () => ({ h: handlers[Math.floor(rnd() * handlers.length)]!, w }));
      }),
      rnd,
    );
    for (const { h, w } of deliveries) await h.post('/events', batchOf([w]));
    for (const h of handlers) await h.fanout.idle();
    for (const h of shuffle(handlers, rnd)) {
      await h.relist();
      await h.fanout.idle();
    }
    const want = await reference(api);
    for (const a of agents) assert.deepEqual(holdings(a), want, `agent ${a.url}`);
    for (const h of handlers) await h.close();
  });
}

test('a replica that pushed stale content and then went away cannot keep it on the agents past a relist', async () => {
  const api = new MemoryReader();
  const agents = [fakeAgent('http://a0')];
  const [stale, good] = await replicas(api, agents);
  const v1 = api.put(ingress('cafe', 'cafe.example.com', [{ path: '/old' }]));
  const v2 = api.put(ingress('cafe', 'cafe.example.com', [{ path: '/new' }]));
  const other = api.put(ingress('other', 'cafe.example.com', [{ path: '/other' }]));
  // `good` misses the other Ingress; `stale` misses v2 but sees the later Ingress on the same host,
  // so its stale content carries the newer base and wins on the agent.
  await good!.post('/events', batchOf([v1, v2]));
  await good!.fanout.idle();
  await stale!.post('/events', batchOf([v1, other]));
  await stale!.fanout.idle();
  assert.match(agents[0]!.configs()['cafe.example.com']!, /\/old/);
  await stale!.close();
  await good!.relist();
  await good!.fanout.idle();
  assert.match(agents[0]!.configs()['cafe.example.com']!, /\/new[\s\S]*\/other|\/other[\s\S]*\/new/);
  assert.doesNotMatch(agents[0]!.configs()['cafe.example.com']!, /\/old/);
  await good!.close();
});

test('revisions: a newer base always wins; content changed at the same base bumps, but stays below the next base', () => {
  const cases: [string, number, number, number | undefined, number][] = [
    ['first content', 1000, 7, undefined, 1000 * SLOT + 7],
    ['newer base', 1001, 3, 1000 * SLOT + 900, 1001 * SLOT + 3],
    ['same base, other content: bump 1', 1000, 3, 1000 * SLOT + 900, 1000 * SLOT + 1024 + 3],
    ['older base (late event): bump in the held base', 999, 5, 1000 * SLOT + 1024 + 9, 1000 * SLOT + 2048 + 5],
    ['bumps exhausted: next base', 1000, 5, 1000 * SLOT + 3 * 1024 + 9, 1001 * SLOT + 5],
  ];
  for (const [name, base, low, held, want] of cases) {
    const got = nextRevision(base, low, held);
    assert.equal(got, want, name);
    assert.equal(contentBits(got), low, `${name}: the content bits survive`);
    if (held !== undefined) assert.ok(got > held, `${name}: above what was held`);
  }
  assert.ok(above(1000 * SLOT + 2 * 1024 + 1, 0) < 1001 * SLOT, 'a bump never reaches the next base');
});
