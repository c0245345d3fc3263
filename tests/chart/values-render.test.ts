// The values people set on ingress-nginx's chart (issue 18), each rendered and checked in the
// objects it must change: the NGINX Service, status publishing, rollout and placement of the NGINX
// pods, and the Prometheus and Grafana objects. Rendered by render.ts (helm template's stand-in).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './chart-files.ts';
import { ofKind, one, render, RenderError, type RenderedObject, type Values } from './render.ts';

type Doc = Record<string, any>;

const nginxWorkload = (objects: RenderedObject[], kind = 'Deployment'): Doc => one(objects, kind, 'wharf-nginx');
const nginxPod = (objects: RenderedObject[], kind = 'Deployment'): Doc => nginxWorkload(objects, kind).spec.template.spec;
const nginxContainer = (objects: RenderedObject[]): Doc => nginxPod(objects).containers.find((c: Doc) => c.name === 'nginx');
const handlerArgs = (values: Values): string[] => one(render(values), 'Deployment', 'wharf-handler').spec.template.spec.containers[0].args;
const service = (values: Values): Doc => one(render({ nginx: { service: values } }), 'Service', 'wharf-nginx');

// --- The NGINX Service ------------------------------------------------------------------------

test('service: loadBalancerIP, loadBalancerClass, loadBalancerSourceRanges, labels and annotations', () => {
  const svc = service({
    loadBalancerIP: '203.0.113.10',
    loadBalancerClass: 'service.k8s.aws/nlb',
    loadBalancerSourceRanges: ['10.0.0.0/8'],
    labels: { team: 'edge' },
    annotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'external' },
  });
  assert.equal(svc.spec.loadBalancerIP, '203.0.113.10');
  assert.equal(svc.spec.loadBalancerClass, 'service.k8s.aws/nlb');
  assert.deepEqual(svc.spec.loadBalancerSourceRanges, ['10.0.0.0/8']);
  assert.equal(svc.metadata.labels.team, 'edge');
  assert.equal(svc.metadata.labels['app.kubernetes.io/component'], 'nginx');
  assert.deepEqual(svc.metadata.annotations, { 'service.beta.kubernetes.io/aws-load-balancer-type': 'external' });
});

test('service: none of the load balancer fields by default, nor on a NodePort or ClusterIP Service', () => {
  const dflt = service({});
  for (const key of ['loadBalancerIP', 'loadBalancerClass', 'loadBalancerSourceRanges', 'externalIPs', 'ipFamilyPolicy', 'ipFamilies']) assert.equal(key in dflt.spec, false, key);
  assert.equal(dflt.spec.type, 'LoadBalancer');
  assert.equal(dflt.spec.externalTrafficPolicy, 'Local');
  const nodePort = service({ type: 'NodePort', loadBalancerIP: '203.0.113.10', loadBalancerSourceRanges: ['10.0.0.0/8'] });
  assert.equal(nodePort.spec.loadBalancerIP, undefined);
  assert.equal(nodePort.spec.loadBalancerSourceRanges, undefined);
  const clusterIP = service({ type: 'ClusterIP', externalTrafficPolicy: 'Cluster' });
  assert.equal(clusterIP.spec.externalTrafficPolicy, undefined, 'Kubernetes refuses externalTrafficPolicy on a ClusterIP Service');
});

test('service: type and externalTrafficPolicy as set', () => {
  const svc = service({ type: 'NodePort', externalTrafficPolicy: 'Cluster', nodePorts: { http: 30080, https: '' } });
  assert.equal(svc.spec.type, 'NodePort');
  assert.equal(svc.spec.externalTrafficPolicy, 'Cluster');
  assert.deepEqual(svc.spec.ports.map((p: Doc) => p.nodePort), [30080, undefined], 'ingress-nginx writes "" for a node port Kubernetes picks');
});

