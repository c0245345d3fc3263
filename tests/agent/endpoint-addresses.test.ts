// Endpoint addresses are parsed for real wherever they enter: the agent API (a whole update is
// refused with 400 naming the entry), the Lua control socket that writes the shared dict, the
// static upstreams of reload mode. A shape check let through 999.999.999.999:99999, ports 0 and
// 65536, [:::::]:80 and zero-padded octets (001.002.003.004: NGINX and inet_aton disagree on them).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startBackend, type Backend } from '../support/backend.ts';
import { request } from '../support/http.ts';
import { startTestAgent, proxyFragment, backendOf, type TestAgent } from './harness.ts';
import { endpointProblem, parseEndpoint } from '../../src/protocol/endpoint-address.ts';
import { renderUpstreams } from '../../src/agent/endpoint-store.ts';

/** Every case is run through the agent's parser and through the Lua control socket: both agree. */
const cases: { value: string; ok: boolean; why?: RegExp }[] = [
  { value: '10.0.0.1:8080', ok: true },
  { value: '0.0.0.0:1', ok: true },
  { value: '255.255.255.255:65535', ok: true },
  { value: '[::1]:80', ok: true },
  { value: '[fd00::a:2]:8080', ok: true },
  { value: '[2001:db8:0:0:0:0:0:1]:443', ok: true },
  { value: '[1:2:3:4:5:6:7::]:80', ok: true },
  { value: '[::ffff:10.0.0.1]:80', ok: true },
  { value: '[64:ff9b::192.0.2.33]:80', ok: true },
  { value: '[FD00::A]:80', ok: true },
  { value: '[::]:8080', ok: true },
  { value: '[fd00::]:80', ok: true },
  { value: '[1:2:3:4:5:6:7:8]:80', ok: true },
  { value: '[::2:3:4:5:6:7:8]:80', ok: true },
  { value: '[1:2:3:4:5:6:1.2.3.4]:80', ok: true },
  { value: '[fd00::1]:0', ok: false, why: /port 0 is not between 1 and 65535/ },
  { value: '[fd00:::1]:80', ok: false, why: /not an IPv6 address/ },
  { value: '[1:2:3:4:5:6:7:8::]:80', ok: false, why: /not an IPv6 address/ },
  { value: '[::1:2:3:4:5:6:7:8]:80', ok: false, why: /not an IPv6 address/ },
  { value: '[1:2:3:4:5:6:7:1.2.3.4]:80', ok: false, why: /not an IPv6 address/ },
  { value: '[fd00::g]:80', ok: false, why: /not an IPv6 address/ },
  { value: '999.999.999.999:99999', ok: false, why: /999\.999\.999\.999 is not an IPv4 address \(999 is above 255\)/ },
  { value: '10.0.0.1:99999', ok: false, why: /port 99999 is not between 1 and 65535/ },
  { value: '999.1.1.1:80', ok: false, why: /999\.1\.1\.1 is not an IPv4 address \(999 is above 255\)/ },
  { value: '256.0.0.1:80', ok: false, why: /above 255/ },
  { value: '10.0.0.1:0', ok: false, why: /port 0 is not between 1 and 65535/ },
  { value: '10.0.0.1:65536', ok: false, why: /port 65536 is not between 1 and 65535/ },
  { value: '10.0.0.1:080', ok: false, why: /port 080 has a leading zero/ },
  { value: '001.002.003.004:80', ok: false, why: /zero-padded part 001/ },
  { value: '10.0.0.01:80', ok: false, why: /zero-padded part 01/ },
  { value: '[:::::]:80', ok: false, why: /\[:::::\] is not an IPv6 address/ },
  { value: '[1::2::3]:80', ok: false, why: /not an IPv6 address/ },
  { value: '[1:2:3:4:5:6:7:8:9]:80', ok: false, why: /not an IPv6 address/ },
  { value: '[1:2:3:4:5:6:7]:80', ok: false, why: /not an IPv6 address/ },
  { value: '[12345::1]:80', ok: false, why: /not an IPv6 address/ },
  { value: '[:1::2]:80', ok: false, why: /not an IPv6 address/ },
  { value: '[1::2:]:80', ok: false, why: /not an IPv6 address/ },
  { value: '[1.2.3.4::]:80', ok: false, why: /not an IPv6 address/ },
  { value: '[::ffff:010.0.0.1]:80', ok: false, why: /not an IPv6 address/ },
  { value: '[fe80::1%eth0]:80', ok: false, why: /zone index/ },
  { value: '::1:80', ok: false, why: /expected IPv4:port or \[IPv6\]:port/ },
  { value: '10.0.0.1', ok: false, why: /expected IPv4:port/ },
  { value: 'app.internal:80', ok: false, why: /expected IPv4:port/ },
];

