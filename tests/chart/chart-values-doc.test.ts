// docs/chart-values.md, the table from every key of ingress-nginx's chart to wharf's value, against
// both charts' keys: ingress-nginx's (tests/chart/ingress-nginx-values-keys.txt, its values.yaml's
// leaf keys) and wharf's values.yaml. A key renamed on either side, or a new one in ingress-nginx's
// list, fails here until the table says what wharf does with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { leafPaths, lookupPath, readRepoFile, valuesYaml } from './chart-files.ts';
import { one, render, type Values } from './render.ts';

interface Row { line: number; theirs: string; ours: string[]; notes: string }

const ingressNginxKeys = readFileSync(join(import.meta.dirname, 'ingress-nginx-values-keys.txt'), 'utf8')
  .split('\n')
  .filter((l) => l && !l.startsWith('#'));

function rows(): Row[] {
  const out: Row[] = [];
  readRepoFile('docs/chart-values.md').split('\n').forEach((text, i) => {
    const m = /^\| `([^`]+)` \| (.+?) \|(.*)\|$/.exec(text);
    if (!m) return;
    const ours = m[2] === '—' ? [] : [...m[2]!.matchAll(/`([^`]+)`/g)].map((k) => k[1]!);
    if (m[2] !== '—') assert.ok(ours.length > 0, `docs/chart-values.md:${i + 1}: the wharf column is neither — nor a \`key\``);
    out.push({ line: i + 1, theirs: m[1]!, ours, notes: m[3]!.trim() });
  });
  return out;
}

const table = rows();
const covers = (row: Row, key: string) => (row.theirs.endsWith('.*') ? key.startsWith(row.theirs.slice(0, -1)) : key === row.theirs);

test('the table has a row per ingress-nginx key it names, and reads as a table', () => {
  assert.ok(table.length > 150, `only ${table.length} rows`);
  const seen = new Set<string>();
  for (const r of table) {
    assert.ok(!seen.has(r.theirs), `docs/chart-values.md:${r.line}: ${r.theirs} twice`);
    seen.add(r.theirs);
  }
  assert.ok(ingressNginxKeys.length > 300, 'the key list was read');
});

test('every key of ingress-nginx\'s values.yaml has a row', () => {
  const missing = ingressNginxKeys.filter((k) => !table.some((r) => covers(r, k)));
  assert.deepEqual(missing, [], 'keys of ingress-nginx\'s chart the table does not mention');
});

test('every ingress-nginx key the table names is one of its chart\'s', () => {
  const unknown = table.filter((r) => !ingressNginxKeys.some((k) => covers(r, k))).map((r) => `docs/chart-values.md:${r.line}: ${r.theirs}`);
  assert.deepEqual(unknown, []);
});

test('every wharf key the table names exists in charts/wharf/values.yaml', () => {
  const values = valuesYaml();
  const unknown = table.flatMap((r) => r.ours.filter((k) => !lookupPath(values, k).found).map((k) => `docs/chart-values.md:${r.line}: ${k}`));
  assert.deepEqual(unknown, []);
});

test('a key without a wharf value says why', () => {
  const silent = table.filter((r) => r.ours.length === 0 && r.notes.length < 8).map((r) => `docs/chart-values.md:${r.line}: ${r.theirs}`);
  assert.deepEqual(silent, []);
});

test('the keys most set in public values files (issue 18) map to a wharf value of the same name', () => {
  const most = ['service.type', 'service.annotations', 'config', 'replicaCount', 'metrics.enabled', 'service.externalTrafficPolicy', 'metrics.serviceMonitor.enabled', 'extraArgs'];
  for (const key of most) {
    const row = table.find((r) => r.theirs === `controller.${key}`);
    assert.ok(row, `controller.${key}: no row`);
    const leaf = key.split('.').at(-1)!;
    assert.ok(row.ours.some((k) => k.split('.').at(-1) === leaf), `controller.${key} → ${row.ours.join(', ') || '—'}: not the same name`);
  }
});

test('the moved values file: each ingress-nginx key has its row, the row\'s wharf key is set, and the file renders', () => {
  const [theirs, ours] = [...readRepoFile('docs/chart-values.md').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parse(m[1]!) as Values);
  assert.ok(theirs && ours, 'two yaml blocks');
  for (const key of leafPaths(theirs)) {
    const row = table.find((r) => covers(r, key)) ?? table.find((r) => key.startsWith(`${r.theirs}.`));
    assert.ok(row && row.ours.length > 0, `${key}: no row with a wharf value`);
    assert.ok(row.ours.some((k) => lookupPath(ours, k).found), `${key} → ${row.ours.join(', ')}: not set in the moved file`);
    assert.ok(!row.theirs.endsWith('.*'), `${key}: the moved file uses keys with rows of their own`);
    assert.deepEqual(lookupPath(ours, row.ours[0]!).value, lookupPath(theirs, row.theirs).value, `${key}: the same value`);
  }
  const objects = render(ours);
  assert.equal(one(objects, 'Deployment', 'wharf-nginx').spec.replicas, 3);
  assert.equal(one(objects, 'ServiceMonitor', 'wharf').metadata.labels.release, 'kube-prometheus-stack');
  assert.deepEqual(one(objects, 'ConfigMap', 'wharf-config').data, { 'proxy-body-size': '16m', 'use-forwarded-headers': 'true' });
});
