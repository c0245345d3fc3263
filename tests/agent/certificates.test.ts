// TLS certificates by name, through the agent's certificate API into NGINX's Lua store: served to the
// next handshake by SNI without a reload, kept for the next agent, never shown anywhere.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestAgent, type TestAgent } from './harness.ts';
import { bare, makeCertificate, requestOver, servedSerial, tlsConnect, type TestCertificate } from '../support/certificates.ts';

let t: TestAgent;
before(async () => {
  t = await startTestAgent();
});
after(async () => {
  await t?.stop();
});

const put = (name: string, revision: number, c: TestCertificate, agent = t) => agent.api('PUT', `/v1/certificates/${name}`, { revision, cert: c.cert, key: c.key });
const reloads = async (agent = t) => (await agent.api('GET', '/v1/state')).json.reloads as number;

test('a new certificate and a renewal are served to new handshakes without a reload; an open connection keeps its own', async () => {
  const before = await reloads();
  const first = await makeCertificate(['new.example.com']);
  const r = await put('new.example.com', 1, first);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { name: 'new.example.com', revision: 1, status: 'applied', via: 'lua' });
  assert.equal(await servedSerial(t.httpsPort, 'new.example.com'), bare(first.serial));

  const open = await tlsConnect(t.httpsPort, 'new.example.com');
  assert.equal(open.serial, bare(first.serial));
  const renewed = await makeCertificate(['new.example.com']);
  assert.equal((await put('new.example.com', 2, renewed)).json.status, 'applied');
  assert.equal(await servedSerial(t.httpsPort, 'NEW.example.com'), bare(renewed.serial), 'SNI is matched without regard to case');
  assert.equal(open.socket!.getPeerCertificate().serialNumber.replace(/^0+/, ''), bare(first.serial));
  assert.equal(await requestOver(open.socket!, 'new.example.com'), 404, 'the open connection still serves requests (the default server: no host yet)');
  open.socket!.destroy();
  assert.equal(await reloads(), before, 'no reload');
  const metrics = (await t.api('GET', '/metrics')).text;
  assert.match(metrics, /wharf_agent_certificate_updates_total\{via="lua",result="applied"\} [1-9]/);
});

test('a wildcard certificate serves names one label below it; an exact certificate wins over it', async () => {
  const wildcard = await makeCertificate(['*.wild.example.com']);
  const exact = await makeCertificate(['a.wild.example.com']);
  assert.equal((await put('_.wild.example.com', 1, wildcard)).json.status, 'applied');
  assert.equal((await put('a.wild.example.com', 1, exact)).json.status, 'applied');
  assert.equal(await servedSerial(t.httpsPort, 'b.wild.example.com'), bare(wildcard.serial));
  assert.equal(await servedSerial(t.httpsPort, 'a.wild.example.com'), bare(exact.serial));
  assert.equal(await servedSerial(t.httpsPort, 'x.b.wild.example.com'), null, 'two labels below: refused');
  assert.equal(await servedSerial(t.httpsPort, 'wild.example.com'), null, 'the parent name itself: refused');
});

test('a deleted certificate is no longer served; names without one get the default certificate, or are refused', async () => {
  const c = await makeCertificate(['gone.example.com']);
  assert.equal((await put('gone.example.com', 5, c)).json.status, 'applied');
  const stale = await t.api('DELETE', '/v1/certificates/gone.example.com?revision=4');
  assert.equal(stale.json.status, 'stale');
  assert.equal(await servedSerial(t.httpsPort, 'gone.example.com'), bare(c.serial), 'an older delete changes nothing');
  const del = await t.api('DELETE', '/v1/certificates/gone.example.com?revision=6');
  assert.equal(del.status, 200);
  assert.equal(del.json.status, 'applied');
  assert.equal(await servedSerial(t.httpsPort, 'gone.example.com'), null);
  assert.equal(await servedSerial(t.httpsPort, null), null, 'no SNI and no default certificate: refused');

  const fallback = await makeCertificate(['default.invalid']);
  assert.equal((await put('_default', 1, fallback)).json.status, 'applied');
  assert.equal(await servedSerial(t.httpsPort, 'gone.example.com'), bare(fallback.serial));
  assert.equal(await servedSerial(t.httpsPort, null), bare(fallback.serial), 'no SNI: the default certificate');
  assert.equal((await t.api('DELETE', '/v1/certificates/_default?revision=2')).json.status, 'applied');
  assert.equal(await servedSerial(t.httpsPort, 'gone.example.com'), null);
});

