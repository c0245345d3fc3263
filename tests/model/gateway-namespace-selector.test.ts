// Listeners that select route namespaces by label (allowedRoutes.namespaces.from: Selector) when
// wharf cannot read Namespaces (their API not served, or not granted: src/cluster/api-presence.ts
// says what wharf does then): a route's namespace has no labels but the one Kubernetes gives every
// Namespace, kubernetes.io/metadata.name. So a selector on other labels admits no route, except
// where it asks for a label's absence (NotIn, DoesNotExist), as Kubernetes' own selectors read a
// namespace without that label; a selector on the name label still works. Once the Namespace is
// read, its labels count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoutingIndex } from '../../src/model/routing-index.ts';
import { defaultControllerSettings, parseObject, stateFromObjects } from '../../src/model/index.ts';
import { API_NEEDS } from '../../src/cluster/api-presence.ts';
import type { RouteStatus } from '../../src/model/gateway-status.ts';

const GW = 'gateway.networking.k8s.io/v1';
const gateway = (selector: object) => ({
  apiVersion: GW, kind: 'Gateway', metadata: { name: 'gw', namespace: 'infra' },
  spec: { gatewayClassName: 'wharf', listeners: [{ name: 'http', port: 80, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'Selector', selector } } }] },
});
const objects = (selector: object) => [
  { apiVersion: GW, kind: 'GatewayClass', metadata: { name: 'wharf' }, spec: { controllerName: 'wharf.io/gateway-controller' } },
  gateway(selector),
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' }, spec: { ports: [{ port: 80 }] } },
  { apiVersion: GW, kind: 'HTTPRoute', metadata: { name: 'web', namespace: 'shop' }, spec: { parentRefs: [{ name: 'gw', namespace: 'infra' }], hostnames: ['shop.example.com'], rules: [{ backendRefs: [{ name: 'web', port: 80 }] }] } },
];
const shop = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { team: 'cafe' } } };
const accepted = (index: RoutingIndex) => (index.gatewayStatus('HTTPRoute', 'shop', 'web') as RouteStatus).parents[0]!.conditions[0]!.reason;

const cases: Record<string, { selector: object; withoutNamespaces: string; withNamespace: string }> = {
  'a label of the Namespace': { selector: { matchLabels: { team: 'cafe' } }, withoutNamespaces: 'NotAllowedByListeners', withNamespace: 'Accepted' },
  'the name label Kubernetes gives every Namespace': { selector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } }, withoutNamespaces: 'Accepted', withNamespace: 'Accepted' },
  'In on a label': { selector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['cafe'] }] }, withoutNamespaces: 'NotAllowedByListeners', withNamespace: 'Accepted' },
  'Exists on a label': { selector: { matchExpressions: [{ key: 'team', operator: 'Exists' }] }, withoutNamespaces: 'NotAllowedByListeners', withNamespace: 'Accepted' },
  'NotIn on a label (holds without it)': { selector: { matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['cafe'] }] }, withoutNamespaces: 'Accepted', withNamespace: 'NotAllowedByListeners' },
  'DoesNotExist on a label (holds without it)': { selector: { matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] }, withoutNamespaces: 'Accepted', withNamespace: 'NotAllowedByListeners' },
};

for (const [name, c] of Object.entries(cases)) {
  test(`namespaces by label, Namespaces unread then read: ${name}`, () => {
    const { state, problems } = stateFromObjects(objects(c.selector));
    assert.deepEqual(problems, []);
    const index = new RoutingIndex(defaultControllerSettings, state);
    assert.equal(accepted(index), c.withoutNamespaces, 'without Namespaces');
    assert.equal(index.model().servers.some((s) => s.host === 'shop.example.com'), c.withoutNamespaces === 'Accepted');
    // The Namespace is read (its API appeared, or a relist brought it): its labels count at once.
    const ns = parseObject(shop);
    assert.ok(ns.ok);
    const affected = index.upsert(ns.value);
    assert.equal(accepted(index), c.withNamespace, 'with the Namespace');
    if (c.withNamespace !== c.withoutNamespaces) assert.deepEqual(affected.hosts, ['shop.example.com']);
  });
}

test('what api-presence says wharf does without Namespaces is what the model does', () => {
  assert.equal(
    API_NEEDS.Namespace!.withoutIt,
    'Gateway listeners that select route namespaces by label see only their kubernetes.io/metadata.name label: selectors on other labels admit routes only where they ask for a label\'s absence (NotIn, DoesNotExist)',
  );
});