test('service: targetPorts send HTTPS to NGINX\'s plain port when the load balancer terminates TLS', () => {
  assert.deepEqual(service({}).spec.ports.map((p: Doc) => [p.name, p.port, p.targetPort]), [['http', 80, 'http'], ['https', 443, 'https']]);
  assert.deepEqual(service({ targetPorts: { https: 'http' } }).spec.ports.map((p: Doc) => [p.name, p.port, p.targetPort]), [['http', 80, 'http'], ['https', 443, 'http']]);
  assert.deepEqual(service({ targetPorts: { http: 8080 } }).spec.ports[0].targetPort, 8080);
});

test('service: ipFamilyPolicy, ipFamilies and externalIPs', () => {
  const svc = service({ ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv6', 'IPv4'], externalIPs: ['198.51.100.5'] });
  assert.equal(svc.spec.ipFamilyPolicy, 'PreferDualStack');
  assert.deepEqual(svc.spec.ipFamilies, ['IPv6', 'IPv4']);
  assert.deepEqual(svc.spec.externalIPs, ['198.51.100.5']);
  assert.throws(() => service({ ipFamilies: ['IPv5'] }), /ipFamilies\/0 must be equal to one of the allowed values/);
});

// --- Status and the handler's flags ----------------------------------------------------------

test('handler: watchIngressWithoutClass, defaultSSLCertificate, and extraArgs as a list or as ingress-nginx\'s map', () => {
  const dflt = handlerArgs({});
  assert.equal(dflt.some((a) => a.startsWith('--watch-ingress-without-class') || a.startsWith('--default-ssl-certificate')), false);
  const args = handlerArgs({ handler: { watchIngressWithoutClass: true, defaultSSLCertificate: 'default/wildcard-tls' } });
  assert.ok(args.includes('--watch-ingress-without-class'));
  assert.ok(args.includes('--default-ssl-certificate=default/wildcard-tls'));
  assert.throws(() => handlerArgs({ handler: { defaultSSLCertificate: 'wildcard-tls' } }), /defaultSSLCertificate must match pattern/, 'NAMESPACE/NAME');
  const fromMap = handlerArgs({ handler: { extraArgs: { 'default-ssl-certificate': 'default/wildcard-tls', 'watch-ingress-without-class': '', 'relist-interval': '10m', 'no-watch': true, 'no-list': false } } });
  // wharf's switches take no value: true (or "") is the bare flag, false leaves it out.
  assert.deepEqual(fromMap.slice(-4), ['--default-ssl-certificate=default/wildcard-tls', '--no-watch', '--relist-interval=10m', '--watch-ingress-without-class']);
  assert.equal(fromMap.some((a) => a.startsWith('--no-list')), false);
  assert.deepEqual(handlerArgs({ handler: { extraArgs: ['--relist-interval=10m'] } }).at(-1), '--relist-interval=10m');
  assert.deepEqual(nginxContainer(render({ nginx: { extraArgs: { 'ipv6-listen': 'off' } } })).args.at(-1), '--ipv6-listen=off');
});

test('config: strings, numbers and booleans are written as strings, as ingress-nginx writes them', () => {
  const cm = one(render({ config: { 'proxy-body-size': '8m', 'proxy-read-timeout': 600, 'use-forwarded-headers': true } }), 'ConfigMap', 'wharf-config');
  assert.deepEqual(cm.data, { 'proxy-body-size': '8m', 'proxy-read-timeout': '600', 'use-forwarded-headers': 'true' });
});

// --- Rollout and placement of the NGINX pods ---------------------------------------------------

test('nginx: replicaCount, minReadySeconds, revisionHistoryLimit (every workload) and the default rolling update', () => {
  const objects = render({ nginx: { replicaCount: 5, minReadySeconds: 10 }, revisionHistoryLimit: 3 });
  const d = nginxWorkload(objects);
  assert.equal(d.spec.replicas, 5);
  assert.equal(d.spec.minReadySeconds, 10);
  for (const w of objects.filter((o) => o.doc.apiVersion === 'apps/v1')) assert.equal(w.doc.spec.revisionHistoryLimit, 3, w.file);
  assert.deepEqual(d.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
  assert.deepEqual(nginxWorkload(render({ nginx: { kind: 'DaemonSet' } }), 'DaemonSet').spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } });
});

test('nginx: updateStrategy replaces the chart\'s, on a Deployment and on a DaemonSet', () => {
  const strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 1 } };
  assert.deepEqual(nginxWorkload(render({ nginx: { updateStrategy: strategy } })).spec.strategy, strategy);
  const ds = nginxWorkload(render({ nginx: { kind: 'DaemonSet', updateStrategy: { type: 'OnDelete' } } }), 'DaemonSet');
  assert.deepEqual(ds.spec.updateStrategy, { type: 'OnDelete' });
  assert.equal(ds.spec.replicas, undefined);
});

