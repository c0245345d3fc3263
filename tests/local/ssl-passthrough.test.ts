// `wharf local --enable-ssl-passthrough` as a user runs it: two TLS backends behind NGINX's one HTTPS
// port, chosen by SNI and never terminated (the client sees each backend's own certificate), beside
// an HTTPS Ingress host on the same port that still gets wharf's certificate and the client's
// address; an unknown name gets the default server's answer, plain HTTP is untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startBackend, startHttpsBackend, type Backend } from '../support/backend.ts';
import { makeCertificate, tlsConnect, bare } from '../support/certificates.ts';
import { eventually, request } from '../support/http.ts';
import { startWharfLocal, type LocalProcess } from '../support/wharf-local.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A Service `name` (port https 443) with one endpoint, 127.0.0.1:`port`. */
const tlsService = (name: string, port: number) => `apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec: { ports: [{ name: https, port: 443 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-0, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv4
ports: [{ name: https, port: ${port} }]
endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true } }]
`;

/** The HTTPS host's side: its TLS Secret, and the Service `app` with one endpoint on `port`. */
const webBackend = (cert: { cert: string; key: string }, port: number) => `apiVersion: v1
kind: Secret
metadata: { name: web-tls }
type: kubernetes.io/tls
data: { tls.crt: ${b64(cert.cert)}, tls.key: ${b64(cert.key)} }
---
apiVersion: v1
kind: Service
metadata: { name: app }
spec: { ports: [{ name: http, port: 80 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: app-0, labels: { kubernetes.io/service-name: app } }
addressType: IPv4
ports: [{ name: http, port: ${port} }]
endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true } }]
---
`;
const passthroughIngress = (name: string, host: string) => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  annotations: { nginx.ingress.kubernetes.io/ssl-passthrough: "true" }
spec:
  rules:
    - host: ${host}
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: ${name}, port: { name: https } } } }] }
`;

interface Setup {
  local: LocalProcess;
  httpPort: number;
  httpsPort: number;
  certs: { a: string; b: string; web: string };
  backends: Backend[];
  /** Rewrites the passthrough manifests with pass-a's endpoint on `port`. */
  movePassA(port: number): void;
}

async function setUp(t: { after(fn: () => Promise<void>): void }): Promise<Setup> {
  const [certA, certB, certWeb] = await Promise.all([makeCertificate(['a.pass.test']), makeCertificate(['b.pass.test']), makeCertificate(['web.example.test'])]);
  const passA = await startHttpsBackend('pass-a', certA);
  const passB = await startHttpsBackend('pass-b', certB);
  const app = await startBackend('app');
  const dir = mkdtempSync(join(tmpdir(), 'wharf-passthrough-'));
  const workDir = mkdtempSync(join(tmpdir(), 'wharf-passthrough-work-'));
  // NGINX's workers (nobody, when tests run as root) connect to the SNI router's sockets in it.
  chmodSync(workDir, 0o755);
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  const writePassthrough = (portA: number) =>
    writeFileSync(join(dir, 'passthrough.yaml'), [tlsService('pass-a', portA), passthroughIngress('pass-a', 'a.pass.test'), tlsService('pass-b', passB.port), passthroughIngress('pass-b', 'b.pass.test')].join('---\n'));
  writePassthrough(passA.port);
  writeFileSync(join(dir, 'web.yaml'), `${webBackend(certWeb, app.port)}apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: web }
spec:
  tls: [{ hosts: [web.example.test], secretName: web-tls }]
  rules:
    - host: web.example.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: app, port: { name: http } } } }] }
    - host: plain.example.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: app, port: { name: http } } } }] }
