// `wharf handler` serves from its first second, whatever the API server does. On a real cluster the
// handler did not listen until every stream's first list had succeeded: with discovery.k8s.io/v1
// missing (clusters before 1.21; the same for any optional API such as the Gateway API) it never
// listened, the liveness probe killed it in a loop, and with failurePolicy Fail every Ingress write
// in the cluster failed. These tests run the real process against the test API server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeApiServer } from '../support/kube-apiserver.ts';
import { endpointSlice, ingress, ingressClass, service } from '../support/kube-apiserver-fixtures.ts';
import type { Obj } from '../support/kube-apiserver-store.ts';
import { freePort, startBackend, type Backend } from '../support/backend.ts';
import { eventually } from '../support/http.ts';
import { backendOf, startTestAgent } from '../agent/harness.ts';

const TOKEN = 'startup-test-token-0123456789';
const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const REVIEW_UID = '0b8e4d1a-0000-4000-8000-000000000001';

function sliceTo(name: string, serviceName: string, backend: Backend): Obj {
  return { ...endpointSlice(name, serviceName, 'default', ['127.0.0.1']), ports: [{ port: backend.port, protocol: 'TCP' }] };
}

interface LogLine {
  time: string;
  level: string;
  msg: string;
  [k: string]: unknown;
}

/** Starts `wharf handler` and waits only until it listens (/healthz); its JSON log is kept. */
async function spawnHandler(t: { after: (fn: () => unknown) => void }, kubeconfig: string, args: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-handler-startup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'token'), TOKEN);
  writeFileSync(join(dir, 'kubeconfig'), kubeconfig);
  args = ['--kubeconfig', join(dir, 'kubeconfig'), ...args];
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'handler', '--listen', `127.0.0.1:${port}`, '--agent-token-file', join(dir, 'token'), ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    // Node's own start-up (loading modules) is the same whatever the cluster does; the heap
    // defaults' re-exec would only double it.
    env: { ...process.env, WHARF_LOG_LEVEL: 'info', WHARF_HEAP_DEFAULTS: '0' },
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  t.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  });
  const url = `http://127.0.0.1:${port}`;
  const listening = await eventually(async () => (child.exitCode === null ? (await fetch(`${url}/healthz`).catch(() => null))?.status === 200 : 'exited'), 30_000, 20).catch(() => false);
  if (listening !== true) throw new Error(`wharf handler did not listen (${listening}):\n${err}`);
  const log = (): LogLine[] =>
    err
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine);
  const at = (msg: string) => Date.parse(log().find((l) => l.msg === msg)?.time ?? 'x');
  return { child, url, log, fail: (what: string) => `${what}\nhandler log:\n${err.slice(-4000)}`, dir, sinceStart: () => at('handler listening') - at('handler starting') };
}

async function admit(url: string, object: Obj) {
  const res = await fetch(`${url}/admission`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: { uid: REVIEW_UID, kind: { group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' }, operation: 'CREATE', namespace: 'default', name: object.metadata.name, object },
    }),
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { response: { uid: string; allowed: boolean; warnings?: string[]; status?: { message: string } } }).response;
}

async function readyz(url: string) {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: (await res.json()) as { ready: boolean; waiting: { stream: string; reason: string }[]; missingApis: { groupVersion: string; required: boolean; withoutIt: string }[] } };
}

const withAnnotations = (o: Obj, annotations: Record<string, string>): Obj => ({ ...o, metadata: { ...o.metadata, annotations } });

