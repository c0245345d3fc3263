// `wharf check` as CI runs it: a process given files, folders or stdin, its lines and exit status.
// The verdicts are the admission webhook's: the injection case compares the line with what
// POST /admission's code answers for the same object.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { review } from '../../src/handlers/admission.ts';
import { RoutingIndex, defaultControllerSettings, stateFromObjects, validateIngress } from '../../src/model/index.ts';
import { ROOT, lines, wharf } from './run-cli.ts';

const FIXTURES = 'tests/check/fixtures';

test('a clean set (the cafe example) exits 0 and prints nothing', async () => {
  const run = await wharf(['check', 'examples/cafe']);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout, '');
  assert.equal(run.stderr, '');
});

test('an injection attempt is denied with the admission webhook\'s own message, at the annotation\'s line, exit 1', async () => {
  const file = `${FIXTURES}/injection/ingress.yaml`;
  const run = await wharf(['check', file]);
  assert.equal(run.status, 1);
  // What POST /admission answers for this Ingress, with the file's Service in the view.
  const objects = parseAllDocuments(readFileSync(join(ROOT, file), 'utf8')).map((d) => d.toJS() as Record<string, unknown>);
  const index = new RoutingIndex(defaultControllerSettings, stateFromObjects(objects).state);
  const reviewJson = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u', kind: { group: 'networking.k8s.io', version: 'v1', kind: 'Ingress' }, operation: 'CREATE', namespace: 'attic', object: objects[0] } };
  const { body } = review(reviewJson, (o) => validateIngress(o, index, defaultControllerSettings));
  assert.equal(body.response.allowed, false);
  const denial = body.response.status!.message;
  assert.match(denial, /^metadata\.annotations\[nginx\.ingress\.kubernetes\.io\/rewrite-target\]: Invalid value: /);
  const annotationLine = readFileSync(join(ROOT, file), 'utf8').split('\n').findIndex((l) => l.includes('nginx.ingress.kubernetes.io/rewrite-target')) + 1;
  assert.deepEqual(lines(run.stdout), [`${file}:${annotationLine}: error: Ingress attic/sneaky: ${denial}`]);
  assert.match(run.stderr, /^2 objects checked, 1 error, 0 warnings, 0 skipped$/m);
});

test('two Ingresses claiming one host and path: the younger (listed later, or not created yet) gets the warning; warnings alone exit 0', async () => {
  const run = await wharf(['check', `${FIXTURES}/conflict`]);
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.deepEqual(lines(run.stdout), [
    `${FIXTURES}/conflict/ingresses.yaml:29: warning: Ingress shop/another-shop: spec.rules[0].http.paths[0].path: Invalid value: "/": host shop.example.com path is already served by older Ingress shop/shop`,
  ]);
  // The Deployment is no kind wharf reads: counted as skipped, not a problem.
  assert.match(run.stderr, /3 objects checked, 0 errors, 1 warning, 1 skipped/);
  // An object that exists already (it has a creationTimestamp) is older than one yet to be created.
  const text = readFileSync(join(ROOT, FIXTURES, 'conflict/ingresses.yaml'), 'utf8').replace('name: another-shop\n', 'name: another-shop\n  creationTimestamp: "2024-05-01T10:00:00Z"\n');
  const existing = await wharf(['check', '-'], { stdin: text });
  assert.match(existing.stdout, /^<stdin>:\d+: warning: Ingress shop\/shop: spec\.rules\[0\]\.http\.paths\[0\]\.path: Invalid value: "\/": host shop\.example\.com path is already served by older Ingress shop\/another-shop\n$/);
});

test('a malformed YAML document names its file and line and exits 1; the documents around it are still checked', async () => {
  const run = await wharf(['check', '--output', 'json', `${FIXTURES}/malformed`]);
  assert.equal(run.status, 1);
  const report = JSON.parse(run.stdout) as { checked: number; problems: { file: string; line: number; message: string; severity: string }[]; objects: { name: string }[] };
  assert.equal(report.problems.length, 1);
  const [p] = report.problems;
  assert.equal(p!.file, `${FIXTURES}/malformed/b-broken.yaml`);
  assert.equal(p!.line, 14, 'the line of `labels: { app: [web }`');
  assert.equal(p!.severity, 'error');
  assert.match(p!.message, /^YAML syntax error: /);
  assert.deepEqual(report.objects.map((o) => o.name).sort(), ['ok', 'web']);
  const text = await wharf(['check', `${FIXTURES}/malformed`]);
  assert.match(text.stdout, /^tests\/check\/fixtures\/malformed\/b-broken\.yaml:14: error: YAML syntax error: /);
});

