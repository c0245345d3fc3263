// --default-ssl-certificate in a real NGINX (issue 17, item 3): the certificate `openssl s_client`
// gets by SNI for a TLS host without a secretName, one whose Secret is missing, a host with its own
// certificate, and a name no host claims (the default server); the warnings for a host the default
// certificate does not cover, as admission and the Ingress's Event say them.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startNginx, type TestNginx } from '../support/nginx.ts';
import { startBackend, type Backend } from '../support/backend.ts';
import { request } from '../support/http.ts';
import { ingressObject, loadFragments, routeUpstreams, selfSigned, serviceObject, tlsSecretObject, type IngressSpec } from './helpers.ts';
import { buildModel, defaultControllerSettings, parseObject, RoutingIndex, stateFromObjects } from '../../src/model/index.ts';
import { renderModel } from '../../src/render/index.ts';
import { eventFor, verdictOf } from '../../src/cluster/status-verdict.ts';
import { admissionReview } from '../handlers/fixtures.ts';
import { testHandler } from '../handlers/support.ts';
import type { ControllerSettings } from '../../src/model/cluster-state.ts';
import type { RoutingModel } from '../../src/model/types.ts';

const wildcard = selfSigned('*.example.test', ['example.test']);
const own = selfSigned('own.test');
const settings: ControllerSettings = { ...defaultControllerSettings, defaultSslCertificate: 'default/wildcard' };
const ingresses: IngressSpec[] = [
  { name: 'no-secret', tls: [{ hosts: ['a.example.test'] } as never], rules: [{ host: 'a.example.test', paths: [{ pathType: 'Prefix', path: '/', service: 'app' }] }] },
  { name: 'gone', tls: [{ hosts: ['b.example.test'], secretName: 'gone' }], rules: [{ host: 'b.example.test', paths: [{ pathType: 'Prefix', path: '/', service: 'app' }] }] },
  { name: 'own', tls: [{ hosts: ['own.test'], secretName: 'own' }], rules: [{ host: 'own.test', paths: [{ pathType: 'Prefix', path: '/', service: 'app' }] }] },
  // Older, and only asks for TLS on own.test: the newer Ingress's own certificate still wins.
  { name: 'older-default', created: '2024-01-01T00:00:00Z', tls: [{ hosts: ['own.test'] } as never], rules: [{ host: 'own.test', paths: [{ pathType: 'Prefix', path: '/older', service: 'app' }] }] },
  { name: 'uncovered', tls: [{ hosts: ['other.test'] } as never], rules: [{ host: 'other.test', paths: [{ pathType: 'Prefix', path: '/', service: 'app' }] }] },
];
const objects = (): unknown[] => [...ingresses.map(ingressObject), tlsSecretObject('wildcard', wildcard), tlsSecretObject('own', own), serviceObject('app')];

function model(controller: ControllerSettings): RoutingModel {
  const { state } = stateFromObjects(objects());
  return buildModel(state, controller);
}

/** The subject of the certificate `openssl s_client` is shown for this SNI name, or its error. */
function opensslSubject(port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', servername], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', () => resolve(/^subject=(.*)$/m.exec(out)?.[1]?.trim() ?? `no certificate: ${out.split('\n').find((l) => /alert|error/i.test(l)) ?? out.slice(0, 200)}`));
    p.stdin.end('Q\n');
  });
}

let nginx: TestNginx;
let app: Backend;
before(async () => {
  app = await startBackend('app');
  nginx = await startNginx();
});
after(async () => {
  await nginx?.stop();
  await app?.close();
});

describe('with --default-ssl-certificate', () => {
  before(async () => {
    const m = model(settings);
    const { fragments, failures, certificates } = renderModel(m);
    assert.deepEqual(failures, []);
    await loadFragments(nginx, fragments, certificates);
    await routeUpstreams(nginx, m, { app });
  });

  test('a TLS host without a secretName, or with a missing Secret, is served with the default certificate', async () => {
    assert.equal(await opensslSubject(nginx.httpsPort, 'a.example.test'), 'CN = *.example.test');
    assert.equal(await opensslSubject(nginx.httpsPort, 'b.example.test'), 'CN = *.example.test');
    const r = await request({ port: nginx.httpsPort, host: 'a.example.test', tls: true });
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).backend, 'app');
    // A TLS host: plain HTTP is redirected, as for a host with its own certificate.
    assert.equal((await request({ port: nginx.httpPort, host: 'a.example.test' })).status, 308);
  });

  test('a host with its own certificate keeps it, even when an older Ingress of the host asks for the default one', async () => {
    assert.equal(await opensslSubject(nginx.httpsPort, 'own.test'), 'CN = own.test');
  });

  test('a name no host claims gets the default certificate from the default server, and 404', async () => {
    assert.equal(await opensslSubject(nginx.httpsPort, 'nobody.test'), 'CN = *.example.test');
    assert.equal((await request({ port: nginx.httpsPort, host: 'nobody.test', tls: true })).status, 404);
  });

  test('a host the default certificate does not cover is still served with it', async () => {
    assert.equal(await opensslSubject(nginx.httpsPort, 'other.test'), 'CN = *.example.test');
  });
});

