// The local-mode port rule for Gateway listeners (wrangler-free-local/listener-ports.ts): 80 on
// --http-port, 443 on --https-port, any other P on P + (--http-port − 80), and a clear refusal when
// that is not a port or lands on one of the two main ports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localListenerPort } from '../../wrangler-free-local/listener-ports.ts';

const defaults = { httpPort: 8080, httpsPort: 8443 };

const cases: Record<string, { declared: number; ports?: { httpPort: number; httpsPort: number }; port?: number; refused?: RegExp }> = {
  '80 on --http-port': { declared: 80, port: 8080 },
  '443 on --https-port': { declared: 443, port: 8443 },
  'another port moved by --http-port − 80': { declared: 8000, port: 16000 },
  'a low port moved too': { declared: 81, port: 8081 },
  'on a machine that may bind 80 and 443, ports stay': { declared: 9090, ports: { httpPort: 80, httpsPort: 443 }, port: 9090 },
  'other ports follow --http-port, not --https-port': { declared: 444, ports: { httpPort: 18080, httpsPort: 9443 }, port: 18444 },
  'beyond 65535': { declared: 60000, refused: /local mode serves port 60000 on 60000 \+ \(--http-port 8080 - 80\) = 68000, which is not a port/ },
  'onto --https-port': { declared: 1443, ports: { httpPort: 8080, httpsPort: 9443 }, refused: /= 9443, which is --https-port: choose another listener port/ },
  'not a port': { declared: 0, refused: /must be a port number/ },
};

for (const [name, c] of Object.entries(cases)) {
  test(`local listener port: ${name}`, () => {
    const r = localListenerPort(c.declared, c.ports ?? defaults);
    if (c.refused) {
      assert.equal(r.ok, false);
      assert.match((r as { reason: string }).reason, c.refused);
    } else assert.deepEqual(r, { ok: true, port: c.port });
  });
}
