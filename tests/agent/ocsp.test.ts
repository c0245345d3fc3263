// OCSP stapling (the ConfigMap's enable-ocsp), end to end against a real NGINX and a real OCSP
// responder (openssl, signing with a CA made in this test): the agent fetches each certificate's
// response and NGINX staples it at the handshake from memory. A revoked certificate is not stapled;
// a responder that hangs delays neither a certificate update nor a handshake; a renewed certificate
// never gets its predecessor's response; with enable-ocsp off nothing is fetched.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigMap } from '../../src/model/schemas.ts';
import { parseGlobalSettings } from '../../src/model/global-settings.ts';
import { renderMain } from '../../src/render/index.ts';
import { startTestAgent, type TestAgent } from './harness.ts';
import { eventually } from '../support/http.ts';
import { OcspAuthority, stapledHandshake, type IssuedCertificate } from '../support/ocsp-responder.ts';

let t: TestAgent;
let ca: OcspAuthority;
let mainRevision = 0;
before(async () => {
  ca = await OcspAuthority.start();
  t = await startTestAgent({ ocsp: { timeoutMs: 2500, retryMs: 300 } });
});
after(async () => {
  await t?.stop();
  await ca?.stop();
});

/** The `_main` fragment the handler renders for a ConfigMap with these keys. */
function mainFragment(data: Record<string, string>, revision: number) {
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'wharf', namespace: 'wharf' }, data } as unknown as ConfigMap;
  const { settings, problems } = parseGlobalSettings(cm);
  assert.deepEqual(problems, []);
  return { ...renderMain(settings), revision };
}

async function configMap(data: Record<string, string>): Promise<void> {
  const r = await t.api('POST', '/v1/batch?wait=1', { fragments: [mainFragment(data, ++mainRevision)] });
  assert.equal(r.status, 200, r.text);
}

const put = async (name: string, revision: number, c: IssuedCertificate) => {
  const started = performance.now();
  const r = await t.api('PUT', `/v1/certificates/${name}`, { revision, cert: c.cert, key: c.key });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'applied');
  return performance.now() - started;
};

/** Waits until a handshake with `name` gets a staple; returns it. */
async function staple(name: string, timeoutMs = 10_000): Promise<Buffer> {
  const s = await eventually(async () => (await stapledHandshake(t.httpsPort, name)).staple, timeoutMs, 50);
  assert.ok(s, `no OCSP response stapled for ${name} in ${timeoutMs} ms`);
  return s;
}

const issued = new Map<string, IssuedCertificate>();
const issue = async (name: string, o: { responder?: boolean } = {}): Promise<IssuedCertificate> => {
  const c = await ca.issue(name, o);
  issued.set(name, c);
  return c;
};

const metric = async (line: RegExp) => line.exec((await t.api('GET', '/metrics')).text);

test('enable-ocsp unset or "false": nothing is fetched and nothing stapled', async () => {
  const c = await issue('off.example.com');
  await put('off.example.com', 1, c);
  await configMap({ 'enable-ocsp': 'false' });
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(ca.requests, 0, 'the responder was never asked');
  const h = await stapledHandshake(t.httpsPort, 'off.example.com');
  assert.equal(h.serial, c.serial);
  assert.equal(h.staple, null);
});

test('enable-ocsp "true": the agent fetches the response and NGINX staples it (good, signed by the CA, about this certificate)', async () => {
  const c = await issue('good.example.com');
  const plain = await issue('plain.example.com', { responder: false });
  await put('good.example.com', 1, c);
  await put('plain.example.com', 1, plain);
  await configMap({ 'enable-ocsp': 'true' });
  const s = await staple('good.example.com');
  assert.equal(await ca.check(s, c), 'good');
  assert.equal(await ca.check(await staple('off.example.com'), issued.get('off.example.com')!), 'good', 'certificates stored before it was turned on too');
  assert.equal((await stapledHandshake(t.httpsPort, 'plain.example.com')).staple, null, 'no responder named: no staple');
  assert.ok(await metric(/^wharf_agent_ocsp_fetches_total\{result="good"\} [2-9]/m));
  assert.ok(await metric(/^wharf_agent_ocsp_staples [2-9]/m));
  const expiry = await metric(/^wharf_agent_ocsp_staple_expiry_seconds ([\d.e+]+)/m);
  assert.ok(expiry && Number(expiry[1]) > 500 && Number(expiry[1]) <= 600, `seconds until the first staple expires (responder: 10 min): ${expiry?.[1]}`);
  const b64 = s.toString('base64');
  for (const text of [(await t.api('GET', '/v1/state')).text, (await t.api('GET', '/metrics')).text, t.logs.join('')]) {
    assert.ok(!text.includes(b64.slice(0, 40)), 'the response is in no log, metric or state');
  }
});

