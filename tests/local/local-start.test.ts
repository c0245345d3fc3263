// `wharf local` starting on a folder of many apps: one line per kind instead of one per object,
// every Ingress through the admission webhook, every admitted one served, a denied one not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackend, freePort } from '../support/backend.ts';
import { request } from '../support/http.ts';
import { startWharfLocal } from '../support/wharf-local.ts';

const APPS = 60;

const app = (i: number, port: number, annotations = '') => `apiVersion: v1
kind: Service
metadata: { name: app-${i} }
spec: { ports: [{ name: http, port: 80 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: app-${i}-0, labels: { kubernetes.io/service-name: app-${i} } }
addressType: IPv4
ports: [{ name: http, port: ${port} }]
endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true } }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: app-${i}${annotations ? `, annotations: { ${annotations} }` : ''} }
spec:
  rules:
    - host: app-${i}.test
      http:
        paths: [{ path: /, pathType: Prefix, backend: { service: { name: app-${i}, port: { name: http } } } }]
`;

test('a folder of many apps starts with every admitted Ingress served and a denied one refused', async (t) => {
  const backend = await startBackend('app');
  const dir = mkdtempSync(join(tmpdir(), 'wharf-start-manifests-'));
  const workDir = mkdtempSync(join(tmpdir(), 'wharf-start-work-'));
  for (let i = 0; i < APPS; i++) writeFileSync(join(dir, `app-${i}.yaml`), app(i, backend.port));
  writeFileSync(join(dir, 'denied.yaml'), app(APPS, backend.port, 'nginx.ingress.kubernetes.io/configuration-snippet: "return 200;"'));
  const httpPort = await freePort();
  const args = ['--manifests', dir, '--http-port', String(httpPort), '--https-port', String(await freePort()), '--handler-port', '0', '--agent-port', '0', '--no-backends'];
  const local = await startWharfLocal(args, workDir, /agent http:\/\/127\.0\.0\.1:\d+/);
  t.after(async () => {
    await local.stop();
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(workDir, { recursive: true, force: true });
  });
  const said = local.output();
  assert.match(said, /loaded +61 Services, 61 EndpointSlices, 61 Ingresses/);
  assert.match(said, /rejected +Ingress default\/app-60 \(denied\.yaml #2\): .*snippet/);
  assert.match(said, /admitted +60 of 61/);
  assert.doesNotMatch(said, /loaded +Service default\/app-1 /, 'a big folder is told per kind, not per object');
  // Ready once NGINX serves the folder (the handler's complete push), not on NGINX's empty start.
  const lines = said.split('\n');
  const ready = lines.findIndex((l) => /^ready +NGINX serves the complete configuration/.test(l));
  const folder = lines.findIndex((l) => /^applied +config version \d+ in \d+ ms \((\d{2,}) changes\)/.test(l));
  assert.ok(folder >= 0 && ready > folder, `the agent is ready after the reload that carried the folder\n${said}`);
  for (let i = 0; i < APPS; i++) {
    const r = await request({ port: httpPort, host: `app-${i}.test`, path: '/' });
    assert.equal(r.status, 200, `app-${i}.test is served once wharf local says it is ready\n--- wharf local said:\n${said}`);
  }
  assert.equal((await request({ port: httpPort, host: `app-${APPS}.test`, path: '/' })).status, 404, 'the denied Ingress is not served');
});
