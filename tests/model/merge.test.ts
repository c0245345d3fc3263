// Several Ingresses on one host: their paths merge into one server; the same host+path claimed
// twice goes to the oldest (creationTimestamp, then UID) and the loser gets a warning; canaries
// attach to the path they shadow.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AN, build, ingress, messages, path, reasons, routes, rule } from './fixtures.ts';

describe('merging and conflicts', () => {
  it('merges the paths of several Ingresses into one server', () => {
    const model = build([ingress('a', [rule('foo.com', path('/a', 'Prefix', 'a'))]), ingress('b', [rule('foo.com', path('/b', 'Prefix', 'b'))])]);
    assert.deepEqual(model.servers.map((s) => s.host), ['foo.com']);
    assert.deepEqual(routes(model, 'foo.com'), ['Prefix /a -> a', 'Prefix /b -> b']);
    assert.deepEqual(model.servers[0]!.sources.map((s) => s.name), ['a', 'b']);
  });

  const conflicts: Record<string, { a: object; b: object; winner: string; loser: string }> = {
    'older creationTimestamp wins': { a: { created: '2024-05-01T00:00:00Z' }, b: { created: '2024-01-01T00:00:00Z' }, winner: 'b', loser: 'a' },
    'same timestamp: lower UID wins': { a: { uid: 'bbbb' }, b: { uid: 'aaaa' }, winner: 'b', loser: 'a' },
    'not created yet (admission) loses': { a: { created: null }, b: { created: '2030-01-01T00:00:00Z' }, winner: 'b', loser: 'a' },
  };
  for (const [name, c] of Object.entries(conflicts)) {
    it(name, () => {
      const model = build([ingress('a', [rule('foo.com', path('/api/', 'Prefix', 'svc-a'))], c.a), ingress('b', [rule('foo.com', path('/api', 'Prefix', 'svc-b'))], c.b)]);
      assert.deepEqual(routes(model, 'foo.com'), [`Prefix /api -> svc-${c.winner}`]);
      const conflict = model.problems.filter((p) => p.reason === 'HostPathConflict');
      assert.equal(conflict.length, 1);
      assert.equal(conflict[0]!.object.name, c.loser);
      assert.equal(conflict[0]!.severity, 'warning');
      assert.match(conflict[0]!.message, new RegExp(`^spec\\.rules\\[0\\]\\.http\\.paths\\[0\\]\\.path: Invalid value: "/api/?": host foo\\.com path is already served by older Ingress default/${c.winner}$`));
      assert.deepEqual(model.servers[0]!.sources.map((s) => s.name), [c.winner]);
    });
  }

  it('Exact and Prefix on the same path do not conflict', () => {
    const model = build([ingress('a', [rule('foo.com', path('/x', 'Exact', 'a'))]), ingress('b', [rule('foo.com', path('/x', 'Prefix', 'b'))])]);
    assert.deepEqual(routes(model, 'foo.com'), ['Exact /x -> a', 'Prefix /x -> b']);
    assert.deepEqual(model.problems.filter((p) => p.reason === 'HostPathConflict'), []);
  });

  it('the same path on different hosts does not conflict', () => {
    const model = build([ingress('a', [rule('a.com', path('/x', 'Prefix', 'a'))]), ingress('b', [rule('b.com', path('/x', 'Prefix', 'b'))])]);
    assert.deepEqual(model.problems.filter((p) => p.reason === 'HostPathConflict'), []);
  });

  it('the loser keeps its other paths', () => {
    const model = build([
      ingress('old', [rule('foo.com', path('/x', 'Prefix', 'old'))]),
      ingress('new', [rule('foo.com', path('/x', 'Prefix', 'new'), path('/y', 'Prefix', 'new'))], { created: '2025-01-01T00:00:00Z' }),
    ]);
    assert.deepEqual(routes(model, 'foo.com'), ['Prefix /x -> old', 'Prefix /y -> new']);
  });

  it('a path repeated within one Ingress: first one used, warning', () => {
    const model = build([ingress('a', [rule('foo.com', path('/x', 'Prefix', 'first')), rule('foo.com', path('/x/', 'Prefix', 'second'))])]);
    assert.deepEqual(routes(model, 'foo.com'), ['Prefix /x -> first']);
    assert.deepEqual(reasons(model.problems.filter((p) => p.reason === 'DuplicatePath')), ['warning DuplicatePath a spec.rules[1].http.paths[0].path']);
  });

  it('conflicts on the default server name it', () => {
    const model = build([ingress('a', [rule(undefined, path('/x'))]), ingress('b', [rule(undefined, path('/x'))], { created: '2025-01-01T00:00:00Z' })]);
    assert.deepEqual(messages(model.problems.filter((p) => p.reason === 'HostPathConflict')), [
      'spec.rules[0].http.paths[0].path: Invalid value: "/x": the default server path is already served by older Ingress default/a',
    ]);
  });
});

