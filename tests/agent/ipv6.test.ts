// IPv6 end to end: a backend listening on [::1] is reached through NGINX in both endpoint modes (the
// Lua balancer, and static upstreams with --endpoint-mode reload), and NGINX listens on IPv6 beside
// IPv4 (a request to [::1] reaches a host) unless --ipv6-listen off. Before, Lua mode stripped the
// brackets and set_current_peer("::1", port) failed with "invalid port": every request was a 500;
// and NGINX listened on the IPv4 addresses only.
// These tests need the IPv6 loopback; on a machine without it they are skipped and say so.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startBackend, type Backend } from '../support/backend.ts';
import { request, type Reply } from '../support/http.ts';
import { startTestAgent, proxyFragment, backendOf, selfSignedCert, tlsFragment, type TestAgent } from './harness.ts';
import { ipv6Twin, listenAddresses, withIPv6Twins } from '../../src/agent/listen-addresses.ts';
import { parseAgentArgs, UsageError } from '../../src/agent/main.ts';
import { createLogger } from '../../src/log.ts';

/** Why IPv6 tests cannot run here (no ::1 to bind), or null when they can. */
async function noIPv6Loopback(): Promise<string | null> {
  const server = http.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '::1', resolve);
    });
    return null;
  } catch (e) {
    return `this machine has no IPv6 loopback: binding [::1] failed (${(e as Error).message})`;
  } finally {
    server.close();
  }
}
const skip = (await noIPv6Loopback()) ?? false;

