// IngressClass selection: spec.ingressClassName, the default IngressClass, the legacy annotation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultControllerSettings, stateFromObjects, validateIngress } from '../../src/model/index.ts';
import { build, ingress, path, rule } from './fixtures.ts';

function ingressClass(name: string, controller: string, isDefault = false) {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name, annotations: isDefault ? { 'ingressclass.kubernetes.io/is-default-class': 'true' } : {} },
    spec: { controller },
  };
}
const ours = 'wharf.io/ingress-controller';

describe('class selection', () => {
  const cases: Record<string, { objects: unknown[]; handled: boolean; settings?: object }> = {
    'ingressClassName names our class (no IngressClass object)': { objects: [ingress('i', [rule('a.com', path('/'))])], handled: true },
    'ingressClassName names an IngressClass with our controller': { objects: [ingressClass('edge', ours), ingress('i', [rule('a.com', path('/'))], { className: 'edge' })], handled: true },
    'ingressClassName names another controller': { objects: [ingressClass('nginx', 'k8s.io/ingress-nginx'), ingress('i', [rule('a.com', path('/'))], { className: 'nginx' })], handled: false },
    'ingressClassName "wharf" but that IngressClass is another controller': { objects: [ingressClass('wharf', 'example.com/other'), ingress('i', [rule('a.com', path('/'))])], handled: false },
    'ingressClassName names an unknown class': { objects: [ingress('i', [rule('a.com', path('/'))], { className: 'nope' })], handled: false },
    'no class, our IngressClass is default': { objects: [ingressClass('wharf', ours, true), ingress('i', [rule('a.com', path('/'))], { className: null })], handled: true },
    'no class, another controller is default': { objects: [ingressClass('nginx', 'k8s.io/ingress-nginx', true), ingress('i', [rule('a.com', path('/'))], { className: null })], handled: false },
    'no class, no default': { objects: [ingressClass('wharf', ours), ingress('i', [rule('a.com', path('/'))], { className: null })], handled: false },
    'no class, settings watch Ingresses without class': { objects: [ingress('i', [rule('a.com', path('/'))], { className: null })], handled: true, settings: { watchIngressWithoutClass: true } },
    'legacy annotation names our class': { objects: [ingress('i', [rule('a.com', path('/'))], { className: null, annotations: { 'kubernetes.io/ingress.class': 'wharf' } })], handled: true },
    'legacy annotation names another class': {
      objects: [ingressClass('wharf', ours, true), ingress('i', [rule('a.com', path('/'))], { className: null, annotations: { 'kubernetes.io/ingress.class': 'nginx' } })],
      handled: false,
    },
    'ingressClassName wins over the legacy annotation': {
      objects: [ingress('i', [rule('a.com', path('/'))], { annotations: { 'kubernetes.io/ingress.class': 'nginx' } })],
      handled: true,
    },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, () => {
      const settings = { ...defaultControllerSettings, ...c.settings };
      const model = build(c.objects, settings);
      assert.deepEqual(model.servers.map((s) => s.host), c.handled ? ['a.com'] : []);
    });
  }

  it('Ingresses of other classes get no problems, in the model or at admission', () => {
    const bad = ingress('i', [rule('A.com', path('/x y'))], { className: 'nginx', annotations: { 'nginx.ingress.kubernetes.io/configuration-snippet': 'x' } });
    assert.deepEqual(build([bad]).problems, []);
    const { state } = stateFromObjects([]);
    assert.deepEqual(validateIngress(bad, state, defaultControllerSettings), []);
  });
});
