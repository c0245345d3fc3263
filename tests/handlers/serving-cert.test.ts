// The handler's serving certificate: checked at start with the same rules as every reload, and a
// renewed pair (cert-manager renewing the Secret, the kubelet swapping the mounted volume) served to
// new connections without a restart, while a pair that is not whole keeps the current one serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { parseHandlerArgs, UsageError } from '../../src/handlers/serve.ts';
import { checkServingPair, describeProblem, ServingCertWatch, type ServingCertificate } from '../../src/handlers/serving-cert.ts';
import { createLogger } from '../../src/log.ts';
import { selfSigned } from '../render/helpers.ts';
import { freePort } from '../support/backend.ts';
import { eventually, request } from '../support/http.ts';
import { TOKEN, admissionReview, ingress } from './fixtures.ts';

const HOST = 'wharf-handler.wharf.svc';
const A = selfSigned(HOST);
const B = selfSigned(HOST);
const C = selfSigned('other.wharf.svc');
const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-serving-cert-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A Secret volume as the kubelet writes it: each version in its own directory, `..data` a symlink
 * to the current one (replaced by an atomic rename), tls.crt and tls.key symlinks through `..data`.
 */
function secretVolume(dir: string) {
  let generation = 0;
  const cert = join(dir, 'tls.crt');
  const key = join(dir, 'tls.key');
  return {
    cert,
    key,
    write(pair: { cert: string; key: string }) {
      const version = `..2025_01_01_00_00_0${++generation}`;
      mkdirSync(join(dir, version));
      writeFileSync(join(dir, version, 'tls.crt'), pair.cert);
      writeFileSync(join(dir, version, 'tls.key'), pair.key);
      const data = join(dir, '..data');
      const previous = existsSync(data) ? readlinkSync(data) : null;
      symlinkSync(version, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), data);
      if (previous) rmSync(join(dir, previous), { recursive: true, force: true });
      else {
        symlinkSync('..data/tls.crt', cert);
        symlinkSync('..data/tls.key', key);
      }
    },
  };
}

/** The fingerprint of the certificate a new TLS connection to `port` is given. */
function presented(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: HOST, rejectUnauthorized: false }, () => {
      const fp = socket.getPeerX509Certificate()?.fingerprint256 ?? '';
      socket.destroy();
      resolve(fp);
    });
    socket.setTimeout(5000, () => socket.destroy(new Error('TLS handshake timed out')));
    socket.once('error', reject);
  });
}

test('a pair is valid only when the certificate parses and the key belongs to it', () => {
  const cases: Record<string, { pair: { cert: string; key: string }; want: { file: 'cert' | 'key'; reason: RegExp } | null }> = {
    'a valid pair': { pair: A, want: null },
    'a certificate with its chain after it': { pair: { cert: A.cert + C.cert, key: A.key }, want: null },
    "another certificate's key": { pair: { cert: B.cert, key: C.key }, want: { file: 'key', reason: /the key does not match the certificate in --tls-cert \(subject CN=wharf-handler\.wharf\.svc\)/ } },
    'a garbage certificate': {
      pair: { cert: '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n', key: A.key },
      want: { file: 'cert', reason: /the certificate does not parse: / },
    },
    'a key where the certificate belongs': { pair: { cert: A.key, key: A.key }, want: { file: 'cert', reason: /no PEM certificate/ } },
    'an empty certificate file': { pair: { cert: '', key: A.key }, want: { file: 'cert', reason: /the file is empty/ } },
    'an empty key file': { pair: { cert: A.cert, key: '\n' }, want: { file: 'key', reason: /the file is empty/ } },
    'a garbage key': { pair: { cert: A.cert, key: 'not a key' }, want: { file: 'key', reason: /the private key does not parse/ } },
    'half a key (a write caught midway)': { pair: { cert: A.cert, key: A.key.slice(0, A.key.length / 2) }, want: { file: 'key', reason: /the private key does not parse/ } },
  };
  for (const [name, c] of Object.entries(cases)) {
    const got = checkServingPair(c.pair);
    if (!c.want) {
      assert.ok(got.ok, `${name}: ${JSON.stringify(got)}`);
      assert.equal(got.certificate.fingerprint256, fingerprint(c.pair.cert), name);
      assert.equal(got.certificate.subjectAltName, `DNS:${HOST}`, name);
      assert.equal(got.certificate.notAfter.getTime(), new Date(new X509Certificate(c.pair.cert).validTo).getTime(), name);
      continue;
    }
    assert.ok(!got.ok, `${name}: accepted`);
    assert.equal(got.problem.file, c.want.file, name);
    assert.match(got.problem.reason, c.want.reason, name);
  }
  const problem = { file: 'key' as const, reason: 'the file is empty' };
  assert.equal(describeProblem({ cert: '/tls/tls.crt', key: '/tls/tls.key' }, problem), '--tls-key: Invalid value: "/tls/tls.key": the file is empty');
});

