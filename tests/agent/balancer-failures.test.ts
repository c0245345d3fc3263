// One endpoint NGINX cannot set (ngx.balancer.set_current_peer fails) never fails a request: the Lua
// balancer skips it and sets the next one, within the retry rules. Before, it answered 500, so one
// such entry among good ones failed about half the requests. Only when no endpoint is left does a
// request fail: 502, as NGINX answers when every server failed; an empty set still answers 503.
//
// Addresses that reach the balancer are checked strictly first (endpoint-addresses.test.ts), so a
// failure is injected: a fragment wraps set_current_peer in every worker to fail for ports 1 and 2.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, freePort, type Backend } from '../support/backend.ts';
import { request } from '../support/http.ts';
import { startTestAgent, backendOf, type TestAgent } from './harness.ts';

const INJECT = `init_worker_by_lua_block {
    local b = require "ngx.balancer"
    local real = b.set_current_peer
    b.set_current_peer = function(host, port)
        if port == 1 or port == 2 then
            return nil, "injected failure"
        end
        return real(host, port)
    end
}
`;

/** A server for `host` whose location hashes on ?u= when `hash` is set. */
function fragment(host: string, upstream: string, hash = false): string {
  return `server {
    server_name ${host};
    include listen-http.conf;
    location / {
        set $wharf_upstream "${upstream}";
${hash ? '        set $wharf_hash_key $arg_u;\n' : ''}        proxy_pass http://$wharf_backend;
    }
}
`;
}

let t: TestAgent;
let a: Backend;
let b: Backend;
let closed: string;
let revision = 1;
before(async () => {
  [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
  closed = `127.0.0.1:${await freePort()}`;
  t = await startTestAgent();
  for (const [name, config] of [
    ['fault-injection', INJECT],
    ['app.example.com', fragment('app.example.com', 'default-app-80')],
    ['hash.example.com', fragment('hash.example.com', 'default-app-80', true)],
  ]) {
    const r = await t.api('PUT', `/v1/fragments/${name}?wait=1`, { revision: 1, config });
    assert.equal(r.json.status, 'applied', r.text);
  }
});
after(async () => {
  await t?.stop();
  await Promise.all([a?.close(), b?.close()]);
});

async function setEndpoints(endpoints: string[]): Promise<void> {
  const r = await t.api('PUT', '/v1/endpoints/default-app-80', { revision: revision++, endpoints });
  assert.equal(r.status, 200, r.text);
}

/** status → count, backend name for 200s, over `n` requests. */
async function tally(n: number, host = 'app.example.com', path = '/'): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = await request({ port: t.httpPort, host, path: typeof path === 'string' ? path.replace('N', String(i)) : path });
    const key = r.status === 200 ? `200 ${backendOf(r)}` : String(r.status);
    seen[key] = (seen[key] ?? 0) + 1;
  }
  return seen;
}

test('a peer NGINX cannot set among good ones fails no request: it is skipped, and logged once', async () => {
  const before = t.logs.length;
  await setEndpoints([a.address, '127.0.0.1:1', b.address, '127.0.0.1:2']);
  const seen = await tally(40);
  assert.deepEqual(Object.keys(seen).sort(), ['200 a', '200 b'], JSON.stringify(seen));
  const lines = t.logs.slice(before).filter((l) => l.includes('cannot set peer'));
  assert.equal(lines.filter((l) => l.includes('127.0.0.1:1 of upstream default-app-80: injected failure')).length, 1, lines.join(''));
  assert.equal(lines.length, 2, 'once per peer and worker, not per request');
});

test('with consistent hashing, a key whose peer cannot be set goes to the next peer', async () => {
  await setEndpoints(['127.0.0.1:1', a.address]);
  const seen = await tally(30, 'hash.example.com', '/?u=userN');
  assert.deepEqual(seen, { '200 a': 30 });
});

test('skipping stays within the retry rules: an unusable peer and a refusing one still reach the good one', async () => {
  await setEndpoints(['127.0.0.1:1', closed, a.address]);
  assert.deepEqual(await tally(20), { '200 a': 20 });
});

test('no peer left to try answers 502, never 500', async () => {
  await setEndpoints(['127.0.0.1:1', '127.0.0.1:2']);
  assert.deepEqual(await tally(5), { '502': 5 });
  await setEndpoints(['127.0.0.1:1', closed]);
  assert.deepEqual(await tally(5), { '502': 5 }, 'the refusing peer was tried, then none was left');
});

test('an empty set still answers 503 before any connection is tried', async () => {
  const r = await t.api('DELETE', `/v1/endpoints/default-app-80?revision=${revision++}`);
  assert.equal(r.status, 200, r.text);
  const reply = await request({ port: t.httpPort, host: 'app.example.com' });
  assert.equal(reply.status, 503);
  assert.match(reply.body, /no ready endpoints/);
});
