// The Helm chart, checked without a cluster and without helm: Chart.yaml, the template files' syntax
// and YAML shape, and one test per kind of object issue 6 asks for, each checking what that object
// must say. Templates are read as text (see chart-files.ts); what values render to is in values-render.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMap, isScalar, parse, parseDocument, type Scalar, type YAMLMap } from 'yaml';
import { API_VERSIONS, KINDS } from '../../src/cluster/view.ts';
import {
  allTemplateTexts,
  documentsOfKind,
  get,
  readChartFile,
  readRepoFile,
  schemaAt,
  templateDocuments,
  templates,
  valuesSchema,
  valuesYaml,
  type TemplateDocument,
} from './chart-files.ts';
import { one, render } from './render.ts';

type Doc = Record<string, unknown>;
type Container = { name: string; args?: string[]; ports?: { name: string; containerPort: unknown }[]; [k: string]: unknown };

/** The one document of `kind` in `file`. */
function only(file: string, kind: string, apiVersion: string): Doc {
  const found = documentsOfKind(kind, apiVersion).filter((d) => d.file === file);
  assert.equal(found.length, 1, `${file} should hold exactly one ${apiVersion} ${kind} (found ${found.length})`);
  return found[0]!.doc;
}

function containers(doc: Doc): Container[] {
  return get(doc, 'spec.template.spec.containers') as Container[];
}

/** The comment above each key of values.yaml, by dotted path. */
function valuesComments(): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (map: YAMLMap, prefix: string) => {
    map.items.forEach((pair, i) => {
      const key = pair.key as Scalar;
      if (!isScalar(key)) return;
      const path = prefix ? `${prefix}.${String(key.value)}` : String(key.value);
      out.set(path, key.commentBefore ?? (i === 0 ? (map.commentBefore ?? '') : ''));
      if (isMap(pair.value)) walk(pair.value, path);
    });
  };
  walk(parseDocument(readChartFile('values.yaml')).contents as YAMLMap, '');
  return out;
}

const values = valuesYaml();
const schema = valuesSchema();
const enumAt = (path: string): unknown[] => (schemaAt(schema, path)?.enum as unknown[]) ?? [];

