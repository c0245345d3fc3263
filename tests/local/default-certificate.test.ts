// `wharf local --default-ssl-certificate NS/NAME` as a user runs it: a TLS host without a secretName
// and names no host claims get the folder's wildcard certificate; backends are told the port the
// client used (local mode's own ports). A value that is not NS/NAME stops it with the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackend, freePort } from '../support/backend.ts';
import { request, eventually } from '../support/http.ts';
import { startWharfLocal } from '../support/wharf-local.ts';
import { peerCertificateCN, selfSigned } from '../render/helpers.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const root = new URL('../../', import.meta.url).pathname;

test('wharf local --default-ssl-certificate serves the folder\'s certificate to TLS hosts without one and to unknown names', async (t) => {
  const app = await startBackend('app');
  const wildcard = selfSigned('*.example.test');
  const dir = mkdtempSync(join(tmpdir(), 'wharf-local-default-cert-'));
  const workDir = mkdtempSync(join(tmpdir(), 'wharf-local-work-'));
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  writeFileSync(join(dir, 'app.yaml'), `apiVersion: v1
kind: Secret
metadata: { name: wildcard, namespace: certs }
type: kubernetes.io/tls
data: { tls.crt: ${b64(wildcard.cert)}, tls.key: ${b64(wildcard.key)} }
---
apiVersion: v1
kind: Service
metadata: { name: app }
spec: { ports: [{ name: http, port: 80 }] }
---
apiVersion: v1
kind: Endpoints
metadata: { name: app }
subsets: [{ addresses: [{ ip: 127.0.0.1 }], ports: [{ name: http, port: ${app.port} }] }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: app }
spec:
  tls: [{ hosts: [a.example.test] }]
  rules:
    - host: a.example.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: app, port: { name: http } } } }] }
`);
  const args = ['--manifests', dir, '--http-port', String(httpPort), '--https-port', String(httpsPort), '--handler-port', '0', '--agent-port', '0', '--no-backends', '--default-ssl-certificate', 'certs/wildcard'];
  const local = await startWharfLocal(args, workDir, /agent http:\/\/127\.0\.0\.1:\d+/);
  t.after(async () => {
    await local.stop();
    await app.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(workDir, { recursive: true, force: true });
  });
  const served = await eventually(async () => (await request({ port: httpsPort, host: 'a.example.test', tls: true })).status === 200, 15_000, 50);
  assert.ok(served, `the TLS host serves over HTTPS\n--- wharf local said:\n${local.output()}`);
  assert.equal(await peerCertificateCN(httpsPort, 'a.example.test'), '*.example.test');
  assert.equal(await peerCertificateCN(httpsPort, 'unknown.test'), '*.example.test');
  const r = await request({ port: httpsPort, host: 'a.example.test', path: '/x', tls: true });
  assert.equal(JSON.parse(r.body).headers['x-forwarded-port'], String(httpsPort), 'local mode\'s clients use its own ports');
  assert.equal((await request({ port: httpPort, host: 'a.example.test' })).status, 308);
});

test('wharf local --default-ssl-certificate refuses a value that is not NS/NAME', () => {
  const r = spawnSync(process.execPath, ['src/cli.ts', 'local', '--default-ssl-certificate', 'wildcard', '--work-dir', join(tmpdir(), 'wharf-never')], { cwd: root, encoding: 'utf8', timeout: 30_000 });
  assert.notEqual(r.status, 0);
  // Reported as every bad flag of `wharf local` is: the fatal error's JSON log line.
  const fatal = JSON.parse((r.stdout + r.stderr).trim().split('\n').at(-1)!) as { error: { message: string } };
  assert.equal(fatal.error.message, '--default-ssl-certificate: Invalid value: "wildcard": expected NAMESPACE/NAME of a kubernetes.io/tls Secret');
});
