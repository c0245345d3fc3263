// In Lua mode the agent writes `proxy_pass http://wharf_balancer;` where the handler rendered
// `proxy_pass http://$wharf_backend;`: NGINX 1.22 gives every location with a variable proxy_pass an
// OpenSSL context of its own (2,000 hosts: ~250 ms of every reload). Hosts are served the same, the
// agent's view of what is on disk is still what the handler sent, and locations with their own
// backend TLS keep the variable.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBackend, type Backend } from '../support/backend.ts';
import { eventually } from '../support/http.ts';
import { startTestAgent, proxyFragment, backendOf, type TestAgent } from './harness.ts';
import { fromStatic, toStatic } from '../../src/agent/static-balancer.ts';
import { renderHost } from '../../src/render/index.ts';
import type { LocationSettings } from '../../src/model/types.ts';
import { global, location, server } from '../render/helpers.ts';

let t: TestAgent;
let a: Backend;
before(async () => {
  a = await startBackend('a');
  t = await startTestAgent({ endpointMode: 'lua' });
  await t.api('PUT', '/v1/endpoints/default-a-80', { revision: 1, endpoints: [a.address] });
});
after(async () => {
  await t?.stop();
  await a?.close();
});

const isolated = (host: string) =>
  proxyFragment(host, 'default-a-80').replace('        proxy_pass http://$wharf_backend;', '        set $wharf_tls_isolated 1;\n        proxy_pass http://$wharf_backend;');

test('toStatic and fromStatic: only the templates\' own proxy_pass and grpc_pass lines, and back to the same text', () => {
  const plain = proxyFragment('s.example.com', 'default-a-80') + '    location /g {\n        grpc_pass grpc://$wharf_backend;\n    }\n    location /m {\n        proxy_pass http://$wharf_backend$request_uri;\n        proxy_pass https://$wharf_backend;\n    }\n';
  const written = toStatic(plain);
  assert.match(written, /^        proxy_pass http:\/\/wharf_balancer;$/m);
  assert.match(written, /^        grpc_pass grpc:\/\/wharf_balancer;$/m);
  assert.match(written, /proxy_pass http:\/\/\$wharf_backend\$request_uri;/, 'a proxy_pass with a URI after the variable is left alone');
  assert.match(written, /proxy_pass https:\/\/\$wharf_backend;/, 'https needs its context anyway: left alone');
  assert.equal(fromStatic(written), plain);
  assert.equal(toStatic(isolated('i.example.com')), isolated('i.example.com'), 'a fragment with $wharf_tls_isolated is written as sent');
});

test('in Lua mode a host is served through the static balancer line, and the same content sent again causes no reload', async () => {
  const config = proxyFragment('static.example.com', 'default-a-80');
  const put = await t.api('PUT', '/v1/fragments/static.example.com?wait=1', { revision: 1, config });
  assert.equal(put.json.status, 'applied');
  const onDisk = readFileSync(join(t.prefix, 'fragments/static.example.com.conf'), 'utf8');
  assert.match(onDisk, /^        proxy_pass http:\/\/wharf_balancer;$/m);
  assert.ok(await eventually(async () => backendOf(await t.get('static.example.com', '/p')) === 'a', 3000), 'static.example.com is not served by a');
  assert.equal(a.requests.at(-1)?.url, '/p', 'the request URI goes to the backend as sent');

  const reloads = t.agent.state(true).reloads;
  const again = await t.api('PUT', '/v1/fragments/static.example.com?wait=1', { revision: 2, config });
  assert.equal(again.json.status, 'applied');
  assert.equal(t.agent.state(true).reloads, reloads, 'the same bytes under a new revision do not reload');
});

test('a fragment with its own backend TLS keeps the variable (the upstream without keepalive) and is served', async () => {
  const put = await t.api('PUT', '/v1/fragments/iso.example.com?wait=1', { revision: 1, config: isolated('iso.example.com') });
  assert.equal(put.json.status, 'applied');
  assert.match(readFileSync(join(t.prefix, 'fragments/iso.example.com.conf'), 'utf8'), /proxy_pass http:\/\/\$wharf_backend;/);
  assert.ok(await eventually(async () => backendOf(await t.get('iso.example.com')) === 'a', 3000));
});

test('what the renderer emits is rewritten: an HTTP and a gRPC location', () => {
  const rendered = (s: Partial<LocationSettings>) => renderHost(server('r.example.com', [location('/', 'Prefix', 'web', s)]), global).config;
  assert.match(toStatic(rendered({})), /^ +proxy_pass http:\/\/wharf_balancer;$/m);
  assert.match(toStatic(rendered({ backendProtocol: 'GRPC' })), /^ +grpc_pass grpc:\/\/wharf_balancer;$/m);
  const plain = rendered({});
  assert.equal(fromStatic(toStatic(plain)), plain);
});