test('discovery.k8s.io/v1 missing (a cluster before 1.21) no longer keeps the handler from listening: admission answers, /readyz names the group/version, Ingresses are routed, and EndpointSlices are read once the API appears, without a restart', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.withdrawApi('discovery.k8s.io/v1');
  const a = await startBackend('a');
  t.after(() => a.close());
  const agent = await startTestAgent({ token: TOKEN });
  t.after(() => agent.stop());
  api.put(ingressClass('wharf'));
  api.put(service('cafe'));
  api.put(ingress('cafe'));
  api.put(withAnnotations(ingress('old', 'default', 'old.example.com'), { 'nginx.ingress.kubernetes.io/permanent-redirect': 'https://cafe.example.com/' }));
  // The slice exists in storage; the API server just does not serve its group/version yet.
  api.put(sliceTo('cafe-1', 'cafe', a));

  const h = await spawnHandler(t, api.kubeconfigYaml('handler-0'), ['--agent', agent.agent.apiUrl, '--missing-api-retry-interval', '300ms', '--relist-interval', '1h']);
  // Listening took no longer than wharf's own set-up: nothing waited for the API server.
  t.diagnostic(`listening ${h.sinceStart()} ms after the handler started`);
  assert.ok(h.sinceStart() <= 1000, h.fail(`listening took ${h.sinceStart()} ms after start`));

  // Admission answers at once.
  const denied = await admit(h.url, withAnnotations(ingress('bad'), { 'nginx.ingress.kubernetes.io/configuration-snippet': 'return 200;' }));
  assert.equal(denied.allowed, false);
  assert.match(denied.status!.message, /configuration-snippet/);

  // /readyz: not ready, naming the missing group/version, what wharf does without it, and the stream waiting for it.
  // Once the other streams have listed (they start together; one may list a moment later), only the
  // stream of the missing API waits.
  const notReady = await eventually(async () => {
    const r = await readyz(h.url);
    return r.body.missingApis.length && r.body.waiting.length === 1 ? r : null;
  }, 10_000);
  assert.ok(notReady, h.fail('/readyz never named a missing API with one stream left waiting'));
  assert.equal(notReady.status, 503);
  assert.deepEqual(notReady.body.missingApis.map((m) => [m.groupVersion, m.required]), [['discovery.k8s.io/v1', true]]);
  assert.match(notReady.body.missingApis[0]!.withoutIt, /cannot route/);
  assert.deepEqual(notReady.body.waiting.map((w) => w.stream), ['EndpointSlice']);
  assert.match(notReady.body.waiting[0]!.reason, /does not serve discovery\.k8s\.io\/v1/);
  const metrics = async () => (await (await fetch(`${h.url}/metrics`)).text()).match(/^wharf_handler_api_missing\{group_version="discovery.k8s.io\/v1",required="true"\} (\d)/m)?.[1];
  assert.equal(await metrics(), '1');

  // The other kinds are served: both Ingresses reach NGINX (the redirect needs no endpoint; cafe's
  // host is there and answers 503, not the default server's 404, since it has no endpoint yet).
  assert.ok(await eventually(async () => (await agent.get('old.example.com').catch(() => null))?.status === 301, 15_000, 50), h.fail('old.example.com is not redirected'));
  // NGINX's old workers (the configuration before the push: 404 for every host) may still accept a
  // connection for a moment after the reload.
  await agent.retired();
  assert.equal((await agent.get('cafe.example.com')).status, 503);
  assert.equal((await agent.get('unknown.example.com')).status, 404);
  // With the view synced, admission checks references again: a missing Service is a warning.
  const checked = await admit(h.url, ingress('tea'));
  assert.equal(checked.allowed, true);
  assert.ok(checked.warnings?.some((w) => w === 'spec.rules[0].http.paths[0].backend.service.name: no such Service in this namespace; requests get 503 until it exists'), JSON.stringify(checked.warnings));

  // Logged once, by name, with what wharf does without it, although it was asked for again since.
  await eventually(() => api.requests.filter((r) => r.path.includes('endpointslices') && r.status === 404).length >= 4, 10_000);
  const said = h.log().filter((l) => String(l.msg).includes('does not serve discovery.k8s.io/v1'));
  assert.equal(said.length, 1, h.fail('logged more than once'));
  assert.equal(said[0]!.level, 'error');
  assert.match(said[0]!.msg, /cannot route/);

  // The API appears: the stream starts, without a restart, and cafe is routed to its endpoint.
  const pid = h.child.pid;
  api.restoreApi('discovery.k8s.io/v1');
  assert.ok(
    await eventually(async () => {
      const r = await agent.get('cafe.example.com').catch(() => null);
      return r?.status === 200 && backendOf(r) === 'a';
    }, 10_000, 50),
    h.fail('cafe.example.com is not routed to a after the API appeared'),
  );
  const ready = await readyz(h.url);
  assert.equal(ready.status, 200, JSON.stringify(ready.body));
  assert.deepEqual(ready.body.missingApis, []);
  assert.equal(await metrics(), '0');
  assert.equal(h.child.exitCode, null);
  assert.equal(h.child.pid, pid);
  assert.ok(h.log().some((l) => l.msg.includes('serves discovery.k8s.io/v1 now')), h.fail('the appearance was not logged'));
  // A later change reaches NGINX through the new stream's watch.
  const b = await startBackend('b');
  t.after(() => b.close());
  api.put(sliceTo('cafe-1', 'cafe', b));
  assert.ok(
    await eventually(async () => backendOf(await agent.get('cafe.example.com')) === 'b', 10_000, 50),
    h.fail('an EndpointSlice change after the API appeared did not reach NGINX'),
  );
});

