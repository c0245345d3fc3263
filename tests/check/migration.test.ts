// `wharf check --from ingress-nginx` on manifests as ingress-nginx served them (class nginx, its
// ConfigMap): what wharf does with each annotation and key, checked against the admission answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ANNOTATION_RULES } from '../../src/model/annotation-rules.ts';
import { READ_DIFFERENTLY } from '../../src/check/differences.ts';
import { lines, wharf } from './run-cli.ts';

const FILE = 'tests/check/fixtures/migration/ingress-nginx.yaml';

test('--from ingress-nginx: each annotation and ConfigMap key read, read differently, ignored or refused; a summary; exit 1 for the refused snippet', async () => {
  const run = await wharf(['check', '--from', 'ingress-nginx', 'tests/check/fixtures/migration']);
  assert.equal(run.status, 1, run.stderr);
  const out = lines(run.stdout);
  assert.deepEqual(out, [
    `${FILE}:2: Ingress shop/shop: ready`,
    `  ${FILE}:8: nginx.ingress.kubernetes.io/rewrite-target: read`,
    `  ${FILE}:9: nginx.ingress.kubernetes.io/limit-rps: read differently: ${READ_DIFFERENTLY['limit-rps']}`,
    `  ${FILE}:10: nginx.ingress.kubernetes.io/enable-opentracing: ignored: wharf does not read it`,
    `${FILE}:22: Ingress shop/scripted: needs a change`,
    // content_by_lua_block stays refused whatever snippets wharf comes to accept.
    out[5]!,
    `${FILE}:50: ConfigMap ingress-nginx/ingress-nginx-controller: ready`,
    `  ${FILE}:59: proxy-body-size: read`,
    `  ${FILE}:60: use-geoip2: ignored: wharf does not read it`,
    'summary: 3 objects: 2 ready, 1 needs a change; 2 annotations or keys ignored, 1 refused',
  ]);
  assert.match(out[5]!, new RegExp(`^  ${FILE}:29: nginx\\.ingress\\.kubernetes\\.io/configuration-snippet: refused: `));
  // The same Ingresses under wharf's own check: class nginx is another controller's, nothing is checked.
  const plain = await wharf(['check', 'tests/check/fixtures/migration']);
  assert.equal(plain.status, 0);
  assert.equal(plain.stdout, '');
  assert.match(plain.stderr, /2 Ingresses of another class than wharf not checked/);
});

test('--from ingress-nginx --output json: the same verdicts as data, and the refusal is the admission problem of that annotation', async () => {
  const run = await wharf(['check', '--from', 'ingress-nginx', '--output', 'json', FILE]);
  const report = JSON.parse(run.stdout) as {
    objects: { name: string; verdict: string; keys: { key: string; status: string; note: string }[]; problems: unknown[] }[];
    summary: Record<string, number>;
  };
  assert.deepEqual(report.summary, { objects: 3, ready: 2, needChange: 1, ignored: 2, refused: 1 });
  const scripted = report.objects.find((o) => o.name === 'scripted')!;
  assert.equal(scripted.verdict, 'needs a change');
  assert.deepEqual(scripted.keys.map((k) => [k.key, k.status]), [['nginx.ingress.kubernetes.io/configuration-snippet', 'refused']]);
  // The note is the reason the plain check gives for that field (with the Ingress taken as wharf's).
  const adopted = await wharf(['check', '--ingress-class', 'nginx', FILE]);
  const denial = lines(adopted.stdout).find((l) => l.includes('configuration-snippet'))!;
  assert.ok(denial.endsWith(`metadata.annotations[nginx.ingress.kubernetes.io/configuration-snippet]: ${scripted.keys[0]!.note}`), denial);
});

test('the table of annotations read differently names only annotations wharf reads', () => {
  for (const name of Object.keys(READ_DIFFERENTLY)) assert.ok(name in ANNOTATION_RULES, `${name} is in ANNOTATION_RULES`);
});
