// The GATEWAY-HTTP conformance tests restated against a real NGINX: each row is one test of the
// public suite (kubernetes-sigs/gateway-api conformance/tests/<name>.go), with its manifests from
// ../shared and the requests and answers its .go file lists; the status it checks is checked on the
// model (RoutingIndex.gatewayStatus).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from '../support/http.ts';
import { loadFragments, selfSigned, tlsSecretObject } from '../render/helpers.ts';
import { conformanceModel, conformanceRows, INFRA, type Row } from './conformance.ts';
import type { RouteStatus } from '../../src/model/gateway-status.ts';

const rows: Row[] = [
  { conformance: 'HTTPRouteSimpleSameNamespace', manifest: 'httproute-simple-same-namespace', resolved: { 'gateway-conformance-infra-test': 'ResolvedRefs' }, cases: [{ path: '/', backend: 'infra-backend-v1' }] },
  {
    conformance: 'HTTPRouteMatching',
    manifest: 'httproute-matching',
    cases: [
      { path: '/', backend: 'infra-backend-v1' },
      { path: '/example', backend: 'infra-backend-v1' },
      { path: '/', headers: { Version: 'one' }, backend: 'infra-backend-v1' },
      { path: '/v2', backend: 'infra-backend-v2' },
      { path: '/v2/example', backend: 'infra-backend-v2' },
      { path: '/', headers: { Version: 'two' }, backend: 'infra-backend-v2' },
    ],
  },
  {
    conformance: 'HTTPRoutePathMatchOrder',
    manifest: 'httproute-path-match-order',
    cases: [
      { path: '/match', backend: 'infra-backend-v1' },
      { path: '/match/exact', backend: 'infra-backend-v2' },
      { path: '/match/exact/one', backend: 'infra-backend-v3' },
      { path: '/match/prefix/one/any', backend: 'infra-backend-v2' },
      { path: '/match/prefix/any', backend: 'infra-backend-v1' },
      { path: '/match/any', backend: 'infra-backend-v3' },
    ],
  },
  {
    conformance: 'HTTPRouteInvalidNonExistentBackendRef',
    manifest: 'httproute-invalid-nonexistent-backendref',
    resolved: { 'invalid-nonexistent-backend-ref': 'BackendNotFound' },
    cases: [{ path: '/', status: 500 }],
  },
  {
    conformance: 'HTTPRouteRequestHeaderModifier',
    manifest: 'httproute-request-header-modifier',
    cases: [
      { path: '/set', headers: { 'Some-Other-Header': 'val' }, backend: 'infra-backend-v1', backendHeaders: { 'some-other-header': 'val', 'x-header-set': 'set-overwrites-values' } },
      { path: '/set', headers: { 'Some-Other-Header': 'val', 'X-Header-Set': 'some-other-value' }, backend: 'infra-backend-v1', backendHeaders: { 'x-header-set': 'set-overwrites-values' } },
      { path: '/add', headers: { 'Some-Other-Header': 'val' }, backend: 'infra-backend-v1', backendHeaders: { 'x-header-add': 'add-appends-values' } },
      { path: '/add', headers: { 'X-Header-Add': 'some-other-value' }, backend: 'infra-backend-v1', backendHeaders: { 'x-header-add': 'some-other-value,add-appends-values' } },
      { path: '/remove', headers: { 'X-Header-Remove': 'val' }, backend: 'infra-backend-v1', absentHeaders: ['x-header-remove'] },
      {
        path: '/multiple',
        headers: { 'X-Header-Set-2': 'set-val-2', 'X-Header-Add-2': 'add-val-2', 'X-Header-Remove-2': 'remove-val-2', 'Another-Header': 'another-header-val' },
        backend: 'infra-backend-v1',
        backendHeaders: { 'x-header-set-1': 'header-set-1', 'x-header-set-2': 'header-set-2', 'x-header-add-1': 'header-add-1', 'x-header-add-2': 'add-val-2,header-add-2', 'x-header-add-3': 'header-add-3', 'another-header': 'another-header-val' },
        absentHeaders: ['x-header-remove-1', 'x-header-remove-2'],
      },
      {
        path: '/case-insensitivity',
        headers: { 'x-header-set': 'original-val-set', 'x-header-add': 'original-val-add', 'x-header-remove': 'original-val-remove', 'Another-Header': 'another-header-val' },
        backend: 'infra-backend-v1',
        backendHeaders: { 'x-header-set': 'header-set', 'x-header-add': 'original-val-add,header-add', 'another-header': 'another-header-val' },
        absentHeaders: ['x-header-remove'],
      },
    ],
  },
  {
    conformance: 'HTTPRouteExactPathMatching',
    manifest: 'httproute-exact-path-matching',
    cases: [
      { path: '/one', backend: 'infra-backend-v1' },
      { path: '/two', backend: 'infra-backend-v2' },
      { path: '/', status: 404 },
      { path: '/one/example', status: 404 },
      { path: '/two/', status: 404 },
    ],
  },
  { conformance: 'HTTPRouteCrossNamespace', manifest: 'httproute-cross-namespace', cases: [{ path: '/', backend: 'web-backend' }] },
  {
    conformance: 'HTTPRouteInvalidCrossNamespaceBackendRef',
    manifest: 'httproute-invalid-cross-namespace-backend-ref',
    resolved: { 'invalid-cross-namespace-backend-ref': 'RefNotPermitted' },
    cases: [{ path: '/', status: 500 }],
  },
  {
    conformance: 'HTTPRouteHeaderMatching',
    manifest: 'httproute-header-matching',
    resolved: { 'header-matching': 'ResolvedRefs' },
    cases: [
      { path: '/', headers: { Version: 'one' }, backend: 'infra-backend-v1' },
      { path: '/', headers: { Version: 'two' }, backend: 'infra-backend-v2' },
      { path: '/', headers: { Version: 'two', Color: 'orange' }, backend: 'infra-backend-v1' },
      { path: '/', headers: { Version: 'two', Color: 'blue' }, backend: 'infra-backend-v2' },
      { path: '/', headers: { Color: 'orange' }, status: 404 },
      { path: '/', headers: { 'Some-Other-Header': 'one' }, status: 404 },
      { path: '/', headers: { Color: 'blue' }, backend: 'infra-backend-v1' },
      { path: '/', headers: { Color: 'green' }, backend: 'infra-backend-v1' },
      { path: '/', headers: { Color: 'red' }, backend: 'infra-backend-v2' },
      { path: '/', headers: { Color: 'yellow' }, backend: 'infra-backend-v2' },
      { path: '/', headers: { Color: 'purple' }, status: 404 },
    ],
  },
  {
    conformance: 'HTTPRouteMatchingAcrossRoutes',
    manifest: 'httproute-matching-across-routes',
    resolved: { 'matching-part1': 'ResolvedRefs', 'matching-part2': 'ResolvedRefs' },
    cases: [
      { host: 'example.com', path: '/', backend: 'infra-backend-v1' },
      { host: 'example.com', path: '/example', backend: 'infra-backend-v1' },
      { host: 'example.net', path: '/example', backend: 'infra-backend-v1' },
      { host: 'example.com', path: '/example', headers: { Version: 'one' }, backend: 'infra-backend-v1' },
      { host: 'example.com', path: '/v2', backend: 'infra-backend-v2' },
      // v2 matches are limited to example.com.
      { host: 'example.net', path: '/v2', backend: 'infra-backend-v1' },
      { host: 'example.com', path: '/v2/example', backend: 'infra-backend-v2' },
      { host: 'example.com', path: '/', headers: { Version: 'two' }, backend: 'infra-backend-v2' },
    ],
  },
  {
    conformance: 'HTTPRoutePartiallyInvalidViaInvalidReferenceGrant',
    manifest: 'httproute-partially-invalid-via-invalid-reference-grant',
    resolved: { 'invalid-reference-grant': 'RefNotPermitted' },
    cases: [
      { path: '/v2', status: 500 },
      { path: '/', backend: 'app-backend-v1' },
    ],
  },
  {
    conformance: 'HTTPRouteHostnameIntersection',
    manifest: 'httproute-hostname-intersection',
    resolved: {
      'specific-host-matches-listener-specific-host': 'ResolvedRefs',
      'specific-host-matches-listener-wildcard-host': 'ResolvedRefs',
      'wildcard-host-matches-listener-specific-host': 'ResolvedRefs',
      'wildcard-host-matches-listener-wildcard-host': 'ResolvedRefs',
    },
    cases: [
      { host: 'very.specific.com', path: '/s1', backend: 'infra-backend-v1' },
      // The port in the Host header is not part of the match.
      { host: 'very.specific.com:1234', path: '/s1', backend: 'infra-backend-v1' },
      { host: 'non.matching.com', path: '/s1', status: 404 },
      { host: 'foo.nonmatchingwildcard.io', path: '/s1', status: 404 },
      { host: 'foo.wildcard.io', path: '/s1', status: 404 },
      { host: 'very.specific.com', path: '/non-matching-prefix', status: 404 },
      { host: 'foo.wildcard.io', path: '/s2', backend: 'infra-backend-v2' },
      { host: 'bar.wildcard.io', path: '/s2', backend: 'infra-backend-v2' },
      { host: 'foo.bar.wildcard.io', path: '/s2', backend: 'infra-backend-v2' },
      { host: 'non.matching.com', path: '/s2', status: 404 },
      { host: 'wildcard.io', path: '/s2', status: 404 },
      { host: 'very.specific.com', path: '/s2', status: 404 },
      { host: 'foo.wildcard.io', path: '/non-matching-prefix', status: 404 },
      { host: 'very.specific.com', path: '/s3', backend: 'infra-backend-v3' },
      { host: 'non.matching.com', path: '/s3', status: 404 },
      { host: 'foo.specific.com', path: '/s3', status: 404 },
      { host: 'foo.wildcard.io', path: '/s3', status: 404 },
      { host: 'foo.anotherwildcard.io', path: '/s4', backend: 'infra-backend-v1' },
      { host: 'bar.anotherwildcard.io', path: '/s4', backend: 'infra-backend-v1' },
      { host: 'foo.bar.anotherwildcard.io', path: '/s4', backend: 'infra-backend-v1' },
      { host: 'anotherwildcard.io', path: '/s4', status: 404 },
      { host: 'foo.wildcard.io', path: '/s4', status: 404 },
      { host: 'very.specific.com', path: '/s4', status: 404 },
      { host: 'specific.but.wrong.com', path: '/s5', status: 404 },
      { host: 'wildcard.io', path: '/s5', status: 404 },
      { host: 'first.com', path: '/', backend: 'infra-backend-v2' },
      { host: 'sub.first.com', path: '/', backend: 'infra-backend-v2' },
      { host: 'second.com', path: '/', backend: 'infra-backend-v2' },
      { host: 'sub.second.com', path: '/', backend: 'infra-backend-v2' },
      { host: 'third.com', path: '/', status: 404 },
      { host: 'sub.third.com', path: '/', status: 404 },
    ],
  },
  {
    conformance: 'HTTPRouteListenerHostnameMatching',
    manifest: 'httproute-listener-hostname-matching',
    cases: [
      { host: 'bar.com', path: '/', backend: 'infra-backend-v1' },
      { host: 'foo.bar.com', path: '/', backend: 'infra-backend-v2' },
      { host: 'baz.bar.com', path: '/', backend: 'infra-backend-v3' },
      { host: 'boo.bar.com', path: '/', backend: 'infra-backend-v3' },
      { host: 'multiple.prefixes.bar.com', path: '/', backend: 'infra-backend-v3' },
      { host: 'multiple.prefixes.foo.com', path: '/', backend: 'infra-backend-v3' },
      { host: 'foo.com', path: '/', status: 404 },
      { host: 'no.matching.host', path: '/', status: 404 },
    ],
  },
  { conformance: 'HTTPRouteReferenceGrant', manifest: 'httproute-reference-grant', resolved: { 'reference-grant': 'ResolvedRefs' }, cases: [{ path: '/', backend: 'web-backend' }] },
];