`);
  const args = ['--manifests', dir, '--http-port', String(httpPort), '--https-port', String(httpsPort), '--handler-port', '0', '--agent-port', '0', '--no-backends', '--enable-ssl-passthrough'];
  const backends = [passA, passB, app];
  let local: LocalProcess | null = null;
  t.after(async () => {
    await local?.stop();
    for (const b of backends) await b.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(workDir, { recursive: true, force: true });
  });
  local = await startWharfLocal(args, workDir, /agent http:\/\/127\.0\.0\.1:\d+/);
  return { local, httpPort, httpsPort, certs: { a: bare(certA.serial), b: bare(certB.serial), web: bare(certWeb.serial) }, backends, movePassA: writePassthrough };
}

test('wharf local --enable-ssl-passthrough: TLS goes by SNI to two backends unterminated, beside an HTTPS Ingress host on the same port', async (t) => {
  const { local, httpPort, httpsPort, certs, backends, movePassA } = await setUp(t);
  const answered = await eventually(async () => {
    const r = await request({ port: httpsPort, host: 'a.pass.test', tls: true }).catch(() => null);
    return r?.status === 200 && JSON.parse(r.body).backend === 'pass-a';
  }, 20_000, 50);
  assert.ok(answered, `a.pass.test reaches its backend over TLS\n--- wharf local said:\n${local.output()}`);

  // Each passthrough host: the backend's own certificate, the backend's own answer, the SNI it was sent.
  for (const [host, backend, serial] of [['a.pass.test', 'pass-a', certs.a], ['b.pass.test', 'pass-b', certs.b]] as const) {
    const probe = await tlsConnect(httpsPort, host);
    probe.socket?.destroy();
    assert.equal(probe.serial, serial, `${host}: the client sees its backend's certificate (${probe.error ?? ''})`);
    const r = await request({ port: httpsPort, host, tls: true });
    assert.deepEqual(JSON.parse(r.body), { backend, servername: host, client: null });
  }

  // The HTTPS Ingress host on the same port: wharf's certificate (its Secret's), the client's address.
  const web = await tlsConnect(httpsPort, 'web.example.test');
  web.socket?.destroy();
  assert.equal(web.serial, certs.web, 'the HTTPS Ingress host is terminated by NGINX with its Secret\'s certificate');
  const r = await request({ port: httpsPort, host: 'web.example.test', path: '/who', tls: true });
  assert.equal(r.status, 200);
  const seen = JSON.parse(r.body) as { backend: string; headers: Record<string, string> };
  assert.equal(seen.backend, 'app');
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1', 'the client\'s address crosses the SNI router (PROXY protocol), not "unix:"');
  assert.equal(seen.headers['x-forwarded-proto'], 'https');
  assert.equal(seen.headers['x-forwarded-port'], String(httpsPort), 'the port the client connected to');

  // A name nobody claims: the default server's behaviour (no default certificate: the handshake is refused).
  const unknown = await tlsConnect(httpsPort, 'unknown.test');
  unknown.socket?.destroy();
  assert.equal(unknown.serial, null, 'an unknown name gets no certificate');
  const noSni = await tlsConnect(httpsPort, null);
  noSni.socket?.destroy();
  assert.equal(noSni.serial, null, 'a client without SNI lands on the default server too');

  // Plain HTTP on the HTTP port is untouched: a TLS host redirects, a plain host answers.
  const redirect = await request({ port: httpPort, host: 'web.example.test', path: '/x' });
  assert.equal(redirect.status, 308);
  assert.equal(redirect.headers.location, `https://web.example.test:${httpsPort}/x`);
  const plain = await request({ port: httpPort, host: 'plain.example.test' });
  assert.equal(plain.status, 200);
  assert.equal(JSON.parse(plain.body).headers['x-forwarded-for'], '127.0.0.1');

  // An endpoint change behind a passthrough host: new connections go to the new endpoint.
  movePassA(backends[1]!.port);
  const moved = await eventually(async () => {
    const probe = await tlsConnect(httpsPort, 'a.pass.test');
    probe.socket?.destroy();
    return probe.serial === certs.b;
  }, 20_000, 50);
  assert.ok(moved, `a.pass.test follows its EndpointSlice\n--- wharf local said:\n${local.output()}`);
});

