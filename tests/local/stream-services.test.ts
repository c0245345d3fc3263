// `wharf local` with ingress-nginx's tcp-services and udp-services ConfigMaps in the folder, as a user
// runs it: a TCP echo and a UDP (DNS-like) request and answer through NGINX on P + (--http-port − 80),
// an EndpointSlice change reaching new TCP connections with no reload, and a bad entry named with
// its key and reason while the good ones serve.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/backend.ts';
import { eventually } from '../support/http.ts';
import { agentReloads, startWharfLocal } from '../support/wharf-local.ts';
import { startTcpEcho, startUdpEcho, streamPort, streamService, tcpExchange, udpExchange } from '../support/stream-backends.ts';

test('wharf local serves the tcp-services and udp-services ConfigMaps of its folder; endpoints move with no reload', async (t) => {
  const [a, b, dns] = await Promise.all([startTcpEcho('echo-a'), startTcpEcho('echo-b'), startUdpEcho('dns')]);
  const dir = mkdtempSync(join(tmpdir(), 'wharf-local-stream-'));
  const workDir = mkdtempSync(join(tmpdir(), 'wharf-local-stream-work-'));
  // NGINX's workers (nobody, when the test runs as root) read the endpoint files under it, as under .wharf/local.
  chmodSync(workDir, 0o755);
  const httpPort = await freePort();
  const port = await streamPort(httpPort - 80);
  writeFileSync(join(dir, 'echo.yaml'), streamService('echo', 'TCP', 9000, a.port));
  writeFileSync(join(dir, 'dns.yaml'), streamService('dns', 'UDP', 53, dns.port));
  writeFileSync(
    join(dir, 'services.yaml'),
    `apiVersion: v1
kind: ConfigMap
metadata: { name: tcp-services }
data:
  "${port.declared}": default/echo:9000
  "70000": default/echo:9000
---
apiVersion: v1
kind: ConfigMap
metadata: { name: udp-services }
data:
  "${port.declared}": default/dns:53
`,
  );
  const args = ['--manifests', dir, '--http-port', String(httpPort), '--https-port', String(await freePort()), '--handler-port', '0', '--agent-port', '0', '--no-backends'];
  const local = await startWharfLocal(args, workDir, /agent http:\/\/127\.0\.0\.1:\d+/);
  const agentUrl = /agent (http:\/\/127\.0\.0\.1:\d+)/.exec(local.output())![1]!;
  t.after(async () => {
    await local.stop();
    await Promise.all([a.close(), b.close(), dns.close()]);
    rmSync(dir, { recursive: true, force: true });
    rmSync(workDir, { recursive: true, force: true });
  });
  const until = async (what: string, check: () => Promise<boolean>) => assert.ok(await eventually(check, 20_000, 50), `${what}\n--- wharf local said:\n${local.output()}`);
  const tcp = () => tcpExchange(port.served, 'ping', 1000).catch((e: Error) => e.message);

  await until('the TCP service answers through NGINX', async () => (await tcp()) === 'echo-a: ping');
  assert.equal(await udpExchange(port.served, 'example.com. IN A'), 'dns: example.com. IN A');
  await until('the bad entry is named with its key and reason', async () => /data\[70000\]: Invalid value: "70000": the key must be the port clients connect to/.test(local.output()));

  const reloads = await agentReloads(agentUrl);
  writeFileSync(join(dir, 'echo.yaml'), streamService('echo', 'TCP', 9000, b.port));
  await until('new connections go to the new endpoint', async () => (await tcp()) === 'echo-b: ping');
  assert.equal(await agentReloads(agentUrl), reloads, 'the endpoint change caused no reload');
});