test('nginx: an HPA for the NGINX Deployment (CPU, memory, behavior), which then owns the replica count', () => {
  assert.equal(ofKind(render(), 'HorizontalPodAutoscaler').filter((h) => h.metadata.name === 'wharf-nginx').length, 0);
  const behavior = { scaleDown: { stabilizationWindowSeconds: 600 } };
  const objects = render({ nginx: { autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 20, targetCPUUtilizationPercentage: 60, targetMemoryUtilizationPercentage: 80, behavior, annotations: { a: 'b' } } } });
  const hpa = one(objects, 'HorizontalPodAutoscaler', 'wharf-nginx');
  assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'wharf-nginx' });
  assert.equal(hpa.spec.minReplicas, 3);
  assert.equal(hpa.spec.maxReplicas, 20);
  assert.deepEqual(hpa.spec.metrics.map((m: Doc) => [m.resource.name, m.resource.target.averageUtilization]), [['cpu', 60], ['memory', 80]]);
  assert.deepEqual(hpa.spec.behavior, behavior);
  assert.deepEqual(hpa.metadata.annotations, { a: 'b' });
  assert.equal(nginxWorkload(objects).spec.replicas, undefined, 'the HPA sets the count; a replicas field would reset it on every upgrade');
  // Memory off by default (0): NGINX's memory does not fall when load does.
  assert.deepEqual(one(render({ nginx: { autoscaling: { enabled: true } } }), 'HorizontalPodAutoscaler', 'wharf-nginx').spec.metrics.map((m: Doc) => m.resource.name), ['cpu']);
  assert.equal(ofKind(render({ nginx: { kind: 'DaemonSet', autoscaling: { enabled: true } } }), 'HorizontalPodAutoscaler').filter((h) => h.metadata.name === 'wharf-nginx').length, 0, 'no HPA for a DaemonSet');
});

test('nginx: PodDisruptionBudget minAvailable (number or percentage) in place of maxUnavailable', () => {
  assert.deepEqual(one(render(), 'PodDisruptionBudget', 'wharf-nginx').spec.maxUnavailable, 1);
  const pdb = one(render({ nginx: { podDisruptionBudget: { minAvailable: 2 } } }), 'PodDisruptionBudget', 'wharf-nginx');
  assert.equal(pdb.spec.minAvailable, 2);
  assert.equal(pdb.spec.maxUnavailable, undefined, 'a PDB takes one of the two');
  assert.equal(one(render({ nginx: { podDisruptionBudget: { minAvailable: '50%' } } }), 'PodDisruptionBudget', 'wharf-nginx').spec.minAvailable, '50%');
  assert.equal(one(render({ nginx: { podDisruptionBudget: { minAvailable: 0 } } }), 'PodDisruptionBudget', 'wharf-nginx').spec.minAvailable, 0, '0 is a value, not "unset"');
});

