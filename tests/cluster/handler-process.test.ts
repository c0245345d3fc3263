// `wharf handler` as a cluster runs it: a process given a kubeconfig (the fake API server), a real
// agent driving a real NGINX, echo backends, and no event source at all. The handler must list,
// watch, render, push, and NGINX route; a change made in the API server must reach NGINX through
// the handler's own watches; Ingress status and Events must be written; the snapshot must say which
// view it stands for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeApiServer } from '../support/kube-apiserver.ts';
import { configMap, endpointSlice, ingress, ingressClass, service } from '../support/kube-apiserver-fixtures.ts';
import type { Obj } from '../support/kube-apiserver-store.ts';
import { freePort, startBackend, type Backend } from '../support/backend.ts';
import { eventually } from '../support/http.ts';
import { backendOf, startTestAgent, type TestAgent } from '../agent/harness.ts';

const TOKEN = 'process-test-token-0123456789';
const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

/** An EndpointSlice of `service` whose one endpoint is `backend` (127.0.0.1 and its port). */
function sliceTo(name: string, serviceName: string, backend: Backend): Obj {
  return { ...endpointSlice(name, serviceName, 'default', ['127.0.0.1']), ports: [{ port: backend.port, protocol: 'TCP' }] };
}

const publishService = (ip: string): Obj => ({ ...service('wharf-nginx', 'wharf', { type: 'LoadBalancer' }), status: { loadBalancer: { ingress: [{ ip }] } } });

/** Starts `wharf handler` and waits until it is ready; its stderr is kept for failure messages. */
async function startHandlerProcess(args: string[], env: Record<string, string>): Promise<{ child: ChildProcess; url: string; stderr: () => string; stop: () => Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'handler', '--listen', `127.0.0.1:${port}`, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-20_000)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  const ready = await eventually(async () => (child.exitCode === null ? (await fetch(`${url}/readyz`)).status === 200 : 'exited'), 15_000, 50).catch(() => false);
  if (ready !== true) {
    await stop();
    throw new Error(`wharf handler did not become ready (${ready}):\n${err}`);
  }
  return { child, url, stderr: () => err, stop };
}

