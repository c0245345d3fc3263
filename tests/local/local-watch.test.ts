// `wharf local` serves what the folder says after every way a file can change: written in place,
// deleted and written again under the same name, renamed into place (editors, `kubectl`-style
// tools), moved in with a new folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackend, freePort } from '../support/backend.ts';
import { eventually, request } from '../support/http.ts';
import { startWharfLocal } from '../support/wharf-local.ts';

const ingress = (path: string) => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: web }
spec:
  rules:
    - host: web.test
      http:
        paths: [{ path: ${path}, pathType: Prefix, backend: { service: { name: web, port: { name: http } } } }]
`;

test('files deleted and written again or renamed into place are served, not missed by the watcher', async (t) => {
  const backend = await startBackend('web');
  const dir = mkdtempSync(join(tmpdir(), 'wharf-watch-manifests-'));
  const spare = mkdtempSync(join(tmpdir(), 'wharf-watch-spare-'));
  const workDir = mkdtempSync(join(tmpdir(), 'wharf-watch-work-'));
  writeFileSync(
    join(dir, 'web.yaml'),
    `apiVersion: v1\nkind: Service\nmetadata: { name: web }\nspec: { ports: [{ name: http, port: 80 }] }\n---\n` +
      `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: { name: web-0, labels: { kubernetes.io/service-name: web } }\n` +
      `addressType: IPv4\nports: [{ name: http, port: ${backend.port} }]\nendpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true } }]\n`,
  );
  writeFileSync(join(dir, 'ingress.yaml'), ingress('/v0'));
  const httpPort = await freePort();
  const args = ['--manifests', dir, '--http-port', String(httpPort), '--https-port', String(await freePort()), '--handler-port', '0', '--agent-port', '0', '--no-backends'];
  const local = await startWharfLocal(args, workDir, /agent http:\/\/127\.0\.0\.1:\d+/);
  t.after(async () => {
    await local.stop();
    await backend.close();
    for (const d of [dir, spare, workDir]) rmSync(d, { recursive: true, force: true });
  });
  const status = async (path: string) => (await request({ port: httpPort, host: 'web.test', path })).status;
  const ingressFile = join(dir, 'ingress.yaml');
  const steps: [string, () => void][] = [
    ['deleted and written again', () => (rmSync(ingressFile), writeFileSync(ingressFile, ingress('/v1')))],
    ['renamed into place', () => (writeFileSync(join(dir, '.ingress.yaml.swp'), ingress('/v2')), renameSync(join(dir, '.ingress.yaml.swp'), ingressFile))],
    ['edited in place', () => writeFileSync(ingressFile, ingress('/v3'))],
    ['deleted and written again', () => (rmSync(ingressFile), writeFileSync(ingressFile, ingress('/v4')))],
    ['moved in from another folder', () => (writeFileSync(join(spare, 'ingress.yaml'), ingress('/v5')), renameSync(join(spare, 'ingress.yaml'), ingressFile))],
    ['renamed into place', () => (writeFileSync(join(dir, 'ingress.yaml.new'), ingress('/v6')), renameSync(join(dir, 'ingress.yaml.new'), ingressFile))],
    ['edited in place', () => writeFileSync(ingressFile, ingress('/v7'))],
    ['deleted and written again', () => (rmSync(ingressFile), writeFileSync(ingressFile, ingress('/v8')))],
    ['moved into a new sub-folder', () => (mkdirSync(join(spare, 'sub')), writeFileSync(join(spare, 'sub', 'ingress.yaml'), ingress('/v9')), rmSync(ingressFile), renameSync(join(spare, 'sub'), join(dir, 'sub')))],
    ['edited in the new sub-folder', () => writeFileSync(join(dir, 'sub', 'ingress.yaml'), ingress('/v10'))],
  ];
  assert.equal(await status('/v0'), 200);
  for (const [i, [what, act]] of steps.entries()) {
    act();
    const served = await eventually(async () => (await status(`/v${i + 1}`)) === 200 && (await status(`/v${i}`)) === 404, 5000, 20);
    assert.ok(served, `step ${i + 1}, the Ingress file ${what}: /v${i + 1} is not served (or /v${i} still is)\n--- wharf local said:\n${local.output()}`);
  }
});
