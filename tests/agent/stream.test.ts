// TCP and UDP services through the agent's stream {} block, with a real NGINX and real sockets:
// echoes through a stream fragment, endpoint changes reaching new connections without a reload
// (njs), open connections kept, a refused endpoint retried on another, and the reload fallback.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestAgent, type TestAgent } from './harness.ts';
import { streamFragment, streamPort } from './stream-harness.ts';
import { startTcpEcho, startUdpEcho, tcpExchange, tcpSession, udpExchange, type StreamBackend } from '../support/stream-backends.ts';
import { freePort } from '../support/backend.ts';
import { eventually } from '../support/http.ts';

const backends: StreamBackend[] = [];
const agents: TestAgent[] = [];
after(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await Promise.all(backends.map((b) => b.close()));
});

async function tcp(name: string): Promise<StreamBackend> {
  const b = await startTcpEcho(name);
  backends.push(b);
  return b;
}

async function agent(o: Parameters<typeof startTestAgent>[0] = {}): Promise<TestAgent> {
  const t = await startTestAgent(o);
  agents.push(t);
  return t;
}

test('a TCP and a UDP service answer through NGINX; endpoint changes reach new connections with no reload (njs)', async () => {
  const [a, b] = [await tcp('a'), await tcp('b')];
  const u = await startUdpEcho('dns');
  backends.push(u);
  const t = await agent();
  assert.equal(t.agent.streamEndpointMode, 'njs');
  const port = await streamPort(t);
  const r = await t.api('POST', '/v1/batch?wait=1', {
    fragments: [
      { name: `_stream-tcp-${port.declared}`, revision: 1, config: streamFragment('tcp', port.declared, 'default-echo-9000') },
      { name: `_stream-udp-${port.declared}`, revision: 1, config: streamFragment('udp', port.declared, 'default-dns-53') },
    ],
    endpoints: [
      { upstream: 'default-echo-9000', revision: 1, endpoints: [a.address] },
      { upstream: 'default-dns-53', revision: 1, endpoints: [u.address] },
    ],
  });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.fragments.map((f: { status: string }) => f.status), ['applied', 'applied']);
  assert.equal(await tcpExchange(port.served, 'hello'), 'a: hello');
  assert.equal(await udpExchange(port.served, 'example.com A?'), 'dns: example.com A?');

  const reloads = (await t.api('GET', '/v1/state')).json.reloads;
  const open = await tcpSession(port.served);
  assert.equal(await open.say('before'), 'a: before');
  const put = await t.api('PUT', '/v1/endpoints/default-echo-9000', { revision: 2, endpoints: [b.address] });
  assert.equal(put.json.status, 'applied');
  for (let i = 0; i < 4; i++) assert.equal(await tcpExchange(port.served, `new ${i}`), `b: new ${i}`, 'a new connection goes to the new set at once');
  assert.equal(await open.say('still there'), 'a: still there', 'the open connection to the removed endpoint is not cut');
  open.close();
  // A set of two before any reload made its upstream group: new connections go to either (at random:
  // 20 connections all to one endpoint would happen once in half a million runs).
  const c = await tcp('c');
  assert.equal((await t.api('PUT', '/v1/endpoints/default-echo-9000', { revision: 3, endpoints: [b.address, c.address] })).json.status, 'applied');
  const answers = new Set<string>();
  for (let i = 0; i < 20; i++) answers.add((await tcpExchange(port.served, 'who')).split(':')[0]!);
  assert.deepEqual([...answers].sort(), ['b', 'c'], `both endpoints of the new set get connections: ${[...answers]}`);
  assert.equal((await t.api('GET', '/v1/state')).json.reloads, reloads, 'no reload');
  const metrics = (await t.api('GET', '/metrics')).text;
  assert.match(metrics, /wharf_agent_stream_endpoint_mode\{mode="njs"\} 1/);
});

test('a refused connection is tried on another endpoint once a reload has built the upstream group', async () => {
  const a = await tcp('a');
  const dead = await freePort(); // nothing listens there: connections are refused
  const t = await agent();
  const port = await streamPort(t);
  await t.api('POST', '/v1/batch?wait=1', {
    fragments: [{ name: `_stream-tcp-${port.declared}`, revision: 1, config: streamFragment('tcp', port.declared, 'default-pair-9000') }],
    endpoints: [{ upstream: 'default-pair-9000', revision: 1, endpoints: [`127.0.0.1:${dead}`, a.address] }],
  });
  for (let i = 0; i < 6; i++) assert.equal(await tcpExchange(port.served, `try ${i}`), `a: try ${i}`, 'the refused endpoint is skipped');
});

test('a TCP backend behind proxy_protocol reads the client address in a PROXY header', async () => {
  const p = await startTcpEcho('pp', { proxyProtocol: true });
  backends.push(p);
  const t = await agent();
  const port = await streamPort(t);
  await t.api('POST', '/v1/batch?wait=1', {
    fragments: [{ name: `_stream-tcp-${port.declared}`, revision: 1, config: streamFragment('tcp', port.declared, 'default-pp-9000', { proxyProtocolToBackend: true }) }],
    endpoints: [{ upstream: 'default-pp-9000', revision: 1, endpoints: [p.address] }],
  });
  assert.equal(await tcpExchange(port.served, 'hi'), 'pp: hi');
  assert.match(p.proxyHeaders[0] ?? '', new RegExp(`^PROXY TCP4 127\\.0\\.0\\.1 127\\.0\\.0\\.1 \\d+ ${port.served}$`));
});

