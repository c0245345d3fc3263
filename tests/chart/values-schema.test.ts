// values.yaml validates against values.schema.json (JSON Schema draft-07, as Helm checks it on
// install, upgrade, lint and template), and the schema refuses what would break the chart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv, type ErrorObject } from 'ajv';
import { valuesSchema, valuesYaml } from './chart-files.ts';

const ajv = new Ajv({ allErrors: true, strict: true });
const validate = ajv.compile(valuesSchema());

type Values = Record<string, any>;
const withValues = (change: (v: Values) => void): Values => {
  const v = structuredClone(valuesYaml()) as Values;
  change(v);
  return v;
};
const describe = (errors: ErrorObject[] | null | undefined): string => (errors ?? []).map((e) => `${e.instancePath} ${e.message}`).join('; ');

test('values.yaml is valid against values.schema.json', () => {
  assert.ok(validate(valuesYaml()), describe(validate.errors));
});

const accepted: { name: string; change: (v: Values) => void }[] = [
  { name: 'NGINX as a DaemonSet with hostPorts and a NodePort Service', change: (v) => { v.nginx.kind = 'DaemonSet'; v.nginx.hostPorts.enabled = true; v.nginx.service.type = 'NodePort'; v.nginx.service.nodePorts.http = 30080; } },
  { name: 'Knative source with cert-manager and its CA', change: (v) => { v.source.mode = 'knative'; v.certManager.enabled = true; v.source.knative.caCert = '-----BEGIN CERTIFICATE-----\n…'; } },
  { name: 'a default backend Service', change: (v) => { v.handler.defaultBackendService = 'wharf/error-pages'; } },
  { name: 'a number of worker processes', change: (v) => { v.nginx.workerProcesses = 4; } },
  { name: 'global settings as strings', change: (v) => { v.config = { 'proxy-body-size': '8m', 'ssl-redirect': 'false' }; } },
  { name: 'control plane CIDRs, IPv4 and IPv6', change: (v) => { v.networkPolicy.controlPlaneCIDRs = ['10.0.0.0/16', 'fd00::/64']; } },
  { name: 'a webhook namespace selector', change: (v) => { v.webhook.namespaceSelector = { matchExpressions: [{ key: 'team', operator: 'In', values: ['a'] }] }; } },
  { name: 'ingress-nginx-style values: extraArgs as a map, numbers and booleans in config, "" node ports', change: (v) => { v.handler.extraArgs = { 'default-ssl-certificate': 'default/tls', 'watch-ingress-without-class': true }; v.config = { 'proxy-connect-timeout': 10, 'use-forwarded-headers': true }; v.nginx.service.nodePorts = { http: '', https: '' }; } },
  { name: 'every Prometheus object on, in another namespace', change: (v) => { v.metrics = { ...v.metrics, enabled: true, serviceMonitor: { ...v.metrics.serviceMonitor, enabled: true, namespace: 'monitoring', namespaceSelector: { any: true }, scrapeTimeout: '10s' }, podMonitor: { ...v.metrics.podMonitor, enabled: true }, prometheusRule: { ...v.metrics.prometheusRule, enabled: true, rules: [{ alert: 'X', expr: 'up == 0' }] } }; } },
  { name: 'a PDB minAvailable as a percentage', change: (v) => { v.nginx.podDisruptionBudget.minAvailable = '50%'; } },
  { name: 'a dual-stack Service', change: (v) => { v.nginx.service.ipFamilyPolicy = 'RequireDualStack'; v.nginx.service.ipFamilies = ['IPv4', 'IPv6']; } },
];

for (const c of accepted) {
  test(`schema accepts: ${c.name}`, () => {
    const v = withValues(c.change);
    assert.ok(validate(v), describe(validate.errors));
  });
}

