// IPv6 end to end: a backend listening on [::1] is reached through NGINX in both endpoint modes (the
// Lua balancer, and static upstreams with --endpoint-mode reload). Before, Lua mode stripped the
// brackets and set_current_peer("::1", port) failed with "invalid port": every request was a 500.
// These tests need the IPv6 loopback; on a machine without it they are skipped and say so.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startBackend, type Backend } from '../support/backend.ts';
import { request } from '../support/http.ts';
import { startTestAgent, proxyFragment, backendOf, type TestAgent } from './harness.ts';

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
