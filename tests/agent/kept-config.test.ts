// What a restarted agent takes from its prefix: the fragments and files as written (secrets stay
// secrets), the endpoint sets of upstreams.conf; and nothing NGINX's `include fragments/*.conf`
// would read that is not a fragment (temp files of a write cut short, odd names, unreadable entries).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderUpstreams } from '../../src/agent/endpoint-store.ts';
import { parseUpstreamsConf, readKeptFragments } from '../../src/agent/kept-config.ts';
import { PrefixLayout } from '../../src/agent/layout.ts';

test('the fragments and files a previous agent left are kept; anything else in fragments/ and files/ is removed', async (t) => {
  const prefix = mkdtempSync(join(tmpdir(), 'wharf-kept-'));
  t.after(() => rmSync(prefix, { recursive: true, force: true }));
  const layout = new PrefixLayout(prefix);
  await layout.prepare();
  await layout.writeAtomic(layout.fragmentConf('a.example.com'), 'server { server_name a.example.com; }\n');
  await layout.ensureDir(layout.fragmentFilesDir('a.example.com'));
  await layout.writeAtomic(layout.fragmentFile('a.example.com', 'tls.crt'), 'CERT\n', 0o644);
  await layout.writeAtomic(layout.fragmentFile('a.example.com', 'tls.key'), 'KEY\n', 0o600);
  writeFileSync(join(layout.fragmentFilesDir('a.example.com'), '.wharf-tmp-1-2'), 'half a key');
  writeFileSync(join(layout.fragmentsDir, '.wharf-tmp-3-4'), 'half a server');
  writeFileSync(join(layout.fragmentsDir, 'Not-A-Name.conf'), 'server {}');
  mkdirSync(join(layout.fragmentsDir, 'dir.example.com.conf'));
  mkdirSync(join(layout.filesDir, 'orphan.example.com'));

  const kept = await readKeptFragments(layout);
  assert.deepEqual([...kept.keys()], ['a.example.com']);
  assert.deepEqual(kept.get('a.example.com'), {
    config: 'server { server_name a.example.com; }\n',
    files: { 'tls.crt': { content: 'CERT\n', secret: false }, 'tls.key': { content: 'KEY\n', secret: true } },
  });
  assert.deepEqual(readdirSync(layout.fragmentsDir), ['a.example.com.conf']);
  assert.deepEqual(readdirSync(layout.filesDir), ['a.example.com']);
  assert.ok(!existsSync(join(layout.fragmentFilesDir('a.example.com'), '.wharf-tmp-1-2')));
});

test('upstreams.conf reads back as the endpoint sets it was rendered from', () => {
  const sets = [
    { upstream: 'default-app-80', endpoints: ['10.0.0.1:8080', '10.0.0.2:8080'] },
    { upstream: 'shop-web-443', endpoints: ['[fd00::1]:8443'] },
    { upstream: 'empty-none-80', endpoints: [] },
  ];
  assert.deepEqual(Object.fromEntries(parseUpstreamsConf(renderUpstreams(sets))), {
    'default-app-80': ['10.0.0.1:8080', '10.0.0.2:8080'],
    'shop-web-443': ['[fd00::1]:8443'],
  });
  assert.equal(parseUpstreamsConf('').size, 0);
});