let t: TestAgent;
let a: Backend;
before(async () => {
  a = await startBackend('a');
  t = await startTestAgent();
  await t.api('PUT', '/v1/fragments/app.example.com?wait=1', { revision: 1, config: proxyFragment('app.example.com', 'default-app-80') });
  assert.equal((await t.api('PUT', '/v1/endpoints/default-app-80', { revision: 1, endpoints: [a.address] })).status, 200);
});
after(async () => {
  await t?.stop();
  await a?.close();
});

for (const c of cases) {
  test(`${c.ok ? 'accepts' : 'refuses'} ${c.value} (agent parser)`, () => {
    const problem = endpointProblem(c.value);
    if (c.ok) assert.equal(problem, null);
    else assert.match(problem ?? '(accepted)', c.why!);
  });
}

test('the quick check for IPv4 endpoints agrees with the full parser on every octet and port edge', () => {
  const octets = ['0', '1', '9', '10', '99', '100', '199', '200', '249', '250', '255', '256', '299', '300', '999', '00', '01', '010', '001'];
  const ports = ['0', '1', '9', '10', '99', '999', '1000', '9999', '10000', '59999', '60000', '64999', '65000', '65499', '65500', '65529', '65530', '65535', '65536', '65540', '65600', '66000', '70000', '99999', '00', '01', '080'];
  for (const o of octets) {
    for (const p of ports) {
      const value = `10.${o}.0.${o}:${p}`;
      const full = parseEndpoint(value);
      assert.equal(endpointProblem(value), typeof full === 'string' ? full : null, value);
    }
  }
});

test('the Lua control socket accepts and refuses the same addresses, naming the entry and why', async () => {
  const socketPath = join(t.prefix, 'private', 'endpoints.sock');
  for (const c of cases) {
    const r = await request({ port: 0, socketPath, method: 'PUT', path: '/endpoints/default-lua-check-80', body: `10.0.0.1:80 ${c.value}` });
    if (c.ok) {
      assert.equal(r.status, 200, `${c.value}: ${r.body}`);
    } else {
      assert.equal(r.status, 400, `${c.value} was stored`);
      assert.ok(r.body.startsWith(`endpoints[1]: Invalid value: "${c.value}": `), r.body);
      assert.match(r.body, c.why!);
    }
  }
});

test('400 naming the entry (index and value) for an out-of-range, padded or malformed address; nothing applied', async () => {
  for (const bad of ['999.999.999.999:99999', '10.0.0.1:0', '10.0.0.1:65536', '[:::::]:80', '001.002.003.004:80']) {
    const r = await t.api('PUT', '/v1/endpoints/default-app-80', { revision: 5, endpoints: ['10.0.0.9:80', bad] });
    assert.equal(r.status, 400, `${bad}: ${r.text}`);
    assert.ok(r.json.error.startsWith(`endpoints[1]: Invalid value: ${JSON.stringify(bad)}: `), r.json.error);
  }
  const state = (await t.api('GET', '/v1/state')).json;
  assert.deepEqual(state.endpoints.find((e: { upstream: string }) => e.upstream === 'default-app-80'), { upstream: 'default-app-80', revision: 1, endpoints: 1, appliedRevision: 1 });
  assert.equal(backendOf(await t.get('app.example.com')), 'a', 'the previous set still serves');
});

test('a batch with one bad address is refused whole with the path of the entry', async () => {
  const r = await t.api('POST', '/v1/batch', {
    fragments: [{ name: 'other.example.com', revision: 1, config: proxyFragment('other.example.com', 'default-other-80') }],
    endpoints: [
      { upstream: 'default-other-80', revision: 1, endpoints: [a.address] },
      { upstream: 'default-app-80', revision: 6, endpoints: [a.address, '010.0.0.1:80'] },
    ],
  });
  assert.equal(r.status, 400, r.text);
  assert.match(r.json.error, /^endpoints\[1\]\.endpoints\[1\]: Invalid value: "010\.0\.0\.1:80": 010\.0\.0\.1 has the zero-padded part 010/);
  const state = (await t.api('GET', '/v1/state')).json;
  assert.equal(state.fragments.some((f: { name: string }) => f.name === 'other.example.com'), false);
  assert.equal(state.endpoints.some((e: { upstream: string }) => e.upstream === 'default-other-80'), false);
});

test('reload mode writes no upstream server line from an address the parser refuses', () => {
  assert.match(renderUpstreams([{ upstream: 'default-app-80', endpoints: ['10.0.0.1:80', '[fd00::1]:80'] }]), /server 10\.0\.0\.1:80;\n    server \[fd00::1\]:80;/);
  assert.throws(() => renderUpstreams([{ upstream: 'default-app-80', endpoints: ['001.002.003.004:80'] }]), /endpoint "001\.002\.003\.004:80" of default-app-80: .*zero-padded/);
  assert.throws(() => renderUpstreams([{ upstream: 'default-app-80', endpoints: ['10.0.0.1:0'] }]), /port 0 is not between 1 and 65535/);
});
