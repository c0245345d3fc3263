// The agent's own OCSP pieces, against openssl: the request it sends is the one `openssl ocsp`
// sends, an answer is read as openssl reads it and refused when it is about another certificate or
// not a success, and answers are renewed halfway to their nextUpdate, failures retried later and
// later, both jittered so that thousands of certificates do not ask at the same moment.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ocspRequest, readOcspResponse } from '../../src/agent/ocsp-der.ts';
import { ocspTarget, type OcspTarget } from '../../src/agent/ocsp-target.ts';
import { renewDelayMs, retryDelayMs } from '../../src/agent/ocsp-stapler.ts';
import { OcspAuthority } from '../support/ocsp-responder.ts';

const run = promisify(execFile);
let ca: OcspAuthority;
before(async () => {
  ca = await OcspAuthority.start();
});
after(async () => {
  await ca?.stop();
});

const targetOf = (chain: string): OcspTarget => {
  const t = ocspTarget(chain);
  assert.ok(t && 'url' in t, JSON.stringify(t));
  return t;
};

test('the request is byte for byte what openssl ocsp sends, to the responder the certificate names', async () => {
  const c = await ca.issue('req.example.com');
  const t = targetOf(c.cert);
  assert.equal(t.url, ca.url);
  await writeFile(join(ca.dir, 'req-leaf.crt'), c.leaf);
  await run('openssl', ['ocsp', '-issuer', join(ca.dir, 'ca.crt'), '-cert', join(ca.dir, 'req-leaf.crt'), '-no_nonce', '-reqout', join(ca.dir, 'req-openssl.der')]);
  assert.deepEqual(ocspRequest(t.id), await readFile(join(ca.dir, 'req-openssl.der')));
});

test('certificates without a responder, or whose chain lacks the issuer, are not asked about', async () => {
  const plain = await ca.issue('plain.example.com', { responder: false });
  assert.equal(ocspTarget(plain.cert), null);
  const alone = await ca.issue('alone.example.com');
  assert.deepEqual(ocspTarget(alone.leaf), { missing: 'its chain does not include its issuer (the OCSP request names it)' });
});

test('an answer is read for its own certificate only; failures of the responder say what it answered', async () => {
  const [a, b] = [await ca.issue('a.example.com'), await ca.issue('b.example.com')];
  const [ta, tb] = [targetOf(a.cert), targetOf(b.cert)];
  const res = await fetch(ca.url, { method: 'POST', body: ocspRequest(ta.id) });
  const der = Buffer.from(await res.arrayBuffer());
  const answer = readOcspResponse(der, ta.id);
  assert.equal(answer.status, 'good');
  assert.ok(answer.nextUpdate && Math.abs(answer.nextUpdate.getTime() - answer.thisUpdate.getTime() - 600_000) < 2000, 'nextUpdate 10 min after thisUpdate (-nmin 10)');
  assert.throws(() => readOcspResponse(der, tb.id), /the response is not about this certificate/);
  assert.throws(() => readOcspResponse(Buffer.from('30030a0103', 'hex'), ta.id), /the responder answered tryLater/);
  assert.throws(() => readOcspResponse(Buffer.from('<html>down</html>'), ta.id), /not an OCSP response/);
  await ca.revoke(b, 'b.example.com');
  const revoked = Buffer.from(await (await fetch(ca.url, { method: 'POST', body: ocspRequest(tb.id) })).arrayBuffer());
  assert.equal(readOcspResponse(revoked, tb.id).status, 'revoked');
});

test('renewal halfway to nextUpdate, jittered; retries back off, capped, jittered', () => {
  const now = 1_000_000;
  assert.equal(renewDelayMs(now, now + 600_000, () => 0.5), 300_000);
  assert.equal(renewDelayMs(now, now + 600_000, () => 0), 270_000);
  assert.equal(renewDelayMs(now, now + 600_000, () => 1), 330_000);
  assert.equal(renewDelayMs(now, now + 500, () => 0.5), 1000, 'at least a second');
  assert.deepEqual([1, 2, 3, 4].map((n) => retryDelayMs(n, 10_000, 3600_000, () => 0.5)), [10_000, 20_000, 40_000, 80_000]);
  assert.equal(retryDelayMs(40, 10_000, 3600_000, () => 0.5), 3600_000, 'capped');
  assert.equal(retryDelayMs(1, 10_000, 3600_000, () => 0), 8000);
});
