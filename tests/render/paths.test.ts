// Path semantics in a real NGINX: every row of the Kubernetes documentation's path-matching table
// (https://kubernetes.io/docs/concepts/services-networking/ingress/#examples), plus case
// sensitivity, trailing slashes, regex paths and precedence between overlapping paths. Each row is
// an Ingress on its own host; everything goes Ingress objects → buildModel → render → NGINX.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNginx, type TestNginx } from '../support/nginx.ts';
import { startBackend, type Backend } from '../support/backend.ts';
import { request } from '../support/http.ts';
import { ingressObject, loadFragments, renderObjects, routeUpstreams, type PathSpec } from './helpers.ts';

type Kind = PathSpec['pathType'];
interface Row {
  name: string;
  paths: [Kind, string, string][];
  annotations?: Record<string, string>;
  /** Request path → the service that answers, or 404 (no path of the row matches). */
  expect: [string, string | 404][];
}

const rows: Row[] = [
  // The Kubernetes documentation's table, row by row.
  { name: 'Prefix / matches all paths', paths: [['Prefix', '/', 'a']], expect: [['/', 'a'], ['/foo', 'a'], ['/aaa/bbb/ccc', 'a']] },
  { name: 'Exact /foo matches /foo', paths: [['Exact', '/foo', 'a']], expect: [['/foo', 'a']] },
  { name: 'Exact /foo does not match /bar', paths: [['Exact', '/foo', 'a']], expect: [['/bar', 404]] },
  { name: 'Exact /foo does not match /foo/', paths: [['Exact', '/foo', 'a']], expect: [['/foo/', 404]] },
  { name: 'Exact /foo/ does not match /foo', paths: [['Exact', '/foo/', 'a']], expect: [['/foo', 404], ['/foo/', 'a']] },
  { name: 'Prefix /foo matches /foo and /foo/', paths: [['Prefix', '/foo', 'a']], expect: [['/foo', 'a'], ['/foo/', 'a']] },
  { name: 'Prefix /foo/ matches /foo and /foo/', paths: [['Prefix', '/foo/', 'a']], expect: [['/foo', 'a'], ['/foo/', 'a']] },
  { name: 'Prefix /aaa/bb does not match /aaa/bbb', paths: [['Prefix', '/aaa/bb', 'a']], expect: [['/aaa/bbb', 404]] },
  { name: 'Prefix /aaa/bbb matches /aaa/bbb', paths: [['Prefix', '/aaa/bbb', 'a']], expect: [['/aaa/bbb', 'a']] },
  { name: 'Prefix /aaa/bbb/ matches /aaa/bbb (ignores the trailing slash)', paths: [['Prefix', '/aaa/bbb/', 'a']], expect: [['/aaa/bbb', 'a']] },
  { name: 'Prefix /aaa/bbb matches /aaa/bbb/ (matches the trailing slash)', paths: [['Prefix', '/aaa/bbb', 'a']], expect: [['/aaa/bbb/', 'a']] },
  { name: 'Prefix /aaa/bbb matches /aaa/bbb/ccc (a subpath)', paths: [['Prefix', '/aaa/bbb', 'a']], expect: [['/aaa/bbb/ccc', 'a']] },
  { name: 'Prefix /aaa/bbb does not match /aaa/bbbxyz (no string prefix)', paths: [['Prefix', '/aaa/bbb', 'a']], expect: [['/aaa/bbbxyz', 404]] },
  { name: 'Prefix /, /aaa: /aaa/ccc matches /aaa', paths: [['Prefix', '/', 'a'], ['Prefix', '/aaa', 'b']], expect: [['/aaa/ccc', 'b']] },
  {
    name: 'Prefix /, /aaa, /aaa/bbb: /aaa/bbb matches /aaa/bbb, /ccc matches /',
    paths: [['Prefix', '/', 'a'], ['Prefix', '/aaa', 'b'], ['Prefix', '/aaa/bbb', 'c']],
    expect: [['/aaa/bbb', 'c'], ['/ccc', 'a']],
  },
  { name: 'Prefix /aaa does not match /ccc', paths: [['Prefix', '/aaa', 'a']], expect: [['/ccc', 404]] },
  { name: 'Mixed Prefix /foo and Exact /foo: /foo prefers Exact', paths: [['Prefix', '/foo', 'a'], ['Exact', '/foo', 'b']], expect: [['/foo', 'b'], ['/foo/x', 'a']] },

  // Case sensitivity and trailing slashes.
  { name: 'Exact paths are case-sensitive', paths: [['Exact', '/Foo', 'a']], expect: [['/Foo', 'a'], ['/foo', 404], ['/FOO', 404]] },
  { name: 'Prefix paths are case-sensitive', paths: [['Prefix', '/api', 'a']], expect: [['/api/x', 'a'], ['/API/x', 404], ['/Api', 404]] },
  { name: 'Prefix /foo and Exact /foo/ on one host', paths: [['Prefix', '/foo', 'a'], ['Exact', '/foo/', 'b']], expect: [['/foo', 'a'], ['/foo/', 'b'], ['/foo/x', 'a']] },
  { name: 'ImplementationSpecific without use-regex is element-wise Prefix', paths: [['ImplementationSpecific', '/foo', 'a']], expect: [['/foo', 'a'], ['/foo/bar', 'a'], ['/foobar', 404]] },
  { name: 'a query string does not change which path matches', paths: [['Exact', '/foo', 'a']], expect: [['/foo?x=/bar', 'a'], ['/bar?x=/foo', 404]] },

  // Precedence between overlapping paths: the longest path wins, Exact before Prefix at equal length.
  {
    name: 'the longest matching path wins, whatever the order in the Ingress',
    paths: [['Prefix', '/a', 'a'], ['Exact', '/a/b/c', 'c'], ['Prefix', '/a/b', 'b']],
    expect: [['/a/b/c', 'c'], ['/a/b/c/d', 'b'], ['/a/bc', 'a'], ['/a/b', 'b'], ['/a', 'a']],
  },

  // Regex paths (ImplementationSpecific + use-regex, ingress-nginx semantics: anchored at the start, case-insensitive).
  {
    name: 'regex paths match from the start, case-insensitively',
    annotations: { 'use-regex': 'true' },
    paths: [['ImplementationSpecific', '/api/v[0-9]+', 'a']],
    expect: [['/api/v1', 'a'], ['/api/v22/users', 'a'], ['/API/V3', 'a'], ['/api/vx', 404], ['/x/api/v1', 404]],
  },
  {
    name: 'regex and Prefix paths on one host: the longest path still wins',
    annotations: { 'use-regex': 'true' },
    paths: [['ImplementationSpecific', '/api/v[0-9]+', 'a'], ['Prefix', '/api/v1/admin', 'b'], ['Prefix', '/', 'c'], ['Exact', '/api/v1', 'd']],
    expect: [['/api/v1/admin', 'b'], ['/api/v1/admin/x', 'b'], ['/api/v1/adminx', 'a'], ['/api/v2', 'a'], ['/api/v1', 'd'], ['/other', 'c']],
  },
];

