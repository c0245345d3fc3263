// Without the Lua endpoint path (--endpoint-mode reload, as when NGINX lacks the Lua module): endpoint
// sets become static upstreams in upstreams.conf and reach NGINX through coalesced reloads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBackend, startHttpsBackend, type Backend } from '../support/backend.ts';
import { startTestAgent, proxyFragment, backendOf, type TestAgent } from './harness.ts';
import { clientCertificates, selfSigned } from '../render/helpers.ts';

let t: TestAgent;
let a: Backend;
let b: Backend;
before(async () => {
  [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
  t = await startTestAgent({ endpointMode: 'reload' });
});
after(async () => {
  await t?.stop();
  await Promise.all([a?.close(), b?.close()]);
});

test('the agent says it runs in reload mode, at start and in its metrics and state', async () => {
  assert.ok(t.logs.some((l) => l.includes('endpoint mode: reload') && l.includes('--endpoint-mode reload')));
  assert.match((await t.api('GET', '/metrics')).text, /wharf_agent_endpoint_mode\{mode="reload"\} 1/);
  assert.equal((await t.api('GET', '/v1/state')).json.endpointMode, 'reload');
  assert.doesNotMatch(readFileSync(join(t.prefix, 'nginx.conf'), 'utf8'), /lua/);
});

test('endpoint changes route through reloads of static upstreams; no endpoints → 503', async () => {
  await t.api('PUT', '/v1/fragments/app.example.com?wait=1', { revision: 1, config: proxyFragment('app.example.com', 'default-app-80') });
  const none = await t.get('app.example.com');
  assert.equal(none.status, 503);
  assert.match(none.body, /no ready endpoints/);

  const reloads = (await t.api('GET', '/v1/state')).json.reloads;
  const put = await t.api('PUT', '/v1/endpoints/default-app-80?wait=1', { revision: 1, endpoints: [a.address] });
  assert.equal(put.status, 200);
  assert.deepEqual(put.json, { upstream: 'default-app-80', revision: 1, status: 'applied', via: 'reload' });
  assert.equal(backendOf(await t.get('app.example.com')), 'a');
  assert.equal((await t.api('GET', '/v1/state')).json.reloads, reloads + 1);
  assert.match(readFileSync(join(t.prefix, 'upstreams.conf'), 'utf8'), new RegExp(`":default-app-80" "default-app-80";[\\s\\S]*upstream default-app-80 \\{\\n    server ${a.address};`));

  const move = await t.api('PUT', '/v1/endpoints/default-app-80?wait=1', { revision: 2, endpoints: [b.address] });
  assert.equal(move.json.status, 'applied');
  assert.equal(backendOf(await t.get('app.example.com')), 'b');

  const del = await t.api('DELETE', '/v1/endpoints/default-app-80?revision=3&wait=1');
  assert.equal(del.json.status, 'applied');
  assert.equal((await t.get('app.example.com')).status, 503);
});

test('a burst of endpoint changes is coalesced into few reloads', async () => {
  const reloads = (await t.api('GET', '/v1/state')).json.reloads;
  const puts = [];
  for (let i = 0; i < 30; i++) {
    puts.push(t.api('PUT', `/v1/endpoints/default-svc${i}-80`, { revision: 1, endpoints: [i % 2 ? a.address : b.address] }));
  }
  const results = await Promise.all(puts);
  assert.ok(results.every((r) => r.status === 202 && r.json.status === 'pending' && r.json.via === 'reload'));
  const last = await t.api('PUT', '/v1/endpoints/default-app-80?wait=1', { revision: 4, endpoints: [a.address] });
  assert.equal(last.json.status, 'applied');
  const further = (await t.api('GET', '/v1/state')).json.reloads - reloads;
  assert.ok(further <= 3, `${further} reloads for 31 endpoint changes`);
  assert.equal(backendOf(await t.get('app.example.com')), 'a');
  assert.match((await t.api('GET', '/metrics')).text, /wharf_agent_endpoint_updates_total\{via="reload",result="pending"\} 3\d/);
});

test('NGINX without the Lua module: auto falls back to reload mode and says why; lua is refused', async () => {
  const saved = process.env.WHARF_NGINX_MODULES;
  process.env.WHARF_NGINX_MODULES = '/nonexistent/modules';
  try {
    const plain = await startTestAgent({ endpointMode: 'auto' });
    try {
      assert.equal(plain.agent.endpointMode, 'reload');
      assert.ok(plain.logs.some((l) => /endpoint mode: reload .*missing \/nonexistent\/modules\/ngx_http_lua_module\.so.*apt-get install/.test(l)));
      await plain.api('PUT', '/v1/endpoints/default-app-80', { revision: 1, endpoints: [b.address] });
      await plain.api('PUT', '/v1/fragments/app.example.com?wait=1', { revision: 1, config: proxyFragment('app.example.com', 'default-app-80') });
      assert.equal(backendOf(await plain.get('app.example.com')), 'b');
    } finally {
      await plain.stop();
    }
    await assert.rejects(startTestAgent({ endpointMode: 'lua' }), /--endpoint-mode lua: NGINX has no Lua module: missing/);
  } finally {
    if (saved === undefined) delete process.env.WHARF_NGINX_MODULES;
    else process.env.WHARF_NGINX_MODULES = saved;
  }
});

test('a location that switches upstream (an error page) proxies to the new one with static upstreams too', async () => {
  const missing = await startBackend('missing', (req, res) => {
    req.resume();
    res.statusCode = 404;
    res.end('not here');
  });
  try {
    // What custom-http-errors renders, reduced: the error page's named location sets another upstream.
    const config = `server {
    server_name errors.example.com;
    include listen-http.conf;
    location / {
        set $wharf_upstream "default-missing-80";
        proxy_intercept_errors on;
        error_page 404 = @wharf_error_404;
        proxy_pass http://$wharf_backend;
    }
    location @wharf_error_404 {
        set $wharf_upstream "default-pages-80";
        proxy_pass http://$wharf_backend;
    }
}
`;
    const put = await t.api('POST', '/v1/batch?wait=1', {
      fragments: [{ name: 'errors.example.com', revision: 1, config }],
      endpoints: [
        { upstream: 'default-missing-80', revision: 1, endpoints: [missing.address] },
        { upstream: 'default-pages-80', revision: 1, endpoints: [b.address] },
      ],
    });
    assert.equal(put.status, 200, JSON.stringify(put.json));
    const r = await t.get('errors.example.com');
    assert.equal(backendOf(r), 'b', `the error page comes from the pages upstream: ${r.status} ${r.body}`);
    assert.equal(missing.requests.length, 1);
  } finally {
    await missing.close();
  }
});

test('with static upstreams too, a location with its own backend TLS settings never shares connections with the others', async () => {
  // A backend that requires a client certificate; one location presents it (what proxy-ssl-secret
  // renders), the other does not and must be refused even after the first kept a connection open.
  const ca = clientCertificates('wharf-proxy');
  const backend = await startHttpsBackend('mtls', selfSigned('mtls.internal'), ca.ca);
  try {
    const config = `server {
    server_name mtls.example.com;
    include listen-http.conf;
    location /with {
        set $wharf_upstream "default-mtls-443";
        set $wharf_tls_isolated 1;
        proxy_ssl_certificate files/mtls.example.com/client.crt;
        proxy_ssl_certificate_key files/mtls.example.com/client.key;
        proxy_ssl_session_reuse off;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_pass https://$wharf_backend;
    }
    location /without {
        set $wharf_upstream "default-mtls-443";
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_pass https://$wharf_backend;
    }
}
`;
    const put = await t.api('POST', '/v1/batch?wait=1', {
      fragments: [{ name: 'mtls.example.com', revision: 1, config, files: { 'client.crt': { content: ca.cert }, 'client.key': { content: ca.key, secret: true } } }],
      endpoints: [{ upstream: 'default-mtls-443', revision: 1, endpoints: [backend.address] }],
    });
    assert.equal(put.status, 200, JSON.stringify(put.json));
    for (let i = 0; i < 3; i++) {
      const withCert = await t.get('mtls.example.com', `/with/${i}`);
      assert.equal(withCert.status, 200, withCert.body);
      const without = await t.get('mtls.example.com', `/without/${i}`);
      assert.equal(without.status, 502, `request ${i} without the client certificate: ${without.status} ${without.body}`);
    }
  } finally {
    await backend.close();
  }
});