describe('canary', () => {
  const primary = ingress('main', [rule('foo.com', path('/', 'Prefix', 'stable'), path('/api', 'Prefix', 'api'))]);
  it('attaches to the matching host+path of the primary, with weight and header', () => {
    const canary = ingress('canary', [rule('foo.com', path('/', 'Prefix', 'next'))], {
      created: '2025-01-01T00:00:00Z',
      annotations: { [`${AN}canary`]: 'true', [`${AN}canary-weight`]: '20', [`${AN}canary-by-header`]: 'X-Canary', [`${AN}canary-by-header-value`]: 'yes' },
    });
    const model = build([primary, canary]);
    const root = model.servers[0]!.locations.find((l) => l.path === '/')!;
    assert.equal(root.backend?.service, 'stable');
    assert.deepEqual(root.canary && { ...root.canary, backend: root.canary.backend.upstream, source: root.canary.source.name }, {
      backend: 'default-next-80',
      weight: 20,
      weightTotal: 100,
      header: 'X-Canary',
      headerValue: 'yes',
      source: 'canary',
    });
    assert.equal(model.servers[0]!.locations.find((l) => l.path === '/api')!.canary, undefined);
    assert.deepEqual(model.servers[0]!.sources.map((s) => s.name), ['canary', 'main']);
    assert.deepEqual(model.problems.filter((p) => p.severity !== 'warning' || p.reason !== 'ServiceNotFound'), []);
  });
  it('a canary without a primary is ignored with a warning', () => {
    const model = build([ingress('canary', [rule('foo.com', path('/other'))], { annotations: { [`${AN}canary`]: 'true' } })]);
    assert.deepEqual(model.servers, []);
    assert.deepEqual(reasons(model.problems.filter((p) => p.reason.startsWith('Canary'))), ['warning CanaryWithoutPrimary canary spec.rules[0].http.paths[0].path']);
  });
  it('a second canary for the same path loses to the older one', () => {
    const c = (name: string, created: string) => ingress(name, [rule('foo.com', path('/', 'Prefix', name))], { created, annotations: { [`${AN}canary`]: 'true', [`${AN}canary-weight`]: '5' } });
    const model = build([primary, c('c2', '2025-02-01T00:00:00Z'), c('c1', '2025-01-01T00:00:00Z')]);
    assert.equal(model.servers[0]!.locations.find((l) => l.path === '/')!.canary?.source.name, 'c1');
    assert.deepEqual(reasons(model.problems.filter((p) => p.reason === 'CanaryConflict')), ['warning CanaryConflict c2 spec.rules[0].http.paths[0].path']);
  });
  it('canary-weight above canary-weight-total is an error', () => {
    const model = build([primary, ingress('c', [rule('foo.com', path('/'))], { annotations: { [`${AN}canary`]: 'true', [`${AN}canary-weight`]: '11', [`${AN}canary-weight-total`]: '10' } })]);
    assert.deepEqual(messages(model.problems.filter((p) => p.severity === 'error')), [
      'metadata.annotations[nginx.ingress.kubernetes.io/canary-weight]: Invalid value: "11": must not exceed canary-weight-total (10)',
    ]);
    assert.equal(model.servers[0]!.locations.find((l) => l.path === '/')!.canary, undefined);
  });
});
