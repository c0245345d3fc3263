// The chart's TCP and UDP services (values tcp and udp, ingress-nginx's form): the ConfigMaps, the
// handler's and the source's flags naming them, the ports on the NGINX Service, container and
// NetworkPolicy at P + (nginx.ports.http - 80), the schema refusing a malformed entry, and nothing of
// it by default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { render, one, ofKind, RenderError } from './render.ts';

const values = { tcp: { '5432': 'db/postgres:5432', '2222': 'default/ssh:22:PROXY' }, udp: { '53': 'kube-system/kube-dns:53' } };
const args = (objects: ReturnType<typeof render>, name: string): string[] => one(objects, 'Deployment', name).spec.template.spec.containers[0].args;

test('tcp and udp values: ConfigMaps, flags, and the ports on the NGINX Service, container and NetworkPolicy', () => {
  const objects = render(values, { releaseName: 'edge', namespace: 'ingress' });
  assert.deepEqual(one(objects, 'ConfigMap', 'edge-wharf-tcp').data, { '2222': 'default/ssh:22:PROXY', '5432': 'db/postgres:5432' });
  assert.deepEqual(one(objects, 'ConfigMap', 'edge-wharf-udp').data, { '53': 'kube-system/kube-dns:53' });
  const handler = args(objects, 'edge-wharf-handler');
  assert.ok(handler.includes('--tcp-services-configmap=ingress/edge-wharf-tcp'), handler.join(' '));
  assert.ok(handler.includes('--udp-services-configmap=ingress/edge-wharf-udp'));
  const service = one(objects, 'Service', 'edge-wharf-nginx');
  const ports = service.spec.ports.map((p: { name: string; port: number; targetPort: string; protocol: string }) => `${p.name} ${p.port} ${p.targetPort} ${p.protocol}`);
  for (const p of ['tcp-2222 2222 tcp-2222 TCP', 'tcp-5432 5432 tcp-5432 TCP', 'udp-53 53 udp-53 UDP']) assert.ok(ports.includes(p), `${p} in ${ports.join(', ')}`);
  const workload = ofKind(objects, 'Deployment').find((d) => d.metadata.name === 'edge-wharf-nginx') ?? ofKind(objects, 'DaemonSet')[0];
  const nginx = workload!.spec.template.spec.containers.find((c: { ports?: unknown[] }) => c.ports);
  const containerPorts = nginx.ports.map((p: { name: string; containerPort: number; protocol: string }) => `${p.name} ${p.containerPort} ${p.protocol}`);
  // NGINX listens on 8080: a stream port P is served on P + 8000.
  for (const p of ['tcp-5432 13432 TCP', 'tcp-2222 10222 TCP', 'udp-53 8053 UDP']) assert.ok(containerPorts.includes(p), `${p} in ${containerPorts.join(', ')}`);
  const policy = ofKind(objects, 'NetworkPolicy').find((n) => JSON.stringify(n).includes('tcp-5432'));
  assert.ok(policy, 'the NetworkPolicy opens the stream ports');
  assert.match(JSON.stringify(policy), /"port":"udp-53","protocol":"UDP"/);
});

test('no tcp or udp values: no ConfigMap, no flag, no port', () => {
  const objects = render({}, { releaseName: 'edge', namespace: 'ingress' });
  assert.equal(ofKind(objects, 'ConfigMap').filter((c) => /-(tcp|udp)$/.test(c.metadata.name)).length, 0);
  assert.ok(!args(objects, 'edge-wharf-handler').some((a) => a.includes('services-configmap')));
  assert.ok(!JSON.stringify(one(objects, 'Service', 'edge-wharf-nginx')).includes('tcp-'));
});

test('the schema refuses a malformed entry, and a port NGINX cannot serve fails the render with its reason', () => {
  assert.throws(() => render({ tcp: { '5432': 'postgres:5432' } }), RenderError);
  assert.throws(() => render({ tcp: { ssh: 'default/ssh:22' } }), RenderError);
  assert.throws(() => render({ udp: { '53': 'kube-system/kube-dns:53:PROXY' } }), RenderError);
  assert.throws(() => render({ tcp: { '60000': 'default/big:1' } }), /tcp: Invalid value: 60000: NGINX would serve it on 60000 \+ \(nginx.ports.http 8080 - 80\) = 68000, which is not a port of its own/);
});