const refused: { name: string; change: (v: Values) => void; path: string; keyword: string }[] = [
  { name: 'replicas as a string', change: (v) => { v.handler.replicas = 'two'; }, path: '/handler/replicas', keyword: 'type' },
  { name: 'a misspelt key', change: (v) => { v.handler.replica = 3; }, path: '/handler', keyword: 'additionalProperties' },
  { name: 'a StatefulSet for NGINX', change: (v) => { v.nginx.kind = 'StatefulSet'; }, path: '/nginx/kind', keyword: 'enum' },
  { name: 'failurePolicy Allow', change: (v) => { v.webhook.failurePolicy = 'Allow'; }, path: '/webhook/failurePolicy', keyword: 'enum' },
  { name: 'a webhook timeout above the API server\'s 30 s', change: (v) => { v.webhook.timeoutSeconds = 31; }, path: '/webhook/timeoutSeconds', keyword: 'maximum' },
  { name: 'a snippet mode wharf does not have', change: (v) => { v.handler.snippets = 'unsafe'; }, path: '/handler/snippets', keyword: 'enum' },
  { name: 'a default backend without its namespace', change: (v) => { v.handler.defaultBackendService = 'error-pages'; }, path: '/handler/defaultBackendService', keyword: 'pattern' },
  { name: 'an unknown source mode', change: (v) => { v.source.mode = 'kafka'; }, path: '/source/mode', keyword: 'enum' },
  { name: 'no control plane CIDR (would admit every pod)', change: (v) => { v.networkPolicy.controlPlaneCIDRs = []; }, path: '/networkPolicy/controlPlaneCIDRs', keyword: 'minItems' },
  { name: 'a CIDR that is a host name', change: (v) => { v.networkPolicy.controlPlaneCIDRs = ['api.example.com']; }, path: '/networkPolicy/controlPlaneCIDRs/0', keyword: 'pattern' },
  { name: 'a port above 65535', change: (v) => { v.nginx.ports.http = 70000; }, path: '/nginx/ports/http', keyword: 'maximum' },
  { name: 'a node port outside 30000-32767', change: (v) => { v.nginx.service.nodePorts.http = 80; }, path: '/nginx/service/nodePorts/http', keyword: 'anyOf' },
  { name: 'a setting that is a map (the ConfigMap holds strings; numbers and booleans are quoted)', change: (v) => { v.config = { 'proxy-read-timeout': { seconds: 60 } }; }, path: '/config/proxy-read-timeout', keyword: 'anyOf' },
  { name: 'a relist interval that is not a duration', change: (v) => { v.handler.relistInterval = '5 minutes'; }, path: '/handler/relistInterval', keyword: 'pattern' },
  { name: 'a compound relist interval (wharf reads one number and one unit)', change: (v) => { v.handler.relistInterval = '1h30m'; }, path: '/handler/relistInterval', keyword: 'pattern' },
  { name: 'a cert-manager duration without a unit', change: (v) => { v.certManager.duration = '2160'; }, path: '/certManager/duration', keyword: 'pattern' },
  { name: 'an IngressClass name that is not a DNS label', change: (v) => { v.ingressClass.name = 'Wharf_Class'; }, path: '/ingressClass/name', keyword: 'pattern' },
  { name: 'autoscaling to 0 replicas', change: (v) => { v.handler.autoscaling.minReplicas = 0; }, path: '/handler/autoscaling/minReplicas', keyword: 'minimum' },
  { name: 'a boolean as a string', change: (v) => { v.networkPolicy.enabled = 'yes'; }, path: '/networkPolicy/enabled', keyword: 'type' },
  { name: 'an endpoint mode NGINX does not have', change: (v) => { v.nginx.endpointMode = 'dns'; }, path: '/nginx/endpointMode', keyword: 'enum' },
  { name: 'replicas, the old name of replicaCount', change: (v) => { v.nginx.replicas = 3; }, path: '/nginx', keyword: 'additionalProperties' },
  { name: 'a digest that is a tag', change: (v) => { v.image.digest = 'v1.2.3'; }, path: '/image/digest', keyword: 'pattern' },
  { name: 'an extraArgs map key with its dashes (--flag)', change: (v) => { v.handler.extraArgs = { '--publish-address': '1.2.3.4' }; }, path: '/handler/extraArgs', keyword: 'propertyNames' },
  { name: 'a probe\'s httpGet (the probed paths are wharf\'s)', change: (v) => { v.nginx.livenessProbe.httpGet = { path: '/' }; }, path: '/nginx/livenessProbe', keyword: 'additionalProperties' },
  { name: 'an ipFamilyPolicy Kubernetes does not have', change: (v) => { v.nginx.service.ipFamilyPolicy = 'DualStack'; }, path: '/nginx/service/ipFamilyPolicy', keyword: 'enum' },
  { name: 'a 5xx ratio above 1', change: (v) => { v.metrics.prometheusRule.defaultRules.errorRatio = 5; }, path: '/metrics/prometheusRule/defaultRules/errorRatio', keyword: 'maximum' },
  { name: 'a default certificate without its namespace', change: (v) => { v.handler.defaultSSLCertificate = 'wildcard-tls'; }, path: '/handler/defaultSSLCertificate', keyword: 'pattern' },
  { name: 'a scrape interval without a unit', change: (v) => { v.metrics.serviceMonitor.scrapeInterval = '30'; }, path: '/metrics/serviceMonitor/scrapeInterval', keyword: 'pattern' },
];

for (const c of refused) {
  test(`schema refuses: ${c.name}`, () => {
    const v = withValues(c.change);
    assert.equal(validate(v), false, `${c.name} was accepted`);
    const hit = (validate.errors ?? []).find((e) => e.instancePath === c.path && e.keyword === c.keyword);
    assert.ok(hit, `expected ${c.keyword} at ${c.path}, got: ${describe(validate.errors)}`);
  });
}
