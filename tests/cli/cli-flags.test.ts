// The flags every `wharf` command parses the same way: durations, namespace/name, token files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDuration, parseNamespacedName, readTokenFile, UsageError } from '../../src/cli-flags.ts';

test('durations: ms, s, m, h, or bare seconds; anything else names the flag', () => {
  const cases: [string, number][] = [['250ms', 250], ['30s', 30_000], ['2m', 120_000], ['1h', 3_600_000], ['3', 3000], ['1.5s', 1500], ['0', 0]];
  for (const [text, ms] of cases) assert.equal(parseDuration('--x', text), ms, text);
  for (const bad of ['', 'soon', '5d', '-1s', '1 m']) {
    assert.throws(() => parseDuration('--relist-interval', bad), (e: unknown) => e instanceof UsageError && e.message.startsWith('--relist-interval: Invalid value'), bad);
  }
});

test('namespace/name', () => {
  assert.deepEqual(parseNamespacedName('--configmap', 'wharf/wharf-config'), { namespace: 'wharf', name: 'wharf-config' });
  for (const bad of ['wharf', 'Wharf/x', 'a/b/c', '/x']) assert.throws(() => parseNamespacedName('--configmap', bad), /--configmap: Invalid value: .*expected namespace\/name/, bad);
});

test('token files: one line of at least 16 characters, white space around it ignored', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-token-'));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  assert.equal(await readTokenFile('--token-file', file('ok', '  0123456789abcdef\n')), '0123456789abcdef');
  await assert.rejects(readTokenFile('--token-file', file('empty', '\n')), /--token-file: the token file .* is empty/);
  await assert.rejects(readTokenFile('--token-file', file('two', 'two words that are long\n')), /one line without spaces/);
  await assert.rejects(readTokenFile('--token-file', file('short', 'secret\n')), /is 6 characters; use at least 16/);
  await assert.rejects(readTokenFile('--token-file', join(dir, 'missing')), /--token-file: cannot read .*missing/);
});