test('nginx: probe timings as values, the probed paths unchanged', () => {
  const c = nginxContainer(render({ nginx: { readinessProbe: { periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 3 }, livenessProbe: { initialDelaySeconds: 10, periodSeconds: 20 } } }));
  assert.deepEqual(c.readinessProbe, { httpGet: { path: '/nginx-ready', port: 'agent-api' }, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 3, successThreshold: 1, initialDelaySeconds: 0 });
  assert.deepEqual(c.livenessProbe, { httpGet: { path: '/healthz', port: 'agent-api' }, periodSeconds: 20, timeoutSeconds: 1, failureThreshold: 3, successThreshold: 1, initialDelaySeconds: 10 });
  assert.throws(() => render({ nginx: { readinessProbe: { httpGet: { path: '/healthz' } } } }), /readinessProbe must NOT have additional properties/, 'the probed path is wharf\'s');
});

test('nginx: hostNetwork with dnsPolicy ClusterFirstWithHostNet unless dnsPolicy says otherwise', () => {
  const dflt = nginxPod(render());
  assert.equal(dflt.hostNetwork, undefined);
  assert.equal(dflt.dnsPolicy, undefined);
  const host = nginxPod(render({ nginx: { kind: 'DaemonSet', hostNetwork: true } }), 'DaemonSet');
  assert.equal(host.hostNetwork, true);
  assert.equal(host.dnsPolicy, 'ClusterFirstWithHostNet');
  assert.equal(nginxPod(render({ nginx: { hostNetwork: true, dnsPolicy: 'ClusterFirst' } })).dnsPolicy, 'ClusterFirst');
  assert.equal(nginxPod(render({ nginx: { dnsPolicy: 'Default' } })).dnsPolicy, 'Default');
});

test('nginx: topologySpreadConstraints replace the chart\'s spread; a constraint without a labelSelector gets the NGINX pods\'', () => {
  const selector = { 'app.kubernetes.io/component': 'nginx', 'app.kubernetes.io/instance': 'wharf', 'app.kubernetes.io/name': 'wharf' };
  assert.deepEqual(nginxPod(render()).topologySpreadConstraints, [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selector } }]);
  const tsc = nginxPod(render({ nginx: { topologySpreadConstraints: [
    { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule' },
    { maxSkew: 2, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'x' } } },
  ] } })).topologySpreadConstraints;
  assert.deepEqual(tsc, [
    { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: selector } },
    { maxSkew: 2, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'x' } } },
  ]);
});

test('nginx: extra volumes and mounts, init containers, sidecars and pod labels', () => {
  const objects = render({ nginx: {
    extraVolumes: [{ name: 'geoip', configMap: { name: 'geoip' } }],
    extraVolumeMounts: [{ name: 'geoip', mountPath: '/etc/geoip', readOnly: true }],
    extraInitContainers: [{ name: 'sysctl', image: 'busybox', command: ['sysctl', '-w', 'net.core.somaxconn=32768'] }],
    extraContainers: [{ name: 'log-shipper', image: 'fluent-bit' }],
    podLabels: { team: 'edge' },
  } });
  const pod = nginxPod(objects);
  assert.deepEqual(pod.volumes.at(-1), { name: 'geoip', configMap: { name: 'geoip' } });
  assert.ok(pod.volumes.some((v: Doc) => v.name === 'prefix'), 'the chart\'s volumes stay');
  assert.deepEqual(nginxContainer(objects).volumeMounts.at(-1), { name: 'geoip', mountPath: '/etc/geoip', readOnly: true });
  assert.deepEqual(pod.initContainers.map((c: Doc) => c.name), ['sysctl']);
  assert.deepEqual(pod.containers.map((c: Doc) => c.name), ['nginx', 'log-shipper']);
  assert.equal(nginxWorkload(objects).spec.template.metadata.labels.team, 'edge');
  assert.equal(nginxWorkload(objects).spec.selector.matchLabels.team, undefined, 'a pod label never joins the selector (it is immutable)');
  assert.equal(nginxPod(render()).initContainers, undefined);
});

