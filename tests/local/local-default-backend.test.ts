// `wharf local --default-backend-service`: the controller-wide default backend and the ConfigMap's
// custom-http-errors from a folder of manifests, as a user runs it; its endpoints move without a
// reload, like any Service's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackend, freePort } from '../support/backend.ts';
import { request, eventually } from '../support/http.ts';
import { agentReloads, serviceManifest, startWharfLocal } from '../support/wharf-local.ts';

const serviceWithEndpoints = serviceManifest;

test('wharf local --default-backend-service: unmatched requests and listed codes go to the error-page Service, whose endpoints move without a reload', async (t) => {
  const errorPages = (name: string) => (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    req.resume();
    res.statusCode = Number(req.headers['x-code'] ?? 200);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ backend: name, url: req.url, headers: req.headers }));
  };
  const [pages1, pages2, app] = await Promise.all([
    startBackend('pages-1', errorPages('pages-1')),
    startBackend('pages-2', errorPages('pages-2')),
    startBackend('app', (req, res) => {
      req.resume();
      res.statusCode = req.url?.startsWith('/gone') ? 404 : 200;
      res.end(`app ${res.statusCode}`);
    }),
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'wharf-local-default-'));
  const workDir = mkdtempSync(join(tmpdir(), 'wharf-local-default-work-'));
  const httpPort = await freePort();
  writeFileSync(join(dir, 'errors.yaml'), serviceWithEndpoints('errors', pages1.port));
  writeFileSync(join(dir, 'app.yaml'), `${serviceWithEndpoints('app', app.port)}---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: shop }
spec:
  rules:
    - host: shop.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: app, port: { name: http } } } }] }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: wharf }
data: { custom-http-errors: "404,503" }
`);
  const args = ['--manifests', dir, '--http-port', String(httpPort), '--https-port', String(await freePort()), '--handler-port', '0', '--agent-port', '0', '--no-backends', '--default-backend-service', 'default/errors'];
  const local = await startWharfLocal(args, workDir, /agent http:\/\/127\.0\.0\.1:\d+/);
  const agentUrl = /agent (http:\/\/127\.0\.0\.1:\d+)/.exec(local.output())![1]!;
  t.after(async () => {
    await local.stop();
    await Promise.all([pages1.close(), pages2.close(), app.close()]);
    rmSync(dir, { recursive: true, force: true });
    rmSync(workDir, { recursive: true, force: true });
  });
  const get = (host: string, path: string) => request({ port: httpPort, host, path });
  const page = async (host: string, path: string) => {
    const r = await get(host, path);
    return r.headers['content-type'] === 'application/json' ? { status: r.status, ...(JSON.parse(r.body) as { backend: string; headers: Record<string, string> }) } : null;
  };
  const until = async (what: string, check: () => Promise<boolean>) => assert.ok(await eventually(check, 20_000, 50), `${what}\n--- wharf local said:\n${local.output()}`);

  await until('a host no Ingress names gets the error-page Service\'s 404', async () => {
    const p = await page('nowhere.test', '/x');
    return p?.backend === 'pages-1' && p.status === 404 && p.headers['x-code'] === '404';
  });
  await until('the Ingress serves', async () => (await get('shop.test', '/ok')).body === 'app 200');
  const gone = await page('shop.test', '/gone');
  assert.equal(gone?.backend, 'pages-1');
  assert.equal(gone?.headers['x-ingress-name'], 'shop');
  assert.equal(gone?.headers['x-service-name'], 'app');

  const before = await agentReloads(agentUrl);
  writeFileSync(join(dir, 'errors.yaml'), serviceWithEndpoints('errors', pages2.port));
  await until('the default backend\'s new endpoint answers', async () => (await page('nowhere.test', '/y'))?.backend === 'pages-2');
  assert.equal(await agentReloads(agentUrl), before, 'moving the default backend\'s endpoints must not reload NGINX');
});
