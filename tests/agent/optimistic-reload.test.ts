// Optimistic reloads: while NGINX runs, the agent signals the reload without a prior `nginx -t`
// (both parse the whole configuration; with 2,000 hosts each takes most of a second), and runs the
// test only once the master refused the new configuration, to quarantine what it refused. The NGINX
// binary here is a wrapper that notes every invocation, so the test sees when `nginx -t` runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackend, type Backend } from '../support/backend.ts';
import { eventually } from '../support/http.ts';
import { startTestAgent, proxyFragment, backendOf, type TestAgent } from './harness.ts';
import { findNginx } from '../../src/agent/nginx-install.ts';

let t: TestAgent;
let a: Backend;
let b: Backend;
let dir: string;
let calls: string;

/** The `nginx -t` runs since `from` (an offset in the call log). */
const testsSince = (from: number) => readFileSync(calls, 'utf8').slice(from).split('\n').filter((l) => / -t( |$)/.test(l)).length;
const callLogLength = () => readFileSync(calls, 'utf8').length;

before(async () => {
  [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
  dir = mkdtempSync(join(tmpdir(), 'wharf-nginx-wrapper-'));
  calls = join(dir, 'calls.log');
  writeFileSync(calls, '');
  const wrapper = join(dir, 'nginx');
  writeFileSync(wrapper, `#!/bin/sh\necho "$*" >> '${calls}'\nexec '${findNginx().bin}' "$@"\n`);
  chmodSync(wrapper, 0o755);
  t = await startTestAgent({ nginxBin: wrapper, endpointMode: 'lua' });
  await t.api('PUT', '/v1/endpoints/default-a-80', { revision: 1, endpoints: [a.address] });
  await t.api('PUT', '/v1/endpoints/default-b-80', { revision: 1, endpoints: [b.address] });
});
after(async () => {
  await t?.stop();
  await Promise.all([a?.close(), b?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

async function servedBy(host: string, backend: string): Promise<void> {
  assert.ok(await eventually(async () => backendOf(await t.get(host)) === backend, 3000), `${host} is not served by ${backend}`);
}

test('a reload of a running NGINX is signalled without a prior nginx -t', async () => {
  const from = callLogLength();
  const put = await t.api('POST', '/v1/batch?wait=1', {
    fragments: [
      { name: 'one.example.com', revision: 1, config: proxyFragment('one.example.com', 'default-a-80') },
      { name: 'two.example.com', revision: 1, config: proxyFragment('two.example.com', 'default-b-80') },
    ],
    endpoints: [],
  });
  assert.equal(put.status, 200, put.text);
  assert.deepEqual(put.json.fragments.map((f: { status: string }) => f.status), ['applied', 'applied']);
  await servedBy('one.example.com', 'a');
  await servedBy('two.example.com', 'b');
  assert.equal(testsSince(from), 0, readFileSync(calls, 'utf8').slice(from));
});

test('a fragment the master refuses is quarantined after the refused reload; its previous content and the rest of the batch serve', async () => {
  const from = callLogLength();
  const logsFrom = t.logs.length;
  const put = await t.api('POST', '/v1/batch?wait=1', {
    fragments: [
      { name: 'one.example.com', revision: 2, config: proxyFragment('one.example.com', 'default-b-80', '    proxy_buffering maybe;\n') },
      { name: 'three.example.com', revision: 1, config: proxyFragment('three.example.com', 'default-b-80') },
    ],
    endpoints: [],
  });
  assert.equal(put.status, 200, put.text);
  const byName = Object.fromEntries(put.json.fragments.map((f: { name: string }) => [f.name, f]));
  assert.equal(byName['one.example.com'].status, 'quarantined');
  assert.match(byName['one.example.com'].error, /proxy_buffering/);
  assert.equal(byName['three.example.com'].status, 'applied');
  await servedBy('one.example.com', 'a');
  await servedBy('three.example.com', 'b');
  assert.ok(testsSince(from) >= 1, 'NGINX refused the reload: the agent tests the configuration to find the culprit');
  assert.match(t.logs.slice(logsFrom).join(''), /NGINX refused the reload; testing the whole configuration/);
});

test('after a quarantine, the next good change is optimistic again', async () => {
  const from = callLogLength();
  const put = await t.api('PUT', '/v1/fragments/one.example.com?wait=1', { revision: 3, config: proxyFragment('one.example.com', 'default-b-80') });
  assert.equal(put.json.status, 'applied');
  await servedBy('one.example.com', 'b');
  assert.equal(testsSince(from), 0);
});
