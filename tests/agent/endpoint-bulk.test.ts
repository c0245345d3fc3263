// A batch with many endpoint sets (a complete one: thousands at a start) writes them to NGINX's
// shared dict in a few requests (PUT /endpoints on the control socket, one line per set) instead of
// one request each; every set must still land, in order with single updates, and a bad line must
// fail alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { unixRequest } from '../../src/agent/unix-http.ts';
import { startBackend, type Backend } from '../support/backend.ts';
import { startTestAgent, backendOf, proxyFragment, type TestAgent } from './harness.ts';

const SETS = 40;
let t: TestAgent;
let a: Backend;
let b: Backend;

before(async () => {
  [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
  t = await startTestAgent({ workerProcesses: 2 });
});
after(async () => {
  await t?.stop();
  await Promise.all([a?.close(), b?.close()]);
});

const host = (i: number) => `app-${i}.example.com`;
const upstream = (i: number) => `default-app-${i}-80`;

test('a batch of many endpoint sets is served in full, and a later single update of one of them wins', async () => {
  const fragments = Array.from({ length: SETS }, (_, i) => ({ name: host(i), revision: 1, config: proxyFragment(host(i), upstream(i)) }));
  const endpoints = Array.from({ length: SETS }, (_, i) => ({ upstream: upstream(i), revision: 1, endpoints: [i % 2 ? b.address : a.address] }));
  // The last set is deleted in the same batch that puts it: its host has no endpoints (503).
  endpoints.push({ upstream: upstream(SETS - 1), revision: 2, deleted: true } as never);
  const r = await t.api('POST', '/v1/batch?wait=1', { fragments, endpoints: endpoints.slice(0, SETS - 1).concat(endpoints.slice(SETS)) });
  assert.equal(r.status, 200, r.text);
  for (const e of r.json.endpoints) assert.equal(e.status, 'applied', JSON.stringify(e));
  await t.retired();
  for (let i = 0; i < SETS - 1; i++) {
    const reply = await t.get(host(i));
    assert.equal(reply.status, 200, `${host(i)}: ${reply.status}`);
    assert.equal(backendOf(reply), i % 2 ? 'b' : 'a', host(i));
  }
  assert.equal((await t.get(host(SETS - 1))).status, 503, 'a set deleted in the batch has no endpoints');
  // A single update after the bulk write is the one served.
  const one = await t.api('PUT', `/v1/endpoints/${upstream(0)}`, { revision: 5, endpoints: [b.address] });
  assert.equal(one.status, 200, one.text);
  assert.equal(backendOf(await t.get(host(0))), 'b');
});

test('the control socket stores every good line of a bulk write and answers each bad one with its reason', async () => {
  const body = [`put ${upstream(1)} ${a.address}`, `put ${upstream(2)} 999.1.1.1:80`, `put Bad_Name ${a.address}`, `delete ${upstream(3)}`, `frobnicate ${upstream(4)}`].join('\n');
  const reply = await unixRequest({ socketPath: t.agent.layout.endpointsSocket, path: '/endpoints', method: 'PUT', body });
  assert.equal(reply.status, 200, reply.body);
  const answers = reply.body.trimEnd().split('\n');
  assert.equal(answers.length, 5, reply.body);
  assert.equal(answers[0], 'ok');
  assert.match(answers[1]!, /^400 endpoints\[0\]: Invalid value: "999\.1\.1\.1:80"/);
  assert.equal(answers[2], '400 not an upstream name');
  assert.equal(answers[3], 'ok');
  assert.equal(answers[4], '400 expected put or delete');
  assert.equal(backendOf(await t.get(host(1))), 'a', 'the good line is served');
  assert.equal((await t.get(host(3))).status, 503, 'the deleted set is gone');
});

test('endpoint sets carried by a batch count in the endpoint update metrics as PUTs do', async () => {
  const count = async () => {
    const text = (await t.api('GET', '/metrics')).text;
    const m = /^wharf_agent_endpoint_updates_total\{via="lua",result="applied"\} (\d+)/m.exec(text);
    const stale = /^wharf_agent_endpoint_updates_total\{via="lua",result="stale"\} (\d+)/m.exec(text);
    return { applied: Number(m?.[1] ?? 0), stale: Number(stale?.[1] ?? 0) };
  };
  const before = await count();
  // Three sets in one request (as the handler tier sends sets that queued together), one of them stale.
  const r = await t.api('POST', '/v1/batch', {
    endpoints: [
      { upstream: upstream(5), revision: 10, endpoints: [b.address] },
      { upstream: upstream(6), revision: 10, endpoints: [a.address] },
      { upstream: upstream(7), revision: 0, endpoints: [a.address] },
    ],
  });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(await count(), { applied: before.applied + 2, stale: before.stale + 1 });
  assert.equal(backendOf(await t.get(host(5))), 'b');
});
