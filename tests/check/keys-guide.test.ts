// docs/ingress-nginx-keys.md is generated from wharf's own tables (src/check/keys-guide.ts): the
// committed file must be what `npm run docs:keys` writes, ingress-nginx's list of names must hold
// every name wharf reads, and `wharf check --from ingress-nginx` must say the same of each name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { annotationRow, configKeyRow, ingressNginxNames, keysGuide, unlistedNames } from '../../src/check/keys-guide.ts';
import { ROOT, wharf } from './run-cli.ts';

test('docs/ingress-nginx-keys.md is what npm run docs:keys writes (run it and commit the file after changing a table)', async () => {
  assert.equal(readFileSync(join(ROOT, 'docs/ingress-nginx-keys.md'), 'utf8'), keysGuide());
  const check = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
    execFile(process.execPath, ['scripts/docs-keys.ts', '--check'], { cwd: ROOT }, (e, stdout) => resolve({ code: e ? (e as { code?: number }).code ?? 1 : 0, stdout }));
  });
  assert.deepEqual(check, { code: 0, stdout: 'docs/ingress-nginx-keys.md is up to date\n' });
  // The generator follows the tables: a name is a row, with what wharf does with it.
  const names = ingressNginxNames();
  assert.match(keysGuide({ ...names, annotations: [...names.annotations, 'made-up-annotation'] }), /^\| `made-up-annotation` \| ignored \| with a warning \|$/m);
});

test('ingress-nginx\'s list holds every annotation and ConfigMap key wharf reads', () => {
  const names = ingressNginxNames();
  assert.deepEqual(unlistedNames(names), { annotations: [], configMapKeys: [] });
  assert.ok(names.annotations.length >= 130 && names.configMapKeys.length >= 190, 'the whole documented list');
  assert.deepEqual(annotationRow('rewrite-target'), { name: 'rewrite-target', status: 'read', note: '' });
  assert.equal(annotationRow('modsecurity-snippet').status, 'refused');
  assert.equal(annotationRow('configuration-snippet').status, 'read differently');
  assert.equal(configKeyRow('proxy-body-size').status, 'read');
  assert.equal(configKeyRow('enable-opentracing').status, 'ignored');
});

test('wharf check --from ingress-nginx says of each name what the guide says (tests/migration\'s manifests)', async () => {
  const run = await wharf(['check', '--from', 'ingress-nginx', '--output', 'json', 'tests/migration/manifests']);
  const report = JSON.parse(run.stdout) as { objects: { kind: string; keys: { key: string; status: string }[] }[] };
  let compared = 0;
  for (const o of report.objects) {
    for (const k of o.keys) {
      // A value refused by its grammar (or a snippet by its directives) is about the value, not the name.
      if (k.status === 'refused') continue;
      const row = o.kind === 'Ingress' ? annotationRow(k.key.replace('nginx.ingress.kubernetes.io/', '')) : configKeyRow(k.key);
      assert.equal(k.status, row.status, k.key);
      compared++;
    }
  }
  assert.ok(compared >= 60, `compared ${compared}`);
});
