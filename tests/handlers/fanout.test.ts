// The fan-out to agents: newest wins per key, endpoints never wait behind fragments, an agent that
// was away gets the full snapshot, memory stays bounded, malformed pushes are not retried forever.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentFanout, type DesiredUpdate } from '../../src/handlers/fanout.ts';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentError, httpAgentClient } from '../../src/handlers/agent-client.ts';
import { createHandlerMetrics } from '../../src/handlers/metrics.ts';
import { createLogger } from '../../src/log.ts';
import type { Batch } from '../../src/protocol/agent-api.ts';
import { fakeAgent, unreachable } from './fake-agent.ts';

const quiet = createLogger({}, () => {});

/** A desired state the test edits, and the snapshot the fan-out takes of it. */
function desiredState() {
  const fragments = new Map<string, { revision: number; config: string }>();
  const endpoints = new Map<string, { revision: number; endpoints: string[] }>();
  const snapshot = (): Batch => ({
    fragments: [...fragments].map(([name, f]) => ({ name, revision: f.revision, config: f.config, files: {} })),
    endpoints: [...endpoints].map(([upstream, e]) => ({ upstream, revision: e.revision, endpoints: e.endpoints })),
    complete: true,
  });
  const change = (name: string, revision: number, config: string): DesiredUpdate => {
    fragments.set(name, { revision, config });
    return { fragments: [{ name, revision, config, files: {} }], endpoints: [] };
  };
  const setEndpoints = (upstream: string, revision: number, list: string[]): DesiredUpdate => {
    endpoints.set(upstream, { revision, endpoints: list });
    return { fragments: [], endpoints: [{ upstream, revision, endpoints: list }] };
  };
  return { snapshot, change, setEndpoints };
}

function fanout(agents: ReturnType<typeof fakeAgent>[], extra: Partial<ConstructorParameters<typeof AgentFanout>[0]> = {}) {
  return new AgentFanout({ clients: agents, log: quiet, metrics: createHandlerMetrics(), minBackoffMs: 2, maxBackoffMs: 10, ...extra });
}

/** A fan-out to `agents` that has delivered `state`'s snapshot (closed after the test). */
async function startedFanout(t: { after(fn: () => Promise<void>): void }, state: ReturnType<typeof desiredState>, ...args: Parameters<typeof fanout>): Promise<AgentFanout> {
  const f = fanout(...args);
  t.after(() => f.close());
  f.start(state.snapshot);
  await f.idle();
  return f;
}

test('an agent gets the full snapshot first, then only changes, newest revision winning per fragment', async (t) => {
  const agent = fakeAgent();
  const state = desiredState();
  state.change('a.example.com', 10, 'a1');
  const f = await startedFanout(t, state, [agent]);
  assert.deepEqual(agent.calls, ['batch(1,complete)']);

  let release!: () => void;
  agent.batchGate = new Promise((r) => (release = r));
  f.publish(state.change('b.example.com', 11, 'b1'));
  // While that batch is on its way, a burst of changes to one host: only the newest is sent.
  f.publish(state.change('a.example.com', 12, 'a2'));
  f.publish(state.change('a.example.com', 14, 'a4'));
  f.publish({ fragments: [{ name: 'a.example.com', revision: 13, config: 'a3', files: {} }], endpoints: [] });
  agent.batchGate = null;
  release();
  await f.idle();
  assert.deepEqual(agent.calls, ['batch(1,complete)', 'batch(1)', 'batch(1)']);
  assert.deepEqual(agent.configs(), { 'a.example.com': 'a4', 'b.example.com': 'b1' });
});

test('endpoint updates reach the agent while a fragment batch is still waiting for its reload', async (t) => {
  const agent = fakeAgent();
  const state = desiredState();
  const f = await startedFanout(t, state, [agent]);

  let release!: () => void;
  agent.batchGate = new Promise((r) => (release = r));
  f.publish(state.change('a.example.com', 20, 'slow'));
  f.publish(state.setEndpoints('default-web-80', 21, ['10.0.0.1:8080']));
  for (let i = 0; i < 50 && !agent.endpoints.has('default-web-80'); i++) await new Promise((r) => setTimeout(r, 2));
  assert.deepEqual(agent.liveEndpoints(), { 'default-web-80': ['10.0.0.1:8080'] }, 'endpoints arrived before the batch finished');
  assert.equal(agent.configs()['a.example.com'], undefined);
  agent.batchGate = null;
  release();
  await f.idle();
  assert.equal(agent.configs()['a.example.com'], 'slow');
});

test('an agent that was away catches up with one complete snapshot, and holds nothing queued meanwhile', async (t) => {
  const up = fakeAgent('http://up');
  const away = fakeAgent('http://away');
  const state = desiredState();
  const f = await startedFanout(t, state, [up, away]);
  away.failWith = unreachable();
  f.publish(state.change('a.example.com', 30, 'a'));
  await f.idle();
  assert.equal(f.status().find((s) => s.agent === 'http://away')!.up, false);
  for (let i = 0; i < 100; i++) {
    f.publish(state.change(`h${i}.example.com`, 31 + i, `h${i}`));
    f.publish(state.setEndpoints(`default-s${i}-80`, 31 + i, [`10.0.0.${i}:80`]));
  }
  const away1 = f.status().find((s) => s.agent === 'http://away')!;
  assert.deepEqual([away1.queuedFragments, away1.queuedEndpoints], [0, 0], 'nothing queued for an agent that is away');
  await f.idle();
  assert.equal(Object.keys(up.configs()).length, 101);

  away.calls.length = 0;
  away.failWith = null;
  for (let i = 0; i < 200 && f.status().find((s) => s.agent === 'http://away')!.up !== true; i++) await new Promise((r) => setTimeout(r, 5));
  await f.idle();
  assert.deepEqual(away.configs(), up.configs());
  assert.deepEqual(away.liveEndpoints(), up.liveEndpoints());
  assert.equal(away.calls.filter((c) => c.endsWith('complete)')).length, 1, `calls: ${away.calls.slice(0, 5).join(' ')}`);
});

