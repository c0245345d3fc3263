// `wharf local` with a Gateway's TCP and UDP listeners and a TCPRoute and a UDPRoute in the folder,
// as a user runs it: a TCP echo and a UDP (DNS-like) request and answer through NGINX on
// P + (--http-port − 80), an EndpointSlice change behind the TCPRoute reaching new connections with
// no reload, and a second, newer TCPRoute on the same listener getting no connections until the
// older one goes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/backend.ts';
import { eventually } from '../support/http.ts';
import { agentReloads, startWharfLocal } from '../support/wharf-local.ts';
import { startTcpEcho, startUdpEcho, streamPort, streamService, tcpExchange, udpExchange } from '../support/stream-backends.ts';

function route(kind: 'TCPRoute' | 'UDPRoute', name: string, listener: string, backend: string, port: number, created: string): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: ${kind}
metadata: { name: ${name}, creationTimestamp: "${created}" }
spec:
  parentRefs: [{ name: l4, sectionName: ${listener} }]
  rules: [{ backendRefs: [{ name: ${backend}, port: ${port} }] }]
`;
}

test('wharf local serves TCPRoutes and UDPRoutes on their listeners\' ports; endpoints move with no reload; one route per listener', async (t) => {
  const [a, b, other, dns] = await Promise.all([startTcpEcho('echo-a'), startTcpEcho('echo-b'), startTcpEcho('other'), startUdpEcho('dns')]);
  const dir = mkdtempSync(join(tmpdir(), 'wharf-local-l4-'));
  const workDir = mkdtempSync(join(tmpdir(), 'wharf-local-l4-work-'));
  // NGINX's workers (nobody, when the test runs as root) read the endpoint files under it, as under .wharf/local.
  chmodSync(workDir, 0o755);
  const httpPort = await freePort();
  const port = await streamPort(httpPort - 80);
  writeFileSync(join(dir, 'echo.yaml'), streamService('echo', 'TCP', 9000, a.port));
  writeFileSync(join(dir, 'other.yaml'), streamService('other', 'TCP', 9000, other.port));
  writeFileSync(join(dir, 'dns.yaml'), streamService('dns', 'UDP', 53, dns.port));
  writeFileSync(
    join(dir, 'gateway.yaml'),
    `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: wharf }
spec: { controllerName: wharf.io/gateway-controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: l4 }
spec:
  gatewayClassName: wharf
  listeners:
    - { name: echo, port: ${port.declared}, protocol: TCP }
    - { name: dns, port: ${port.declared}, protocol: UDP }
`,
  );
  writeFileSync(join(dir, 'echo-route.yaml'), route('TCPRoute', 'echo', 'echo', 'echo', 9000, '2025-01-01T00:00:00Z'));
  writeFileSync(join(dir, 'dns-route.yaml'), route('UDPRoute', 'dns', 'dns', 'dns', 53, '2025-01-01T00:00:00Z'));
  const args = ['--manifests', dir, '--http-port', String(httpPort), '--https-port', String(await freePort()), '--handler-port', '0', '--agent-port', '0', '--no-backends'];
  const local = await startWharfLocal(args, workDir, /agent http:\/\/127\.0\.0\.1:\d+/);
  const agentUrl = /agent (http:\/\/127\.0\.0\.1:\d+)/.exec(local.output())![1]!;
  t.after(async () => {
    await local.stop();
    await Promise.all([a.close(), b.close(), other.close(), dns.close()]);
    rmSync(dir, { recursive: true, force: true });
    rmSync(workDir, { recursive: true, force: true });
  });
  const until = async (what: string, check: () => Promise<boolean>) => assert.ok(await eventually(check, 20_000, 50), `${what}\n--- wharf local said:\n${local.output()}`);
  const tcp = () => tcpExchange(port.served, 'ping', 1000).catch((e: Error) => e.message);

  await until('the TCPRoute answers through NGINX on P + offset', async () => (await tcp()) === 'echo-a: ping');
  assert.equal(await udpExchange(port.served, 'example.com. IN A'), 'dns: example.com. IN A', 'the UDPRoute answers on the same port number, over UDP');

  const reloads = await agentReloads(agentUrl);
  writeFileSync(join(dir, 'echo.yaml'), streamService('echo', 'TCP', 9000, b.port));
  await until('new connections go to the new endpoint', async () => (await tcp()) === 'echo-b: ping');
  assert.equal(await agentReloads(agentUrl), reloads, 'the endpoint change caused no reload');

  // A newer TCPRoute on the same listener: accepted, but the older keeps the port.
  writeFileSync(join(dir, 'newer-route.yaml'), route('TCPRoute', 'newer', 'echo', 'other', 9000, '2025-06-01T00:00:00Z'));
  await until('the newer route is read', async () => /added +TCPRoute default\/newer/.test(local.output()));
  for (let i = 0; i < 20; i++) assert.equal(await tcp(), 'echo-b: ping', 'only the oldest route gets connections');
  rmSync(join(dir, 'echo-route.yaml'));
  await until('the newer route takes the port when the older goes', async () => (await tcp()) === 'other: ping');
});