test('a revoked certificate is not stapled, is logged once and shows in the metrics', async () => {
  const c = await issue('revoked.example.com');
  await ca.revoke(c, 'revoked.example.com');
  const before = ca.requests;
  await put('revoked.example.com', 1, c);
  assert.ok(await eventually(() => ca.requests > before, 5000, 20), 'asked');
  assert.ok(await eventually(async () => metric(/^wharf_agent_ocsp_revoked\{certificate="revoked\.example\.com"\} 1/m), 5000, 50), 'revoked metric');
  assert.equal((await stapledHandshake(t.httpsPort, 'revoked.example.com')).staple, null);
  assert.ok(await metric(/^wharf_agent_ocsp_fetches_total\{result="revoked"\} [1-9]/m));
  const state = (await t.api('GET', '/v1/state')).json.certificates as { name: string; ocsp?: string }[];
  assert.deepEqual(['good', 'plain', 'revoked'].map((n) => state.find((c) => c.name === `${n}.example.com`)?.ocsp), ['stapled', undefined, 'revoked']);
  assert.equal(t.logs.filter((l) => l.includes('revoked.example.com') && l.includes('is revoked')).length, 1);
});

test('a responder that hangs delays neither the certificate update nor a handshake; once it answers, the response is stapled', async () => {
  ca.mode = 'hang';
  const c = await issue('slow.example.com');
  const before = ca.requests;
  const ms = await put('slow.example.com', 1, c);
  assert.ok(ms < 1500, `certificate applied in ${Math.round(ms)} ms`);
  assert.ok(await eventually(() => ca.requests > before, 5000, 10), 'asked');
  const h = await stapledHandshake(t.httpsPort, 'slow.example.com');
  assert.equal(h.serial, c.serial);
  assert.equal(h.staple, null);
  assert.ok(h.ms < 1500, `handshake while the responder hangs: ${Math.round(h.ms)} ms`);
  assert.ok(await eventually(async () => metric(/^wharf_agent_ocsp_fetches_total\{result="failed"\} [1-9]/m), 5000, 50), 'the timeout counts as failed');
  assert.ok(t.logs.some((l) => l.includes('slow.example.com') && l.includes('no answer in 2500 ms')), 'the timeout is logged');
  ca.release();
  assert.equal(await ca.check(await staple('slow.example.com'), c), 'good', 'retried and stapled');
});

test('a response signed by a responder the CA authorized is stapled; one signed by anyone else is not', async () => {
  ca.signer = 'delegate';
  const c = await issue('delegate.example.com');
  await put('delegate.example.com', 1, c);
  assert.equal(await ca.check(await staple('delegate.example.com'), c), 'good');
  ca.signer = 'stranger';
  const forged = await issue('forged.example.com');
  const before = ca.requests;
  await put('forged.example.com', 1, forged);
  assert.ok(await eventually(() => t.logs.some((l) => l.includes('forged.example.com') && l.includes('signed neither by the certificate\'s issuer nor by a responder the issuer authorized')), 5000, 20), 'refused and logged');
  assert.ok(ca.requests > before);
  assert.equal((await stapledHandshake(t.httpsPort, 'forged.example.com')).staple, null);
  ca.signer = 'ca';
  assert.equal(await ca.check(await staple('forged.example.com'), forged), 'good', 'retried, and stapled once the CA signs');
});

test('a renewed certificate gets its own response, never its predecessor\'s', async () => {
  const old = await issue('renew.example.com');
  await put('renew.example.com', 1, old);
  assert.equal(await ca.check(await staple('renew.example.com'), old), 'good');
  ca.mode = 'hang';
  const renewed = await issue('renew.example.com');
  await put('renew.example.com', 2, renewed);
  // While the responder hangs: the new certificate, without a staple (the old one's is gone).
  for (let i = 0; i < 5; i++) {
    const h = await stapledHandshake(t.httpsPort, 'renew.example.com');
    assert.equal(h.serial, renewed.serial);
    assert.equal(h.staple, null);
  }
  ca.release();
  const s = await staple('renew.example.com');
  assert.equal(await ca.check(s, renewed), 'good');
  assert.match(await ca.check(s, old), /^refused|^not verified|^no status/, 'not a response about the old certificate');
});

test('an NGINX master restarted after a crash staples again at once, from what the agent holds, without asking the responder', async () => {
  const before = ca.requests;
  const oldPid = t.agent.nginxPid!;
  process.kill(oldPid, 'SIGKILL');
  assert.ok(await eventually(() => t.agent.nginxPid !== null && t.agent.nginxPid !== oldPid, 5000, 20), 'restarted');
  assert.equal(await ca.check(await staple('good.example.com', 5000), issued.get('good.example.com')!), 'good');
  assert.equal(ca.requests, before, 'no new request');
});

test('enable-ocsp back to "false": every staple is removed and nothing more is fetched', async () => {
  await configMap({});
  assert.ok(await eventually(async () => (await stapledHandshake(t.httpsPort, 'good.example.com')).staple === null, 5000, 50), 'staple removed');
  const before = ca.requests;
  const c = await issue('later.example.com');
  await put('later.example.com', 1, c);
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(ca.requests, before);
  assert.equal((await stapledHandshake(t.httpsPort, 'later.example.com')).staple, null);
});

test('without the Lua module (--endpoint-mode reload) there is no stapling, and the agent says so when the ConfigMap asks for it', async () => {
  const r = await startTestAgent({ endpointMode: 'reload' });
  try {
    const b = await r.api('POST', '/v1/batch?wait=1', { fragments: [mainFragment({ 'enable-ocsp': 'true' }, 1)] });
    assert.equal(b.status, 200, b.text);
    assert.equal(r.logs.filter((l) => l.includes('enable-ocsp: no OCSP stapling without the Lua module')).length, 1);
  } finally {
    await r.stop();
  }
});