test('a key that does not match its certificate is refused with the reason, and the previous certificate keeps serving', async () => {
  const good = await makeCertificate(['keys.example.com']);
  const other = await makeCertificate(['keys.example.com']);
  assert.equal((await put('keys.example.com', 1, good)).json.status, 'applied');
  const r = await t.api('PUT', '/v1/certificates/keys.example.com', { revision: 2, cert: other.cert, key: good.key });
  assert.equal(r.status, 400);
  assert.equal(r.json.error, 'key: Invalid value: does not match the certificate in cert');
  assert.ok(!r.text.includes('PRIVATE KEY') && !r.text.includes('BEGIN'), 'the answer quotes no PEM');
  const bad = await t.api('PUT', '/v1/certificates/keys.example.com', { revision: 2, cert: 'not a certificate', key: good.key });
  assert.equal(bad.json.error, 'cert: Invalid value: is not a PEM certificate chain');
  const name = await t.api('PUT', '/v1/certificates/bad_name', { revision: 2, cert: good.cert, key: good.key });
  assert.match(name.json.error, /^certificate: Invalid value: "bad_name": certificate names are/);
  assert.equal(await servedSerial(t.httpsPort, 'keys.example.com'), bare(good.serial));
  const batch = await t.api('POST', '/v1/batch', { certificates: [{ name: 'keys.example.com', revision: 3, cert: other.cert, key: good.key }] });
  assert.equal(batch.status, 400);
  assert.equal(batch.json.error, 'certificates[0].key: Invalid value: does not match the certificate in cert');
  assert.equal(await servedSerial(t.httpsPort, 'keys.example.com'), bare(good.serial));
});

test('a batch applies certificates at once beside fragments; a complete batch with certificates removes the others', async () => {
  const before = await reloads();
  const [one, two] = await Promise.all([makeCertificate(['one.example.com']), makeCertificate(['two.example.com'])]);
  const r = await t.api('POST', '/v1/batch', { certificates: [{ name: 'one.example.com', revision: 1, ...one }, { name: 'two.example.com', revision: 1, ...two }] });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.certificates.map((c: { name: string; status: string }) => `${c.name} ${c.status}`), ['one.example.com applied', 'two.example.com applied']);
  assert.equal(await servedSerial(t.httpsPort, 'two.example.com'), bare(two.serial));
  assert.equal(await reloads(), before, 'certificates alone cause no reload');

  // A snapshot that names only `one` removes `two` (held below its revision) and every earlier test's.
  const snap = await t.api('POST', '/v1/batch?wait=1', { complete: true, revision: 100, certificates: [{ name: 'one.example.com', revision: 2, ...one }] });
  assert.equal(snap.status, 200, snap.text);
  assert.equal(await servedSerial(t.httpsPort, 'two.example.com'), null);
  assert.equal(await servedSerial(t.httpsPort, 'one.example.com'), bare(one.serial));
  const state = (await t.api('GET', '/v1/state')).json;
  assert.deepEqual(state.certificates.filter((c: { deleted: boolean }) => !c.deleted).map((c: { name: string }) => c.name), ['one.example.com']);
  assert.equal(state.counts.certificates, 1);
});

