// The chart's Gateway API side, read as text like the rest of the chart tests (see chart-files.ts):
// the CRDs (the v1.6.1 standard files, unchanged below their provenance header, installed only with
// gatewayAPI.installCRDs), the GatewayClass, the RBAC of each process, the webhook rules, the
// Knative source, the values and their schema, and the flag that turns it all off in the processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { GATEWAY_CONTROLLER_NAME } from '../../src/model/gateway-status.ts';
import { chartDir, documentsOfKind, get, readChartFile, repoRoot, templateDocuments, templates, valuesSchema, valuesYaml } from './chart-files.ts';

type Doc = Record<string, unknown>;
const GROUP = 'gateway.networking.k8s.io';
const KINDS = ['gatewayclasses', 'gateways', 'httproutes', 'grpcroutes', 'tlsroutes', 'tcproutes', 'udproutes', 'referencegrants'];
const SHARED = join(repoRoot, '..', 'shared', 'gateway-api', 'crds');
const SUBCHART = join(chartDir, 'charts', 'gateway-api-crds');
const values = valuesYaml();

test('values: the Gateway API on (read where installed), CRDs not installed, a GatewayClass named wharf', () => {
  assert.deepEqual(get(values, 'gatewayAPI'), { enabled: true, installCRDs: false, gatewayClass: { create: true, name: 'wharf' }, listenerPorts: [], udpListenerPorts: [] });
});

test('the CRDs: the eight standard-channel v1.6.1 files wharf reads, unchanged below a header naming their source and license', () => {
  const files = readdirSync(join(SUBCHART, 'crds')).sort();
  assert.deepEqual(files, KINDS.map((k) => `${GROUP}_${k}.yaml`).sort());
  for (const f of files) {
    const text = readFileSync(join(SUBCHART, 'crds', f), 'utf8');
    const header = text.split('\n').filter((l) => l.startsWith('#'));
    const body = text.split('\n').slice(header.length).join('\n');
    assert.equal(body, readFileSync(join(SHARED, 'standard', f), 'utf8'), `${f}: not the upstream file`);
    assert.match(header.join('\n'), new RegExp(`release v1\\.6\\.1 \\(commit 8bb74df00e56ec8f944d48c25e6c1c9c2f6848e3\\),\\n# config/crd/standard/${f.replaceAll('.', '\\.')}`));
    assert.match(header.join('\n'), /Apache License, Version 2\.0/);
    const crd = parse(body) as Doc;
    assert.equal(get(crd, 'spec.group'), GROUP);
    assert.equal((get(crd, 'metadata.annotations') as Doc)['gateway.networking.k8s.io/bundle-version'], 'v1.6.1');
    assert.equal((get(crd, 'metadata.annotations') as Doc)['gateway.networking.k8s.io/channel'], 'standard');
  }
  assert.equal(readFileSync(join(SUBCHART, 'LICENSE'), 'utf8'), readFileSync(join(SHARED, 'LICENSE'), 'utf8'));
});

test('the CRDs are a subchart whose crds/ Helm installs only with gatewayAPI.installCRDs', () => {
  const chart = parse(readChartFile('Chart.yaml')) as Doc;
  const sub = parse(readFileSync(join(SUBCHART, 'Chart.yaml'), 'utf8')) as Doc;
  assert.deepEqual(chart.dependencies, [{ name: 'gateway-api-crds', version: sub.version, condition: 'gatewayAPI.installCRDs' }]);
  assert.equal(sub.name, 'gateway-api-crds');
  assert.equal(sub.apiVersion, 'v2');
  assert.deepEqual(readdirSync(SUBCHART).sort(), ['Chart.yaml', 'LICENSE', 'README.md', 'crds'], 'no templates: nothing but the CRDs');
});

test('kind: GatewayClass with controllerName wharf.io/gateway-controller, named by a value, only where the CRDs are', () => {
  const [gc, ...more] = documentsOfKind('GatewayClass', `${GROUP}/v1`);
  assert.ok(gc && more.length === 0);
  assert.equal(gc.file, 'gatewayclass.yaml');
  assert.equal(get(gc.doc, 'spec.controllerName'), GATEWAY_CONTROLLER_NAME);
  assert.equal(get(gc.doc, 'metadata.name'), '⟦.Values.gatewayAPI.gatewayClass.name⟧');
  // A GatewayClass without its CRD fails the whole install: created only where the kind exists.
  assert.match(
    templates().get('gatewayclass.yaml')!,
    /\{\{- if and \.Values\.gatewayAPI\.enabled \.Values\.gatewayAPI\.gatewayClass\.create \(or \.Values\.gatewayAPI\.installCRDs \(\.Capabilities\.APIVersions\.Has "gateway\.networking\.k8s\.io\/v1\/GatewayClass"\)\) \}\}/,
  );
});

/** The rules of the ClusterRole of a file, as `verbs on group/resource` lines. */
function grants(file: string): string[] {
  const role = templateDocuments().find((d) => d.file === file && d.doc.kind === 'ClusterRole')!;
  return (role.doc.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[]).flatMap((r) => r.apiGroups.flatMap((g) => r.resources.map((res) => `${r.verbs.join(',')} on ${g}/${res}`)));
}