test('image: a digest pins every container; serviceAccount.annotations on every ServiceAccount', () => {
  const digest = `sha256:${'a'.repeat(64)}`;
  const objects = render({ image: { repository: 'registry.example/wharf', tag: '1.2.3', digest }, serviceAccount: { annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/wharf' } } });
  for (const w of objects.filter((o) => o.doc.apiVersion === 'apps/v1')) {
    for (const c of w.doc.spec.template.spec.containers) assert.equal(c.image, `registry.example/wharf:1.2.3@${digest}`, w.file);
  }
  assert.equal(nginxContainer(render()).image, 'wharf:0.1.0');
  const accounts = ofKind(objects, 'ServiceAccount');
  assert.deepEqual(accounts.map((a) => a.metadata.name).sort(), ['wharf-handler', 'wharf-nginx', 'wharf-source']);
  for (const a of accounts) assert.deepEqual(a.metadata.annotations, { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/wharf' }, a.metadata.name);
  assert.throws(() => render({ image: { digest: 'latest' } }), RenderError);
});

// --- Prometheus and Grafana ---------------------------------------------------------------------

const metricsOn = { metrics: { enabled: true } };

test('metrics.enabled: a metrics Service over the agents\' port and one over the handlers\' events port', () => {
  assert.equal(ofKind(render(), 'Service').filter((s) => s.metadata.name.endsWith('-metrics')).length, 0);
  const objects = render({ metrics: { enabled: true, service: { labels: { scrape: 'yes' }, annotations: { 'prometheus.io/scrape': 'true' } } } });
  const agents = one(objects, 'Service', 'wharf-nginx-metrics');
  assert.deepEqual(agents.spec.ports, [{ name: 'agent-metrics', port: 7071, targetPort: 'agent-api', protocol: 'TCP' }]);
  assert.equal(agents.spec.selector['app.kubernetes.io/component'], 'nginx');
  const handlers = one(objects, 'Service', 'wharf-handler-metrics');
  assert.deepEqual(handlers.spec.ports, [{ name: 'handler-metrics', port: 8444, targetPort: 'events', protocol: 'TCP' }]);
  assert.equal(handlers.spec.selector['app.kubernetes.io/component'], 'handler');
  for (const s of [agents, handlers]) {
    assert.equal(s.spec.type, 'ClusterIP');
    assert.equal(s.metadata.labels.scrape, 'yes');
    assert.equal(s.metadata.labels['app.kubernetes.io/component'], 'metrics');
    assert.deepEqual(s.metadata.annotations, { 'prometheus.io/scrape': 'true' });
  }
});

test('NetworkPolicy: scrapers reach the agents\' and the handlers\' metrics ports once metrics are on', () => {
  const scrapeRules = (objects: RenderedObject[]) => ['wharf-handler', 'wharf-nginx'].map((name) => {
    const rules = one(objects, 'NetworkPolicy', name).spec.ingress as Doc[];
    return rules.filter((r) => r.from?.some((p: Doc) => p.podSelector?.matchLabels?.['app.kubernetes.io/name'] === 'prometheus' || p.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'monitoring'));
  });
  assert.deepEqual(scrapeRules(render()), [[], []], 'no scraper admitted while metrics are off');
  const prometheus = { namespaceSelector: {}, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } };
  for (const values of [metricsOn, { metrics: { serviceMonitor: { enabled: true } } }, { metrics: { podMonitor: { enabled: true } } }]) {
    const [handler, nginx] = scrapeRules(render(values));
    assert.deepEqual(handler, [{ from: [prometheus], ports: [{ port: 'events', protocol: 'TCP' }] }], JSON.stringify(values));
    assert.deepEqual(nginx, [{ from: [prometheus], ports: [{ port: 'agent-api', protocol: 'TCP' }] }], JSON.stringify(values));
  }
  const mine = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } };
  const [handler, nginx] = scrapeRules(render({ ...metricsOn, networkPolicy: { metricsFrom: [mine] } }));
  assert.deepEqual(handler!.map((r) => r.from), [[mine]], 'networkPolicy.metricsFrom replaces the default peer');
  assert.deepEqual(nginx!.map((r) => r.from), [[mine]]);
});

test('ServiceMonitor: both metrics Services, the handler over HTTPS with the chart\'s CA, labels and namespace selector as set', () => {
  assert.equal(ofKind(render(metricsOn), 'ServiceMonitor').length, 0);
  const objects = render({ metrics: { serviceMonitor: { enabled: true, additionalLabels: { release: 'kube-prometheus-stack' }, scrapeInterval: '15s', scrapeTimeout: '10s', metricRelabelings: [{ action: 'drop', regex: 'go_.*', sourceLabels: ['__name__'] }] } } });
  assert.ok(one(objects, 'Service', 'wharf-nginx-metrics') && one(objects, 'Service', 'wharf-handler-metrics'), 'a ServiceMonitor brings the Services it selects');
  const sm = one(objects, 'ServiceMonitor', 'wharf');
  assert.equal(sm.apiVersion, 'monitoring.coreos.com/v1');
  assert.equal(sm.metadata.namespace, 'wharf');
  assert.equal(sm.metadata.labels.release, 'kube-prometheus-stack');
  assert.deepEqual(sm.spec.namespaceSelector, { matchNames: ['wharf'] });
  assert.deepEqual(sm.spec.selector.matchLabels, { 'app.kubernetes.io/component': 'metrics', 'app.kubernetes.io/instance': 'wharf', 'app.kubernetes.io/name': 'wharf' });
  const metricsServices = ofKind(objects, 'Service').filter((s) => Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels[k] === v));
  assert.deepEqual(metricsServices.map((s) => s.metadata.name).sort(), ['wharf-handler-metrics', 'wharf-nginx-metrics'], 'the selector picks exactly the metrics Services');
  const [agent, handler] = sm.spec.endpoints;
  // honorLabels by default: the request series' `namespace` is the Ingress's (the dashboard and alerts select on it).
  assert.deepEqual(agent, { port: 'agent-metrics', path: '/metrics', interval: '15s', scrapeTimeout: '10s', honorLabels: true, metricRelabelings: [{ action: 'drop', regex: 'go_.*', sourceLabels: ['__name__'] }] });
  const asIngressNginx = one(render({ metrics: { serviceMonitor: { enabled: true, honorLabels: false } } }), 'ServiceMonitor', 'wharf');
  assert.equal(asIngressNginx.spec.endpoints[0].honorLabels, undefined, 'false: Prometheus renames it exported_namespace, as with ingress-nginx\'s chart');
  // The request metrics' controller_namespace comes from the NGINX pod's own namespace.
  assert.deepEqual(nginxContainer(objects).env.find((e: Doc) => e.name === 'POD_NAMESPACE'), { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } });
  assert.equal(handler.port, 'handler-metrics');
  assert.equal(handler.scheme, 'https');
  assert.deepEqual(handler.tlsConfig, { serverName: 'wharf-handler.wharf.svc', ca: { secret: { name: 'wharf-handler-tls', key: 'ca.crt' } } });
  const elsewhere = one(render({ metrics: { serviceMonitor: { enabled: true, namespace: 'monitoring', namespaceSelector: { any: true } } } }), 'ServiceMonitor', 'wharf');
  assert.equal(elsewhere.metadata.namespace, 'monitoring');
  assert.deepEqual(elsewhere.spec.namespaceSelector, { any: true });
  assert.deepEqual(elsewhere.spec.endpoints[1].tlsConfig, { insecureSkipVerify: true }, 'the CA Secret is not in the ServiceMonitor\'s namespace');
});

