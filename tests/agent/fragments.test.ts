// Fragments through the agent API into a real NGINX: routing, deletes, revisions, quarantine of what
// NGINX refuses, TLS files, and no reload for unchanged bytes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startBackend, type Backend } from '../support/backend.ts';
import { eventually } from '../support/http.ts';
import { startTestAgent, proxyFragment, backendOf, selfSignedCert, tlsFragment, type TestAgent } from './harness.ts';
import { findPasswdEntry } from '../../src/agent/worker-user.ts';

let t: TestAgent;
let a: Backend;
let b: Backend;
before(async () => {
  [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
  t = await startTestAgent();
  await t.api('PUT', '/v1/endpoints/default-a-80', { revision: 1, endpoints: [a.address] });
  await t.api('PUT', '/v1/endpoints/default-b-80', { revision: 1, endpoints: [b.address] });
});
after(async () => {
  await t?.stop();
  await Promise.all([a?.close(), b?.close()]);
});

/** Waits until `host` is answered by `backend` (null: by a 404). */
async function servedBy(host: string, backend: string | null, path = '/'): Promise<void> {
  const ok = await eventually(async () => {
    const r = await t.get(host, path);
    return backend === null ? r.status === 404 : backendOf(r) === backend;
  }, 3000);
  assert.ok(ok, `${host}${path} is not served by ${backend ?? '404'}`);
}

test('a fragment put routes its host to the right backend; a delete brings back 404', async () => {
  const put = await t.api('PUT', '/v1/fragments/one.example.com?wait=1', { revision: 1, config: proxyFragment('one.example.com', 'default-a-80') });
  assert.equal(put.status, 200);
  assert.equal(put.json.status, 'applied');
  await servedBy('one.example.com', 'a', '/x');
  assert.equal(a.requests.at(-1)?.url, '/x');
  assert.equal((await t.get('other.example.com')).status, 404, 'a host no fragment claims gets 404 from the built-in default server');

  const del = await t.api('DELETE', '/v1/fragments/one.example.com?revision=2&wait=1');
  assert.equal(del.status, 200);
  assert.equal(del.json.status, 'applied');
  await servedBy('one.example.com', null);
  assert.equal(existsSync(join(t.prefix, 'fragments/one.example.com.conf')), false);
});

test('older and equal revisions are ignored, and a tombstone keeps a deleted fragment deleted', async () => {
  await t.api('PUT', '/v1/fragments/rev.example.com?wait=1', { revision: 5, config: proxyFragment('rev.example.com', 'default-a-80') });
  const older = await t.api('PUT', '/v1/fragments/rev.example.com', { revision: 4, config: proxyFragment('rev.example.com', 'default-b-80') });
  assert.equal(older.status, 200);
  assert.equal(older.json.status, 'stale');
  const equal = await t.api('PUT', '/v1/fragments/rev.example.com', { revision: 5, config: proxyFragment('rev.example.com', 'default-b-80') });
  assert.equal(equal.json.status, 'stale');
  await servedBy('rev.example.com', 'a');

  await t.api('DELETE', '/v1/fragments/rev.example.com?revision=7&wait=1');
  const resurrect = await t.api('PUT', '/v1/fragments/rev.example.com', { revision: 6, config: proxyFragment('rev.example.com', 'default-b-80') });
  assert.equal(resurrect.json.status, 'stale');
  await servedBy('rev.example.com', null);
});

test('a fragment NGINX refuses is quarantined with its error; the rest of the batch and the previous config keep serving', async () => {
  await t.api('PUT', '/v1/fragments/keep.example.com?wait=1', { revision: 1, config: proxyFragment('keep.example.com', 'default-a-80') });
  await servedBy('keep.example.com', 'a');

  const batch = await t.api('POST', '/v1/batch?wait=1', {
    fragments: [
      // A new revision of a served fragment, broken: its previous content must keep serving.
      { name: 'keep.example.com', revision: 2, config: proxyFragment('keep.example.com', 'default-b-80', '    proxy_buffering maybe;\n') },
      { name: 'good1.example.com', revision: 1, config: proxyFragment('good1.example.com', 'default-a-80') },
      { name: 'broken.example.com', revision: 1, config: 'server {\n    server_name broken.example.com;\n    no_such_directive on;\n}\n' },
      { name: 'good2.example.com', revision: 1, config: proxyFragment('good2.example.com', 'default-b-80') },
    ],
  });
  assert.equal(batch.status, 200);
  const byName = Object.fromEntries(batch.json.fragments.map((f: { name: string }) => [f.name, f]));
  assert.equal(byName['good1.example.com'].status, 'applied');
  assert.equal(byName['good2.example.com'].status, 'applied');
  assert.equal(byName['broken.example.com'].status, 'quarantined');
  assert.match(byName['broken.example.com'].error, /unknown directive "no_such_directive" in .*fragments\/broken\.example\.com\.conf:3/);
  assert.equal(byName['keep.example.com'].status, 'quarantined');
  assert.match(byName['keep.example.com'].error, /invalid value "maybe" in .*keep\.example\.com\.conf/);

  await servedBy('good1.example.com', 'a');
  await servedBy('good2.example.com', 'b');
  await servedBy('keep.example.com', 'a'); // revision 1 still serves
  assert.equal((await t.get('broken.example.com')).status, 404);
  assert.doesNotMatch(readFileSync(join(t.prefix, 'fragments/keep.example.com.conf'), 'utf8'), /maybe/, 'the last good content is back on disk');

  const state = await t.api('GET', '/v1/state');
  const broken = state.json.fragments.find((f: { name: string }) => f.name === 'broken.example.com');
  assert.equal(broken.status, 'quarantined');
  assert.match(broken.error, /no_such_directive/);
  const metrics = (await t.api('GET', '/metrics')).text;
  assert.match(metrics, /wharf_agent_quarantined_fragments 2/);
  assert.match(metrics, /wharf_agent_fragment_quarantined\{fragment="broken\.example\.com"\} 1/);
  assert.ok(t.logs.some((l) => l.includes('fragment quarantined') && l.includes('broken.example.com')));

  // A fixed revision leaves quarantine.
  const fixed = await t.api('PUT', '/v1/fragments/broken.example.com?wait=1', { revision: 2, config: proxyFragment('broken.example.com', 'default-b-80') });
  assert.equal(fixed.json.status, 'applied');
  assert.equal(fixed.json.error, undefined);
  await servedBy('broken.example.com', 'b');
});

test('an error NGINX cannot trace to one fragment of the batch reverts the whole batch', async () => {
  await t.api('PUT', '/v1/fragments/_main?wait=1', { revision: 1, config: 'upstream wharf-test-shared { server 127.0.0.1:9; }\n' });
  // 00.example.com is read before _main.conf, so NGINX reports the duplicate in _main.conf, which
  // this batch does not change: no fragment of the batch can be blamed by name.
  const r = await t.api('POST', '/v1/batch?wait=1', {
    fragments: [
      { name: '00.example.com', revision: 1, config: 'upstream wharf-test-shared { server 127.0.0.1:9; }\n' + proxyFragment('00.example.com', 'default-a-80') },
      { name: '01.example.com', revision: 1, config: proxyFragment('01.example.com', 'default-a-80') },
    ],
  });
  assert.equal(r.status, 200);
  for (const f of r.json.fragments) {
    assert.equal(f.status, 'quarantined', JSON.stringify(f));
    assert.match(f.error, /duplicate upstream "wharf-test-shared" in .*_main\.conf:1 \(not traceable to one fragment of the batch: the whole batch was reverted\)/);
  }
  assert.equal(existsSync(join(t.prefix, 'fragments/00.example.com.conf')), false);
  await servedBy('keep.example.com', 'a');
  assert.equal((await t.get('01.example.com')).status, 404);
});

test('a clash with an unchanged fragment, which only the whole configuration shows, is still quarantined', async () => {
  await t.api('PUT', '/v1/fragments/clash-a.example.com?wait=1', { revision: 1, config: 'upstream wharf-test-clash { server 127.0.0.1:9; }\n' });
  // The agent tests a small change on the skeleton, _main, _default and the change alone, which
  // passes; NGINX's master refuses the reload, and the whole configuration names the culprit.
  const r = await t.api('PUT', '/v1/fragments/clash-z.example.com?wait=1', {
    revision: 1,
    config: 'upstream wharf-test-clash { server 127.0.0.1:9; }\n' + proxyFragment('clash-z.example.com', 'default-a-80'),
  });
  assert.equal(r.json.status, 'quarantined');
  assert.match(r.json.error, /duplicate upstream "wharf-test-clash" in .*clash-z\.example\.com\.conf:1$/);
  assert.ok(t.logs.some((l) => l.includes('NGINX refused the reload; testing the whole configuration')));
  await servedBy('keep.example.com', 'a');
  assert.equal((await t.get('clash-z.example.com')).status, 404);
});

test('a fragment only the running master can refuse (a port already taken) is quarantined; the old config serves', async () => {
  const blocker = await startBackend('blocker');
  try {
    const r = await t.api('PUT', '/v1/fragments/port.example.com?wait=1', {
      revision: 1,
      config: `server {\n    server_name port.example.com;\n    listen ${blocker.address};\n    return 200;\n}\n`,
    });
    assert.equal(r.json.status, 'quarantined');
    assert.match(r.json.error, /bind\(\) to 127\.0\.0\.1:\d+ failed \(98: Address already in use\)/);
    await servedBy('keep.example.com', 'a');
    const state = (await t.api('GET', '/v1/state')).json;
    assert.equal(state.nginx.running, true);
    assert.equal(state.lastReload.result, 'rejected');
    // The agent goes on: the next good change applies.
    const next = await t.api('PUT', '/v1/fragments/after.example.com?wait=1', { revision: 1, config: proxyFragment('after.example.com', 'default-b-80') });
    assert.equal(next.json.status, 'applied');
    await servedBy('after.example.com', 'b');
  } finally {
    await blocker.close();
  }
});

test('TLS files are written with the fragment (keys 0600) and served with SNI', async () => {
  const pair = await selfSignedCert('secure.example.com');
  const f = tlsFragment('secure.example.com', 'default-b-80', pair);
  const r = await t.api('PUT', '/v1/fragments/secure.example.com?wait=1', { revision: 1, ...f });
  assert.equal(r.json.status, 'applied', JSON.stringify(r.json));
  assert.equal(statSync(join(t.prefix, 'files/secure.example.com/tls.key')).mode & 0o777, 0o600);
  assert.equal(statSync(join(t.prefix, 'files/secure.example.com/tls.crt')).mode & 0o777, 0o644);
  const ok = await eventually(async () => backendOf(await t.get('secure.example.com', '/', { tls: true })) === 'b', 3000);
  assert.ok(ok);
  // A name no server has: the default server refuses the handshake.
  await assert.rejects(t.get('nobody.example.com', '/', { tls: true }));

  // A broken key in a new revision: quarantined, traced through files/<fragment>/, old cert kept.
  const bad = await t.api('PUT', '/v1/fragments/secure.example.com?wait=1', {
    revision: 2,
    ...f,
    files: { ...f.files, 'tls.key': { content: '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n', secret: true } },
  });
  assert.equal(bad.json.status, 'quarantined');
  assert.match(bad.json.error, /files\/secure\.example\.com\/tls\.key/);
  assert.equal(readFileSync(join(t.prefix, 'files/secure.example.com/tls.key'), 'utf8'), pair.key);
  assert.equal(backendOf(await t.get('secure.example.com', '/', { tls: true })), 'b');
  // The key put back (read from disk before it was replaced) is secret again: 0600, and owned by the
  // user NGINX's workers run as (nobody, as root) or by the agent's user.
  const key = statSync(join(t.prefix, 'files/secure.example.com/tls.key'));
  assert.equal(key.mode & 0o777, 0o600);
  const owner = process.getuid!() === 0 ? findPasswdEntry(readFileSync('/etc/passwd', 'utf8'), 'nobody')!.uid : process.getuid!();
  assert.equal(key.uid, owner);
});

test('a new revision with unchanged bytes causes no reload', async () => {
  const config = proxyFragment('same.example.com', 'default-a-80');
  await t.api('PUT', '/v1/fragments/same.example.com?wait=1', { revision: 1, config });
  const before = (await t.api('GET', '/v1/state')).json;
  const again = await t.api('PUT', '/v1/fragments/same.example.com?wait=1', { revision: 2, config });
  assert.equal(again.status, 200);
  assert.equal(again.json.status, 'applied');
  assert.equal(again.json.revision, 2);
  const afterState = (await t.api('GET', '/v1/state')).json;
  assert.equal(afterState.reloads, before.reloads);
  assert.equal(afterState.desiredVersion, before.desiredVersion);
});

test('_default replaces the built-in default server, and deleting it restores the built-in', async () => {
  await t.api('PUT', '/v1/fragments/_default?wait=1', {
    revision: 1,
    // A default server says what TLS clients get: a certificate, or (here) a refused handshake.
    config: 'server {\n    include listen-default.conf;\n    ssl_reject_handshake on;\n    location / {\n        set $wharf_upstream "default-b-80";\n        proxy_pass http://$wharf_backend;\n    }\n}\n',
  });
  await servedBy('unknown.example.com', 'b');
  await t.api('DELETE', '/v1/fragments/_default?revision=2&wait=1');
  await servedBy('unknown.example.com', null);
});
