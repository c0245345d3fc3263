// The agent's files for Gateway listeners' own ports (src/render/listener-ports.ts), from the
// includes the fragments write: the agent's own addresses (IPv6 twins included) with the port moved
// by its HTTP port − 80, TLS or HTTP/2 cleartext as the include says, and a default server for the
// port. The same files serve real NGINX in tests/agent/listener-ports.test.ts and tests/gateway/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listenerPortFiles, listenerPortsOf } from '../../src/render/listener-ports.ts';

test('the listener ports a fragment includes, by protocol and port; other includes are not', () => {
  const config = 'server {\n    include listen-http.conf;\n    include listen-http-8000.conf;\n}\nserver {\n    include listen-https-9443.conf;\n    include listen-h2c-9000.conf;\n    include listen-http-8000.conf;\n}\n# include listen-http-1.conf;\n';
  assert.deepEqual([...listenerPortsOf(config).values()], [
    { protocol: 'http', port: 8000 },
    { protocol: 'https', port: 9443 },
    { protocol: 'h2c', port: 9000 },
  ]);
});

const cases: Record<string, { listen: { httpListen: string[]; httpsListen: string[] }; ref: Parameters<typeof listenerPortFiles>[0]; lines?: string; server?: RegExp; refused?: RegExp }> = {
  'the chart: every address, 8000 on 16000': {
    listen: { httpListen: ['0.0.0.0:8080', '[::]:8080'], httpsListen: ['0.0.0.0:8443', '[::]:8443'] },
    ref: { protocol: 'http', port: 8000 },
    lines: 'listen 0.0.0.0:16000;\nlisten [::]:16000;\n',
    server: /listen 0\.0\.0\.0:16000 default_server;\n {4}listen \[::\]:16000 default_server;\n {4}location \/ \{\n {8}return 404;/,
  },
  'a port only, as the agent\'s default (80, 443): ports stay': {
    listen: { httpListen: ['80'], httpsListen: ['443'] },
    ref: { protocol: 'https', port: 9443 },
    lines: 'listen 9443 ssl http2;\n',
    server: /listen 9443 ssl http2 default_server;\n {4}ssl_reject_handshake on;/,
  },
  'h2c: HTTP/2 without TLS, no handshake to refuse': {
    listen: { httpListen: ['127.0.0.1:8080'], httpsListen: ['127.0.0.1:8443'] },
    ref: { protocol: 'h2c', port: 9000 },
    lines: 'listen 127.0.0.1:17000 http2;\n',
    server: /listen 127\.0\.0\.1:17000 http2 default_server;\n {4}location/,
  },
  'without HTTPS addresses (--https-listen none), HTTPS ports take the HTTP ones': {
    listen: { httpListen: ['127.0.0.1:8080'], httpsListen: [] },
    ref: { protocol: 'https', port: 9443 },
    lines: 'listen 127.0.0.1:17443 ssl http2;\n',
  },
  'beyond 65535: refused with the rule': {
    listen: { httpListen: ['0.0.0.0:8080'], httpsListen: ['0.0.0.0:8443'] },
    ref: { protocol: 'http', port: 60000 },
    refused: /^listener port 60000: NGINX serves port 60000 on 60000 \+ \(8080 - 80\) = 68000, which is not a port$/,
  },
  'onto the agent\'s HTTPS port: refused': {
    listen: { httpListen: ['0.0.0.0:8080'], httpsListen: ['0.0.0.0:9443'] },
    ref: { protocol: 'http', port: 1443 },
    refused: /= 9443, its HTTPS port$/,
  },
};

for (const [name, c] of Object.entries(cases)) {
  test(`listener port files: ${name}`, () => {
    const out = listenerPortFiles(c.ref, c.listen);
    if (c.refused) {
      assert.equal(out.ok, false);
      assert.match((out as { reason: string }).reason, c.refused);
      return;
    }
    assert.ok(out.ok);
    assert.equal(out.listen.name, `listen-${c.ref.protocol}-${c.ref.port}.conf`);
    assert.equal(out.listen.text, c.lines);
    assert.equal(out.server.name, `${c.ref.protocol}-${c.ref.port}.conf`);
    if (c.server) assert.match(out.server.text, c.server);
  });
}
