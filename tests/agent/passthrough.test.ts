// TLS passthrough hosts' endpoints through the agent, with a real NGINX and real TLS: an endpoint
// change reaches new connections with no reload (njs reads the agent's endpoint file, the client sees
// the new backend's certificate), an open connection to a removed endpoint is kept, an HTTPS host on
// the same port is untouched, a refused endpoint is retried once a reload built the group, and
// without njs the change comes by a reload that the agent reports.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBackend, startHttpsBackend, freePort, type Backend } from '../support/backend.ts';
import { bare, makeCertificate, requestOver, servedSerial, tlsConnect } from '../support/certificates.ts';
import { eventually } from '../support/http.ts';
import { backendOf, tlsFragment, type TestAgent } from './harness.ts';
import { passthroughFragment, startPassthroughAgent } from './passthrough-harness.ts';

const backends: Backend[] = [];
const agents: TestAgent[] = [];
after(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await Promise.all(backends.map((b) => b.close()));
});

/** Three TLS backends with certificates of their own (a, b, c), and the HTTPS host's plain backend. */
async function setUp() {
  const certs = await Promise.all(['a', 'b', 'c', 'web'].map((n) => makeCertificate([`${n}.pass.test`])));
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((n, i) => startHttpsBackend(`pass-${n}`, certs[i]!)));
  const app = await startBackend('app');
  backends.push(a!, b!, c!, app);
  return { a: a!, b: b!, c: c!, app, serial: { a: bare(certs[0]!.serial), b: bare(certs[1]!.serial), c: bare(certs[2]!.serial) }, web: certs[3]! };
}

/** The agent with the passthrough host pass.test (upstream default-pass-443 on `first`) and the HTTPS host web.example.test. */
async function agentWith(s: Awaited<ReturnType<typeof setUp>>, first: Backend, o: Parameters<typeof startPassthroughAgent>[0] = {}): Promise<TestAgent> {
  const t = await startPassthroughAgent(o);
  agents.push(t);
  const r = await t.api('POST', '/v1/batch?wait=1', {
    fragments: [passthroughFragment('pass.test', 'default-pass-443'), { name: 'web.example.test', revision: 1, ...tlsFragment('web.example.test', 'default-app-80', s.web) }],
    endpoints: [
      { upstream: 'default-pass-443', revision: 1, endpoints: [first.address] },
      { upstream: 'default-app-80', revision: 1, endpoints: [s.app.address] },
    ],
  });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.fragments.map((f: { status: string }) => f.status), ['applied', 'applied'], r.text);
  return t;
}

test('an endpoint change behind a TLS passthrough host reaches new connections with no reload (njs), beside an HTTPS host on the same port', async () => {
  const s = await setUp();
  const t = await agentWith(s, s.a);
  assert.equal(t.agent.streamEndpointMode, 'njs');
  assert.equal(await servedSerial(t.httpsPort, 'pass.test'), s.serial.a, 'the client sees the backend\'s own certificate');
  const open = await tlsConnect(t.httpsPort, 'pass.test');
  assert.equal(open.serial, s.serial.a);
  assert.equal(await requestOver(open.socket!, 'pass.test'), 200);

  const before = (await t.api('GET', '/v1/state')).json;
  const put = await t.api('PUT', '/v1/endpoints/default-pass-443', { revision: 2, endpoints: [s.b.address] });
  assert.equal(put.json.status, 'applied');
  for (let i = 0; i < 4; i++) assert.equal(await servedSerial(t.httpsPort, 'pass.test'), s.serial.b, 'a new connection goes to the new endpoint at once');
  assert.equal(await requestOver(open.socket!, 'pass.test'), 200, 'the open connection to the removed endpoint is not cut');
  open.socket!.destroy();

  // Two endpoints before any reload made their group: new connections go to either, at random.
  assert.equal((await t.api('PUT', '/v1/endpoints/default-pass-443', { revision: 3, endpoints: [s.b.address, s.c.address] })).json.status, 'applied');
  const seen = new Set<string | null>();
  for (let i = 0; i < 20; i++) seen.add(await servedSerial(t.httpsPort, 'pass.test'));
  assert.deepEqual([...seen].sort(), [s.serial.b, s.serial.c].sort(), 'both endpoints of the new set get connections');

  // No endpoint: the connection is closed at once, no handshake.
  assert.equal((await t.api('PUT', '/v1/endpoints/default-pass-443', { revision: 4, endpoints: [] })).json.status, 'applied');
  assert.equal(await servedSerial(t.httpsPort, 'pass.test'), null);
  assert.equal((await t.api('PUT', '/v1/endpoints/default-pass-443', { revision: 5, endpoints: [s.a.address] })).json.status, 'applied');
  assert.equal(await servedSerial(t.httpsPort, 'pass.test'), s.serial.a);

  const after = (await t.api('GET', '/v1/state')).json;
  assert.equal(after.reloads, before.reloads, 'no reload');
  assert.equal(after.appliedVersion, before.appliedVersion, 'no new configuration version');
  assert.equal(readFileSync(join(t.prefix, 'files/pass.test/passthrough.map'), 'utf8'), 'pass.test default-pass-443;\n', 'the fragment names the upstream, never its endpoints');

  // The HTTPS host on the same port: terminated by NGINX with its own certificate.
  assert.equal(await servedSerial(t.httpsPort, 'web.example.test'), bare(s.web.serial));
  const web = await t.get('web.example.test', '/', { tls: true });
  assert.equal(web.status, 200);
  assert.equal(backendOf(web), 'app');
});