test('a queue over its memory cap is dropped for a snapshot, which still delivers the latest state', async (t) => {
  const agent = fakeAgent();
  const state = desiredState();
  const f = await startedFanout(t, state, [agent], { maxQueuedBytes: 4096 });
  let release!: () => void;
  agent.batchGate = new Promise((r) => (release = r));
  f.publish(state.change('first.example.com', 1, 'x'));
  for (let i = 0; i < 20; i++) f.publish(state.change(`h${i}.example.com`, 2 + i, 'y'.repeat(500)));
  assert.equal(f.status()[0]!.queuedFragments, 0, 'the queue was dropped at the cap');
  agent.batchGate = null;
  release();
  await f.idle();
  assert.equal(Object.keys(agent.configs()).length, 21);
  assert.ok(agent.calls.filter((c) => c.endsWith('complete)')).length >= 2);
});

test('a push the agent refuses as malformed is dropped after one try; the rest goes on', async (t) => {
  const agent = fakeAgent();
  const state = desiredState();
  const f = await startedFanout(t, state, [agent]);
  agent.failWith = new AgentError('PUT /v1/endpoints/x: 400 endpoints[0]: expected IPv4:port', 400, false);
  f.publish(state.setEndpoints('default-web-80', 40, ['10.0.0.1:80']));
  await f.idle();
  agent.failWith = null;
  f.publish(state.change('a.example.com', 41, 'a'));
  await f.idle();
  assert.deepEqual(agent.calls.slice(1), ['endpoints(default-web-80)', 'batch(1)']);
});

test('endpoint sets that wait while the lane is busy go together in the next request; a lone one goes alone at once', async (t) => {
  const agent = fakeAgent();
  const state = desiredState();
  const f = await startedFanout(t, state, [agent], { endpointConcurrency: 1 });
  agent.calls.length = 0;
  // One tick: the first goes at once, the 19 others (one of them twice) wait for it and go as one batch.
  for (let i = 0; i < 20; i++) f.publish(state.setEndpoints(`default-s${i}-80`, 50, [`10.0.0.${i}:80`]));
  f.publish(state.setEndpoints('default-s7-80', 51, ['10.0.1.7:80']));
  await f.idle();
  assert.equal(agent.calls.length, 2, `calls: ${agent.calls.join(' ')}`);
  assert.equal(agent.calls[0], 'endpoints(default-s0-80)');
  assert.match(agent.calls[1]!, /^endpoint-batch\(/);
  const live = agent.liveEndpoints();
  assert.equal(Object.keys(live).length, 20);
  assert.deepEqual(live['default-s7-80'], ['10.0.1.7:80'], 'the newer revision queued for the same upstream won');
  assert.equal(agent.endpoints.get('default-s7-80')!.revision, 51);
  // Later, alone: a PUT of its own.
  agent.calls.length = 0;
  f.publish(state.setEndpoints('default-s3-80', 52, ['10.0.2.3:80']));
  await f.idle();
  assert.deepEqual(agent.calls, ['endpoints(default-s3-80)']);
});

test('a batch the agent refuses as malformed is sent again set by set: only the malformed set is dropped', async (t) => {
  const agent = fakeAgent();
  const state = desiredState();
  const f = await startedFanout(t, state, [agent], { endpointConcurrency: 1 });
  agent.refuse.add('default-bad-80');
  f.publish(state.setEndpoints('default-first-80', 60, ['10.0.0.1:80']));
  for (const u of ['default-x-80', 'default-bad-80', 'default-y-80']) f.publish(state.setEndpoints(u, 61, ['10.0.0.2:80']));
  await f.idle();
  assert.deepEqual(Object.keys(agent.liveEndpoints()).sort(), ['default-first-80', 'default-x-80', 'default-y-80']);
  assert.ok(agent.calls.some((c) => c.startsWith('endpoint-batch(')), `calls: ${agent.calls.join(' ')}`);
  assert.equal(agent.calls.filter((c) => c === 'endpoints(default-bad-80)').length, 1, 'the malformed set was tried once on its own, then dropped');
});

test('closing the fan-out closes its kept-alive connections, one with a push in flight too (a stopping process is not held open)', async (t) => {
  // An agent that takes requests and never answers.
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer(() => {});
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const state = desiredState();
  const f = fanout([httpAgentClient({ url, token: 'x'.repeat(32) }) as unknown as ReturnType<typeof fakeAgent>]);
  f.start(state.snapshot);
  for (let i = 0; i < 50 && sockets.size === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(sockets.size, 1, 'the snapshot push is in flight');
  await f.close();
  for (let i = 0; i < 100 && sockets.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(sockets.size, 0, 'the connection was closed');
});
