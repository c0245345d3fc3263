// `wharf local` as a user runs it: a child process on real ports, a folder of manifests edited step
// by step, each step checked through real HTTP/HTTPS requests and the agent's metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackend, freePort, type Backend } from '../support/backend.ts';
import { request, eventually } from '../support/http.ts';
import { CERT, KEY } from '../model/tls-fixture.ts';
import { agentReloads, startWharfLocal, processesUnder } from '../support/wharf-local.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

const service = (name: string) => `apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec: { ports: [{ name: http, port: 80 }] }
`;
const slice = (name: string, service: string, backends: Backend[]) => backends.map((b, i) => `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-${i}, labels: { kubernetes.io/service-name: ${service} } }
addressType: IPv4
ports: [{ name: http, port: ${b.port} }]
endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true } }]
`).join('---\n');
const ingress = (name: string, host: string, path: string, service: string, extra = '') => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: ${name}${extra ? `, annotations: { ${extra} }` : ''} }
spec:
  rules:
    - host: ${host}
      http:
        paths:
          - { path: ${path}, pathType: Prefix, backend: { service: { name: ${service}, port: { name: http } } } }
`;


test('wharf local follows a folder of manifests: adds, path changes, scaling, TLS, a broken file, deletes', async (t) => {
  const [a, b, c] = await Promise.all([startBackend('a'), startBackend('b'), startBackend('c')]);
  const dir = mkdtempSync(join(tmpdir(), 'wharf-local-manifests-'));
  const workDir = mkdtempSync(join(tmpdir(), 'wharf-local-work-'));
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  writeFileSync(join(dir, 'web.yaml'), `${service('web')}---\n${slice('web', 'web', [a])}`);
  writeFileSync(join(dir, 'web-ingress.yaml'), ingress('web', 'web.test', '/app', 'web'));
  const args = ['--manifests', dir, '--http-port', String(httpPort), '--https-port', String(httpsPort), '--handler-port', '0', '--agent-port', '0', '--no-backends'];
  const local = await startWharfLocal(args, workDir, /agent http:\/\/127\.0\.0\.1:\d+/);
  const agentUrl = /agent (http:\/\/127\.0\.0\.1:\d+)/.exec(local.output())![1]!;
  t.after(async () => {
    await local.stop();
    await Promise.all([a.close(), b.close(), c.close()]);
    rmSync(dir, { recursive: true, force: true });
    rmSync(workDir, { recursive: true, force: true });
  });
  const get = (host: string, path: string) => request({ port: httpPort, host, path });
  const until = async (what: string, check: () => Promise<boolean>) => assert.ok(await eventually(check, 15_000, 50), `${what}\n--- wharf local said:\n${local.output()}`);
  const servedBy = async (host: string, path: string, backend: string) => {
    const r = await get(host, path);
    return r.status === 200 && JSON.parse(r.body).backend === backend;
  };

  await until('the initial Ingress serves', () => servedBy('web.test', '/app/x', 'a'));
  assert.match(local.output(), /loaded +Ingress default\/web \(web-ingress\.yaml #0\)/);

  // Add an Ingress (with its Service and endpoints) in a new file.
  writeFileSync(join(dir, 'api.yaml'), `${service('api')}---\n${slice('api', 'api', [b])}---\n${ingress('api', 'api.test', '/v1', 'api')}`);
  await until('the added Ingress serves', () => servedBy('api.test', '/v1/users', 'b'));

  // Change a path.
  writeFileSync(join(dir, 'web-ingress.yaml'), ingress('web', 'web.test', '/web', 'web'));
  await until('the new path serves', () => servedBy('web.test', '/web', 'a'));
  // Until NGINX's old workers have closed their listeners, a new connection may still reach one
  // (the first new worker answering is how a reload is confirmed): the old path goes moments later.
  await until('the old path is gone', async () => (await get('web.test', '/app')).status === 404);

  // Scale the EndpointSlice: endpoints only, so no reload.
  const before = await agentReloads(agentUrl);
  writeFileSync(join(dir, 'web.yaml'), `${service('web')}---\n${slice('web', 'web', [a, c])}`);
  await until('the new endpoint takes traffic', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add(JSON.parse((await get('web.test', '/web')).body).backend);
    return seen.has('a') && seen.has('c');
  });
  assert.equal(await agentReloads(agentUrl), before, 'scaling an EndpointSlice must not reload NGINX');

  // Add a TLS host.
  writeFileSync(
    join(dir, 'secure.yaml'),
    `apiVersion: v1\nkind: Secret\nmetadata: { name: secure-tls }\ntype: kubernetes.io/tls\ndata: { tls.crt: ${b64(CERT)}, tls.key: ${b64(KEY)} }\n---\n` +
      ingress('secure', 'example.com', '/', 'web').replace('spec:\n', 'spec:\n  tls: [{ hosts: [example.com], secretName: secure-tls }]\n'),
  );
  await until('the TLS host serves over HTTPS', async () => {
    const r = await request({ port: httpsPort, host: 'example.com', path: '/', tls: true });
    return r.status === 200;
  });
  const plain = await get('example.com', '/x');
  assert.equal(plain.status, 308);

  // Break a file: reported with the file and document, and nothing running changes.
  writeFileSync(join(dir, 'web-ingress.yaml'), 'apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: { name: [web\n');
  await until('the broken file is reported', async () => /broken +web-ingress\.yaml #0: YAML syntax error/.test(local.output()));
  const still = await get('web.test', '/web');
  assert.equal(still.status, 200, `the broken file must change nothing: ${still.body}\n--- wharf local said:\n${local.output()}`);

  // An Ingress the admission webhook denies is not applied either.
  writeFileSync(join(dir, 'web-ingress.yaml'), ingress('web', 'web.test', '/web', 'web', 'nginx.ingress.kubernetes.io/configuration-snippet: "return 200;"'));
  await until('the denied Ingress is reported', async () => /rejected +Ingress default\/web \(web-ingress\.yaml #0\): .*snippet/.test(local.output()));
  assert.equal((await get('web.test', '/web')).status, 200, 'the previous version keeps serving');

  // Fix it.
  writeFileSync(join(dir, 'web-ingress.yaml'), ingress('web', 'web.test', '/fixed', 'web'));
  await until('the fixed file applies', async () => (await get('web.test', '/fixed')).status === 200);

  // Delete an Ingress.
  rmSync(join(dir, 'api.yaml'));
  await until('the deleted Ingress no longer serves', async () => (await get('api.test', '/v1')).status === 404);

  // Ctrl-C stops everything, NGINX included.
  assert.ok(processesUnder(workDir).length > 0, 'NGINX runs from the work dir');
  assert.equal(await local.interrupt(), 0);
  assert.deepEqual(processesUnder(workDir), [], 'no NGINX process may be left behind');
});