describe('without it', () => {
  before(async () => {
    const m = model(defaultControllerSettings);
    { const r = renderModel(m); await loadFragments(nginx, r.fragments, r.certificates); }
    await routeUpstreams(nginx, m, { app });
  });

  test('those hosts are plain HTTP and unknown names\' handshakes are refused, as before', async () => {
    assert.match(await opensslSubject(nginx.httpsPort, 'a.example.test'), /^no certificate/);
    assert.match(await opensslSubject(nginx.httpsPort, 'nobody.test'), /^no certificate/);
    assert.equal(await opensslSubject(nginx.httpsPort, 'own.test'), 'CN = own.test');
    assert.equal((await request({ port: nginx.httpPort, host: 'a.example.test' })).status, 200);
  });
});

describe('what users are told', () => {
  const problemsOf = (controller: ControllerSettings, name: string) =>
    model(controller).problems.filter((p) => p.object.name === name).map((p) => [p.severity, p.reason, p.message]);

  test('a host the certificate does not cover, and a missing Secret, are warnings that name the certificate', () => {
    assert.deepEqual(problemsOf(settings, 'no-secret'), []);
    assert.deepEqual(problemsOf(settings, 'own'), []);
    assert.deepEqual(problemsOf(settings, 'older-default'), [], 'own.test is served with its own certificate');
    assert.deepEqual(problemsOf(settings, 'uncovered'), [
      ['warning', 'DefaultCertificateMismatch', 'spec.tls[0].secretName: Required value: the default certificate default/wildcard does not cover other.test'],
    ]);
    assert.deepEqual(problemsOf(settings, 'gone'), [
      ['warning', 'TlsSecretNotFound', 'spec.tls[0].secretName: Not found: "gone": these hosts are served with the default certificate default/wildcard'],
    ]);
    assert.deepEqual(problemsOf({ ...settings, defaultSslCertificate: 'default/nope' }, 'no-secret'), [
      ['warning', 'TlsSecretNotFound', 'spec.tls[0].secretName: Required value: no Secret: these hosts are served without TLS (the default certificate Secret default/nope is not found)'],
    ]);
  });

  test('admission answers with the warning, and the Ingress\'s Event says it', async () => {
    const h = testHandler({ settings: { controller: { ...settings, configMap: 'wharf/wharf-config' } } });
    try {
      h.api.put(tlsSecretObject('wildcard', wildcard) as never);
      h.api.put(serviceObject('app') as never);
      await h.relist();
      const review = admissionReview(ingressObject(ingresses.find((i) => i.name === 'uncovered')!), { uid: 'uid-d' });
      const r = await h.post('/admission', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(review) });
      const response = (r.json as { response: { allowed: boolean; warnings?: string[] } }).response;
      assert.equal(response.allowed, true);
      assert.equal(response.warnings?.length, 1);
      assert.match(response.warnings![0]!, /^spec\.tls\[0\]\.secretName: Required value: the default certificate default\/wildcard does not cover other\.test$/);
    } finally {
      await h.close();
    }

    const index = new RoutingIndex(settings);
    for (const o of objects()) {
      const parsed = parseObject(o);
      assert.ok(parsed.ok);
      index.upsert(parsed.value);
    }
    const event = eventFor(verdictOf(index, { metadata: { name: 'uncovered', namespace: 'default', uid: 'u', generation: 1 } }));
    assert.equal(event?.reason, 'AddedOrUpdatedWithWarning');
    assert.match(event!.message, /the default certificate default\/wildcard does not cover other\.test/);
  });

  test('a change of the default Secret re-renders the default server and the hosts that use it', () => {
    const index = new RoutingIndex(settings);
    for (const o of objects()) index.upsert((parseObject(o) as { ok: true; value: never }).value);
    const renewed = selfSigned('*.example.test', ['example.test']);
    const affected = index.upsert((parseObject(tlsSecretObject('wildcard', renewed)) as { ok: true; value: never }).value);
    assert.equal(affected.defaultServer, true);
    assert.deepEqual(affected.hosts, ['a.example.test', 'b.example.test', 'other.test', 'own.test']);
    assert.equal(index.defaultServer().tls?.cert, renewed.cert);
  });
});
