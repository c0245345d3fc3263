// One Ingress may be as large as an AdmissionReview (4 MiB) or an event (8 MiB) allows: 20,000 rules
// and more. Past the per-object limits (rules, paths, hosts) it is refused with a message that names
// the limit and the flag that sets it, at admission (403) and on the events path (a Rejected
// problem, nothing of it served), instead of costing the handler seconds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventFor, verdictOf } from '../../src/cluster/status-verdict.ts';
import { defaultControllerSettings } from '../../src/model/index.ts';
import { fragmentName } from '../../src/render/index.ts';
import { admissionReview, binary, service } from './fixtures.ts';
import { testHandler } from './support.ts';

/** An Ingress with `rules` rules of `paths` paths each, every rule on its own host (or all on one). */
function largeIngress(name: string, rules: number, paths = 1, options: { oneHost?: boolean; tlsHosts?: number; className?: string } = {}) {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: 'default' },
    spec: {
      ingressClassName: options.className ?? 'wharf',
      ...(options.tlsHosts ? { tls: [{ hosts: Array.from({ length: options.tlsHosts }, (_, i) => `tls-${i}.example.com`), secretName: 'cert' }] } : {}),
      rules: Array.from({ length: rules }, (_, i) => ({
        host: options.oneHost ? 'one.example.com' : `h-${i}.example.com`,
        http: { paths: Array.from({ length: paths }, (_, j) => ({ path: `/p${i}-${j}`, pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } })) },
      })),
    },
  };
}

const review = (object: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(admissionReview(object)) });

test('an Ingress with 20,001 rules is denied at admission with the limit and its flag', async () => {
  const h = testHandler();
  await h.relist();
  try {
    const r = await h.post('/admission', review(largeIngress('huge', 20_001)));
    assert.equal(r.status, 200);
    assert.equal(r.json.response.allowed, false);
    assert.equal(r.json.response.status.code, 403);
    assert.equal(r.json.response.status.message, 'spec.rules: Too many: 20001: must have at most 10000 rules (--max-rules-per-ingress); spec.rules[*].http.paths: Too many: 20001: must have at most 20000 paths in all rules together (--max-paths-per-ingress); spec: Too many: 20001: must have at most 10000 distinct hosts in spec.rules and spec.tls (--max-hosts-per-ingress)');
    // Another controller's Ingress is none of wharf's business, whatever its size.
    const other = await h.post('/admission', review(largeIngress('theirs', 20_001, 1, { className: 'other' })));
    assert.deepEqual(other.json.response, { uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed: true });
  } finally {
    await h.close();
  }
});

test('each limit is configurable and denies with a message that names it', async () => {
  const h = testHandler({ settings: { controller: { ...defaultControllerSettings, limits: { rules: 4, paths: 6, hosts: 3 } } } });
  h.api.put(service('web'));
  await h.relist();
  try {
    const cases: [string, unknown, string | null][] = [
      ['within every limit', largeIngress('ok', 3, 2), null],
      ['rules', largeIngress('rules', 5, 1, { oneHost: true }), 'spec.rules: Too many: 5: must have at most 4 rules (--max-rules-per-ingress)'],
      ['paths', largeIngress('paths', 2, 4, { oneHost: true }), 'spec.rules[*].http.paths: Too many: 8: must have at most 6 paths in all rules together (--max-paths-per-ingress)'],
      ['hosts in rules', largeIngress('hosts', 4), 'spec: Too many: 4: must have at most 3 distinct hosts in spec.rules and spec.tls (--max-hosts-per-ingress)'],
      ['hosts in rules and TLS', largeIngress('tls', 1, 1, { tlsHosts: 3 }), 'spec: Too many: 4: must have at most 3 distinct hosts in spec.rules and spec.tls (--max-hosts-per-ingress)'],
    ];
    for (const [name, object, message] of cases) {
      const r = await h.post('/admission', review(object));
      assert.equal(r.json.response.allowed, message === null, name);
      if (message) assert.equal(r.json.response.status.message, message, name);
    }
  } finally {
    await h.close();
  }
});

test('on the events path an Ingress over a limit is Rejected with the limit, and none of its hosts is served', async () => {
  const h = testHandler({ settings: { controller: { ...defaultControllerSettings, configMap: 'wharf/wharf-config', limits: { rules: 4, paths: 100, hosts: 100 } } } });
  h.api.put(service('web'));
  await h.relist();
  try {
    const r = await h.post('/events', binary('io.wharf.resource.add', h.api.put(largeIngress('wide', 5)).object));
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.results.map((x: { result: string }) => x.result), ['applied']);
    const event = eventFor(verdictOf(h.desired.index, { metadata: { namespace: 'default', name: 'wide' } }));
    assert.deepEqual(event, { reason: 'Rejected', type: 'Warning', message: 'default/wide was rejected: spec.rules: Too many: 5: must have at most 4 rules (--max-rules-per-ingress)' });
    assert.equal(h.desired.fragment(fragmentName('h-0.example.com')), undefined);
    // Back within the limit, it is served.
    await h.post('/events', binary('io.wharf.resource.update', h.api.put(largeIngress('wide', 4)).object));
    assert.equal(eventFor(verdictOf(h.desired.index, { metadata: { namespace: 'default', name: 'wide' } }))?.reason, 'AddedOrUpdated');
    assert.ok(h.desired.fragment(fragmentName('h-0.example.com')));
  } finally {
    await h.close();
  }
});