/** A backend on [::1] that answers like startBackend's: JSON with its name. */
async function startIPv6Backend(name: string): Promise<Backend> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ backend: name, remote: req.socket.remoteAddress }));
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((r) => server.listen(0, '::1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    name,
    port,
    address: `[::1]:${port}`,
    requests: [],
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

for (const mode of ['lua', 'reload'] as const) {
  describe(`an IPv6 endpoint in ${mode} mode`, { skip }, () => {
    let t: TestAgent;
    let four: Backend;
    let six: Backend;
    let revision = 1;
    before(async () => {
      [four, six] = await Promise.all([startBackend('four'), startIPv6Backend('six')]);
      t = await startTestAgent({ endpointMode: mode });
      await t.api('PUT', '/v1/fragments/app.example.com?wait=1', { revision: 1, config: proxyFragment('app.example.com', 'default-app-80') });
    });
    after(async () => {
      await t?.stop();
      await Promise.all([four?.close(), six?.close()]);
    });

    test('a backend on [::1] is reached, again and again', async () => {
      const put = await t.api('PUT', '/v1/endpoints/default-app-80?wait=1', { revision: revision++, endpoints: [six.address] });
      assert.equal(put.json.status, 'applied', put.text);
      for (let i = 0; i < 5; i++) {
        const r = await request({ port: t.httpPort, host: 'app.example.com' });
        assert.equal(r.status, 200, r.body);
        assert.equal(backendOf(r), 'six');
        assert.equal(JSON.parse(r.body).remote, '::1', 'NGINX connected over IPv6');
      }
    });

    test('IPv4 and IPv6 endpoints of one Service share the requests', async () => {
      await t.api('PUT', '/v1/endpoints/default-app-80?wait=1', { revision: revision++, endpoints: [four.address, six.address] });
      const seen: Record<string, number> = {};
      for (let i = 0; i < 20; i++) {
        const r = await request({ port: t.httpPort, host: 'app.example.com' });
        const key = `${r.status} ${backendOf(r)}`;
        seen[key] = (seen[key] ?? 0) + 1;
      }
      assert.deepEqual(Object.keys(seen).sort(), ['200 four', '200 six'], JSON.stringify(seen));
    });
  });
}

/** A request to NGINX at [::1]:port with this Host (and SNI, over TLS). */
function requestIPv6(port: number, host: string, tls = false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const options = { host: '::1', port, path: '/', headers: { host }, agent: false, timeout: 5000 };
    const onReply = (res: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    };
    const req = tls ? https.request({ ...options, servername: host, rejectUnauthorized: false }, onReply) : http.request(options, onReply);
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

describe('NGINX listens on IPv6 beside IPv4', { skip }, () => {
  let t: TestAgent;
  let four: Backend;
  before(async () => {
    four = await startBackend('four');
    t = await startTestAgent();
    const pair = await selfSignedCert('secure.example.com');
    for (const [name, body] of [
      ['app.example.com', { config: proxyFragment('app.example.com', 'default-app-80') }],
      ['secure.example.com', tlsFragment('secure.example.com', 'default-app-80', pair)],
    ] as const) {
      const r = await t.api('PUT', `/v1/fragments/${name}?wait=1`, { revision: 1, ...body });
      assert.equal(r.json.status, 'applied', r.text);
    }
    await t.api('PUT', '/v1/endpoints/default-app-80', { revision: 1, endpoints: [four.address] });
  });
  after(async () => {
    await t?.stop();
    await four?.close();
  });

  test('a request to [::1] reaches a host over HTTP and HTTPS, and the default server answers the rest', async () => {
    const plain = await requestIPv6(t.httpPort, 'app.example.com');
    assert.equal(plain.status, 200, plain.body);
    assert.equal(backendOf(plain), 'four');
    const secure = await requestIPv6(t.httpsPort, 'secure.example.com', true);
    assert.equal(secure.status, 200, secure.body);
    assert.equal(backendOf(secure), 'four');
    assert.equal((await requestIPv6(t.httpPort, 'nobody.example.com')).status, 404);
    assert.equal(readFileSync(join(t.prefix, 'listen-http.conf'), 'utf8'), `listen 127.0.0.1:${t.httpPort};\nlisten [::1]:${t.httpPort};\n`);
    assert.ok(t.logs.some((l) => l.includes('NGINX listens on IPv6 too') && l.includes(`[::1]:${t.httpsPort}`)));
  });

  test('--ipv6-listen off: NGINX listens only on the addresses given', async () => {
    const off = await startTestAgent({ ipv6Listen: 'off' });
    try {
      await off.api('PUT', '/v1/fragments/app.example.com?wait=1', { revision: 1, config: proxyFragment('app.example.com', 'default-app-80') });
      await off.api('PUT', '/v1/endpoints/default-app-80', { revision: 1, endpoints: [four.address] });
      assert.equal(backendOf(await request({ port: off.httpPort, host: 'app.example.com' })), 'four');
      await assert.rejects(requestIPv6(off.httpPort, 'app.example.com'), /ECONNREFUSED/);
      assert.equal(readFileSync(join(off.prefix, 'listen-http.conf'), 'utf8'), `listen 127.0.0.1:${off.httpPort};\n`);
    } finally {
      await off.stop();
    }
  });
});

test('the IPv6 twin of each IPv4 wildcard or loopback listen address, once', () => {
  const both = { wildcard: true, loopback: true };
  assert.equal(ipv6Twin('80', both), '[::]:80');
  assert.equal(ipv6Twin('0.0.0.0:8080', both), '[::]:8080');
  assert.equal(ipv6Twin('127.0.0.1:8080', both), '[::1]:8080');
  assert.equal(ipv6Twin('10.0.0.5:80', both), null, 'a specific IPv4 address has no IPv6 twin');
  assert.equal(ipv6Twin('[::]:80', both), null);
  assert.deepEqual(withIPv6Twins(['0.0.0.0:8080', '127.0.0.1:9090'], both), ['0.0.0.0:8080', '[::]:8080', '127.0.0.1:9090', '[::1]:9090']);
  assert.deepEqual(withIPv6Twins(['0.0.0.0:8080', '[::]:8080'], both), ['0.0.0.0:8080', '[::]:8080'], 'an IPv6 address given by flag is not repeated');
  assert.deepEqual(withIPv6Twins(['80', '127.0.0.1:9090'], { wildcard: false, loopback: false }), ['80', '127.0.0.1:9090'], 'a host without IPv6');
});

test('a host that cannot bind IPv6 gets IPv4 listen addresses only, and the agent says so', async () => {
  const lines: string[] = [];
  const log = createLogger({}, (l) => lines.push(l));
  const r = await listenAddresses({ httpListen: ['0.0.0.0:8080'], httpsListen: ['0.0.0.0:8443'], ipv6: 'auto' }, log, async () => ({ wildcard: false, loopback: false }));
  assert.deepEqual(r, { httpListen: ['0.0.0.0:8080'], httpsListen: ['0.0.0.0:8443'] });
  assert.match(lines.join(''), /NGINX listens on IPv4 only: this host cannot bind IPv6 addresses/);
});

test('wharf agent --ipv6-listen takes auto (the default) or off', () => {
  const base = ['--prefix', '/srv/nginx', '--token-file', 't'];
  const parsed = (argv: string[]) => {
    const a = parseAgentArgs(argv);
    assert.notEqual(a, 'help');
    return (a as Exclude<typeof a, 'help'>).options.ipv6Listen;
  };
  assert.equal(parsed(base), 'auto');
  assert.equal(parsed([...base, '--ipv6-listen', 'off']), 'off');
  assert.throws(() => parseAgentArgs([...base, '--ipv6-listen', 'yes']), (e) => e instanceof UsageError && /--ipv6-listen: Invalid value: "yes": expected auto or off/.test(e.message));
});
