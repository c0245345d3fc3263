// A TLS Secret through the handler tier to a real agent and NGINX: the certificate travels apart
// from the host's fragment, so a renewal is served to the next handshake without a reload and
// without the fragment changing; a Secret whose key does not match is refused with a warning and the
// previous certificate keeps serving. A second agent without the Lua store (--endpoint-mode reload)
// gets the same changes and serves them from files after a reload.
import { test, before, after } from 'node:test';
import { X509Certificate } from 'node:crypto';
import assert from 'node:assert/strict';
import { MemoryReader, type Write } from '../../src/cluster/view-memory-reader.ts';
import { startHandler, type RunningHandler } from '../../src/handlers/serve.ts';
import { startTestAgent, type TestAgent } from '../agent/harness.ts';
import { startBackend, type Backend } from '../support/backend.ts';
import { bare, makeCertificate, servedSerial } from '../support/certificates.ts';
import { eventually, request } from '../support/http.ts';
import { TOKEN, binary, endpointSlice, ingress, service, tlsSecret } from './fixtures.ts';
import { handlerOptions } from './support.ts';

let agent: TestAgent;
let files: TestAgent;
let handler: RunningHandler;
let backend: Backend;
const api = new MemoryReader();

before(async () => {
  backend = await startBackend('a');
  [agent, files] = await Promise.all([startTestAgent({ token: TOKEN }), startTestAgent({ token: TOKEN, endpointMode: 'reload' })]);
  handler = await startHandler(handlerOptions({ agents: [agent.agent.apiUrl, files.agent.apiUrl], reader: api }));
});

after(async () => {
  await handler?.close();
  await agent?.stop();
  await files?.stop();
  await backend?.close();
});

async function deliver(w: Write): Promise<void> {
  const res = await fetch(`${handler.url}/events`, binary(`dev.knative.apiserver.resource.${w.action}`, w.object));
  assert.equal(res.status, 200, await res.text());
}

