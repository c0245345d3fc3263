// The ConfigMap keys that live in the agent's own nginx.conf, end to end: the handler's `_main`
// fragment carries them (agent.json), the agent renders its nginx.conf with them and reloads. What a
// user sees: the access log line in their format, with the Ingress, Service and request ID of the
// request; the number of NGINX workers; a `_main` without them going back to the flags; and a
// `_main` NGINX refuses leaving nginx.conf as it was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startBackend } from '../support/backend.ts';
import { eventually, request } from '../support/http.ts';
import { acceptingWorkers } from '../support/workers.ts';
import { runAgent } from '../support/processes.ts';
import { defaultControllerSettings, RoutingIndex, stateFromObjects } from '../../src/model/index.ts';
import { renderModel } from '../../src/render/index.ts';

const TOKEN = 'settings-test-token-0123';

/** The fragments and endpoint sets of an Ingress `shop` (host shop.test → Service web) and a ConfigMap. */
function desired(data: Record<string, string>, revision: number, endpoint: string) {
  const { state } = stateFromObjects([
    {
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'shop', namespace: 'prod' },
      spec: { ingressClassName: 'wharf', rules: [{ host: 'shop.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'prod' }, spec: { ports: [{ port: 80 }] } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'wharf', namespace: 'wharf' }, data },
  ]);
  const model = new RoutingIndex(defaultControllerSettings, state).model();
  assert.deepEqual(model.problems, []);
  return {
    fragments: renderModel(model).fragments.map((f) => ({ ...f, revision })),
    endpoints: model.upstreams.map((u) => ({ upstream: u.upstream, revision, endpoints: [endpoint] })),
  };
}

test('log-format-upstream, log-format-escape-json and worker-processes reach the agent\'s nginx.conf through _main', async () => {
  const prefix = mkdtempSync(join(tmpdir(), 'wharf-settings-'));
  const tokenFile = join(prefix, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`);
  const [apiPort, httpPort] = [await freePort(), await freePort()];
  const app = await startBackend('web');
  const r = runAgent([
    '--prefix', join(prefix, 'nginx'), '--token-file', tokenFile, '--listen', `127.0.0.1:${apiPort}`, '--access-log',
    '--http-listen', `127.0.0.1:${httpPort}`, '--https-listen', 'none', '--worker-processes', '1', '--worker-shutdown-timeout', '2s',
  ]);
  const batch = async (body: unknown) => {
    const res = await fetch(`http://127.0.0.1:${apiPort}/v1/batch?wait=1`, {
      method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    assert.equal(res.status, 200, await res.text());
  };
  const masterPid = () => Number(readFileSync(join(prefix, 'nginx/run/nginx.pid'), 'utf8'));
  const lines = () => r.output().split('\n').filter((l) => l.startsWith('{"ns":'));
  try {
    assert.ok(await eventually(async () => (await fetch(`http://127.0.0.1:${apiPort}/healthz`).catch(() => null))?.status === 200, 10_000, 50), r.output());
    await batch(desired({
      'log-format-upstream': '{"ns":"$namespace","ingress":"$ingress_name","service":"$service_name","port":"$service_port","upstream":"$proxy_upstream_name","addr":"$upstream_addr","status":$status,"rid":"$req_id","ua":"$http_user_agent"}',
      'log-format-escape-json': 'true',
      'worker-processes': '2',
    }, 1, app.address));
    assert.ok(await eventually(() => acceptingWorkers(masterPid()).length === 2, 5000, 20), `workers: ${acceptingWorkers(masterPid()).length}`);
    assert.equal((await request({ port: httpPort, host: 'shop.test', path: '/cart', headers: { 'X-Request-ID': 'rid-1', 'User-Agent': 'a "quoted" agent' } })).status, 200);
    assert.ok(await eventually(() => lines().length > 0, 5000, 20), `no access log line:\n${r.output().slice(-2000)}`);
    assert.deepEqual(JSON.parse(lines()[0]!), {
      ns: 'prod', ingress: 'shop', service: 'web', port: '80', upstream: 'prod-web-80', addr: app.address, status: 200, rid: 'rid-1', ua: 'a "quoted" agent',
    });

    // A ConfigMap without the keys: the agent's flags (one worker) and ingress-nginx's default format.
    await batch(desired({}, 2, app.address));
    assert.ok(await eventually(() => acceptingWorkers(masterPid()).length === 1, 5000, 20), `workers: ${acceptingWorkers(masterPid()).length}`);
    assert.equal((await request({ port: httpPort, host: 'shop.test', path: '/again' })).status, 200);
    assert.ok(
      await eventually(() => r.output().split('\n').some((l) => /^127\.0\.0\.1 - - \[.+\] "GET \/again HTTP\/1\.1" 200 \d+ "-" "-" \d+ [\d.]+ \[prod-web-80\] \[\] /.test(l)), 5000, 20),
      r.output().slice(-2000),
    );

    // A `_main` NGINX refuses is quarantined with the nginx.conf that came with it: still one worker.
    const res = await fetch(`http://127.0.0.1:${apiPort}/v1/batch?wait=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ fragments: [{ name: '_main', revision: 3, config: 'no_such_directive on;\n', files: { 'agent.json': { content: '{"workerProcesses":3}' } } }] }),
    });
    const body = (await res.json()) as { fragments: { name: string; status: string }[] };
    assert.deepEqual(body.fragments.map((f) => [f.name, f.status]), [['_main', 'quarantined']]);
    assert.doesNotMatch(readFileSync(join(prefix, 'nginx/nginx.conf'), 'utf8'), /worker_processes 3;/);
    assert.equal(acceptingWorkers(masterPid()).length, 1);
    assert.equal((await request({ port: httpPort, host: 'shop.test', path: '/still' })).status, 200);
  } finally {
    if (r.child.exitCode === null) r.child.kill('SIGTERM');
    await r.exited;
    await app.close();
    rmSync(prefix, { recursive: true, force: true });
  }
});