test('RBAC: the handler reads the Gateway API and Namespaces and writes only */status; the sources read them; all with gatewayAPI.enabled', () => {
  const handler = grants('handler-rbac.yaml');
  for (const k of KINDS) assert.ok(handler.includes(`get,list,watch on ${GROUP}/${k}`), `handler: read ${k}`);
  assert.ok(handler.includes('get,list,watch on /namespaces'));
  for (const k of ['gatewayclasses', 'gateways', 'httproutes', 'grpcroutes', 'tlsroutes', 'tcproutes', 'udproutes']) assert.ok(handler.includes(`update,patch on ${GROUP}/${k}/status`), `handler: write ${k}/status`);
  assert.ok(!handler.some((g) => g.startsWith('update') && g.includes(GROUP) && !g.endsWith('/status')), 'never a Gateway API spec');
  for (const file of ['source-rbac.yaml', 'knative-source.yaml']) {
    const source = grants(file);
    for (const k of KINDS) assert.ok(source.includes(`get,list,watch on ${GROUP}/${k}`), `${file}: read ${k}`);
    assert.ok(source.includes('get,list,watch on /namespaces'), `${file}: read namespaces`);
  }
  for (const file of ['handler-rbac.yaml', 'source-rbac.yaml', 'knative-source.yaml']) {
    const text = templates().get(file)!;
    assert.match(text, /\{\{- if \.Values\.gatewayAPI\.enabled \}\}\n(\s+#.*\n)*\s+- apiGroups: \["gateway\.networking\.k8s\.io"\]/, `${file}: granted only with gatewayAPI.enabled`);
  }
});

test('the processes read nothing of the Gateway API when it is disabled (they would have no right to)', () => {
  for (const file of ['handler-deployment.yaml', 'source-deployment.yaml']) {
    assert.match(templates().get(file)!, /\{\{- if not \.Values\.gatewayAPI\.enabled \}\}\n(\s+#.*\n)?\s+- --no-gateway-api\n\s+\{\{- end \}\}/, file);
  }
});

test('the webhook and the Knative source cover the Gateway API kinds with gatewayAPI.enabled', () => {
  const hook = (documentsOfKind('ValidatingWebhookConfiguration')[0]!.doc.webhooks as Doc[])[0]!;
  const gatewayRules = (hook.rules as Doc[]).filter((r) => (r.apiGroups as string[]).includes(GROUP));
  assert.deepEqual(gatewayRules.flatMap((r) => r.resources as string[]).sort(), [...KINDS].sort());
  assert.match(templates().get('handler-tls.yaml')!, /\{\{- if \.Values\.gatewayAPI\.enabled \}\}\n(\s+#.*\n)?\s+- apiGroups: \["gateway\.networking\.k8s\.io"\]/);
  const src = documentsOfKind('ApiServerSource')[0]!.doc;
  const watched = (get(src, 'spec.resources') as { apiVersion: string; kind: string }[]).map((r) => `${r.apiVersion} ${r.kind}`);
  for (const k of ['GatewayClass', 'Gateway', 'HTTPRoute', 'GRPCRoute', 'ReferenceGrant']) assert.ok(watched.includes(`${GROUP}/v1 ${k}`), k);
});

test('values.schema.json: the Gateway API values checked, and the keys Helm adds for the subchart allowed', () => {
  const validate = new Ajv({ allErrors: true, strict: true }).compile(valuesSchema());
  const withGateway = (gatewayAPI: unknown, extra: Doc = {}) => ({ ...structuredClone(values), gatewayAPI, ...extra });
  const gc = { create: true, name: 'wharf' };
  assert.ok(validate(withGateway({ enabled: true, installCRDs: true, gatewayClass: { create: true, name: 'public' }, listenerPorts: [8000, 9443] }, { 'gateway-api-crds': {}, global: {} })), JSON.stringify(validate.errors));
  assert.ok(!validate(withGateway({ enabled: true, installCRDs: false, gatewayClass: { create: true, name: 'Public_Class' }, listenerPorts: [] })));
  assert.ok(!validate(withGateway({ enabled: 'yes', installCRDs: false, gatewayClass: gc, listenerPorts: [] })));
  assert.ok(!validate(withGateway({ enabled: true, installCRD: true, installCRDs: false, gatewayClass: gc, listenerPorts: [] })), 'a misspelt key');
  // Listener ports: whole port numbers, each once, never 80 or 443 (the Service's own).
  for (const bad of [[80], [443], [0], [70000], ['8000'], [8000, 8000]]) {
    assert.ok(!validate(withGateway({ enabled: true, installCRDs: false, gatewayClass: gc, listenerPorts: bad })), JSON.stringify(bad));
  }
});

test('gatewayAPI.listenerPorts: each port on the NGINX Service, to a container port P + (nginx.ports.http - 80) opened to all, and the handler told NGINX\'s ports', () => {
  const svc = templates().get('nginx-service.yaml')!;
  assert.match(svc, /\{\{- range \.Values\.gatewayAPI\.listenerPorts \}\}\n\s+- name: gw-\{\{ \. \}\}\n\s+port: \{\{ \. \}\}\n\s+targetPort: gw-\{\{ \. \}\}/);
  const workload = templates().get('nginx-workload.yaml')!;
  assert.match(workload, /\{\{- range \.Values\.gatewayAPI\.listenerPorts \}\}\n\s+\{\{- \$at := add \. \(sub \$\.Values\.nginx\.ports\.http 80\) \}\}/);
  assert.match(workload, /- name: gw-\{\{ \. \}\}\n\s+containerPort: \{\{ \$at \}\}/);
  // A port whose NGINX port is not one of its own fails the install with the value named.
  assert.match(workload, /fail \(printf "gatewayAPI\.listenerPorts: Invalid value: %v: NGINX would serve it on/);
  // The agent moves ports by its own --http-listen; the handler, for the status, by --nginx-ports.
  assert.match(workload, /- --http-listen=0\.0\.0\.0:\{\{ \.Values\.nginx\.ports\.http \}\}/);
  assert.match(templates().get('handler-deployment.yaml')!, /- --nginx-ports=\{\{ \.Values\.nginx\.ports\.http \}\},\{\{ \.Values\.nginx\.ports\.https \}\}/);
});