test('PodMonitor: the NGINX and handler pods\' metrics ports, labels and namespace selector as set', () => {
  assert.equal(ofKind(render(metricsOn), 'PodMonitor').length, 0);
  const pm = one(render({ metrics: { podMonitor: { enabled: true, additionalLabels: { release: 'prom' }, namespaceSelector: { matchNames: ['wharf', 'edge'] } } } }), 'PodMonitor', 'wharf');
  assert.equal(pm.metadata.labels.release, 'prom');
  assert.deepEqual(pm.spec.namespaceSelector, { matchNames: ['wharf', 'edge'] });
  assert.deepEqual(pm.spec.selector, {
    matchLabels: { 'app.kubernetes.io/name': 'wharf', 'app.kubernetes.io/instance': 'wharf' },
    matchExpressions: [{ key: 'app.kubernetes.io/component', operator: 'In', values: ['nginx', 'handler'] }],
  });
  assert.deepEqual(pm.spec.podMetricsEndpoints.map((e: Doc) => [e.port, e.path, e.scheme ?? 'http']), [['agent-api', '/metrics', 'http'], ['events', '/metrics', 'https']]);
  // The ports it names are the pods' own.
  const objects = render();
  assert.ok(nginxContainer(objects).ports.some((p: Doc) => p.name === 'agent-api'));
  assert.ok(one(objects, 'Deployment', 'wharf-handler').spec.template.spec.containers[0].ports.some((p: Doc) => p.name === 'events'));
});