test('the admission webhook reviews the two services ConfigMaps only (by their labels, in the release namespace)', () => {
  const hook = (objects: ReturnType<typeof render>) => ofKind(objects, 'ValidatingWebhookConfiguration')[0]!.webhooks as { name: string; rules: { resources: string[] }[]; objectSelector?: unknown; namespaceSelector?: unknown; failurePolicy: string }[];
  const withServices = hook(render(values, { releaseName: 'edge', namespace: 'ingress' }));
  const services = withServices.find((w) => w.name === 'services.validate.wharf.io');
  assert.ok(services);
  assert.deepEqual(services.rules.map((r) => r.resources), [['configmaps']]);
  assert.deepEqual(services.namespaceSelector, { matchLabels: { 'kubernetes.io/metadata.name': 'ingress' } });
  assert.deepEqual(services.objectSelector, { matchExpressions: [{ key: 'app.kubernetes.io/component', operator: 'In', values: ['tcp-services', 'udp-services'] }] });
  assert.equal(services.failurePolicy, 'Ignore');
  assert.ok(!hook(render({})).some((w) => w.name === 'services.validate.wharf.io'), 'none without tcp or udp values');
});

test('source.mode knative: the ApiServerSource watches the services ConfigMaps by their labels', () => {
  const objects = render({ ...values, source: { mode: 'knative', knative: { caCert: '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n' } } }, { releaseName: 'edge', namespace: 'ingress' });
  const source = ofKind(objects, 'ApiServerSource')[0]!;
  const components = (source.spec.resources as { kind: string; selector?: { matchLabels: Record<string, string> } }[])
    .filter((r) => r.kind === 'ConfigMap')
    .map((r) => r.selector?.matchLabels['app.kubernetes.io/component']);
  assert.deepEqual(components, ['config', 'tcp-services', 'udp-services']);
});

test('gatewayAPI.listenerPorts and udpListenerPorts: a TCP and a UDP listener port on the NGINX Service, container and NetworkPolicy', () => {
  const objects = render({ gatewayAPI: { listenerPorts: [5432], udpListenerPorts: [53, 5432] } }, { releaseName: 'edge', namespace: 'ingress' });
  const ports = one(objects, 'Service', 'edge-wharf-nginx').spec.ports.map((p: { name: string; port: number; targetPort: string; protocol: string }) => `${p.name} ${p.port} ${p.targetPort} ${p.protocol}`);
  for (const p of ['gw-5432 5432 gw-5432 TCP', 'gwu-53 53 gwu-53 UDP', 'gwu-5432 5432 gwu-5432 UDP']) assert.ok(ports.includes(p), `${p} in ${ports.join(', ')}`);
  const workload = ofKind(objects, 'Deployment').find((d) => d.metadata.name === 'edge-wharf-nginx') ?? ofKind(objects, 'DaemonSet')[0];
  const nginx = workload!.spec.template.spec.containers.find((c: { ports?: unknown[] }) => c.ports);
  const containerPorts = nginx.ports.map((p: { name: string; containerPort: number; protocol: string }) => `${p.name} ${p.containerPort} ${p.protocol}`);
  for (const p of ['gw-5432 13432 TCP', 'gwu-53 8053 UDP', 'gwu-5432 13432 UDP']) assert.ok(containerPorts.includes(p), `${p} in ${containerPorts.join(', ')}`);
  const policy = ofKind(objects, 'NetworkPolicy').find((n) => JSON.stringify(n).includes('gwu-53'));
  assert.match(JSON.stringify(policy), /"port":"gwu-53","protocol":"UDP"/);
  assert.throws(() => render({ gatewayAPI: { udpListenerPorts: [70000] } }), RenderError);
});