test('stdin (-) is read like a file and named <stdin>, e.g. `helm template … | wharf check -`', async () => {
  const text = readFileSync(join(ROOT, FIXTURES, 'conflict/ingresses.yaml'), 'utf8');
  const run = await wharf(['check', '-'], { stdin: text });
  assert.equal(run.status, 0);
  assert.match(run.stdout, /^<stdin>:29: warning: Ingress shop\/another-shop: /);
  // Files and stdin together are one cluster: the cafe's host has no rival, the conflict stays.
  const both = await wharf(['check', 'examples/cafe', '-'], { stdin: text });
  assert.equal(lines(both.stdout).length, 1);
});

test('--output json is one document: objects checked and each problem with file, line, kind, namespace, name, field, severity, reason, message', async () => {
  const run = await wharf(['check', '--output', 'json', `${FIXTURES}/injection`, `${FIXTURES}/conflict`]);
  assert.equal(run.status, 1);
  const report = JSON.parse(run.stdout) as Record<string, unknown> & { problems: Record<string, unknown>[]; objects: Record<string, unknown>[] };
  assert.equal(report.checked, 5);
  assert.equal(report.errors, 1);
  assert.equal(report.warnings, 1);
  assert.deepEqual(report.problems.map((p) => Object.keys(p).sort()), [0, 1].map(() => ['field', 'file', 'kind', 'line', 'message', 'name', 'namespace', 'reason', 'severity']));
  assert.deepEqual(
    report.problems.map((p) => [p.kind, p.namespace, p.name, p.severity, p.reason, p.field]),
    [
      ['Ingress', 'attic', 'sneaky', 'error', 'InvalidAnnotation', 'metadata.annotations[nginx.ingress.kubernetes.io/rewrite-target]'],
      ['Ingress', 'shop', 'another-shop', 'warning', 'HostPathConflict', 'spec.rules[0].http.paths[0].path'],
    ],
  );
  assert.deepEqual(report.objects.find((o) => o.name === 'sneaky'), { file: `${FIXTURES}/injection/ingress.yaml`, line: 2, kind: 'Ingress', namespace: 'attic', name: 'sneaky', allowed: false });
});

test('every kind wharf reads is checked by its own rules (ConfigMap keys, Service ports, slices, IngressClass names), references to what the input lacks are warnings', async () => {
  const run = await wharf(['check', '--output', 'json', `${FIXTURES}/kinds`]);
  assert.equal(run.status, 1);
  const report = JSON.parse(run.stdout) as { problems: Record<string, unknown>[]; skipped: Record<string, unknown>[] };
  assert.deepEqual(
    report.problems.map((p) => [p.line, p.severity, p.kind, p.reason, p.field]),
    [
      [11, 'error', 'ConfigMap', 'InvalidSetting', 'data[proxy-read-timeout]'],
      [28, 'error', 'Service', 'InvalidObject', 'spec.ports[0].port'],
      [37, 'warning', 'EndpointSlice', 'EndpointsIgnored', 'addressType'],
      [44, 'error', 'IngressClass', 'InvalidObject', 'metadata.name'],
      [57, 'warning', 'Ingress', 'TlsSecretNotFound', 'spec.tls[0].secretName'],
      [65, 'warning', 'Ingress', 'ServiceNotFound', 'spec.rules[0].http.paths[0].backend.service.name'],
    ],
  );
  // The chart's ConfigMap (labelled app.kubernetes.io/name: wharf) holds the settings; an application's is skipped.
  assert.deepEqual(report.skipped, [{ file: `${FIXTURES}/kinds/all.yaml`, line: 13, kind: 'ConfigMap', namespace: 'shop', name: 'app-settings', why: "not wharf's ConfigMap (wharf/wharf-config)" }]);
});

test('usage errors and unreadable paths exit 2 with one line saying why', async () => {
  const missing = await wharf(['check', 'tests/check/fixtures/no-such-folder']);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /^wharf: tests\/check\/fixtures\/no-such-folder: cannot read: ENOENT/);
  const none = await wharf(['check']);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /give at least one PATH/);
  const output = await wharf(['check', '--output', 'yaml', 'examples/cafe']);
  assert.equal(output.status, 2);
  assert.match(output.stderr, /--output: Unsupported value: "yaml"/);
});