test('PrometheusRule: the default alerts with their thresholds, your rules after them', () => {
  assert.equal(ofKind(render(metricsOn), 'PrometheusRule').length, 0);
  const mine = { alert: 'MyAlert', expr: 'up == 0', for: '1m' };
  const rule = one(render({ metrics: { prometheusRule: { enabled: true, additionalLabels: { release: 'prom' }, defaultRules: { errorRatio: 0.1, certificateExpiryDays: 7 }, rules: [mine] } } }), 'PrometheusRule', 'wharf');
  assert.equal(rule.metadata.labels.release, 'prom');
  const rules = rule.spec.groups[0].rules as Doc[];
  assert.deepEqual(rules.map((r) => r.alert), ['WharfIngressHigh5xxRatio', 'WharfReloadsFailing', 'WharfFragmentQuarantined', 'WharfEndpointPushesFailing', 'WharfEndpointUpdatesFailing', 'WharfServingCertificateExpiry', 'WharfIngressCertificateExpiry', 'MyAlert']);
  const byName = (n: string) => rules.find((r) => r.alert === n)!;
  assert.match(byName('WharfIngressHigh5xxRatio').expr, /sum by \(namespace, ingress\) \(rate\(nginx_ingress_controller_requests\{status=~"5\.\."\}\[5m\]\)\)\s+\/ sum by \(namespace, ingress\) \(rate\(nginx_ingress_controller_requests\[5m\]\)\)\s+> 0\.1/);
  assert.match(byName('WharfServingCertificateExpiry').expr, /< 604800$/);
  assert.match(byName('WharfIngressCertificateExpiry').expr, /nginx_ingress_controller_ssl_expire_time_seconds\) - time\(\)\) < 604800$/);
  // Prometheus's own template syntax reaches the rule intact (not taken by Helm's).
  assert.equal(byName('WharfFragmentQuarantined').annotations.summary, 'Fragment {{ $labels.fragment }} is quarantined in {{ $labels.namespace }}/{{ $labels.pod }}');
  assert.deepEqual(rules.at(-1), mine);
  for (const r of rules.slice(0, -1)) assert.ok(r.labels.severity && r.annotations.summary && r.annotations.description && r.for, r.alert);
  const onlyMine = one(render({ metrics: { prometheusRule: { enabled: true, defaultRules: { enabled: false }, rules: [mine] } } }), 'PrometheusRule', 'wharf');
  assert.deepEqual(onlyMine.spec.groups[0].rules, [mine]);
});