test('at start a pair that a reload would refuse is a usage error naming the flag', async (t) => {
  const dir = tempDir(t);
  const write = (name: string, content: string) => (writeFileSync(join(dir, name), content), join(dir, name));
  const token = write('token', TOKEN);
  const [aCert, aKey, cKey] = [write('a.crt', A.cert), write('a.key', A.key), write('c.key', C.key)];
  const base = ['--no-list', '--agent-token-file', token];
  const cases: [string, string[], RegExp][] = [
    ['a key from another pair', ['--tls-cert', aCert, '--tls-key', cKey], /^--tls-key: Invalid value: ".*c\.key": the key does not match the certificate in --tls-cert/],
    ['a missing certificate', ['--tls-cert', join(dir, 'nope.crt'), '--tls-key', aKey], /^--tls-cert: Invalid value: ".*nope\.crt": cannot read the file: no such file$/],
    ['the key as certificate', ['--tls-cert', aKey, '--tls-key', aKey], /^--tls-cert: Invalid value: ".*a\.key": no PEM certificate/],
    ['a reload interval too short', ['--tls-cert', aCert, '--tls-key', aKey, '--tls-reload-interval', '10ms'], /^--tls-reload-interval: Invalid value: at least 100ms$/],
    ['a reload interval without TLS', ['--tls-reload-interval', '5s'], /^--tls-reload-interval: needs --tls-cert and --tls-key$/],
  ];
  for (const [name, argv, message] of cases) {
    await assert.rejects(parseHandlerArgs([...base, ...argv]), (e: Error) => e instanceof UsageError && message.test(e.message), name);
  }
  const ok = await parseHandlerArgs([...base, '--tls-cert', aCert, '--tls-key', aKey]);
  assert.deepEqual(ok!.tls, { cert: A.cert, key: A.key, files: { cert: aCert, key: aKey }, reloadIntervalMs: 10_000 });
  assert.equal((await parseHandlerArgs([...base, '--tls-cert', aCert, '--tls-key', aKey, '--tls-reload-interval', '2s']))!.tls!.reloadIntervalMs, 2000);
});

