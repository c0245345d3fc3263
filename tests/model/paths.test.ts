// Path semantics: validation per pathType, normalization, precedence order, and the Kubernetes
// documentation's path-matching examples through the model's routing semantics (match.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { routeRequest } from '../../src/model/index.ts';
import { AN, build, ingress, messages, path, routes, rule, type PathSpec } from './fixtures.ts';

describe('path validation per pathType', () => {
  const cases: Record<string, { p: PathSpec; annotations?: Record<string, string>; error?: string; route?: string }> = {
    'Exact plain': { p: path('/foo/bar.html', 'Exact'), route: 'Exact /foo/bar.html -> svc' },
    'Prefix root': { p: path('/', 'Prefix'), route: 'Prefix / -> svc' },
    'Prefix trailing slash removed': { p: path('/aaa/bbb/', 'Prefix'), route: 'Prefix /aaa/bbb -> svc' },
    'Prefix many trailing slashes removed': { p: path('/aaa///', 'Prefix'), error: 'must not contain "//"' },
    'Exact keeps trailing slash': { p: path('/foo/', 'Exact'), route: 'Exact /foo/ -> svc' },
    'ImplementationSpecific without regex is a prefix': { p: path('/app/', 'ImplementationSpecific'), route: 'Prefix /app -> svc' },
    'ImplementationSpecific empty path is /': { p: { pathType: 'ImplementationSpecific' }, route: 'Prefix / -> svc' },
    'Prefix needs a path': { p: { pathType: 'Prefix' }, error: 'spec.rules[0].http.paths[0].path: Required value: pathType Prefix needs a path' },
    'relative path': { p: path('foo', 'Prefix'), error: 'spec.rules[0].http.paths[0].path: Invalid value: "foo": must be an absolute path (start with "/")' },
    'regex characters in Prefix': {
      p: path('/api/v[0-9]+', 'Prefix'),
      error: 'spec.rules[0].http.paths[0].path: Invalid value: "/api/v[0-9]+": must contain only A-Z a-z 0-9 and . _ ~ - / : @ + , = ! & (for a regular expression use pathType ImplementationSpecific with use-regex)',
    },
    'regex characters in Exact': { p: path('/a.*', 'Exact'), error: 'must contain only A-Z a-z 0-9' },
    'reserved for internal locations': { p: path('/_wharf/auth/1', 'Prefix'), error: 'paths under /_wharf/ are reserved for wharf\'s internal locations' },
    'reserved prefix itself': { p: path('/_wharf', 'Exact'), error: 'reserved for wharf' },
    'similar name is fine': { p: path('/_wharfish', 'Prefix'), route: 'Prefix /_wharfish -> svc' },
    'dot segment': { p: path('/a/../etc', 'Prefix'), error: 'must not contain "/../"' },
    'trailing dot segment': { p: path('/a/..', 'Exact'), error: 'must not end with "/.."' },
    'space': { p: path('/a b', 'Prefix'), error: 'must contain only' },
    'percent encoding': { p: path('/a%20b', 'Prefix'), error: 'must contain only' },
    'regex with use-regex': { p: path('/api/v[0-9]+/.*', 'ImplementationSpecific'), annotations: { [`${AN}use-regex`]: 'true' }, route: 'Regex /api/v[0-9]+/.* -> svc' },
    'use-regex leaves Prefix element-wise': { p: path('/api/', 'Prefix'), annotations: { [`${AN}use-regex`]: 'true' }, route: 'Prefix /api -> svc' },
    'use-regex leaves Exact exact': { p: path('/api', 'Exact'), annotations: { [`${AN}use-regex`]: 'true' }, route: 'Exact /api -> svc' },
    'rewrite-target implies regex': { p: path('/x(/|$)(.*)', 'ImplementationSpecific'), annotations: { [`${AN}rewrite-target`]: '/$2' }, route: 'Regex /x(/|$)(.*) -> svc' },
    'regex that does not compile': { p: path('/a(b', 'ImplementationSpecific'), annotations: { [`${AN}use-regex`]: 'true' }, error: 'is not a valid regular expression' },
    'regex quantifier braces': { p: path('/v\\d{1,3}/x', 'ImplementationSpecific'), annotations: { [`${AN}use-regex`]: 'true' }, route: 'Regex /v\\d{1,3}/x -> svc' },
    'regex stray brace': { p: path('/a{x}', 'ImplementationSpecific'), annotations: { [`${AN}use-regex`]: 'true' }, error: '"{" is only allowed in a quantifier such as {2} or {1,3}' },
    'regex inline flags': { p: path('/(?i)admin', 'ImplementationSpecific'), annotations: { [`${AN}use-regex`]: 'true' }, error: 'only non-capturing groups "(?:" are allowed after "(?" (no named groups, flags or lookarounds)' },
    'regex named group (would set NGINX variables)': { p: path('/(?<wharf_upstream>.*)', 'ImplementationSpecific'), annotations: { [`${AN}use-regex`]: 'true' }, error: 'must contain only A-Z a-z 0-9, / - . _ ~ % ! & , = : @ and the regex characters' },
    'regex non-capturing group': { p: path('/(?:a|b)/x', 'ImplementationSpecific'), annotations: { [`${AN}use-regex`]: 'true' }, route: 'Regex /(?:a|b)/x -> svc' },
    'regex $ variable': { p: path('/a$host', 'ImplementationSpecific'), annotations: { [`${AN}use-regex`]: 'true' }, error: '"$" is only allowed as an end anchor' },
    'regex $ end anchor': { p: path('/a$', 'ImplementationSpecific'), annotations: { [`${AN}use-regex`]: 'true' }, route: 'Regex /a$ -> svc' },
    'regex escape \\n': { p: path('/a\\n', 'ImplementationSpecific'), annotations: { [`${AN}use-regex`]: 'true' }, error: 'only \\ followed by one of' },
    'rewrite $2 needs two groups': {
      p: path('/x(.*)', 'ImplementationSpecific'),
      annotations: { [`${AN}rewrite-target`]: '/$2' },
      error: 'spec.rules[0].http.paths[0].path: Invalid value: "/x(.*)": has 1 capture group(s) but rewrite-target uses $2',
    },
    'rewrite $1 on a Prefix path': {
      p: path('/x', 'Prefix'),
      annotations: { [`${AN}rewrite-target`]: '/$1' },
      error: 'rewrite-target uses $1, which needs a regex path: use pathType ImplementationSpecific',
    },
    'rewrite without captures on a Prefix path': { p: path('/x', 'Prefix'), annotations: { [`${AN}rewrite-target`]: '/' }, route: 'Prefix /x -> svc' },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, () => {
      const model = build([ingress('i', [rule('foo.com', c.p)], { annotations: c.annotations ?? {} })]);
      if (c.error) {
        const errors = model.problems.filter((p) => p.severity === 'error');
        assert.ok(errors.some((p) => p.message.includes(c.error!)), `expected an error containing ${JSON.stringify(c.error)}, got ${JSON.stringify(messages(model.problems))}`);
        assert.equal(model.servers.length, 0, 'an Ingress with an error is left out as a whole');
      } else {
        assert.deepEqual(messages(model.problems.filter((p) => p.severity === 'error')), []);
        assert.deepEqual(routes(model, 'foo.com'), [c.route]);
      }
    });
  }
});

