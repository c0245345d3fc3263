// RoutingIndex: incremental changes say exactly what they affect, and re-rendering only the
// affected hosts and upstreams always gives the same result as building everything again.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildModel, defaultControllerSettings, hasErrors, parseObject, RoutingIndex, stateFromObjects, validateIngress, type KubeObject } from '../../src/model/index.ts';
import { AN, authSecret, backend, ingress, path, rule, service, slice, tlsSecret } from './fixtures.ts';
import { CERT, KEY } from './tls-fixture.ts';
import { prng } from '../support/prng.ts';

const HTPASSWD = 'alice:{SHA}fEqNCco3Yq9h5ZUglD3CZJT4lBs=\n';

function parsed(raw: unknown): KubeObject {
  const r = parseObject(raw);
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join('; '));
  return r.value;
}

function indexOf(objects: unknown[]): RoutingIndex {
  const index = new RoutingIndex(defaultControllerSettings);
  for (const o of objects) index.upsert(parsed(o));
  return index;
}

describe('what a change affects', () => {
  it('an Ingress moving from one host to another affects both', () => {
    const index = indexOf([ingress('i', [rule('a.com', path('/'))])]);
    const affected = index.upsert(parsed(ingress('i', [rule('b.com', path('/'))])));
    assert.deepEqual(affected.hosts, ['a.com', 'b.com']);
    assert.equal(index.server('a.com'), null);
    assert.equal(index.server('b.com')?.host, 'b.com');
    assert.deepEqual(affected.ingresses, ['default/i']);
  });
  it('an older Ingress taking a path affects the problems of the one that now loses it', () => {
    const index = indexOf([ingress('young', [rule('a.com', path('/x'))], { created: '2025-01-01T00:00:00Z' })]);
    const affected = index.upsert(parsed(ingress('old', [rule('a.com', path('/x'))], { created: '2024-01-01T00:00:00Z' })));
    assert.deepEqual(affected.ingresses, ['default/old', 'default/young']);
    assert.deepEqual(index.problemsOf('default/young').map((p) => p.reason), ['ServiceNotFound', 'HostPathConflict']);
    assert.deepEqual(index.problemsOf('default/old').map((p) => p.reason), ['ServiceNotFound']);
  });
  it('removing an Ingress affects its hosts and drops its upstreams', () => {
    const index = indexOf([ingress('i', [rule('a.com', path('/', 'Prefix', 'web')), rule(undefined, path('/x', 'Prefix', 'web'))])]);
    const affected = index.remove('Ingress', 'default', 'i');
    assert.deepEqual([affected.hosts, affected.defaultServer, affected.upstreams], [['a.com'], true, ['default-web-80']]);
    assert.equal(index.endpoints('default-web-80'), null);
  });
  it('a Secret affects the hosts of the Ingresses that use it (TLS and basic auth)', () => {
    const index = indexOf([
      ingress('tls', [rule('a.com', path('/'))], { tls: [{ hosts: ['a.com'], secretName: 'cert' }] }),
      ingress('auth', [rule('b.com', path('/'))], { annotations: { [`${AN}auth-type`]: 'basic', [`${AN}auth-secret`]: 'users' } }),
      ingress('other', [rule('c.com', path('/'))]),
    ]);
    assert.equal(index.server('a.com')?.tls, null);
    assert.equal(index.server('b.com'), null, 'rejected while its auth Secret is missing');
    assert.deepEqual(index.upsert(parsed(tlsSecret('cert', CERT, KEY))).hosts, ['a.com']);
    assert.notEqual(index.server('a.com')?.tls, null);
    assert.deepEqual(index.upsert(parsed(authSecret('users', HTPASSWD))).hosts, ['b.com']);
    assert.equal(index.server('b.com')?.locations[0]?.settings.basicAuth?.htpasswd, HTPASSWD);
    assert.deepEqual(index.upsert(parsed(tlsSecret('unrelated', CERT, KEY))).hosts, []);
    assert.deepEqual(index.ingressesUsingSecret('default/users'), ['default/auth']);
  });
  it('a Service or EndpointSlice affects the upstreams of that Service', () => {
    const index = indexOf([ingress('i', [rule('a.com', path('/', 'Prefix', 'web', 'http'), path('/m', 'Prefix', 'web', 9090))]), ingress('j', [rule('b.com', path('/', 'Prefix', 'api'))])]);
    const a = index.upsert(parsed(service('web', [{ name: 'http', port: 80 }, { name: 'metrics', port: 9090 }])));
    assert.deepEqual(a.upstreams, ['default-web-9090', 'default-web-http']);
    const b = index.upsert(parsed(slice('web-abc', 'web', [{ addresses: ['10.0.0.1'] }], [{ name: 'http', port: 8080 }, { name: 'metrics', port: 9100 }])));
    assert.deepEqual([b.hosts, b.upstreams], [[], ['default-web-9090', 'default-web-http']]);
    assert.deepEqual(index.endpoints('default-web-http'), ['10.0.0.1:8080']);
    assert.deepEqual(index.endpoints('default-web-9090'), ['10.0.0.1:9100']);
    assert.deepEqual(index.remove('EndpointSlice', 'default', 'web-abc').upstreams, ['default-web-9090', 'default-web-http']);
    assert.deepEqual(index.endpoints('default-web-http'), []);
    assert.deepEqual(index.ingressesUsingService('default/web'), ['default/i']);
  });
  it('the ConfigMap affects the global settings, and every host when a default changes', () => {
    const index = indexOf([ingress('i', [rule('a.com', path('/'))]), ingress('j', [rule(undefined, path('/'))])]);
    const cm = (data: Record<string, string>) => parsed({ kind: 'ConfigMap', metadata: { name: 'wharf', namespace: 'wharf' }, data });
    const a = index.upsert(cm({ 'ssl-redirect': 'false' }));
    assert.deepEqual([a.global, a.hosts, a.defaultServer], [true, ['a.com'], true]);
    const b = index.upsert(cm({ 'ssl-redirect': 'false', 'unknown-key': 'x' }));
    assert.deepEqual([b.global, b.hosts], [true, []]);
    assert.equal(index.global().sslRedirect, false);
  });
  it('only the configured ConfigMap is read when settings name one', () => {
    const index = new RoutingIndex({ ...defaultControllerSettings, configMap: 'wharf/wharf' });
    const other = index.upsert(parsed({ kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt', namespace: 'wharf' }, data: { 'ssl-redirect': 'false' } }));
    assert.equal(other.global, false);
    assert.equal(index.global().sslRedirect, true);
  });
  it('an IngressClass change re-selects every Ingress', () => {
    const index = indexOf([ingress('i', [rule('a.com', path('/'))], { className: null })]);
    assert.equal(index.server('a.com'), null);
    const a = index.upsert(parsed({ kind: 'IngressClass', metadata: { name: 'wharf', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } }, spec: { controller: 'wharf.io/ingress-controller' } }));
    assert.deepEqual(a.hosts, ['a.com']);
    assert.equal(index.handles('default/i'), true);
  });
  it('an Ingress taking a host that another one has as an alias affects the aliasing host (it loses the name)', () => {
    const index = indexOf([ingress('a', [rule('a.com', path('/'))], { annotations: { [`${AN}server-alias`]: 'x.com' } })]);
    assert.deepEqual(index.server('a.com')?.aliases, ['x.com']);
    const taken = index.upsert(parsed(ingress('x', [rule('x.com', path('/'))], { created: '2025-01-01T00:00:00Z' })));
    assert.deepEqual([taken.hosts, taken.ingresses], [['a.com', 'x.com'], ['default/a', 'default/x']]);
    assert.equal(index.server('a.com')?.aliases, undefined);
    const given = index.remove('Ingress', 'default', 'x');
    assert.deepEqual(given.hosts, ['a.com', 'x.com']);
    assert.deepEqual(index.server('a.com')?.aliases, ['x.com']);
  });
  it('an older Ingress claiming the same alias moves it: both hosts are affected', () => {
    const index = indexOf([ingress('young', [rule('y.com', path('/'))], { annotations: { [`${AN}server-alias`]: 'x.com' }, created: '2025-01-01T00:00:00Z' })]);
    const a = index.upsert(parsed(ingress('old', [rule('o.com', path('/'))], { annotations: { [`${AN}server-alias`]: 'x.com' } })));
    assert.deepEqual(a.hosts, ['o.com', 'y.com']);
    assert.deepEqual([index.server('o.com')?.aliases, index.server('y.com')?.aliases], [['x.com'], undefined]);
    assert.deepEqual(index.problemsOf('default/young').map((p) => p.reason), ['ServerNameConflict', 'ServiceNotFound']);
    const b = index.upsert(parsed(ingress('old', [rule('o.com', path('/'))])));
    assert.deepEqual(b.hosts, ['o.com', 'y.com']);
    assert.deepEqual([index.server('o.com')?.aliases, index.server('y.com')?.aliases], [undefined, ['x.com']]);
  });
  it('a host appearing where another has from-to-www-redirect for it affects the redirecting host', () => {
    const index = indexOf([ingress('bare', [rule('a.com', path('/'))], { annotations: { [`${AN}from-to-www-redirect`]: 'true' } })]);
    assert.deepEqual(index.server('a.com')?.wwwRedirect, { from: 'www.a.com', tls: false });
    const a = index.upsert(parsed(ingress('www', [rule('www.a.com', path('/'))])));
    assert.deepEqual(a.hosts, ['a.com', 'www.a.com']);
    assert.equal(index.server('a.com')?.wwwRedirect, undefined);
  });
  it('an upstream name collision appearing renames the other triple and affects its hosts', () => {
    const index = indexOf([ingress('y', [rule('b.com', path('/', 'Prefix', 'c'))], { namespace: 'a-b' })]);
    assert.equal(index.server('b.com')?.locations[0]?.backend?.upstream, 'a-b-c-80');
    const a = index.upsert(parsed(ingress('x', [rule('a.com', path('/', 'Prefix', 'b-c'))], { namespace: 'a' })));
    assert.deepEqual(a.hosts, ['a.com', 'b.com']);
    assert.deepEqual(a.upstreams, ['a-b-c-80', 'a-b-c-80.3.1']);
    assert.equal(index.server('b.com')?.locations[0]?.backend?.upstream, 'a-b-c-80.3.1');
    assert.equal(index.server('a.com')?.locations[0]?.backend?.upstream, 'a-b-c-80');
    const b = index.remove('Ingress', 'a', 'x');
    assert.deepEqual(b.hosts, ['a.com', 'b.com']);
    assert.equal(index.server('b.com')?.locations[0]?.backend?.upstream, 'a-b-c-80');
  });
});

// ---------------------------------------------------------------------------------------------

describe('incremental equals full rebuild', () => {
  it('a random sequence of changes: re-rendering only what is affected matches a full build', () => {
    const rand = prng(42);
    const pickOf = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const hosts = ['a.com', 'b.com', '*.b.com', 'www.a.com', 'example.com', undefined];
    const aliases = ['x.com', 'a.com', 'www.b.com, x.com', '*.b.com', 'www.example.com, api.example.com', 'b.com, other.test'];
    const paths = [path('/', 'Prefix'), path('/api', 'Prefix'), path('/api', 'Exact'), path('/v[0-9]', 'ImplementationSpecific')];
    const names = ['i1', 'i2', 'i3', 'i4', 'i5'];
    const namespaces = ['a', 'a-b'];
    const services = ['c', 'b-c', 'web'];
    const objects = new Map<string, unknown>();
    const index = new RoutingIndex(defaultControllerSettings);
    const renderedHosts = new Map<string, string>();
    let renderedDefault = JSON.stringify(index.defaultServer());
    const renderedEndpoints = new Map<string, string>();

    const randomIngress = (ns: string, name: string) => {
      const rules = Array.from({ length: 1 + Math.floor(rand() * 2) }, () => {
        const p = { ...pickOf(paths), service: pickOf(services), port: pickOf([80, 'http'] as const) };
        return rule(pickOf(hosts), p);
      });
      const annotations: Record<string, string> = {};
      if (rand() < 0.3) annotations[`${AN}use-regex`] = 'true';
      if (rand() < 0.2) annotations[`${AN}canary`] = 'true';
      if (rand() < 0.1) annotations[`${AN}configuration-snippet`] = 'x';
      if (rand() < 0.2) Object.assign(annotations, { [`${AN}auth-type`]: 'basic', [`${AN}auth-secret`]: 'users' });
      if (rand() < 0.3) annotations[`${AN}server-alias`] = pickOf(aliases);
      if (rand() < 0.3) annotations[`${AN}from-to-www-redirect`] = 'true';
      return ingress(name, rules, {
        namespace: ns,
        annotations,
        created: `2024-01-0${1 + Math.floor(rand() * 3)}T00:00:00Z`,
        uid: `${name}-uid`,
        ...(rand() < 0.3 ? { tls: [{ hosts: ['a.com', '*.b.com', 'example.com', 'www.a.com'], secretName: 'cert' }] } : {}),
        ...(rand() < 0.2 ? { defaultBackend: backend(pickOf(services)) } : {}),
      });
    };

    for (let step = 0; step < 400; step++) {
      const ns = pickOf(namespaces);
      const roll = rand();
      let raw: any;
      let removal: [string, string, string] | null = null;
      if (roll < 0.45) raw = randomIngress(ns, pickOf(names));
      else if (roll < 0.6) removal = ['Ingress', ns, pickOf(names)];
      else if (roll < 0.68) raw = rand() < 0.5 ? tlsSecret('cert', CERT, KEY, { namespace: ns }) : authSecret('users', HTPASSWD, { namespace: ns });
      else if (roll < 0.72) removal = ['Secret', ns, pickOf(['cert', 'users'])];
      else if (roll < 0.82) raw = service(pickOf(services), [{ name: 'http', port: 80 }], { namespace: ns });
      else if (roll < 0.95) {
        const svc = pickOf(services);
        raw = slice(`${svc}-x`, svc, [{ addresses: [`10.0.0.${Math.floor(rand() * 4)}`], ready: rand() < 0.8 }], [{ name: 'http', port: 8080 }], { namespace: ns });
      } else raw = { kind: 'ConfigMap', metadata: { name: 'wharf', namespace: 'wharf' }, data: { 'ssl-redirect': rand() < 0.5 ? 'true' : 'false' } };

      let affected;
      if (removal) {
        objects.delete(removal.join('/'));
        affected = index.remove(removal[0] as 'Ingress', removal[1], removal[2]);
      } else {
        const obj = parsed(raw);
        objects.set(`${obj.kind}/${obj.metadata.namespace}/${obj.metadata.name}`, raw);
        affected = index.upsert(obj);
      }
      for (const h of affected.hosts) {
        const s = index.server(h);
        if (s) renderedHosts.set(h, JSON.stringify(s));
        else renderedHosts.delete(h);
      }
      if (affected.defaultServer) renderedDefault = JSON.stringify(index.defaultServer());
      for (const u of affected.upstreams) {
        const e = index.endpoints(u);
        if (e) renderedEndpoints.set(u, JSON.stringify(e));
        else renderedEndpoints.delete(u);
      }

      const { state } = stateFromObjects([...objects.values()]);
      const full = buildModel(state, defaultControllerSettings);
      assert.deepEqual(
        [...renderedHosts.entries()].sort(),
        full.servers.map((s) => [s.host, JSON.stringify(s)]),
        `hosts differ after step ${step}`,
      );
      assert.equal(renderedDefault, JSON.stringify(full.defaultServer), `default server differs after step ${step}`);
      const fresh = new RoutingIndex(defaultControllerSettings, state);
      assert.deepEqual(
        [...renderedEndpoints.entries()].sort(),
        full.upstreams.map((u) => [u.upstream, JSON.stringify(fresh.endpoints(u.upstream))]),
        `endpoints differ after step ${step}`,
      );
      assert.deepEqual(index.model(), full, `model differs after step ${step}`);
    }
  });
});

describe('determinism', () => {
  it('the same objects in any order give byte-identical models', () => {
    const objects = [
      ingress('a', [rule('a.com', path('/x'), path('/y', 'Exact'))], { tls: [{ hosts: ['a.com'], secretName: 'cert' }] }),
      ingress('b', [rule('a.com', path('/x', 'Prefix', 'other')), rule(undefined, path('/'))], { created: '2024-01-01T00:00:00Z', uid: 'b' }),
      ingress('c', [rule('a.com', path('/x', 'Prefix', 'third'))], { created: '2024-01-01T00:00:00Z', uid: 'a' }),
      tlsSecret('cert', CERT, KEY),
      service('svc'),
    ];
    const first = JSON.stringify(buildModel(stateFromObjects(objects).state, defaultControllerSettings));
    for (let i = 0; i < 5; i++) {
      const shuffled = [...objects].sort(() => (i % 2 ? 1 : -1));
      assert.equal(JSON.stringify(buildModel(stateFromObjects(shuffled).state, defaultControllerSettings)), first);
    }
  });
});

describe('admission check = config computation', () => {
  const existing = [
    ingress('old', [rule('a.com', path('/api'))]),
    ingress('aliased', [rule('c.com', path('/'))], { annotations: { [`${AN}server-alias`]: 'x.com', [`${AN}from-to-www-redirect`]: 'true' } }),
    service('svc'),
  ];
  const index = indexOf(existing);
  const candidates = [
    ingress('new', [rule('a.com', path('/api'))], { created: null }),
    ingress('new', [rule('a.com', path('/other'))], { created: null }),
    ingress('new', [rule('A.com', path('/'))], { created: null }),
    ingress('new', [rule('b.com', path('/'))], { created: null, annotations: { [`${AN}server-snippet`]: 'x' } }),
    ingress('new', [rule('b.com', path('/'))], { created: null, annotations: { [`${AN}auth-type`]: 'basic', [`${AN}auth-secret`]: 'nope' } }),
    ingress('new', [rule('b.com', path('/'))], { created: null, annotations: { [`${AN}server-alias`]: 'a.com, x.com, www.c.com, y.com' } }),
    ingress('new', [rule('www.a.com', path('/')), rule('c.com', path('/new'))], { created: null, annotations: { [`${AN}from-to-www-redirect`]: 'true', [`${AN}server-alias`]: 'z.com' } }),
    ingress('new', [rule('www.c.com', path('/'))], { created: null }),
  ];
  for (const [i, c] of candidates.entries()) {
    it(`candidate ${i}: the same problems as the model; denied ones are left out of it`, () => {
      const problems = validateIngress(c, index, defaultControllerSettings);
      const { state } = stateFromObjects([...existing, c]);
      const full = buildModel(state, defaultControllerSettings);
      const inModel = full.servers.some((s) => s.sources.some((r) => r.name === 'new'));
      if (hasErrors(problems)) assert.equal(inModel, false);
      else assert.equal(inModel, i !== 0, 'allowed candidates are served (candidate 0 loses its only path)');
      assert.deepEqual(problems, full.problems.filter((p) => p.object.name === 'new'));
      assert.deepEqual(validateIngress(c, state, defaultControllerSettings), problems, 'a plain state gives the same answer');
    });
  }
  it('a newer Ingress claiming a held path is allowed with a warning naming the holder', () => {
    const problems = validateIngress(candidates[0], index, defaultControllerSettings);
    assert.deepEqual(
      problems.map((p) => [p.severity, p.reason, p.message]),
      [['warning', 'HostPathConflict', 'spec.rules[0].http.paths[0].path: Invalid value: "/api": host a.com path is already served by older Ingress default/old']],
    );
  });
  it('validating an update of the holder itself reports no conflict', () => {
    assert.deepEqual(validateIngress(existing[0], index, defaultControllerSettings), []);
  });
});
