// `wharf source` against the fake API server and a receiver that validates every event with the
// handler's own parser: an add for every existing object at start, then every change in per-object
// order, a recovery after the handler was away, a periodic resync, and the command itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { FakeApiServer } from '../support/kube-apiserver.ts';
import { configMap, ingress, ingressClass, quietLog, secret, service } from '../support/kube-apiserver-fixtures.ts';
import { eventually } from '../support/http.ts';
import { freePort } from '../support/backend.ts';
import { EventSender } from '../../src/cluster/event-sender.ts';
import { makeClients } from '../../src/cluster/kubernetes-client.ts';
import { KubernetesEventSource } from '../../src/cluster/source.ts';
import { parseEvents } from '../../src/handlers/cloudevents.ts';

interface Received {
  type: string;
  subject: string;
  resourceVersion: string;
  auth: string;
}

/** A handler stand-in: parses with the handler's parser (400 on anything it refuses), records, can go away. */
async function receiver() {
  const received: Received[] = [];
  const refused: string[] = [];
  let port = 0;
  let server: http.Server | null = null;
  const up = async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
        try {
          for (const e of parseEvents(headers, Buffer.concat(chunks).toString('utf8'))) {
            const object = e.object!;
            received.push({ type: e.type, subject: String(req.headers['ce-subject']), resourceVersion: object.metadata.resourceVersion!, auth: req.headers.authorization ?? '' });
          }
          res.writeHead(200).end('{}');
        } catch (err) {
          refused.push((err as Error).message);
          res.writeHead(400).end((err as Error).message);
        }
      });
    });
    await new Promise<void>((r) => server!.listen(port, '127.0.0.1', r));
    port = (server!.address() as AddressInfo).port;
  };
  const down = () =>
    new Promise<void>((r) => {
      server!.close(() => r());
      server!.closeAllConnections();
    });
  await up();
  return { received, refused, url: () => `http://127.0.0.1:${port}/events`, up, down };
}

/** Subject → the resourceVersions received, in arrival order. */
function bySubject(received: Received[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const r of received) m.set(r.subject, [...(m.get(r.subject) ?? []), r.resourceVersion]);
  return m;
}

function assertOrdered(received: Received[]): void {
  for (const [subject, versions] of bySubject(received)) {
    const numbers = versions.map(Number);
    assert.deepEqual(numbers, [...numbers].sort((a, b) => a - b), `${subject} arrived out of order: ${versions.join(', ')}`);
  }
}

async function start(t: { after: (fn: () => Promise<void> | void) => void }, api: FakeApiServer, url: string, resyncMs = 0) {
  const sender = new EventSender({ url, source: 'wharf/test', token: 'events-token', log: quietLog, maxAttempts: Number.POSITIVE_INFINITY, baseDelayMs: 20, maxDelayMs: 200 });
  const source = new KubernetesEventSource({ clients: makeClients(api.kubeConfig()), sender, log: quietLog, scope: { configMap: { namespace: 'wharf', name: 'wharf' } }, resyncMs, watch: { backoff: { baseMs: 20 } } });
  t.after(() => source.stop());
  await source.start();
  return { sender, source };
}

function seed(api: FakeApiServer): void {
  api.put(ingressClass('wharf'));
  api.put(ingress('cafe'));
  api.put(ingress('tea', 'shop'));
  api.put(service('cafe'));
  api.put(secret('cafe-tls', 'kubernetes.io/tls'));
  api.put(secret('token', 'kubernetes.io/service-account-token'));
  api.put(configMap('wharf', 'wharf'));
}

test('an add for every existing object at start, then every change, each object in order', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  seed(api);
  const r = await receiver();
  t.after(() => r.down());
  const { sender } = await start(t, api, r.url());
  await sender.idle();
  assert.deepEqual(r.refused, []);
  assert.deepEqual(
    r.received.map((x) => `${x.type} ${x.subject}`).sort(),
    ['ConfigMap/wharf/wharf', 'Ingress/default/cafe', 'Ingress/shop/tea', 'IngressClass/wharf', 'Secret/default/cafe-tls', 'Service/default/cafe'].map((s) => `io.wharf.resource.add ${s}`),
  );
  assert.ok(r.received.every((x) => x.auth === 'Bearer events-token'));

  for (let v = 1; v <= 20; v++) api.put({ ...ingress('cafe'), metadata: { name: 'cafe', namespace: 'default', annotations: { v: String(v) } } });
  api.remove('Service', 'default', 'cafe');
  api.put(ingress('latte'));
  const last = api.get('Ingress', 'default', 'cafe')!.metadata.resourceVersion;
  await eventually(() => bySubject(r.received).get('Ingress/default/cafe')?.at(-1) === last && r.received.some((x) => x.subject === 'Ingress/default/latte'));
  await sender.idle();
  assert.equal(bySubject(r.received).get('Ingress/default/cafe')!.at(-1), last);
  assert.ok(r.received.some((x) => x.type === 'io.wharf.resource.delete' && x.subject === 'Service/default/cafe'));
  assert.ok(r.received.some((x) => x.type === 'io.wharf.resource.add' && x.subject === 'Ingress/default/latte'));
  assertOrdered(r.received);
  assert.deepEqual(r.refused, []);
});