describe('precedence order', () => {
  it('sorts longest first, then Exact, Prefix, Regex at equal length, then by path', () => {
    const model = build([
      ingress('i', [rule('foo.com', path('/', 'Prefix', 'root'), path('/aaa', 'Prefix', 'p-aaa'), path('/aaa', 'Exact', 'e-aaa'), path('/bbb', 'Prefix', 'p-bbb'), path('/aaa/bbb', 'Prefix', 'p-aaa-bbb'))]),
      ingress('r', [rule('foo.com', path('/aaa', 'ImplementationSpecific', 'r-aaa'), path('/z.*/long/regex', 'ImplementationSpecific', 'r-long'))], { annotations: { [`${AN}use-regex`]: 'true' } }),
    ]);
    assert.deepEqual(routes(model, 'foo.com'), [
      'Regex /z.*/long/regex -> r-long',
      'Prefix /aaa/bbb -> p-aaa-bbb',
      'Exact /aaa -> e-aaa',
      'Prefix /aaa -> p-aaa',
      'Prefix /bbb -> p-bbb',
      'Regex /aaa -> r-aaa',
      'Prefix / -> root',
    ]);
  });
});

// https://kubernetes.io/docs/concepts/services-networking/ingress/#examples: every row.
describe('Kubernetes path-matching examples', () => {
  const cases: { name: string; paths: PathSpec[]; request: string; want: string | null }[] = [
    { name: 'Prefix / matches all', paths: [path('/', 'Prefix', 'a')], request: '/anything/at/all', want: 'a' },
    { name: 'Exact /foo matches /foo', paths: [path('/foo', 'Exact', 'a')], request: '/foo', want: 'a' },
    { name: 'Exact /foo does not match /bar', paths: [path('/foo', 'Exact', 'a')], request: '/bar', want: null },
    { name: 'Exact /foo does not match /foo/', paths: [path('/foo', 'Exact', 'a')], request: '/foo/', want: null },
    { name: 'Exact /foo/ does not match /foo', paths: [path('/foo/', 'Exact', 'a')], request: '/foo', want: null },
    { name: 'Prefix /foo matches /foo', paths: [path('/foo', 'Prefix', 'a')], request: '/foo', want: 'a' },
    { name: 'Prefix /foo matches /foo/', paths: [path('/foo', 'Prefix', 'a')], request: '/foo/', want: 'a' },
    { name: 'Prefix /foo/ matches /foo', paths: [path('/foo/', 'Prefix', 'a')], request: '/foo', want: 'a' },
    { name: 'Prefix /foo/ matches /foo/', paths: [path('/foo/', 'Prefix', 'a')], request: '/foo/', want: 'a' },
    { name: 'Prefix /aaa/bb does not match /aaa/bbb', paths: [path('/aaa/bb', 'Prefix', 'a')], request: '/aaa/bbb', want: null },
    { name: 'Prefix /aaa/bbb matches /aaa/bbb', paths: [path('/aaa/bbb', 'Prefix', 'a')], request: '/aaa/bbb', want: 'a' },
    { name: 'Prefix /aaa/bbb/ matches /aaa/bbb (trailing slash ignored)', paths: [path('/aaa/bbb/', 'Prefix', 'a')], request: '/aaa/bbb', want: 'a' },
    { name: 'Prefix /aaa/bbb matches /aaa/bbb/', paths: [path('/aaa/bbb', 'Prefix', 'a')], request: '/aaa/bbb/', want: 'a' },
    { name: 'Prefix /aaa/bbb matches /aaa/bbb/ccc', paths: [path('/aaa/bbb', 'Prefix', 'a')], request: '/aaa/bbb/ccc', want: 'a' },
    { name: 'Prefix /aaa/bbb does not match /aaa/bbbxyz', paths: [path('/aaa/bbb', 'Prefix', 'a')], request: '/aaa/bbbxyz', want: null },
    { name: 'Prefix /, /aaa: /aaa/ccc goes to /aaa', paths: [path('/', 'Prefix', 'root'), path('/aaa', 'Prefix', 'aaa')], request: '/aaa/ccc', want: 'aaa' },
    { name: 'Prefix /, /aaa, /aaa/bbb: /aaa/bbb goes to /aaa/bbb', paths: [path('/', 'Prefix', 'root'), path('/aaa', 'Prefix', 'aaa'), path('/aaa/bbb', 'Prefix', 'bbb')], request: '/aaa/bbb', want: 'bbb' },
    { name: 'Prefix /, /aaa, /aaa/bbb: /ccc goes to /', paths: [path('/', 'Prefix', 'root'), path('/aaa', 'Prefix', 'aaa'), path('/aaa/bbb', 'Prefix', 'bbb')], request: '/ccc', want: 'root' },
    { name: 'Prefix /aaa does not match /ccc', paths: [path('/aaa', 'Prefix', 'a')], request: '/ccc', want: null },
    { name: 'Mixed /foo Prefix and Exact: /foo prefers Exact', paths: [path('/foo', 'Prefix', 'prefix'), path('/foo', 'Exact', 'exact')], request: '/foo', want: 'exact' },
    { name: 'Exact is case-sensitive', paths: [path('/Foo', 'Exact', 'a')], request: '/foo', want: null },
    { name: 'Prefix is case-sensitive', paths: [path('/Foo', 'Prefix', 'a')], request: '/foo/x', want: null },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const model = build([ingress('i', [rule('foo.com', ...c.paths)])]);
      assert.equal(routeRequest(model, 'foo.com', c.request)?.backend?.service ?? null, c.want);
    });
  }
});
