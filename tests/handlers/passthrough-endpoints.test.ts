// A TLS passthrough host's endpoints travel as any upstream's endpoint set: its fragment names the
// upstream (the SNI map line) and never changes with an EndpointSlice, so an endpoint change costs no
// fragment and no reload (the agent's njs reads the set: src/agent/stream-files.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryView } from '../../src/cluster/view-memory.ts';
import type { KubeObject } from '../../src/cluster/view.ts';
import { DesiredConfig } from '../../src/handlers/desired-config.ts';
import { createHandlerMetrics } from '../../src/handlers/metrics.ts';
import { createLogger } from '../../src/log.ts';
import { defaultControllerSettings, parseObject, RoutingIndex } from '../../src/model/index.ts';
import { AN, ingress, path, rule, service, slice } from '../model/fixtures.ts';

test('an endpoint change behind a passthrough host sends its endpoint set and no fragment', () => {
  const desired = new DesiredConfig({ index: new RoutingIndex({ ...defaultControllerSettings, sslPassthrough: true }), view: new MemoryView(), log: createLogger({}, () => {}), metrics: createHandlerMetrics() });
  let version = 1;
  const apply = (raw: unknown) => {
    const p = parseObject(raw);
    assert.ok(p.ok, JSON.stringify(!p.ok && p.problems));
    const o = p.value as unknown as KubeObject;
    return desired.applied({ kind: o.kind as 'Service', namespace: o.metadata.namespace ?? '', name: o.metadata.name }, o, version++);
  };
  apply(service('argocd', [{ name: 'https', port: 443 }]));
  const added = apply(ingress('argocd', [rule('argocd.example.com', path('/', 'Prefix', 'argocd', 'https'))], { annotations: { [`${AN}ssl-passthrough`]: 'true' } }));
  const fragment = added.fragments.find((f) => f.name === 'argocd.example.com');
  assert.ok(fragment && 'files' in fragment);
  assert.deepEqual(fragment.files, { 'passthrough.map': { content: 'argocd.example.com default-argocd-https;\n', secret: false } });

  const first = apply(slice('argocd-1', 'argocd', [{ addresses: ['10.0.0.1'] }], [{ name: 'https', port: 8443 }]));
  const moved = apply(slice('argocd-1', 'argocd', [{ addresses: ['10.0.0.2'] }], [{ name: 'https', port: 8443 }]));
  for (const u of [first, moved]) assert.deepEqual(u.fragments, [], 'no fragment re-rendered');
  assert.deepEqual(moved.endpoints.map((e) => [e.upstream, 'endpoints' in e ? e.endpoints : null]), [['default-argocd-https', ['10.0.0.2:8443']]]);
});
