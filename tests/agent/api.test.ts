// The API's guard rails: no token or a wrong one → 401, malformed or invalid bodies → 400 naming the
// field, too large → 413; in every case nothing is applied (state, disk and NGINX unchanged).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startBackend, type Backend } from '../support/backend.ts';
import { eventually } from '../support/http.ts';
import { startTestAgent, proxyFragment, type TestAgent } from './harness.ts';

let t: TestAgent;
let a: Backend;
before(async () => {
  a = await startBackend('a');
  t = await startTestAgent({ limits: { fragmentBytes: 64 * 1024 } });
});
after(async () => {
  await t?.stop();
  await a?.close();
});

const good = { revision: 1, config: proxyFragment('app.example.com', 'default-app-80') };

async function assertNothingApplied(before: { desiredVersion: number; reloads: number }): Promise<void> {
  const state = (await t.api('GET', '/v1/state')).json;
  assert.equal(state.desiredVersion, before.desiredVersion, 'desired version unchanged');
  assert.equal(state.reloads, before.reloads, 'no reload');
  assert.deepEqual(state.fragments, []);
  assert.deepEqual(state.endpoints, []);
  assert.deepEqual(readdirSync(join(t.prefix, 'fragments')), ['_default.conf']);
  assert.equal((await t.get('app.example.com')).status, 404);
}

const unauthenticated: [string, { token: string | null; headers?: Record<string, string> }, RegExp][] = [
  ['no Authorization header', { token: null }, /missing Authorization header: send "Authorization: Bearer <token>"/],
  ['a wrong token', { token: 'not-the-token' }, /invalid bearer token/],
  ['a token one character short', { token: 'x' }, /invalid bearer token/],
  ['Basic instead of Bearer', { token: null, headers: { authorization: 'Basic dXNlcjpwYXNz' } }, /expected "Bearer <token>"/],
];

for (const [name, o, message] of unauthenticated) {
  test(`401 for ${name}, and nothing applied`, async () => {
    const before = (await t.api('GET', '/v1/state')).json;
    for (const [method, path, body] of [
      ['PUT', '/v1/fragments/app.example.com', good],
      ['PUT', '/v1/endpoints/default-app-80', { revision: 1, endpoints: [a.address] }],
      ['POST', '/v1/batch', { fragments: [{ name: 'app.example.com', ...good }] }],
      ['GET', '/v1/state', undefined],
    ] as const) {
      const r = await t.api(method, path, body, o);
      assert.equal(r.status, 401, `${method} ${path}`);
      assert.match(r.json.error, message);
    }
    await assertNothingApplied(before);
  });
}

const malformed: [string, string, string, string | object, RegExp][] = [
  ['malformed JSON', 'PUT', '/v1/fragments/app.example.com', '{"revision": 1, "config": ', /^body: malformed JSON: /],
  ['a string revision', 'PUT', '/v1/fragments/app.example.com', { revision: 'one', config: 'x' }, /^revision: Invalid value: "one": expected number, received string$/],
  ['a negative revision', 'PUT', '/v1/fragments/app.example.com', { revision: -1, config: 'x' }, /^revision: Invalid value: -1: Too small/],
  ['no config', 'PUT', '/v1/fragments/app.example.com', { revision: 1 }, /^config: Invalid value: expected string, received undefined$/],
  ['a file name with a slash', 'PUT', '/v1/fragments/app.example.com', { revision: 1, config: 'x', files: { '../nginx.conf': { content: 'x' } } }, /^files\.\.\.\/nginx\.conf: Invalid value: "\.\.\/nginx\.conf": file names are/],
  ['a fragment name with a slash', 'PUT', '/v1/fragments/..%2Fnginx', good, /^fragment: Invalid value: "\.\.\/nginx": fragment names are/],
  ['an upper-case fragment name', 'PUT', '/v1/fragments/App.example.com', good, /^fragment: Invalid value: "App\.example\.com"/],
  ['an endpoint that is a host name', 'PUT', '/v1/endpoints/default-app-80', { revision: 1, endpoints: ['app.internal:80'] }, /^endpoints\[0\]: Invalid value: "app\.internal:80": expected IPv4:port or \[IPv6\]:port$/],
  ['an endpoint smuggling a directive', 'PUT', '/v1/endpoints/default-app-80', { revision: 1, endpoints: ['10.0.0.1:80;include /etc/passwd'] }, /^endpoints\[0\]: Invalid value/],
  ['an upstream name with a space', 'PUT', '/v1/endpoints/bad%20name', { revision: 1, endpoints: [] }, /^upstream: Invalid value: "bad name": upstream names are/],
  ['a delete without a revision', 'DELETE', '/v1/fragments/app.example.com', '', /^revision: Required value/],
  ['a delete with a non-numeric revision', 'DELETE', '/v1/endpoints/default-app-80?revision=abc', '', /^revision: Invalid value: "abc"/],
  ['a batch with one bad entry among good ones', 'POST', '/v1/batch', { fragments: [{ name: 'app.example.com', ...good }, { name: 'b.example.com', revision: 1, config: 7 }] }, /^fragments\[1\]/],
  ['a batch whose JSON breaks after good entries', 'POST', '/v1/batch', `{"fragments":[${JSON.stringify({ name: 'app.example.com', ...good })},{"name":"b.example.com","revision":1,`, /^body: malformed JSON: unexpected end of the body \(at character \d+\)$/],
  ['a batch naming a fragment twice', 'POST', '/v1/batch', { fragments: [{ name: 'app.example.com', ...good }, { name: 'app.example.com', ...good, revision: 2 }] }, /^fragments\[1\]\.name: Duplicate value: "app\.example\.com"$/],
];

for (const [name, method, path, body, message] of malformed) {
  test(`400 for ${name}, naming the field, and nothing applied`, async () => {
    const before = (await t.api('GET', '/v1/state')).json;
    const r = typeof body === 'string' ? await t.api(method, path, undefined, { raw: body || undefined }) : await t.api(method, path, body);
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.error, message);
    await assertNothingApplied(before);
  });
}

test('413 for a body over the limit, and nothing applied', async () => {
  const before = (await t.api('GET', '/v1/state')).json;
  const r = await t.api('PUT', '/v1/fragments/app.example.com', { revision: 1, config: `# ${'x'.repeat(70 * 1024)}\n` });
  assert.equal(r.status, 413);
  assert.match(r.json.error, /larger than 65536 bytes/);
  await assertNothingApplied(before);
});

test('health, readiness and metrics need no token; unknown routes get 404 with the route', async () => {
  assert.equal((await t.api('GET', '/healthz', undefined, { token: null })).status, 200);
  assert.equal((await t.api('POST', '/v1/batch?wait=1', { complete: true, fragments: [], endpoints: [] })).status, 200);
  assert.ok(await eventually(async () => (await t.api('GET', '/nginx-ready', undefined, { token: null })).status === 200, 3000), 'ready once a complete batch is served');
  const m = await t.api('GET', '/metrics', undefined, { token: null });
  assert.equal(m.status, 200);
  assert.match(m.text, /wharf_agent_endpoint_mode\{mode="lua"\} 1/);
  assert.match(m.text, /wharf_agent_nginx_up 1/);
  assert.match(m.text, /wharf_agent_nginx_connections\{state="active"\} [1-9]/);
  const r = await t.api('GET', '/v1/nothing');
  assert.equal(r.status, 404);
  assert.match(r.json.error, /no route for GET \/v1\/nothing/);
});