test('while the handler is away, changes wait and are retried; once it is back, it gets the latest state of each object', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  seed(api);
  const r = await receiver();
  t.after(() => r.down());
  const { sender } = await start(t, api, r.url());
  await sender.idle();
  const before = r.received.length;
  await r.down();
  api.put({ ...ingress('cafe'), metadata: { name: 'cafe', namespace: 'default', annotations: { v: 'while-away' } } });
  api.remove('Ingress', 'shop', 'tea');
  api.put(ingress('latte'));
  await eventually(() => sender.stats.retried >= 6, 10_000);
  assert.equal(r.received.length, before, 'nothing arrives while the handler is away');
  await r.up();
  await eventually(() => r.received.length >= before + 3, 10_000);
  await sender.idle();
  const latest = bySubject(r.received.slice(before));
  assert.deepEqual(latest.get('Ingress/default/cafe'), [api.get('Ingress', 'default', 'cafe')!.metadata.resourceVersion]);
  assert.ok(r.received.slice(before).some((x) => x.type === 'io.wharf.resource.delete' && x.subject === 'Ingress/shop/tea'));
  assert.ok(latest.has('Ingress/default/latte'));
  assert.equal(sender.stats.dropped, 0);
  assertOrdered(r.received);
});

test('a periodic resync sends every object again as an update, with its current version', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  seed(api);
  const r = await receiver();
  t.after(() => r.down());
  const { source } = await start(t, api, r.url(), 150);
  await eventually(() => source.stats.resyncs >= 2 && r.received.filter((x) => x.type === 'io.wharf.resource.update').length >= 12);
  const updates = r.received.filter((x) => x.type === 'io.wharf.resource.update');
  const subjects = new Set(updates.map((x) => x.subject));
  assert.equal(subjects.size, 6);
  for (const u of updates) {
    const [kind, ...rest] = u.subject.split('/');
    const [ns, name] = rest.length === 2 ? rest : ['', rest[0]];
    assert.equal(u.resourceVersion, api.get(kind!, ns!, name!)!.metadata.resourceVersion);
  }
  assertOrdered(r.received);
});

test('`wharf source` refuses a bad flag with its usage and exit code 2', async () => {
  const child = spawn(process.execPath, ['src/cli.ts', 'source', '--handler-url', 'http://127.0.0.1:9/events', '--resync', 'soon'], { cwd: path.resolve(import.meta.dirname, '../..'), stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  assert.equal(code, 2);
  assert.match(stderr, /--resync: Invalid value: "soon": expected a duration such as 500ms, 30s, 5m or 1h/);
  assert.match(stderr, /usage: wharf source --handler-url URL/);
});

test('`wharf source` runs from the command line with KUBECONFIG and a token file, reports ready, and stops on SIGTERM', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  seed(api);
  const r = await receiver();
  t.after(() => r.down());
  const dir = await mkdtemp(path.join(tmpdir(), 'wharf-source-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'kubeconfig'), api.kubeconfigYaml('source-sa'));
  await writeFile(path.join(dir, 'token'), 'cli-events-token\n');
  const healthPort = await freePort();
  const child = spawn(
    process.execPath,
    ['src/cli.ts', 'source', '--handler-url', r.url(), '--token-file', path.join(dir, 'token'), '--configmap', 'wharf/wharf', '--resync', '0', '--listen', `127.0.0.1:${healthPort}`],
    { cwd: path.resolve(import.meta.dirname, '../..'), env: { ...process.env, KUBECONFIG: path.join(dir, 'kubeconfig'), WHARF_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await eventually(() => r.received.length >= 6, 15_000);
  assert.ok(r.received.every((x) => x.auth === 'Bearer cli-events-token'), stderr);
  assert.ok(api.requests.every((x) => x.user === 'source-sa'));
  const ready = await eventually(async () => (await fetch(`http://127.0.0.1:${healthPort}/readyz`).catch(() => null))?.status === 200, 5000);
  assert.ok(ready);
  child.kill('SIGTERM');
  assert.equal(await exited, 0, stderr);
  await eventually(() => api.openWatches() === 0);
  assert.equal(api.openWatches(), 0);
});