test('wharf local --enable-ssl-passthrough: a Gateway\'s TLS listener in Passthrough mode routes TLSRoutes by SNI beside an HTTPS listener on 443', async (t) => {
  const [certA, certWeb] = await Promise.all([makeCertificate(['a.pass.test']), makeCertificate(['web.example.test'])]);
  const passA = await startHttpsBackend('pass-a', certA);
  const app = await startBackend('app');
  const dir = mkdtempSync(join(tmpdir(), 'wharf-tlsroute-'));
  const workDir = mkdtempSync(join(tmpdir(), 'wharf-tlsroute-work-'));
  chmodSync(workDir, 0o755);
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  writeFileSync(join(dir, 'gateway.yaml'), `${tlsService('pass-a', passA.port)}---
${webBackend(certWeb, app.port)}apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: wharf }
spec: { controllerName: wharf.io/gateway-controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw }
spec:
  gatewayClassName: wharf
  listeners:
    - { name: tls, port: 443, protocol: TLS, hostname: "*.pass.test", tls: { mode: Passthrough }, allowedRoutes: { kinds: [{ kind: TLSRoute }] } }
    - { name: https, port: 443, protocol: HTTPS, hostname: web.example.test, tls: { certificateRefs: [{ name: web-tls }] } }
---
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: { name: pass-a }
spec:
  parentRefs: [{ name: gw, sectionName: tls }]
  hostnames: ["*.pass.test", a.elsewhere.test]
  rules: [{ backendRefs: [{ name: pass-a, port: 443 }] }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web }
spec:
  parentRefs: [{ name: gw, sectionName: https }]
  hostnames: [web.example.test]
  rules: [{ backendRefs: [{ name: app, port: 80 }] }]
`);
  const args = ['--manifests', dir, '--http-port', String(httpPort), '--https-port', String(httpsPort), '--handler-port', '0', '--agent-port', '0', '--no-backends', '--enable-ssl-passthrough'];
  let local: LocalProcess | null = null;
  t.after(async () => {
    await local?.stop();
    for (const b of [passA, app]) await b.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(workDir, { recursive: true, force: true });
  });
  local = await startWharfLocal(args, workDir, /agent http:\/\/127\.0\.0\.1:\d+/);
  const answered = await eventually(async () => {
    const r = await request({ port: httpsPort, host: 'a.pass.test', tls: true }).catch(() => null);
    return r?.status === 200 && JSON.parse(r.body).backend === 'pass-a';
  }, 20_000, 50);
  assert.ok(answered, `the TLSRoute's host reaches its backend over TLS\n--- wharf local said:\n${local.output()}`);
  const probe = await tlsConnect(httpsPort, 'a.pass.test');
  probe.socket?.destroy();
  assert.equal(probe.serial, bare(certA.serial), 'the client sees the backend\'s own certificate');
  // A Gateway API wildcard covers names of any depth, not the parent name itself.
  const deep = await tlsConnect(httpsPort, 'x.a.pass.test');
  deep.socket?.destroy();
  assert.equal(deep.serial, bare(certA.serial));
  const parent = await tlsConnect(httpsPort, 'pass.test');
  parent.socket?.destroy();
  assert.equal(parent.serial, null);
  // Outside the listener's hostname: not passed through (the default server refuses the handshake).
  const outside = await tlsConnect(httpsPort, 'a.elsewhere.test');
  outside.socket?.destroy();
  assert.equal(outside.serial, null);
  // The HTTPS listener's route on the same port: NGINX terminates it with the listener's certificate.
  const web = await tlsConnect(httpsPort, 'web.example.test');
  web.socket?.destroy();
  assert.equal(web.serial, bare(certWeb.serial));
  const r = await request({ port: httpsPort, host: 'web.example.test', tls: true });
  assert.equal(JSON.parse(r.body).backend, 'app');
  assert.equal(JSON.parse(r.body).headers['x-forwarded-for'], '127.0.0.1');
});
