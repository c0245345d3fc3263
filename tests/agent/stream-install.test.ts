// How the agent chooses the stream endpoint path: njs when NGINX has it and its workers can read the
// agent's endpoint files, reloads otherwise (saying why), nothing without the stream module.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseStreamMode, findStreamModules, unreachableForWorkers } from '../../src/agent/stream-install.ts';

const both = { module: '/m/ngx_stream_module.so', jsModule: '/m/ngx_stream_js_module.so', missing: null };

test('stream endpoint mode: njs, reload when asked, without njs or when the workers cannot read the files, none without the module', () => {
  assert.equal(chooseStreamMode('auto', both).mode, 'njs');
  assert.match(chooseStreamMode('reload', both).message, /reload .*as asked by --endpoint-mode reload/);
  assert.match(chooseStreamMode('auto', { ...both, jsModule: null, missing: 'missing x (apt-get install libnginx-mod-stream-js)' }).message, /^stream endpoint mode: reload .*libnginx-mod-stream-js/);
  assert.match(chooseStreamMode('auto', both, '/srv/private').message, /^stream endpoint mode: reload \(NGINX's workers cannot enter \/srv\/private/);
  assert.equal(chooseStreamMode('auto', { module: null, jsModule: null, missing: 'missing y' }).mode, 'none');
  assert.ok(findStreamModules().jsModule, 'scripts/setup.sh installs libnginx-mod-stream-js');
});

test('the first folder another user cannot enter is found, a missing one is judged by its parents', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-reach-'));
  try {
    mkdirSync(join(dir, 'a/b'), { recursive: true });
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'a'), 0o700);
    assert.equal(unreachableForWorkers(join(dir, 'a/b/not-yet')), join(dir, 'a'));
    chmodSync(join(dir, 'a'), 0o755);
    assert.equal(unreachableForWorkers(join(dir, 'a/b/not-yet')), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