test('an API server that does not answer no longer keeps the handler from listening: /readyz names every stream and why, admission checks the object and skips what needs the view, with a warning', async (t) => {
  // Accepts connections and never answers (an overloaded or half-dead API server).
  const sockets = new Set<Socket>();
  const silent = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => silent.close(() => r()));
  });
  const port = (silent.address() as { port: number }).port;
  const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: silent
  cluster: { server: 'https://127.0.0.1:${port}', insecure-skip-tls-verify: true }
users:
- name: u
  user: { token: t }
contexts:
- name: silent
  context: { cluster: silent, user: u }
current-context: silent
`;
  const h = await spawnHandler(t, kubeconfig, ['--configmap', 'wharf/wharf']);
  t.diagnostic(`listening ${h.sinceStart()} ms after the handler started`);
  assert.ok(h.sinceStart() <= 1000, h.fail(`listening took ${h.sinceStart()} ms after start`));
  assert.ok(sockets.size > 0 || (await eventually(() => sockets.size > 0, 5000)), 'the handler never called the API server');

  const r = await readyz(h.url);
  assert.equal(r.status, 503);
  assert.equal(r.body.ready, false);
  assert.deepEqual(r.body.waiting.map((w) => w.stream), [
    'Ingress',
    'IngressClass',
    'Service',
    'EndpointSlice',
    'Secret(type=kubernetes.io/tls)',
    'Secret(type=Opaque)',
    'ConfigMap(metadata.name=wharf) in wharf',
    // The Gateway API's streams (optional where the API is not served, but not yet known to be missing).
    'GatewayClass',
    'Gateway',
    'HTTPRoute',
    'GRPCRoute',
    'TLSRoute',
    'TCPRoute',
    'UDPRoute',
    'ReferenceGrant',
    'Namespace',
  ]);
  for (const w of r.body.waiting) assert.match(w.reason, /no answer from the API server yet/);
  assert.equal((await fetch(`${h.url}/healthz`)).status, 200);

  // Checks of the object alone run: a snippet is denied.
  const denied = await admit(h.url, withAnnotations(ingress('bad'), { 'nginx.ingress.kubernetes.io/server-snippet': 'return 200;' }));
  assert.equal(denied.allowed, false);
  assert.match(denied.status!.message, /server-snippet\]: Forbidden/);
  // Checks that need the view are skipped, with a warning: a basic-auth Secret the handler cannot
  // know yet does not deny the Ingress, a missing Service is not claimed.
  const allowed = await admit(h.url, withAnnotations(ingress('cafe'), { 'nginx.ingress.kubernetes.io/auth-type': 'basic', 'nginx.ingress.kubernetes.io/auth-secret': 'cafe-users' }));
  assert.equal(allowed.allowed, true, JSON.stringify(allowed));
  assert.deepEqual(allowed.warnings, ['wharf has not read the cluster yet: references and conflicts with other Ingresses were not checked']);
  // Events wait for the view (the sender retries a 503).
  assert.equal((await fetch(`${h.url}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status, 503);
});

test('an API server that refuses connections: /readyz says so per stream, the handler listens all the same', async (t) => {
  const port = await freePort();
  const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: gone
  cluster: { server: 'https://127.0.0.1:${port}', insecure-skip-tls-verify: true }
users:
- name: u
  user: { token: t }
contexts:
- name: gone
  context: { cluster: gone, user: u }
current-context: gone
`;
  const h = await spawnHandler(t, kubeconfig, ['--no-auth-secrets']);
  t.diagnostic(`listening ${h.sinceStart()} ms after the handler started`);
  assert.ok(h.sinceStart() <= 1000, h.fail(`listening took ${h.sinceStart()} ms after start`));
  const r = await eventually(async () => {
    const x = await readyz(h.url);
    return x.body.waiting.every((w) => /ECONNREFUSED/.test(w.reason)) ? x : null;
  }, 10_000);
  assert.ok(r, h.fail('/readyz does not say the connection is refused'));
  assert.equal(r.status, 503);
  // Ingress, IngressClass, Service, EndpointSlice, TLS Secrets; the Gateway API's eight kinds and Namespaces.
  assert.equal(r.body.waiting.length, 14);
});