test('without njs (endpoint mode reload) stream endpoints change through a reload, and the mode says so', async () => {
  const [a, b] = [await tcp('a'), await tcp('b')];
  const t = await agent({ endpointMode: 'reload' });
  assert.equal(t.agent.streamEndpointMode, 'reload');
  const port = await streamPort(t);
  await t.api('POST', '/v1/batch?wait=1', {
    fragments: [{ name: `_stream-tcp-${port.declared}`, revision: 1, config: streamFragment('tcp', port.declared, 'default-echo-9000') }],
    endpoints: [{ upstream: 'default-echo-9000', revision: 1, endpoints: [a.address] }],
  });
  assert.equal(await tcpExchange(port.served, 'x'), 'a: x');
  const reloads = (await t.api('GET', '/v1/state')).json.reloads;
  const put = await t.api('PUT', '/v1/endpoints/default-echo-9000?wait=1', { revision: 2, endpoints: [b.address] });
  assert.equal(put.status, 200);
  await t.retired();
  assert.equal(await tcpExchange(port.served, 'y'), 'b: y');
  assert.ok((await t.api('GET', '/v1/state')).json.reloads > reloads, 'a reload carried the change');
  assert.match((await t.api('GET', '/metrics')).text, /wharf_agent_stream_endpoint_mode\{mode="reload"\} 1/);
});

test('a stream port the agent cannot serve is quarantined by name, and the others keep serving', async () => {
  const a = await tcp('a');
  const t = await agent();
  const port = await streamPort(t);
  const r = await t.api('POST', '/v1/batch?wait=1', {
    fragments: [
      { name: `_stream-tcp-${port.declared}`, revision: 1, config: streamFragment('tcp', port.declared, 'default-echo-9000') },
      { name: '_stream-tcp-80', revision: 1, config: streamFragment('tcp', 80, 'default-echo-9000') },
    ],
    endpoints: [{ upstream: 'default-echo-9000', revision: 1, endpoints: [a.address] }],
  });
  const byName = Object.fromEntries(r.json.fragments.map((f: { name: string; status: string }) => [f.name, f.status]));
  assert.equal(byName['_stream-tcp-80'], 'quarantined');
  assert.equal(byName[`_stream-tcp-${port.declared}`], 'applied');
  assert.equal(await tcpExchange(port.served, 'ok'), 'a: ok');
});

test('the agent counts connections, bytes and session time per TCP and UDP service port', async () => {
  const a = await tcp('a');
  const u = await startUdpEcho('dns');
  backends.push(u);
  const t = await agent();
  const port = await streamPort(t);
  await t.api('POST', '/v1/batch?wait=1', {
    fragments: [
      { name: `_stream-tcp-${port.declared}`, revision: 1, config: streamFragment('tcp', port.declared, 'default-echo-9000') },
      { name: `_stream-udp-${port.declared}`, revision: 1, config: streamFragment('udp', port.declared, 'default-dns-53') },
    ],
    endpoints: [
      { upstream: 'default-echo-9000', revision: 1, endpoints: [a.address] },
      { upstream: 'default-dns-53', revision: 1, endpoints: [u.address] },
    ],
  });
  for (let i = 0; i < 3; i++) assert.equal(await tcpExchange(port.served, 'hello'), 'a: hello');
  assert.equal(await udpExchange(port.served, 'q'), 'dns: q');
  const series = (name: string, labels: string) => async () => Number(new RegExp(`^${name}\\{${labels}\\} (\\d+)`, 'm').exec((await t.api('GET', '/metrics')).text)?.[1] ?? 0);
  const tcpLabels = `protocol="TCP",port="${port.declared}",upstream="default-echo-9000"`;
  const connections = series('wharf_stream_connections_total', `${tcpLabels},status="200"`);
  assert.ok(await eventually(async () => (await connections()) === 3, 5000, 20), `3 TCP connections counted (got ${await connections()})`);
  // The client sent 5 bytes and got 8 back ("a: hello"), three times.
  assert.equal(await series('wharf_stream_bytes_total', `${tcpLabels},direction="received"`)(), 15);
  assert.equal(await series('wharf_stream_bytes_total', `${tcpLabels},direction="sent"`)(), 24);
  assert.equal(await series('wharf_stream_session_duration_seconds_count', tcpLabels)(), 3);
  const udp = series('wharf_stream_connections_total', `protocol="UDP",port="${port.declared}",upstream="default-dns-53",status="200"`);
  assert.ok(await eventually(async () => (await udp()) === 1, 5000, 20), 'the UDP session counted');
});

test('a TCP service whose upstream has no endpoints closes new connections at once; endpoints bring it back', async () => {
  const a = await tcp('a');
  const t = await agent();
  const port = await streamPort(t);
  await t.api('POST', '/v1/batch?wait=1', {
    fragments: [{ name: `_stream-tcp-${port.declared}`, revision: 1, config: streamFragment('tcp', port.declared, 'default-empty-9000') }],
    endpoints: [{ upstream: 'default-empty-9000', revision: 1, endpoints: [] }],
  });
  const t0 = performance.now();
  await assert.rejects(tcpExchange(port.served, 'anyone?'), /closed the connection without an answer|ECONNRESET/);
  assert.ok(performance.now() - t0 < 1000, 'closed at once, not after a connect timeout');
  await t.api('PUT', '/v1/endpoints/default-empty-9000', { revision: 2, endpoints: [a.address] });
  assert.equal(await tcpExchange(port.served, 'now?'), 'a: now?');
});