test('Grafana dashboard: a ConfigMap of the chart\'s dashboards/*.json labelled for the sidecar, nothing without one', () => {
  const on = { metrics: { grafanaDashboard: { enabled: true, annotations: { grafana_folder: 'Ingress' } } } };
  assert.equal(ofKind(render(on, { chartFiles: {} }), 'ConfigMap').filter((c) => c.metadata.name === 'wharf-dashboards').length, 0, 'no dashboard file, no ConfigMap');
  const dashboard = JSON.stringify({ title: 'wharf', panels: [{ targets: [{ expr: 'sum(rate(nginx_ingress_controller_requests[5m]))' }] }] }, null, 2);
  const files = { 'dashboards/wharf.json': dashboard, 'dashboards/README.md': 'not a dashboard' };
  assert.equal(ofKind(render({}, { chartFiles: files }), 'ConfigMap').filter((c) => c.metadata.name === 'wharf-dashboards').length, 0, 'off by default');
  const cm = one(render(on, { chartFiles: files }), 'ConfigMap', 'wharf-dashboards');
  assert.equal(cm.metadata.labels.grafana_dashboard, '1');
  assert.deepEqual(cm.metadata.annotations, { grafana_folder: 'Ingress' });
  assert.deepEqual(Object.keys(cm.data), ['wharf.json']);
  assert.deepEqual(JSON.parse(cm.data['wharf.json']), JSON.parse(dashboard));
  const elsewhere = one(render({ metrics: { grafanaDashboard: { enabled: true, namespace: 'grafana', labels: { my_label: 'x' } } } }, { chartFiles: files }), 'ConfigMap', 'wharf-dashboards');
  assert.equal(elsewhere.metadata.namespace, 'grafana');
  assert.equal(elsewhere.metadata.labels.my_label, 'x');
});

test('PrometheusRule: every metric the default alerts read is one wharf exports', () => {
  const rules = one(render({ metrics: { prometheusRule: { enabled: true } } }), 'PrometheusRule', 'wharf').spec.groups[0].rules as Doc[];
  const names = new Set(rules.flatMap((r) => [...String(r.expr).matchAll(/\b((?:wharf|nginx_ingress_controller)_[a-z_]+)\b/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ''))));
  assert.ok(names.size >= 6, [...names].join(', '));
  const sources = [...sourceTexts('src'), ...sourceTexts('templates')].join('\n');
  const missing = [...names].filter((n) => !sources.includes(`'${n}'`) && !sources.includes(`"${n}"`) && !sources.includes(`${n} `));
  assert.deepEqual(missing, [], 'alerts on metrics no code exports would never fire');
});

function sourceTexts(dir: string): string[] {
  const root = join(repoRoot, dir);
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(ts|liquid|lua)$/.test(f) && !f.endsWith('.test.ts'))
    .map((f) => readFileSync(join(root, f), 'utf8'));
}

test('Grafana dashboard: the chart\'s own dashboards/*.json, each a key of the ConfigMap', () => {
  const dir = join(repoRoot, 'charts', 'wharf', 'dashboards');
  const own = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : [];
  const maps = ofKind(render({ metrics: { grafanaDashboard: { enabled: true } } }), 'ConfigMap').filter((c) => c.metadata.name === 'wharf-dashboards');
  if (own.length === 0) {
    assert.equal(maps.length, 0, 'the chart holds no dashboard yet: nothing to render');
    return;
  }
  assert.equal(maps.length, 1);
  assert.deepEqual(Object.keys(maps[0]!.data).sort(), own);
  for (const f of own) assert.deepEqual(JSON.parse(maps[0]!.data[f]), JSON.parse(readFileSync(join(dir, f), 'utf8')), `${f} is carried whole`);
});

test('handler heap: by default no NODE_OPTIONS, so wharf handler sizes the old space from the memory limit; handler.nodeOptions adds flags', () => {
  const handler = (objects: RenderedObject[]): Doc => one(objects, 'Deployment', 'wharf-handler').spec.template.spec.containers.find((c: Doc) => c.name === 'handler');
  const byDefault = handler(render({}));
  assert.equal(byDefault.env.find((e: Doc) => e.name === 'NODE_OPTIONS'), undefined, 'a fixed old space would not follow a raised memory limit');
  assert.equal(byDefault.resources.limits.memory, '512Mi');
  const mine = handler(render({ handler: { nodeOptions: '--max-old-space-size=900' } }));
  assert.deepEqual(mine.env.find((e: Doc) => e.name === 'NODE_OPTIONS'), { name: 'NODE_OPTIONS', value: '--max-old-space-size=900' });
});