test('a passthrough host\'s sessions are counted by its upstream, as TCP services\' are; HTTPS connections beside them are not', async () => {
  const s = await setUp();
  const t = await agentWith(s, s.a);
  for (let i = 0; i < 2; i++) assert.equal(await servedSerial(t.httpsPort, 'pass.test'), s.serial.a);
  // A third session carries a request after its handshake: what the client sends past the
  // ClientHello is what NGINX counts as received (the ClientHello is read ahead, and not counted).
  const open = await tlsConnect(t.httpsPort, 'pass.test');
  assert.equal(await requestOver(open.socket!, 'pass.test'), 200);
  open.socket!.destroy();
  assert.equal(await servedSerial(t.httpsPort, 'web.example.test'), bare(s.web.serial));
  // The port clients were told: NGINX's HTTPS port less (HTTP port - 80), as for TCP services.
  const labels = `protocol="TCP",port="${t.httpsPort - (t.httpPort - 80)}",upstream="default-pass-443"`;
  const series = async (name: string, more = '') => Number(new RegExp(`^${name}\\{${labels}${more}\\} (\\d+)`, 'm').exec((await t.api('GET', '/metrics')).text)?.[1] ?? 0);
  assert.ok(await eventually(async () => (await series('wharf_stream_connections_total', ',status="200"')) === 3, 5000, 20), `3 passthrough sessions counted (got ${await series('wharf_stream_connections_total', ',status="200"')})`);
  assert.equal(await series('wharf_stream_session_duration_seconds_count'), 3);
  const received = await series('wharf_stream_bytes_total', ',direction="received"');
  assert.ok(received > 50, `the request was received (${received} bytes)`);
  const sent = await series('wharf_stream_bytes_total', ',direction="sent"');
  assert.ok(sent > 3 * 500, `three certificates and an answer were sent (${sent} bytes)`);
  const all = (await t.api('GET', '/metrics')).text.match(/^wharf_stream_connections_total\{[^}]*\} \d+/gm) ?? [];
  assert.equal(all.length, 1, `only the passthrough upstream's series: ${all.join('; ')}`);
});

test('a refused passthrough endpoint is tried on another once a reload has built the upstream group; a host that goes away is not routed', async () => {
  const s = await setUp();
  const t = await agentWith(s, s.a);
  const dead = await freePort(); // nothing listens there: connections are refused
  assert.equal((await t.api('PUT', '/v1/endpoints/default-pass-443', { revision: 2, endpoints: [`127.0.0.1:${dead}`, s.a.address] })).json.status, 'applied');
  // A reload (any fragment) writes the group of the set; from then on NGINX balances and retries.
  const put = await t.api('PUT', '/v1/fragments/other.example.test?wait=1', { revision: 1, config: 'server {\n    server_name other.example.test;\n    include listen-http.conf;\n    return 204;\n}\n', files: {} });
  assert.equal(put.json.status, 'applied', put.text);
  await t.retired();
  assert.match(readFileSync(join(t.prefix, 'stream-upstreams.conf'), 'utf8'), /map \$wharf_passthrough_upstream \$wharf_passthrough_loaded \{\n    default "";\n    "default-pass-443" "127\.0\.0\.1:\d+ 127\.0\.0\.1:\d+";/);
  for (let i = 0; i < 6; i++) assert.equal(await servedSerial(t.httpsPort, 'pass.test'), s.serial.a, 'the refused endpoint is skipped');

  const gone = await t.api('DELETE', '/v1/fragments/pass.test?revision=2&wait=1');
  assert.equal(gone.json.status, 'applied', gone.text);
  await t.retired();
  assert.equal(await servedSerial(t.httpsPort, 'pass.test'), null, 'the name now goes to NGINX\'s HTTPS servers, which have no certificate for it');
});

test('without njs (endpoint mode reload) a passthrough host\'s endpoint change comes by a reload, and the agent says so', async () => {
  const s = await setUp();
  const t = await agentWith(s, s.a, { endpointMode: 'reload' });
  assert.equal(t.agent.streamEndpointMode, 'reload');
  assert.ok(t.logs.some((l) => l.includes('stream endpoint mode: reload (TCP, UDP and TLS passthrough endpoint changes are applied by coalesced reloads')), 'the start-up log says how passthrough endpoints change');
  assert.equal(await servedSerial(t.httpsPort, 'pass.test'), s.serial.a);
  const reloads = (await t.api('GET', '/v1/state')).json.reloads;
  const put = await t.api('PUT', '/v1/endpoints/default-pass-443?wait=1', { revision: 2, endpoints: [s.b.address] });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.json.via, 'reload');
  await t.retired();
  assert.equal(await servedSerial(t.httpsPort, 'pass.test'), s.serial.b);
  assert.ok((await t.api('GET', '/v1/state')).json.reloads > reloads, 'a reload carried the change');
  assert.match((await t.api('GET', '/metrics')).text, /wharf_agent_stream_endpoint_mode\{mode="reload"\} 1/);
  assert.equal(await servedSerial(t.httpsPort, 'web.example.test'), bare(s.web.serial));
});