const host = (i: number) => `row-${i}.paths.test`;
let nginx: TestNginx;
const backends: Record<string, Backend> = {};

before(async () => {
  for (const name of ['a', 'b', 'c', 'd']) backends[name] = await startBackend(name);
  nginx = await startNginx();
  const objects = rows.map((row, i) =>
    ingressObject({
      name: `row-${i}`,
      annotations: row.annotations ?? {},
      rules: [{ host: host(i), paths: row.paths.map(([pathType, path, service]) => ({ pathType, path, service })) }],
    }),
  );
  const { model, fragments } = renderObjects(objects);
  await loadFragments(nginx, fragments);
  await routeUpstreams(nginx, model, backends);
});

after(async () => {
  await nginx?.stop();
  await Promise.all(Object.values(backends).map((b) => b.close()));
});

for (const [i, row] of rows.entries()) {
  test(row.name, async () => {
    for (const [path, want] of row.expect) {
      const r = await request({ port: nginx.httpPort, host: host(i), path });
      if (want === 404) {
        assert.equal(r.status, 404, `${path}: expected no match, got ${r.status} ${r.body}`);
      } else {
        assert.equal(r.status, 200, `${path}: expected ${want}, got ${r.status} ${r.body}`);
        const got = JSON.parse(r.body) as { backend: string; url: string };
        assert.equal(got.backend, want, `${path}: answered by ${got.backend}, expected ${want}`);
        assert.equal(got.url, path, `${path}: the backend saw ${got.url}`);
      }
    }
  });
}
