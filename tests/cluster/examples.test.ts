// The examples say which world they are for. examples/cafe runs in local mode with endpoints on
// 127.0.0.1, which a real API server refuses (so `kubectl apply -f examples/cafe/` failed on a
// cluster); examples/cafe-cluster is the cluster form: Deployments whose Pods the cafe's Services
// select, on the port they target, and no hand-written endpoints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

type Doc = Record<string, any>;
const docs = (file: string): Doc[] => parseAllDocuments(readFileSync(new URL(`../../examples/${file}`, import.meta.url), 'utf8')).map((d) => d.toJS() as Doc);

test('examples/cafe: the endpoints are loopback addresses, and the example says they are for local mode only', () => {
  const addresses = docs('cafe/endpoints.yaml').flatMap((d) => (d.kind === 'EndpointSlice' ? d.endpoints.flatMap((e: Doc) => e.addresses) : d.subsets.flatMap((s: Doc) => s.addresses.map((a: Doc) => a.ip))));
  assert.ok(addresses.length > 0 && addresses.every((a: string) => a.startsWith('127.')), addresses.join(' '));
  for (const file of ['cafe/README.md', 'cafe/endpoints.yaml']) {
    const text = readFileSync(new URL(`../../examples/${file}`, import.meta.url), 'utf8');
    assert.match(text, /[Ll]ocal mode only/, file);
    assert.match(text, /cafe-cluster/, file);
  }
});

test('examples/cafe-cluster: Deployments whose Pods the cafe Services select, on the port the Services target; no endpoints written by hand', () => {
  const deployments = docs('cafe-cluster/deployments.yaml');
  assert.ok(deployments.every((d) => d.apiVersion === 'apps/v1' && d.kind === 'Deployment'));
  const services = docs('cafe/services.yaml');
  const backends = docs('cafe/ingress.yaml').flatMap((i) => [...(i.spec.rules ?? [])].flatMap((r: Doc) => r.http?.paths ?? []).map((p: Doc) => p.backend.service.name));
  for (const name of new Set(backends)) {
    const svc = services.find((s) => s.metadata.name === name)!;
    assert.ok(svc, `the Ingress names Service ${name}`);
    const pods = deployments.filter((d) => Object.entries(svc.spec.selector as Record<string, string>).every(([k, v]) => d.spec.template.metadata.labels[k] === v));
    assert.equal(pods.length, 1, `one Deployment's Pods are selected by Service ${name}`);
    const d = pods[0]!;
    assert.deepEqual(d.spec.selector.matchLabels, d.spec.template.metadata.labels, `${d.metadata.name}: its selector matches its Pods`);
    assert.equal(d.metadata.namespace, svc.metadata.namespace);
    const ports = d.spec.template.spec.containers.flatMap((c: Doc) => c.ports.map((p: Doc) => p.containerPort));
    for (const p of svc.spec.ports) assert.ok(ports.includes(p.targetPort), `Service ${name} targets ${p.targetPort}, a port of ${d.metadata.name}'s Pods`);
    assert.ok(d.spec.replicas >= 2, 'two endpoints per Service, as in local mode');
    assert.ok(d.spec.template.spec.containers.every((c: Doc) => c.readinessProbe), 'only ready Pods become endpoints');
  }
  const all = [...deployments, ...docs('cafe/ingress.yaml'), ...services];
  assert.ok(!all.some((d) => d.kind === 'EndpointSlice' || d.kind === 'Endpoints'));
});