test('`wharf handler --kubeconfig`: lists, watches, pushes to a real agent, NGINX routes; API server changes reach NGINX without any CloudEvent; status and Events are written', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  const [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
  t.after(() => Promise.all([a.close(), b.close()]));
  const agent: TestAgent = await startTestAgent({ token: TOKEN });
  t.after(() => agent.stop());
  const dir = mkdtempSync(join(tmpdir(), 'wharf-handler-process-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'kubeconfig'), api.kubeconfigYaml('handler-0'));
  writeFileSync(join(dir, 'token'), TOKEN);

  api.put(ingressClass('wharf'));
  api.put(configMap('wharf', 'wharf', { 'proxy-read-timeout': '30' }));
  api.put(publishService('203.0.113.7'));
  api.put(ingress('cafe'));
  api.put(service('cafe'));
  api.put(sliceTo('cafe-1', 'cafe', a));
  api.put(ingress('other', 'default', 'other.example.com', 'nginx'));

  const handler = await startHandlerProcess(
    [
      '--kubeconfig', join(dir, 'kubeconfig'),
      '--agent', agent.agent.apiUrl,
      '--agent-token-file', join(dir, 'token'),
      '--configmap', 'wharf/wharf',
      '--publish-service', 'wharf/wharf-nginx',
      '--status-renew-interval', '100ms',
      '--relist-interval', '1h',
    ],
    { POD_NAME: 'handler-0', POD_NAMESPACE: 'wharf', WHARF_LOG_LEVEL: 'warn' },
  );
  t.after(() => handler.stop());
  const fail = (what: string) => `${what}\nhandler log:\n${handler.stderr().slice(-3000)}`;

  // The process restarted itself with the heap bounds (same PID).
  const cmdline = readFileSync(`/proc/${handler.child.pid}/cmdline`, 'utf8').split('\0');
  assert.ok(cmdline.includes('--max-semi-space-size=8') && cmdline.some((a) => a.startsWith('--max-old-space-size=')), cmdline.join(' '));

  // Listed and pushed: NGINX routes the Ingress that existed before the handler started.
  const routes = (host: string, backend: string) => async () => {
    const r = await agent.get(host).catch(() => null);
    return r?.status === 200 && backendOf(r) === backend;
  };
  assert.ok(await eventually(routes('cafe.example.com', 'a'), 15_000, 50), fail('cafe.example.com is not routed to a'));

  // Status: the publish Service's address on the handled Ingress, nothing on the other class's;
  // an AddedOrUpdated Event on the handled one, written by this replica, whose Lease is in its namespace.
  const ipOf = (name: string) => api.get('Ingress', 'default', name)?.status?.loadBalancer?.ingress?.[0]?.ip;
  assert.ok(await eventually(() => ipOf('cafe') === '203.0.113.7', 10_000), fail('the status of cafe was not written'));
  const cafeEvent = await eventually(() => api.list('Event').find((e) => e.involvedObject.name === 'cafe'), 5000);
  assert.equal(cafeEvent?.reason, 'AddedOrUpdated');
  assert.equal(cafeEvent?.reportingInstance, 'handler-0');
  assert.equal(ipOf('other'), undefined, 'an Ingress of another class gets no status');
  assert.deepEqual(api.list('Lease').map((l) => `${l.metadata.namespace}/${l.spec.holderIdentity}`), ['wharf/handler-0']);

  // A new Ingress and its Service, made in the API server only: the handler's watches bring them.
  const before = api.requests.length;
  api.put(service('tea'));
  api.put(sliceTo('tea-1', 'tea', b));
  api.put(ingress('tea'));
  assert.ok(await eventually(routes('tea.example.com', 'b'), 10_000, 50), fail('tea.example.com is not routed to b'));
  // An endpoint change moves traffic; a deleted Ingress stops being served.
  api.put(sliceTo('cafe-1', 'cafe', b));
  assert.ok(await eventually(routes('cafe.example.com', 'b'), 10_000, 50), fail('cafe.example.com did not move to b'));
  api.remove('Ingress', 'default', 'tea');
  assert.ok(await eventually(async () => (await agent.get('tea.example.com')).status === 404, 10_000, 50), fail('tea.example.com is still served'));
  // Nothing was listed again for that (no relist): the watches carried every change.
  const lists = api.requests.slice(before).filter((r) => r.method === 'GET' && r.path.endsWith('/ingresses') && r.query.watch !== 'true' && r.user === 'handler-0');
  assert.deepEqual(lists, []);
  const metrics = await (await fetch(`${handler.url}/metrics`)).text();
  assert.doesNotMatch(metrics, /^wharf_handler_events_total\{/m, 'no CloudEvent was received');

  // The snapshot carries the revision of the view it stands for: the resourceVersion every watch has
  // seen up to, × 4096 (the agent deletes only fragments below it). A quiet watch holds it back until
  // the API server's next bookmark says nothing happened.
  const snapshotAsOf = async () => {
    const s = (await (await fetch(`${handler.url}/snapshot`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { revision?: number; complete: boolean };
    assert.equal(s.complete, true);
    assert.ok(s.revision !== undefined && s.revision % 4096 === 0, `revision ${s.revision}`);
    return s.revision / 4096;
  };
  const listedAt = await snapshotAsOf();
  assert.ok(listedAt > 0 && listedAt <= api.revision);
  // The handler's own Lease renewals and status writes move the API server's version on after the
  // bookmark, so the check is "at least the bookmark's version", not "the version now".
  // A ConfigMap that is not wharf's: no watch of the handler carries it, so only a bookmark can move
  // the snapshot past its version.
  api.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'unrelated', namespace: 'default' }, data: {} });
  const bookmarkedAt = api.revision;
  assert.ok(bookmarkedAt > listedAt);
  assert.ok((await snapshotAsOf()) < bookmarkedAt, 'without a bookmark the snapshot does not claim a version its watches have not seen');
  api.bookmark();
  assert.ok(await eventually(async () => (await snapshotAsOf()) >= bookmarkedAt, 5000), 'after a bookmark the snapshot stands for at least the bookmark\'s version');

  // SIGTERM: the process leaves, and releases its Lease so another replica takes over at once.
  await handler.stop();
  assert.equal(handler.child.exitCode, 0, fail('exit code'));
  assert.deepEqual(api.list('Lease'), []);
});