async function state(x = agent): Promise<any> {
  return (await fetch(`${x.agent.apiUrl}/v1/state`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
}

async function settled(): Promise<void> {
  await handler.fanout.idle();
  for (const x of [agent, files]) {
    assert.ok(await eventually(async () => {
      const s = await state(x);
      return s.appliedVersion === s.desiredVersion && s.fragments.every((f: { status: string }) => f.status !== 'pending');
    }, 20_000));
    await x.retired();
  }
}

/** The handler's nginx_ingress_controller_ssl_expire_time_seconds for shop.example.com (null: no series). */
async function expirySeries(): Promise<number | null> {
  const text = await (await fetch(`${handler.url}/metrics`)).text();
  const m = /^nginx_ingress_controller_ssl_expire_time_seconds\{class="wharf",host="shop\.example\.com",namespace="default",secret_name="shop-tls"\} (\d+)$/m.exec(text);
  return m ? Number(m[1]) : null;
}
const notAfter = (pem: string) => Math.round(Date.parse(new X509Certificate(pem).validTo) / 1000);

const fragmentRevision = async (name: string) => (await state()).fragments.find((f: { name: string }) => f.name === name)?.revision;

test('a new TLS host is served with its certificate; a renewed Secret reaches new handshakes without a reload or a fragment change', async () => {
  const first = await makeCertificate(['shop.example.com', 'www.shop.example.com']);
  for (const w of [
    api.put(ingress('shop', 'shop.example.com', [{ path: '/' }], { tls: [{ hosts: ['shop.example.com'], secretName: 'shop-tls' }], annotations: { 'nginx.ingress.kubernetes.io/from-to-www-redirect': 'true' } })),
    api.put(service('web')),
    api.put(endpointSlice('web', [backend.address])),
    api.put(tlsSecret('shop-tls', first.cert, first.key)),
  ]) await deliver(w);
  await settled();
  const https = await request({ port: agent.httpsPort, host: 'shop.example.com', path: '/', tls: true });
  assert.equal(https.status, 200, https.body);
  assert.equal(await servedSerial(agent.httpsPort, 'shop.example.com'), bare(first.serial));
  assert.equal(await servedSerial(agent.httpsPort, 'www.shop.example.com'), bare(first.serial), 'the www twin gets the host\'s certificate');
  const certs = (await state()).certificates.filter((c: { deleted: boolean }) => !c.deleted).map((c: { name: string }) => c.name);
  assert.deepEqual(certs, ['shop.example.com', 'www.shop.example.com']);
  assert.equal(await servedSerial(files.httpsPort, 'shop.example.com'), bare(first.serial), 'without Lua: from files');
  assert.equal((await state(files)).certificateMode, 'reload');
  assert.equal(await expirySeries(), notAfter(first.cert), "the host's certificate expiry, under ingress-nginx's metric name");
  const filesReloads = (await state(files)).reloads;

  const reloads = (await state()).reloads;
  const revision = await fragmentRevision('shop.example.com');
  const renewed = await makeCertificate(['shop.example.com', 'www.shop.example.com']);
  await deliver(api.put(tlsSecret('shop-tls', renewed.cert, renewed.key)));
  await handler.fanout.idle();
  assert.ok(await eventually(async () => (await servedSerial(agent.httpsPort, 'shop.example.com')) === bare(renewed.serial), 5000, 10), 'the renewed certificate is served');
  assert.equal(await servedSerial(agent.httpsPort, 'www.shop.example.com'), bare(renewed.serial));
  assert.equal((await state()).reloads, reloads, 'no reload');
  assert.equal(await fragmentRevision('shop.example.com'), revision, 'the fragment did not change');
  assert.equal(await expirySeries(), notAfter(renewed.cert), 'the expiry follows the renewal');
  assert.equal((await request({ port: agent.httpsPort, host: 'shop.example.com', path: '/', tls: true })).status, 200);
  // Without Lua the renewal is a reload, as before.
  await settled();
  assert.equal(await servedSerial(files.httpsPort, 'shop.example.com'), bare(renewed.serial));
  assert.ok((await state(files)).reloads > filesReloads, 'the files agent reloaded');
});

test('a Secret whose key does not match its certificate is refused with a warning; the previous certificate keeps serving', async () => {
  const served = await servedSerial(agent.httpsPort, 'shop.example.com');
  assert.ok(served);
  const reloads = (await state()).reloads;
  const other = await makeCertificate(['shop.example.com']);
  const wrongKey = (await makeCertificate(['shop.example.com'])).key;
  await deliver(api.put(tlsSecret('shop-tls', other.cert, wrongKey)));
  await handler.fanout.idle();
  const problems = handler.handler.desired.index.model().problems.map((p) => p.message);
  assert.ok(problems.includes('spec.tls[0].secretName: Invalid value: "shop-tls": Secret tls.key does not match the certificate in tls.crt; its previous certificate keeps serving'), problems.join('\n'));
  assert.equal(await servedSerial(agent.httpsPort, 'shop.example.com'), served);
  assert.equal((await state()).reloads, reloads, 'no reload');
  assert.equal((await request({ port: agent.httpsPort, host: 'shop.example.com', path: '/', tls: true })).status, 200);
});

test('a deleted Secret removes the certificate with TLS; the handshake is then refused', async () => {
  await deliver(api.delete({ kind: 'Secret', namespace: 'default', name: 'shop-tls' })!);
  await settled();
  assert.equal(await servedSerial(agent.httpsPort, 'shop.example.com'), null);
  assert.ok((await state()).certificates.every((c: { deleted: boolean }) => c.deleted));
  assert.equal(await expirySeries(), null, 'a host without a certificate has no expiry series');
  assert.equal((await request({ port: agent.httpPort, host: 'shop.example.com', path: '/' })).status, 200, 'served over plain HTTP again');
});