test('a bad pair is reported once per distinct problem while the current certificate keeps serving', async (t) => {
  const volume = secretVolume(tempDir(t));
  volume.write(A);
  const server = createHttpsServer({ cert: A.cert, key: A.key }, (_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const { port } = server.address() as AddressInfo;
  const warnings: Record<string, unknown>[] = [];
  const log = createLogger({}, (line) => {
    const entry = JSON.parse(line);
    if (entry.level === 'warn') warnings.push(entry);
  });
  const taken: ServingCertificate[] = [];
  // Polled by hand: the timer is the process test's business.
  const watch = new ServingCertWatch({ server, files: volume, current: A, intervalMs: 3_600_000, log, onCertificate: (c) => taken.push(c) });
  t.after(() => watch.stop());

  assert.equal(await watch.poll(), 'unchanged');
  volume.write({ cert: B.cert, key: C.key });
  assert.equal(await watch.poll(), 'rejected');
  assert.equal(await watch.poll(), 'rejected');
  assert.equal(warnings.length, 1, 'the same problem is logged once');
  assert.match(String(warnings[0]!.problem), /^--tls-key: Invalid value: ".*tls\.key": the key does not match the certificate in --tls-cert/);
  assert.equal(await presented(port), fingerprint(A.cert), 'still serving A');

  rmSync(volume.key);
  assert.equal(await watch.poll(), 'rejected');
  assert.equal(await watch.poll(), 'rejected');
  assert.equal(warnings.length, 2, 'a new problem is logged once');
  assert.match(String(warnings[1]!.problem), /^--tls-key: Invalid value: ".*tls\.key": cannot read the file: no such file$/);
  symlinkSync('..data/tls.key', volume.key);

  volume.write(B);
  assert.equal(await watch.poll(), 'applied');
  assert.equal(await presented(port), fingerprint(B.cert));
  assert.deepEqual(taken.map((c) => c.fingerprint256), [fingerprint(B.cert)]);
  assert.equal(await watch.poll(), 'unchanged');

  volume.write({ cert: B.cert, key: C.key });
  assert.equal(await watch.poll(), 'rejected');
  assert.equal(warnings.length, 3, 'a problem seen again after a good pair is logged again');
  assert.equal(await presented(port), fingerprint(B.cert));
});

test('`wharf handler` serves a renewed certificate to new connections without a restart, and keeps serving through a bad pair', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'tls'));
  const volume = secretVolume(join(dir, 'tls'));
  volume.write(A);
  writeFileSync(join(dir, 'token'), TOKEN);
  const port = await freePort();
  const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
  const args = [
    cli, 'handler', '--listen', `127.0.0.1:${port}`, '--no-list', '--agent-token-file', join(dir, 'token'),
    '--tls-cert', volume.cert, '--tls-key', volume.key, '--tls-reload-interval', '100ms',
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, WHARF_LOG_LEVEL: 'info', WHARF_HEAP_DEFAULTS: '0' } });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  t.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(kill);
  });
  const logs = () => stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  const get = (path: string) => request({ port, tls: true, host: HOST, path });

  const ready = await eventually(async () => {
    assert.equal(child.exitCode, null, `the handler exited:\n${stderr}`);
    return (await get('/readyz')).status === 200;
  }, 15_000, 50);
  assert.ok(ready, `not ready:\n${stderr}`);
  assert.equal(await presented(port), fingerprint(A.cert));
  const expiry = async () => Number(/^wharf_handler_serving_cert_expiry_timestamp_seconds (\S+)$/m.exec((await get('/metrics')).body)?.[1]);
  assert.equal(await expiry(), new Date(new X509Certificate(A.cert).validTo).getTime() / 1000);

  volume.write(B);
  const renewed = await eventually(async () => (await presented(port)) === fingerprint(B.cert), 5000, 50);
  assert.ok(renewed, `new connections still get A:\n${stderr}`);
  const info = logs().find((l) => l.msg === 'serving certificate renewed: new connections get it');
  assert.equal(info?.fingerprint256, fingerprint(B.cert));
  assert.equal(info?.subjectAltName, `DNS:${HOST}`);
  assert.equal(info?.notAfter, new Date(new X509Certificate(B.cert).validTo).toISOString());
  assert.equal(await expiry(), new Date(new X509Certificate(B.cert).validTo).getTime() / 1000);

  volume.write({ cert: B.cert, key: C.key });
  const warned = await eventually(() => logs().find((l) => l.level === 'warn' && /^--tls-key: .*: the key does not match the certificate/.test(String(l.problem))), 5000, 50);
  assert.ok(warned, `no warning about the mismatched pair:\n${stderr}`);
  assert.equal(await presented(port), fingerprint(B.cert), 'a bad pair is not served');
  const review = await request({
    port,
    tls: true,
    host: HOST,
    method: 'POST',
    path: '/admission',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(admissionReview(ingress('x', 'x.example.com'), { uid: 'after-bad-pair' })),
  });
  assert.equal(review.status, 200);
  assert.equal(JSON.parse(review.body).response.uid, 'after-bad-pair');
  assert.equal(child.exitCode, null);
});