test('Chart.yaml: apiVersion v2, a name, a SemVer version and an appVersion equal to package.json', () => {
  const chart = parse(readChartFile('Chart.yaml')) as Record<string, unknown>;
  const pkg = JSON.parse(readRepoFile('package.json')) as { version: string };
  assert.equal(chart.apiVersion, 'v2');
  assert.equal(chart.name, 'wharf');
  assert.match(String(chart.version), /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
  assert.equal(chart.appVersion, pkg.version, 'appVersion is the default image tag: it must be the version package.json builds');
  assert.equal(chart.type, 'application');
});

test('templates: balanced {{ }} and every if/range/with/define closed by an end', () => {
  for (const [file, text] of allTemplateTexts()) {
    assert.equal((text.match(/\{\{/g) ?? []).length, (text.match(/\}\}/g) ?? []).length, `${file}: unbalanced {{ }}`);
    const opens = (text.match(/\{\{-?\s*(if|range|with|define)\b/g) ?? []).length;
    const ends = (text.match(/\{\{-?\s*end\b/g) ?? []).length;
    assert.equal(opens, ends, `${file}: ${opens} blocks opened, ${ends} closed`);
  }
});

test('templates: YAML once their actions are blanked (plain templates, literal parts well indented)', () => {
  const docs = templateDocuments();
  for (const file of templates().keys()) assert.ok(docs.some((d) => d.file === file), `${file} holds no YAML document`);
  for (const { file, doc } of docs) {
    assert.equal(typeof doc.apiVersion, 'string', `${file}: a document without apiVersion`);
    assert.equal(typeof doc.kind, 'string', `${file}: a document without kind`);
  }
});

test('templates: every named template they include is defined in _helpers.tpl', () => {
  const helpers = allTemplateTexts().get('_helpers.tpl')!;
  const defined = new Set([...helpers.matchAll(/\{\{-?\s*define\s+"([^"]+)"/g)].map((m) => m[1]));
  for (const [file, text] of allTemplateTexts()) {
    for (const m of text.matchAll(/\binclude\s+"([^"]+)"/g)) assert.ok(defined.has(m[1]), `${file} includes "${m[1]}", which _helpers.tpl does not define`);
  }
});

test('kind: handler Deployment (`wharf handler`, HTTPS probes, the serving certificate mounted)', () => {
  const d = only('handler-deployment.yaml', 'Deployment', 'apps/v1');
  assert.equal(get(d, 'spec.replicas'), '⟦.Values.handler.replicas⟧');
  assert.equal(values.handler && (values.handler as Doc).replicas, 2);
  const [c] = containers(d);
  assert.equal(c!.args![0], 'handler');
  // Probes that mean what they say: started (listening), alive (the process answers), ready (view synced).
  assert.deepEqual(get(c, 'startupProbe.httpGet'), { path: '/healthz', port: 'https', scheme: 'HTTPS' });
  assert.ok((get(c, 'startupProbe.periodSeconds') as number) * (get(c, 'startupProbe.failureThreshold') as number) >= 60, 'a slow start on a busy node is not killed');
  assert.deepEqual(get(c, 'readinessProbe.httpGet'), { path: '/readyz', port: 'https', scheme: 'HTTPS' });
  assert.deepEqual(get(c, 'livenessProbe.httpGet'), { path: '/healthz', port: 'https', scheme: 'HTTPS' });
  const volumes = get(d, 'spec.template.spec.volumes') as Doc[];
  assert.ok(volumes.some((v) => get(v, 'secret.secretName') === "⟦include 'wharf.handlerTlsSecret' .⟧"), 'the handler serves the webhook certificate');
});

test('kind: HorizontalPodAutoscaler scaling the handler Deployment, never below 2 replicas by default', () => {
  const hpa = only('handler-hpa.yaml', 'HorizontalPodAutoscaler', 'autoscaling/v2');
  assert.deepEqual(get(hpa, 'spec.scaleTargetRef'), { apiVersion: 'apps/v1', kind: 'Deployment', name: "⟦include 'wharf.handlerName' .⟧" });
  assert.equal(get(only('handler-deployment.yaml', 'Deployment', 'apps/v1'), 'metadata.name'), "⟦include 'wharf.handlerName' .⟧");
  assert.equal(get(hpa, 'spec.minReplicas'), '⟦.Values.handler.autoscaling.minReplicas⟧');
  assert.ok((get(values, 'handler.autoscaling.minReplicas') as number) >= 2);
});

test('kind: PodDisruptionBudgets for the handler and the NGINX pods, selecting their pods', () => {
  const handlerPdb = only('handler-pdb.yaml', 'PodDisruptionBudget', 'policy/v1');
  const handler = only('handler-deployment.yaml', 'Deployment', 'apps/v1');
  assert.equal(get(handlerPdb, 'spec.minAvailable'), '⟦.Values.handler.podDisruptionBudget.minAvailable⟧');
  const text = (f: string) => templates().get(f)!;
  assert.match(text('handler-pdb.yaml'), /selectorLabels" \(dict "root" \. "component" "handler"\)/);
  assert.match(text('handler-deployment.yaml'), /selectorLabels" \(dict "root" \. "component" "handler"\)/);
  assert.ok(handler);
  const nginxPdb = only('nginx-pdb.yaml', 'PodDisruptionBudget', 'policy/v1');
  assert.equal(get(nginxPdb, 'spec.maxUnavailable'), '⟦.Values.nginx.podDisruptionBudget.maxUnavailable⟧');
  assert.match(text('nginx-pdb.yaml'), /selectorLabels" \(dict "root" \. "component" "nginx"\)/);
});

test('kind: NGINX pods as a Deployment or a DaemonSet (a value), running `wharf agent` without API access', () => {
  const w = only('nginx-workload.yaml', '⟦.Values.nginx.kind⟧', 'apps/v1');
  assert.deepEqual(enumAt('nginx.kind'), ['Deployment', 'DaemonSet']);
  assert.equal(get(values, 'nginx.kind'), 'Deployment');
  const cs = containers(w);
  assert.equal(cs.length, 1, 'the agent supervises NGINX as its child: one container');
  assert.equal(cs[0]!.args![0], 'agent');
  assert.deepEqual(get(cs[0], 'readinessProbe.httpGet'), { path: '/nginx-ready', port: 'agent-api' });
  assert.deepEqual(get(cs[0], 'livenessProbe.httpGet'), { path: '/healthz', port: 'agent-api' });
  // Always a snapshot source: readiness waits for the complete configuration, never the kept or
  // empty one; and the prefix outlives a restarted container, so the kept one is served meanwhile.
  const args = cs[0]!.args as string[];
  assert.ok(args.includes("--snapshot-url=⟦include 'wharf.handlerEventsBase' .⟧/snapshot"), args.join(' '));
  assert.match(allTemplateTexts().get('_helpers.tpl')!, /define "wharf.handlerEventsBase" -\}\}https:\/\//);
  assert.ok(args.includes('--snapshot-token-file=/etc/wharf/tokens/agent-token'), args.join(' '));
  assert.ok(args.includes('--prefix=/var/lib/wharf/nginx'));
  assert.deepEqual((get(w, 'spec.template.spec.volumes') as Doc[]).find((v) => v.name === 'prefix'), { name: 'prefix', emptyDir: {} });
  assert.equal(get(w, 'spec.template.spec.automountServiceAccountToken'), false);
  const sa = only('nginx-workload.yaml', 'ServiceAccount', 'v1');
  assert.equal(sa.automountServiceAccountToken, false);
});

test('kind: LoadBalancer/NodePort Service mapping 80/443 to the NGINX container ports', () => {
  const svc = documentsOfKind('Service', 'v1').find((d) => d.file === 'nginx-service.yaml')!.doc;
  assert.equal(get(svc, 'spec.type'), '⟦.Values.nginx.service.type⟧');
  assert.ok(enumAt('nginx.service.type').includes('LoadBalancer') && enumAt('nginx.service.type').includes('NodePort'));
  assert.equal(get(values, 'nginx.service.type'), 'LoadBalancer');
  assert.deepEqual(get(values, 'nginx.service.ports'), { http: 80, https: 443 });
  const containerPorts = new Set(containers(only('nginx-workload.yaml', '⟦.Values.nginx.kind⟧', 'apps/v1'))[0]!.ports!.map((p) => p.name));
  // By default (service.targetPorts) each Service port goes to the container port of its name.
  for (const p of one(render(), 'Service', 'wharf-nginx').spec.ports as Doc[]) assert.ok(containerPorts.has(p.targetPort as string), `Service targetPort ${String(p.targetPort)} is no NGINX container port`);
  // With the default values: http and https (gatewayAPI.listenerPorts adds one a port).
  assert.deepEqual((one(render(), 'Service', 'wharf-nginx').spec.ports as Doc[]).map((p) => p.name), ['http', 'https']);
  // NGINX binds high ports as non-root; the Service, not a capability, gives it 80 and 443.
  for (const port of Object.values(get(values, 'nginx.ports') as Record<string, number>)) assert.ok(port > 1024);
});

test('kind: IngressClass with controller wharf.io/ingress-controller, default-class as a value', () => {
  const ic = only('ingressclass.yaml', 'IngressClass', 'networking.k8s.io/v1');
  assert.equal(get(ic, 'spec.controller'), 'wharf.io/ingress-controller');
  assert.equal(get(ic, 'metadata.name'), '⟦.Values.ingressClass.name⟧');
  assert.equal(get(values, 'ingressClass.name'), 'wharf');
  assert.equal((get(ic, 'metadata.annotations') as Doc)['ingressclass.kubernetes.io/is-default-class'], 'true');
  assert.match(templates().get('ingressclass.yaml')!, /if \.Values\.ingressClass\.default \}\}\s+annotations:\s+ingressclass\.kubernetes\.io\/is-default-class: "true"/);
  assert.equal(get(values, 'ingressClass.default'), false, 'not the default class while ingress-nginx may still run');
});

test('kind: ValidatingWebhookConfiguration (sideEffects None, v1 reviews, Equivalent, short timeout, failurePolicy a value)', () => {
  const vwc = only('handler-tls.yaml', 'ValidatingWebhookConfiguration', 'admissionregistration.k8s.io/v1');
  const hooks = vwc.webhooks as Doc[];
  // The second reviews the TCP and UDP services ConfigMaps, only with values tcp or udp (tests/chart/stream-services.test.ts).
  assert.deepEqual(hooks.map((w) => w.name), ['ingress.validate.wharf.io', 'services.validate.wharf.io']);
  const h = hooks[0]!;
  assert.equal(h.sideEffects, 'None');
  assert.deepEqual(h.admissionReviewVersions, ['v1']);
  assert.equal(h.matchPolicy, 'Equivalent');
  assert.equal(h.timeoutSeconds, '⟦.Values.webhook.timeoutSeconds⟧');
  assert.ok((get(values, 'webhook.timeoutSeconds') as number) <= 5);
  assert.equal(schemaAt(schema, 'webhook.timeoutSeconds')?.maximum, 30);
  assert.equal(h.failurePolicy, '⟦.Values.webhook.failurePolicy⟧');
  assert.deepEqual(enumAt('webhook.failurePolicy'), ['Fail', 'Ignore']);
  assert.deepEqual(h.rules, [
    { apiGroups: ['networking.k8s.io'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['ingresses'], scope: 'Namespaced' },
    // With gatewayAPI.enabled (tests/chart/gateway-api.test.ts).
    { apiGroups: ['gateway.networking.k8s.io'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['gatewayclasses'], scope: 'Cluster' },
    { apiGroups: ['gateway.networking.k8s.io'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['gateways', 'httproutes', 'grpcroutes', 'tlsroutes', 'tcproutes', 'udproutes', 'referencegrants'], scope: 'Namespaced' },
  ]);
  assert.deepEqual(get(h, 'clientConfig.service'), {
    name: "⟦include 'wharf.admissionName' .⟧",
    namespace: '⟦.Release.Namespace⟧',
    path: '/admission',
    port: 443,
  });
  assert.match(templates().get('handler-tls.yaml')!, /namespaceSelector:\n\s+\{\{- toYaml \. \| nindent 6 \}\}/);
  // Each default comes with its reasoning, in values.yaml and in the schema.
  const comments = valuesComments();
  for (const key of ['failurePolicy', 'timeoutSeconds', 'namespaceSelector']) {
    assert.match(comments.get(`webhook.${key}`) ?? '', /by default/, `values.yaml: webhook.${key} says why its default`);
    assert.match(String(get(schema, `properties.webhook.properties.${key}.description`)), /default/, `values.schema.json: webhook.${key} says why its default`);
  }
  assert.match(comments.get('webhook.failurePolicy')!, /first second/);
  assert.match(comments.get('webhook.failurePolicy')!, /Ignore is safe too/);
});

test('kind: the admission webhook\'s own Service reaches handler pods before they are ready (a starting handler answers admission; Ingress writes never wait for it)', () => {
  const svc = only('admission-service.yaml', 'Service', 'v1');
  assert.equal(get(svc, 'metadata.name'), "⟦include 'wharf.admissionName' .⟧");
  assert.equal(get(svc, 'spec.publishNotReadyAddresses'), true);
  const handlerService = only('handler-service.yaml', 'Service', 'v1');
  assert.deepEqual(get(svc, 'spec.selector'), get(handlerService, 'spec.selector'));
  // Only the admission port: events and snapshots are the handler Service's, for ready replicas.
  const handlerPorts = get(handlerService, 'spec.ports') as { name: string }[];
  assert.deepEqual(get(svc, 'spec.ports'), handlerPorts.filter((p) => p.name === 'https'));
  assert.equal(get(handlerService, 'spec.publishNotReadyAddresses'), undefined, 'events and snapshots go to ready replicas only');
  // The serving certificate names it, generated or from cert-manager.
  assert.match(templates().get('handler-tls.yaml')!, /\$names := list .*\$admission/);
  assert.match(templates().get('cert-manager.yaml')!, /- \{\{ include "wharf.admissionName" \. \}\}\.\{\{ \.Release\.Namespace \}\}\.svc\n/);
});

test('kind: the webhook serving certificate generated by the chart (genCA/genSignedCert, kept with lookup)', () => {
  const text = templates().get('handler-tls.yaml')!;
  const secret = only('handler-tls.yaml', 'Secret', 'v1');
  assert.equal(secret.type, 'kubernetes.io/tls');
  assert.deepEqual(Object.keys(secret.data as Doc).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
  assert.match(text, /lookup "v1" "Secret" \.Release\.Namespace \$secretName/);
  assert.match(text, /genCA /);
  assert.match(text, /genSignedCert \$host nil \$names/);
  // The caBundle is the CA of the same render, and with cert-manager it is injected instead.
  assert.match(text, /\$caBundle = \$ca\b/);
  assert.equal(get((only('handler-tls.yaml', 'ValidatingWebhookConfiguration', 'admissionregistration.k8s.io/v1').webhooks as Doc[])[0], 'clientConfig.caBundle'), '⟦$caBundle⟧');
  assert.match(text, /\{\{- if not \.Values\.certManager\.enabled \}\}\n\{\{- \$existing := /);
});

test('kind: cert-manager Issuer and Certificate (certManager.enabled), injected into the webhook', () => {
  const issuers = documentsOfKind('Issuer', 'cert-manager.io/v1').filter((d) => d.file === 'cert-manager.yaml');
  assert.equal(issuers.length, 2, 'a self-signed Issuer for the CA, a CA Issuer for the serving certificate');
  const certs = documentsOfKind('Certificate', 'cert-manager.io/v1').filter((d) => d.file === 'cert-manager.yaml');
  const serving = certs.find((c) => get(c.doc, 'spec.secretName') === "⟦include 'wharf.handlerTlsSecret' .⟧");
  assert.ok(serving, 'the serving Certificate writes the Secret the handler mounts');
  assert.equal(get(serving.doc, 'metadata.name'), "⟦include 'wharf.handlerName' .⟧");
  assert.ok((get(serving.doc, 'spec.dnsNames') as string[]).includes("⟦$host⟧"));
  const vwc = only('handler-tls.yaml', 'ValidatingWebhookConfiguration', 'admissionregistration.k8s.io/v1');
  assert.equal((get(vwc, 'metadata.annotations') as Doc)['cert-manager.io/inject-ca-from'], "⟦.Release.Namespace⟧/⟦include 'wharf.handlerName' .⟧");
  assert.match(templates().get('cert-manager.yaml')!, /^\{\{- if \.Values\.certManager\.enabled \}\}$/m);
});

/** Every RBAC rule the chart grants, with the file it is in. */
function rules(): { file: string; kind: string; name: unknown; rule: { apiGroups: string[]; resources: string[]; verbs: string[] } }[] {
  return templateDocuments()
    .filter((d) => d.doc.kind === 'ClusterRole' || d.doc.kind === 'Role')
    .flatMap((d) => (d.doc.rules as never[]).map((rule) => ({ file: d.file, kind: d.doc.kind as string, name: get(d.doc, 'metadata.name'), rule })));
}

test('kind: ClusterRole/Role/bindings with least privilege: reads, and only status, events and leases written', () => {
  const all = rules();
  assert.ok(all.length > 0);
  const writes = new Set(['create', 'update', 'patch', 'delete', 'deletecollection', 'escalate', 'bind', 'impersonate']);
  const allowedWrites: Record<string, string[]> = {
    'ingresses/status': ['update', 'patch'],
    'gatewayclasses/status': ['update', 'patch'],
    'gateways/status': ['update', 'patch'],
    'httproutes/status': ['update', 'patch'],
    'grpcroutes/status': ['update', 'patch'],
    'tlsroutes/status': ['update', 'patch'],
    'tcproutes/status': ['update', 'patch'],
    'udproutes/status': ['update', 'patch'],
    events: ['create', 'patch'],
    // Each replica deletes its own Lease when it stops, and the Lease of a replica long gone.
    leases: ['create', 'update', 'patch', 'delete'],
  };
  for (const { file, rule } of all) {
    for (const field of ['apiGroups', 'resources', 'verbs'] as const) assert.ok(!rule[field].includes('*'), `${file}: a wildcard in ${field}`);
    for (const resource of rule.resources) {
      for (const verb of rule.verbs.filter((v) => writes.has(v))) {
        assert.ok(allowedWrites[resource]?.includes(verb), `${file}: ${verb} on ${resource} is more than wharf needs`);
      }
    }
  }
  // Leases and the settings ConfigMap only in the release namespace (Role), never cluster-wide.
  for (const { file, kind, rule } of all) {
    if (rule.resources.includes('leases')) assert.equal(kind, 'Role', `${file}: leases must be namespaced`);
    if (rule.resources.includes('configmaps') && file !== 'knative-source.yaml') {
      assert.equal(kind, 'Role', `${file}: only wharf's own ConfigMap namespace`);
      assert.deepEqual((rule as { resourceNames?: string[] }).resourceNames, ["⟦include 'wharf.configName' . | quote⟧"], `${file}: only wharf's own ConfigMap`);
    }
  }
  // The handler tier reads every kind wharf routes from.
  const handlerReads = all.filter((r) => r.file === 'handler-rbac.yaml' && r.rule.verbs.includes('watch')).flatMap((r) => r.rule.resources);
  for (const resource of ['ingresses', 'ingressclasses', 'services', 'endpointslices', 'secrets', 'configmaps']) {
    assert.ok(handlerReads.includes(resource), `the handler tier cannot watch ${resource}`);
  }
  for (const kind of ['ClusterRoleBinding', 'RoleBinding']) {
    for (const { file, doc } of documentsOfKind(kind, 'rbac.authorization.k8s.io/v1')) {
      const subjects = doc.subjects as Doc[];
      assert.ok(!subjects.some((s) => s.name === "⟦include 'wharf.nginxName' .⟧"), `${file}: the NGINX pods must have no API rights`);
      assert.equal(get(doc, 'roleRef.name'), get(doc, 'metadata.name'), `${file}: ${kind} binds the role of its own name`);
    }
  }
});

test('kind: ServiceAccounts for the handler, the NGINX pods and the event source', () => {
  const names = documentsOfKind('ServiceAccount', 'v1').map((d) => get(d.doc, 'metadata.name'));
  for (const n of ["⟦include 'wharf.handlerName' .⟧", "⟦include 'wharf.nginxName' .⟧", "⟦include 'wharf.sourceName' .⟧"]) assert.ok(names.includes(n), `no ServiceAccount ${n}`);
});

test('kind: NetworkPolicies: webhook port from the control plane CIDRs, agent API only from the handler tier, NGINX open', () => {
  const policies = documentsOfKind('NetworkPolicy', 'networking.k8s.io/v1');
  const byName = (n: string): Doc => policies.find((p) => get(p.doc, 'metadata.name') === n)!.doc;
  const handler = byName("⟦include 'wharf.handlerName' .⟧");
  const handlerRules = get(handler, 'spec.ingress') as Doc[];
  assert.deepEqual(handlerRules[0], { from: [{ ipBlock: { cidr: '⟦.⟧' } }], ports: [{ port: 'https', protocol: 'TCP' }] });
  // The admission port takes the API server alone; everyone else (NGINX pods, the event sources,
  // scrapers) reaches the events port only.
  assert.deepEqual(handlerRules.slice(1).map((r) => r.ports), handlerRules.slice(1).map(() => [{ port: 'events', protocol: 'TCP' }]));
  assert.ok(handlerRules.length >= 5, 'NGINX pods, wharf source, Knative, other sources, scrapers');
  assert.match(templates().get('networkpolicy.yaml')!, /\{\{- range \.Values\.networkPolicy\.controlPlaneCIDRs \}\}\n\s+- ipBlock:/);
  assert.equal(schemaAt(schema, 'networkPolicy.controlPlaneCIDRs')?.minItems, 1, 'an empty `from` would admit everyone');
  const nginx = byName("⟦include 'wharf.nginxName' .⟧");
  const nginxRules = get(nginx, 'spec.ingress') as Doc[];
  assert.deepEqual(
    nginxRules[0],
    { ports: [{ port: 'http', protocol: 'TCP' }, { port: 'https', protocol: 'TCP' }, { port: 'gw-⟦.⟧', protocol: 'TCP' }, { port: 'gwu-⟦.⟧', protocol: 'UDP' }, { port: 'tcp-⟦$port⟧', protocol: 'TCP' }, { port: 'udp-⟦$port⟧', protocol: 'UDP' }] },
    'NGINX ports (and Gateway listener ports, TCP and UDP, TCP and UDP services) open to all',
  );
  const agentRules = nginxRules.filter((r) => (r.ports as Doc[]).some((p) => p.port === 'agent-api'));
  assert.ok(agentRules.length >= 1);
  // The first agent-api rule admits the handler pods; the only other one is the opt-in metrics peers.
  assert.match(templates().get('networkpolicy.yaml')!, /# The agent API: only the handler tier\.\n\s+- from:\n\s+- podSelector:\n\s+matchLabels:\n\s+\{\{- include "wharf\.selectorLabels" \(dict "root" \. "component" "handler"\)/);
  assert.equal(agentRules.length, 2);
  assert.match(templates().get('networkpolicy.yaml')!, /\{\{- with include "wharf\.metricsPeers" \. \}\}\n\s+# Metrics scrapers \(\/metrics on the agent port/);
  assert.deepEqual(get(values, 'networkPolicy.metricsFrom'), []);
});

test('the handler serves the webhook and the events on two ports, and every caller uses its own', () => {
  const [c] = containers(only('handler-deployment.yaml', 'Deployment', 'apps/v1'));
  assert.ok(c!.args!.includes('--listen=0.0.0.0:⟦.Values.handler.port⟧'));
  assert.ok(c!.args!.includes('--events-listen=0.0.0.0:⟦.Values.handler.eventsPort⟧'));
  assert.deepEqual(c!.ports!.map((p) => [p.name, p.containerPort]), [['https', '⟦.Values.handler.port⟧'], ['events', '⟦.Values.handler.eventsPort⟧']]);
  const svc = only('handler-service.yaml', 'Service', 'v1');
  assert.deepEqual(get(svc, 'spec.ports'), [
    { name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' },
    { name: 'events', port: '⟦.Values.handler.eventsPort⟧', targetPort: 'events', protocol: 'TCP' },
  ]);
  // The event source, the Trigger and the agents' snapshot go to the Service's events port.
  assert.match(readChartFile('templates/_helpers.tpl'), /\{\{- define "wharf\.handlerEventsBase" -\}\}https:\/\/\{\{ include "wharf\.handlerHost" \. \}\}:\{\{ \.Values\.handler\.eventsPort \}\}\{\{- end -\}\}/);
  const [agent] = containers(only('nginx-workload.yaml', '⟦.Values.nginx.kind⟧', 'apps/v1'));
  assert.ok(agent!.args!.includes("--snapshot-url=⟦include 'wharf.handlerEventsBase' .⟧/snapshot"));
  // The webhook's clientConfig stays on 443, the admission port.
  for (const [file, text] of allTemplateTexts()) assert.doesNotMatch(text, /handlerHost" \. \}\}\/(events|snapshot)/, file);
  assert.equal(get(values, 'handler.eventsPort'), 8444);
  assert.deepEqual(get(values, 'networkPolicy.eventSourceFrom'), []);
  assert.match(templates().get('networkpolicy.yaml')!, /\{\{- with \.Values\.networkPolicy\.eventSourceFrom \}\}\n\s+# Other event sources\.\n\s+- from:\n\s+\{\{- toYaml \. \| nindent 8 \}\}\n\s+ports:\n\s+- port: events/);
});

test('kind: the agent token Secret, generated and kept across upgrades with lookup', () => {
  const secret = only('tokens-secret.yaml', 'Secret', 'v1');
  assert.deepEqual(Object.keys(secret.data as Doc).sort(), ['agent-token', 'events-token']);
  const text = templates().get('tokens-secret.yaml')!;
  assert.match(text, /lookup "v1" "Secret" \.Release\.Namespace \$name/);
  assert.match(text, /get \$existing "agent-token" \| default \(randAlphaNum 48 \| b64enc\)/);
  // The NGINX pods get the agent token only; `wharf source` the events token only.
  const nginx = only('nginx-workload.yaml', '⟦.Values.nginx.kind⟧', 'apps/v1');
  const tokenVolume = (d: Doc) => (get(d, 'spec.template.spec.volumes') as Doc[]).find((v) => v.name === 'tokens');
  assert.deepEqual(get(tokenVolume(nginx), 'secret.items'), [{ key: 'agent-token', path: 'agent-token' }]);
  const source = only('source-deployment.yaml', 'Deployment', 'apps/v1');
  assert.deepEqual(get(tokenVolume(source), 'secret.items'), [{ key: 'events-token', path: 'events-token' }]);
});

test('kind: `wharf source` Deployment posting to the handler Service (source.mode wharf)', () => {
  const d = only('source-deployment.yaml', 'Deployment', 'apps/v1');
  const [c] = containers(d);
  assert.equal(c!.args![0], 'source');
  assert.ok(c!.args!.includes("--handler-url=⟦include 'wharf.handlerEventsBase' .⟧/events"), 'to the events port');
  assert.deepEqual(enumAt('source.mode'), ['wharf', 'knative', 'none']);
  assert.match(templates().get('source-deployment.yaml')!, /^\{\{- if eq \.Values\.source\.mode "wharf" \}\}$/m);
});

test('kind: Knative ApiServerSource (sources.knative.dev/v1) watching exactly the kinds the handler accepts', () => {
  const src = only('knative-source.yaml', 'ApiServerSource', 'sources.knative.dev/v1');
  // The TCP and UDP services ConfigMaps (values tcp and udp) are a second ConfigMap entry: tests/chart/stream-services.test.ts.
  const watched = [...new Set((get(src, 'spec.resources') as { apiVersion: string; kind: string }[]).map((r) => `${r.apiVersion} ${r.kind}`))].sort();
  const accepted = KINDS.map((k) => `${API_VERSIONS[k]} ${k}`).sort();
  assert.deepEqual(watched, accepted);
  assert.deepEqual(get(src, 'spec.namespaceSelector'), {}, 'an empty selector: every namespace');
  assert.equal(get(src, 'spec.mode'), '⟦.Values.source.knative.eventMode⟧');
  assert.equal(get(values, 'source.knative.eventMode'), 'Reference');
  assert.match(templates().get('knative-source.yaml')!, /^\{\{- if eq \.Values\.source\.mode "knative" \}\}$/m);
});

test('kind: Knative Trigger (eventing.knative.dev/v1) delivering this release\'s events to /events over HTTPS', () => {
  const trigger = only('handler-tls.yaml', 'Trigger', 'eventing.knative.dev/v1');
  const src = only('knative-source.yaml', 'ApiServerSource', 'sources.knative.dev/v1');
  assert.equal(get(trigger, 'spec.subscriber.uri'), "⟦include 'wharf.handlerEventsBase' .⟧/events");
  assert.equal(get(trigger, 'spec.subscriber.CACerts'), '⟦$caBundle | b64dec | quote⟧');
  assert.equal(get(trigger, 'spec.filter.attributes.wharfsource'), get(src, 'spec.ceOverrides.extensions.wharfsource'));
  assert.equal(get(trigger, 'spec.broker'), get(src, 'spec.sink.ref.name'));
});

test('kind: the global settings ConfigMap, selected by the ApiServerSource by its labels', () => {
  const cm = only('configmap.yaml', 'ConfigMap', 'v1');
  assert.equal((get(cm, 'metadata.labels') as Doc)['app.kubernetes.io/component'], 'config');
  assert.match(templates().get('knative-source.yaml')!, /kind: ConfigMap\n\s+selector:\n\s+matchLabels:\n\s+\{\{- include "wharf\.selectorLabels" \(dict "root" \. "component" "config"\)/);
});

test('probes, resource requests and the security context on every workload', () => {
  const workloads: TemplateDocument[] = templateDocuments().filter((d) => d.doc.apiVersion === 'apps/v1');
  assert.equal(workloads.length, 3);
  for (const { file, doc } of workloads) {
    const text = templates().get(file)!;
    assert.match(text, /securityContext:\n\s+\{\{- toYaml \.Values\.podSecurityContext \| nindent 8 \}\}/, `${file}: pod security context`);
    assert.match(text, /securityContext:\n\s+\{\{- toYaml \.Values\.containerSecurityContext \| nindent 12 \}\}/, `${file}: container security context`);
    for (const c of containers(doc)) {
      assert.ok('resources' in c, `${file}: container ${c.name} without resources`);
      assert.ok(c.readinessProbe && c.livenessProbe, `${file}: container ${c.name} without probes`);
    }
  }
  for (const component of ['handler', 'nginx', 'source']) {
    const requests = get(values, `${component}.resources.requests`) as Doc;
    assert.ok(requests.cpu && requests.memory, `${component}: no cpu and memory requests`);
  }
  assert.equal(get(values, 'podSecurityContext.runAsNonRoot'), true);
  assert.equal(get(values, 'containerSecurityContext.allowPrivilegeEscalation'), false);
  assert.equal(get(values, 'containerSecurityContext.readOnlyRootFilesystem'), true);
  assert.deepEqual(get(values, 'containerSecurityContext.capabilities'), { drop: ['ALL'] });
});

test('a NGINX pod drains longer than old workers live, so termination never cuts them off', () => {
  const n = values.nginx as Record<string, number>;
  assert.ok(n.terminationGracePeriodSeconds! > n.preStopDelaySeconds! + n.workerShutdownTimeoutSeconds!);
});
