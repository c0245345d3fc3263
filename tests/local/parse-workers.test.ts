// Local mode parses a big folder's YAML on worker threads at start-up (ParseWorkers). What the
// folder says must not depend on where it was parsed: the same objects, versions and problems
// (broken YAML, an object the check refuses, a duplicate, a List), in the same order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManifestSource, type SyncResult } from '../../src/cluster/manifest-source.ts';
import { ParseWorkers } from '../../wrangler-free-local/parse-workers.ts';

const svc = (name: string, port = 80) => `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n  ports: [{port: ${port}}]\n`;
const check = (_kind: string, o: Record<string, unknown>) => ((o.spec as { ports?: { port: number }[] } | undefined)?.ports?.[0]?.port ?? 0) > 65535 ? 'spec.ports[0].port: Invalid value: must be at most 65535' : null;
const strip = (r: SyncResult) => ({
  changes: r.changes.map((c) => ({ ...c, object: { ...c.object, metadata: { ...(c.object.metadata as object), uid: '', creationTimestamp: '' } } })),
  problems: r.problems,
  filesRead: r.filesRead,
});

test('a folder parsed on worker threads gives the same changes and problems as one parsed on the main thread', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-parse-workers-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (let i = 0; i < 150; i++) writeFileSync(join(dir, `app-${String(i).padStart(3, '0')}.yaml`), `${svc(`s${i}`)}---\n${svc(`t${i}`, 8080)}`);
  writeFileSync(join(dir, 'broken.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: [unclosed\n');
  writeFileSync(join(dir, 'refused.yaml'), svc('big', 70000));
  writeFileSync(join(dir, 'duplicate.yaml'), svc('s7', 81));
  writeFileSync(join(dir, 'list.yaml'), 'apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: Service, metadata: {name: l1}, spec: {ports: [{port: 80}]}}\n');
  writeFileSync(join(dir, 'scalar.yaml'), 'just a string\n');

  const here = new ManifestSource(dir, check);
  const expected = await here.sync();
  const workers = new ParseWorkers(2);
  t.after(() => workers.close());
  const there = new ManifestSource(dir, check);
  there.parser = workers.parse;
  const actual = await there.sync();
  assert.equal(actual.changes.length, 150 * 2 + 1, 'the objects of every good file, the List\'s item, and none of the duplicate, broken or refused ones');
  assert.ok(actual.problems.some((p) => p.file === 'broken.yaml' && /YAML syntax error/.test(p.message)));
  assert.ok(actual.problems.some((p) => p.file === 'refused.yaml' && /at most 65535/.test(p.message)));
  assert.ok(actual.problems.some((p) => p.file === 'duplicate.yaml' && /duplicate Service default\/s7/.test(p.message)));
  assert.deepEqual(strip(actual), strip(expected));

  // Later syncs (a few files) are parsed on the main thread, with the workers closed.
  there.parser = null;
  await workers.close();
  writeFileSync(join(dir, 'app-000.yaml'), svc('s0', 81));
  assert.deepEqual((await there.sync()).changes.map((c) => `${c.type} ${c.key}`), ['update default/s0', 'delete default/t0']);
});
