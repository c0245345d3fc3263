// The manifest folder as a versioned source of changes: what local mode turns into CloudEvents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManifestSource, type SyncResult } from '../../src/cluster/manifest-source.ts';

const svc = (name: string, port = 80) => `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n  ports: [{port: ${port}}]\n`;
const summary = (r: SyncResult) => r.changes.map((c) => `${c.type} ${c.kind} ${c.key} rv=${(c.object.metadata as { resourceVersion: string }).resourceVersion}`);

test('adds, updates and deletes come out with increasing resourceVersions; unchanged files change nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-src-'));
  const source = new ManifestSource(dir);
  writeFileSync(join(dir, 'a.yaml'), `${svc('tea')}---\n${svc('coffee')}`);
  assert.deepEqual(summary(await source.sync()), ['add Service default/tea rv=1', 'add Service default/coffee rv=2']);
  assert.deepEqual(summary(await source.sync()), []);
  writeFileSync(join(dir, 'a.yaml'), `${svc('tea', 8080)}---\n${svc('coffee')}`);
  assert.deepEqual(summary(await source.sync()), ['update Service default/tea rv=3']);
  writeFileSync(join(dir, 'a.yaml'), svc('tea', 8080));
  assert.deepEqual(summary(await source.sync()), ['delete Service default/coffee rv=4']);
  const list = await source.list('Service');
  assert.equal(list.resourceVersion, '4');
  assert.deepEqual(list.items.map((o) => o.metadata.name), ['tea']);
});

test('an update keeps the uid and creationTimestamp of the first version', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-src-'));
  const source = new ManifestSource(dir);
  writeFileSync(join(dir, 'a.yaml'), svc('tea'));
  const [add] = (await source.sync()).changes;
  writeFileSync(join(dir, 'a.yaml'), svc('tea', 81));
  const [update] = (await source.sync()).changes;
  const meta = (o: Record<string, unknown>) => o.metadata as { uid: string; creationTimestamp: string };
  assert.equal(meta(update!.object).uid, meta(add!.object).uid);
  assert.equal(meta(update!.object).creationTimestamp, meta(add!.object).creationTimestamp);
});

test('a broken file changes nothing that was loaded from it; fixing it applies the new content', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-src-'));
  const source = new ManifestSource(dir);
  writeFileSync(join(dir, 'a.yaml'), svc('tea'));
  await source.sync();
  writeFileSync(join(dir, 'a.yaml'), 'kind: Service\nmetadata: {name: [tea\n');
  const broken = await source.sync();
  assert.deepEqual(summary(broken), []);
  assert.match(broken.problems[0]!.message, /YAML syntax error/);
  assert.equal((await source.list('Service')).items.length, 1);
  writeFileSync(join(dir, 'a.yaml'), svc('tea', 9000));
  assert.deepEqual(summary(await source.sync()), ['update Service default/tea rv=2']);
});

test('an object the check refuses is reported and its previous version kept', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-src-'));
  const source = new ManifestSource(dir, (kind, o) => ((o.spec as { ports: { port: number }[] }).ports[0]!.port > 65535 ? 'spec.ports[0].port: Invalid value: must be at most 65535' : null));
  writeFileSync(join(dir, 'a.yaml'), svc('tea'));
  await source.sync();
  writeFileSync(join(dir, 'a.yaml'), svc('tea', 70000));
  const r = await source.sync();
  assert.deepEqual(summary(r), []);
  assert.deepEqual(r.problems.map((p) => [p.file, p.index, p.message]), [['a.yaml', 0, 'Service default/tea: spec.ports[0].port: Invalid value: must be at most 65535']]);
  const held = await source.get({ kind: 'Service', namespace: 'default', name: 'tea' });
  assert.equal((held!.spec as { ports: { port: number }[] }).ports[0]!.port, 80);
});

test('a rejected change is taken back and not offered again until the file changes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-src-'));
  const source = new ManifestSource(dir);
  writeFileSync(join(dir, 'a.yaml'), svc('tea'));
  await source.sync();
  writeFileSync(join(dir, 'a.yaml'), svc('tea', 81));
  const [update] = (await source.sync()).changes;
  source.reject(update!);
  const key = { kind: 'Service' as const, namespace: 'default', name: 'tea' };
  assert.equal(((await source.get(key))!.metadata as { resourceVersion: string }).resourceVersion, '1');
  assert.deepEqual(summary(await source.sync()), [], 'the same refused content is not offered again');
  writeFileSync(join(dir, 'a.yaml'), svc('tea', 82));
  assert.deepEqual(summary(await source.sync()), ['update Service default/tea rv=3']);
  writeFileSync(join(dir, 'b.yaml'), svc('milk'));
  const [add] = (await source.sync()).changes;
  source.reject(add!);
  assert.equal(await source.get({ ...key, name: 'milk' }), null);
});

test('watching the folder reports a change made to a file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-src-'));
  const source = new ManifestSource(dir);
  await source.sync();
  t.after(() => source.close());
  const seen = new Promise<SyncResult>((resolve, reject) => source.watch((r) => (r.changes.length ? resolve(r) : undefined), reject, 20));
  writeFileSync(join(dir, 'new.yaml'), svc('milk'));
  const r = await seen;
  assert.deepEqual(summary(r), ['add Service default/milk rv=1']);
  rmSync(dir, { recursive: true, force: true });
});