test('keys never show in logs, metrics or /v1/state; the next agent serves what this one kept (mode 0600) before any push', async () => {
  const a = await startTestAgent();
  let b: TestAgent | null = null;
  try {
    const c = await makeCertificate(['kept.example.com']);
    assert.equal((await put('kept.example.com', 1, c, a)).json.status, 'applied');
    const keyBody = c.key.split('\n')[1]!;
    for (const text of [(await a.api('GET', '/v1/state')).text, (await a.api('GET', '/metrics')).text, a.logs.join('')]) {
      assert.ok(!text.includes(keyBody) && !text.includes('PRIVATE KEY'), 'no key');
    }
    await a.agent.stop();
    const kept = join(a.prefix, 'private', 'certificates.kept');
    assert.equal((await stat(kept)).mode & 0o777, 0o600);
    assert.ok((await readFile(kept, 'utf8')).includes('kept.example.com'));
    b = await startTestAgent({ prefix: a.prefix, httpListen: [`127.0.0.1:${a.httpPort}`], httpsListen: [`127.0.0.1:${a.httpsPort}`] });
    assert.equal(await servedSerial(a.httpsPort, 'kept.example.com'), bare(c.serial));
    assert.ok(!b.logs.join('').includes(keyBody));
  } finally {
    await b?.stop();
    await rm(a.prefix, { recursive: true, force: true });
  }
});

test('a full certificate store answers 507 naming --certificate-store-size, and what it holds keeps serving', async () => {
  const small = await startTestAgent({ certificateStoreMb: 1 });
  try {
    const c = await makeCertificate(['full.example.com'], { rsa: true });
    let refused: { status: number; json: any } | null = null;
    let stored = 0;
    for (let i = 0; i < 1000 && !refused; i++) {
      const r = await put(`n${i}.full.example.com`, 1, c, small);
      if (r.status === 200) stored++;
      else refused = r;
    }
    assert.ok(refused, 'the 1 MiB store filled up');
    assert.equal(refused.status, 507);
    assert.equal(refused.json.status, 'failed');
    assert.match(refused.json.error, /certificate store is full: raise --certificate-store-size/);
    assert.ok(stored > 50, `${stored} stored first`);
    assert.equal(await servedSerial(small.httpsPort, 'n0.full.example.com'), bare(c.serial));
    // A renewal of a stored one when full: refused or taken, the name keeps a certificate.
    await put('n0.full.example.com', 2, await makeCertificate(['full.example.com'], { rsa: true }), small);
    assert.notEqual(await servedSerial(small.httpsPort, 'n0.full.example.com'), null);
  } finally {
    await small.stop();
  }
});

test('--endpoint-mode reload: certificates are files, served after a reload, and the agent says so', async () => {
  const r = await startTestAgent({ endpointMode: 'reload' });
  try {
    assert.ok(r.logs.some((l) => l.includes('certificates: files (a new or renewed certificate is served after a coalesced reload; as asked by --endpoint-mode reload)')));
    const c = await makeCertificate(['files.example.com']);
    const config = 'server {\n    server_name files.example.com;\n    include listen-https-sni.conf;\n    include certificates/files.example.com.con[f];\n    location / { return 200 "files\\n"; }\n}\n';
    const batch = await r.api('POST', '/v1/batch?wait=1', { certificates: [{ name: 'files.example.com', revision: 1, ...c }], fragments: [{ name: 'files.example.com', revision: 1, config }] });
    assert.equal(batch.status, 200, batch.text);
    assert.deepEqual(batch.json.certificates, [{ name: 'files.example.com', revision: 1, status: 'applied', via: 'reload' }]);
    await r.retired();
    assert.equal(await servedSerial(r.httpsPort, 'files.example.com'), bare(c.serial));
    assert.equal((await stat(join(r.prefix, 'certificates', 'files.example.com.key'))).mode & 0o777, 0o600);
    const renewed = await makeCertificate(['files.example.com']);
    const before = await reloads(r);
    const p = await r.api('PUT', '/v1/certificates/files.example.com?wait=1', { revision: 2, ...renewed });
    assert.equal(p.json.status, 'applied');
    assert.ok((await reloads(r)) > before, 'a renewal reloads');
    await r.retired();
    assert.equal(await servedSerial(r.httpsPort, 'files.example.com'), bare(renewed.serial));
    const del = await r.api('DELETE', '/v1/certificates/files.example.com?revision=3&wait=1');
    assert.equal(del.json.status, 'applied');
    await r.retired();
    assert.equal(await servedSerial(r.httpsPort, 'files.example.com'), null, 'refused once deleted, and the server still loads');
  } finally {
    await r.stop();
  }
});