const { nginx: nginxOf, backends } = conformanceRows(rows);

test('HTTPRouteWeight (conformance/tests/httproute-weight.go): 70/30/0 within tolerance, nothing to weight 0', async () => {
  const nginx = nginxOf();
  const { model, fragments } = conformanceModel('httproute-weight');
  await loadFragments(nginx, fragments);
  for (const u of model.upstreams) await nginx.setEndpoints(u.upstream, [(await backends.for(u.service)).address]);
  const counts: Record<string, number> = {};
  for (let i = 0; i < 500; i++) {
    const r = await request({ port: nginx.httpPort, host: 'example.com', path: '/' });
    const b = (JSON.parse(r.body) as { backend: string }).backend;
    counts[b] = (counts[b] ?? 0) + 1;
  }
  // The suite allows 5 percentage points either side of each weight.
  assert.ok(Math.abs(counts['infra-backend-v1']! / 500 - 0.7) <= 0.05, JSON.stringify(counts));
  assert.ok(Math.abs(counts['infra-backend-v2']! / 500 - 0.3) <= 0.05, JSON.stringify(counts));
  assert.equal(counts['infra-backend-v3'], undefined, JSON.stringify(counts));
});

test('HTTPRouteHTTPSListener (conformance/tests/httproute-https-listener.go): HTTPS by SNI with the listener\'s certificate', async () => {
  const pair = selfSigned('example.org', ['second-example.org']);
  const secret = { ...(tlsSecretObject('tls-validity-checks-certificate', pair) as { metadata: object }), metadata: { name: 'tls-validity-checks-certificate', namespace: INFRA } };
  const nginx = nginxOf();
  const { index, model, fragments, certificates } = conformanceModel('httproute-https-listener', [secret]);
  for (const route of ['httproute-https-test', 'httproute-https-test-no-hostname']) {
    assert.deepEqual((index.gatewayStatus('HTTPRoute', INFRA, route) as RouteStatus).parents.map((p) => p.conditions.map((c) => c.reason)), [['Accepted', 'ResolvedRefs']]);
  }
  await loadFragments(nginx, fragments, certificates);
  for (const u of model.upstreams) await nginx.setEndpoints(u.upstream, [(await backends.for(u.service)).address]);
  const get = (host: string) => request({ port: nginx.httpsPort, host, path: '/', tls: true });
  const first = await get('example.org');
  assert.equal(first.status, 200);
  assert.equal((JSON.parse(first.body) as { backend: string }).backend, 'infra-backend-v1');
  // Our copy of the manifest (v1.6.1) sends the listener with a hostname to infra-backend-v2.
  const second = await get('second-example.org');
  assert.equal(second.status, 200);
  assert.equal((JSON.parse(second.body) as { backend: string }).backend, 'infra-backend-v2');
  // An unknown name over the listener without a hostname: its certificate, and 404, as the suite expects.
  assert.equal((await get('unknown-example.org')).status, 404);
});
