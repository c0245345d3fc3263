// The manifest folder as a versioned source of changes: what local mode turns into CloudEvents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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

test('a file deleted and written again, renamed into place, or in a new folder is seen every time (the recursive watch lost them)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-src-'));
  const source = new ManifestSource(dir);
  writeFileSync(join(dir, 'a.yaml'), svc('tea', 1));
  await source.sync();
  const ports = new Map<string, number>();
  let changed = () => {};
  source.watch(
    (r) => {
      for (const c of r.changes) ports.set(c.key, c.type === 'delete' ? 0 : (c.object.spec as { ports: { port: number }[] }).ports[0]!.port);
      changed();
    },
    (e) => assert.fail(String(e)),
    20,
  );
  t.after(() => {
    source.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const seen = (key: string, port: number) =>
    new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 3000);
      const check = () => {
        if (ports.get(key) !== port) return;
        clearTimeout(timer);
        resolve(true);
      };
      changed = check;
      check();
    });
  const steps: [string, number, () => void][] = [];
  for (let i = 0; i < 4; i++) {
    const p = 10 + i * 3;
    steps.push([`delete and write again (${i})`, p, () => (rmSync(join(dir, 'a.yaml')), writeFileSync(join(dir, 'a.yaml'), svc('tea', p)))]);
    steps.push([`rename into place (${i})`, p + 1, () => (writeFileSync(join(dir, '.a.yaml.tmp'), svc('tea', p + 1)), renameSync(join(dir, '.a.yaml.tmp'), join(dir, 'a.yaml')))]);
    steps.push([`edit (${i})`, p + 2, () => writeFileSync(join(dir, 'a.yaml'), svc('tea', p + 2))]);
  }
  for (const [what, port, act] of steps) {
    const waiting = seen('default/tea', port);
    act();
    assert.ok(await waiting, `${what}: port ${port} not seen (last seen ${ports.get('default/tea')})`);
  }
  // A folder made after the watch started, a file written in it, and a folder renamed into place.
  mkdirSync(join(dir, 'sub'));
  let waiting = seen('default/milk', 1);
  writeFileSync(join(dir, 'sub', 'm.yaml'), svc('milk', 1));
  assert.ok(await waiting, 'a file in a new folder');
  waiting = seen('default/milk', 2);
  writeFileSync(join(dir, 'sub', 'm.yaml'), svc('milk', 2));
  assert.ok(await waiting, 'an edit in a new folder');
  mkdirSync(join(tmpdir(), `${dir.split('/').pop()}-next`));
  const next = join(tmpdir(), `${dir.split('/').pop()}-next`);
  writeFileSync(join(next, 'm.yaml'), svc('milk', 3));
  waiting = seen('default/milk', 3);
  rmSync(join(dir, 'sub'), { recursive: true });
  renameSync(next, join(dir, 'sub'));
  assert.ok(await waiting, 'a folder renamed into place');
});

test('one edit in a folder of 500 files reads that file again, not the whole folder', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-src-'));
  const source = new ManifestSource(dir);
  for (let i = 0; i < 500; i++) writeFileSync(join(dir, `s${i}.yaml`), `${svc(`s${i}`)}---\n${svc(`t${i}`)}`);
  const first = await source.sync();
  assert.equal(first.changes.length, 1000);
  assert.equal(first.filesRead, 500);
  writeFileSync(join(dir, 's250.yaml'), svc('s250', 81));
  const edit = await source.sync();
  assert.deepEqual([edit.filesRead, edit.filesGone], [1, 0]);
  assert.deepEqual(summary(edit), ['update Service default/s250 rv=1001', 'delete Service default/t250 rv=1002']);
  rmSync(join(dir, 's7.yaml'));
  const gone = await source.sync();
  assert.deepEqual([gone.filesRead, gone.filesGone], [0, 1]);
  assert.deepEqual(summary(gone), ['delete Service default/s7 rv=1003', 'delete Service default/t7 rv=1004']);
  const idle = await source.sync();
  assert.deepEqual([idle.filesRead, idle.filesGone, idle.changes.length], [0, 0, 0]);
  rmSync(dir, { recursive: true, force: true });
});

test('a duplicate takes over when the first definition goes, and is reported while it is ignored', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-src-'));
  const source = new ManifestSource(dir);
  writeFileSync(join(dir, 'a.yaml'), svc('tea', 1));
  writeFileSync(join(dir, 'b.yaml'), svc('tea', 2));
  const first = await source.sync();
  assert.deepEqual(summary(first), ['add Service default/tea rv=1']);
  assert.deepEqual(first.problems.map((p) => [p.file, p.message]), [['b.yaml', 'duplicate Service default/tea: already defined in a.yaml (document 0); this one is ignored']]);
  rmSync(join(dir, 'a.yaml'));
  const r = await source.sync();
  assert.deepEqual(summary(r), ['update Service default/tea rv=2']);
  assert.equal(((await source.get({ kind: 'Service', namespace: 'default', name: 'tea' }))!.spec as { ports: { port: number }[] }).ports[0]!.port, 2);
  assert.deepEqual(r.problems, []);
  rmSync(dir, { recursive: true, force: true });
});
