// The GATEWAY-HTTP extended features the issue names, restated against a real NGINX as
// tests/gateway/http.test.ts does the core: each row is one test of the public suite
// (kubernetes-sigs/gateway-api conformance/tests/<name>.go) with its manifest from ../shared.
// Redirects are checked by their exact Location: the listener is port 80 over HTTP, so a redirect
// that keeps scheme and port writes no port.
import { conformanceRows, type Row } from './conformance.ts';

const rewritten = { 'x-header-add': 'header-val-1', 'x-header-add-append': 'append-val-1,header-val-2', 'x-header-set': 'set-overwrites-values' };
const rewriteHeaders = { 'X-Header-Remove': 'remove-val', 'X-Header-Add-Append': 'append-val-1', 'X-Header-Set': 'set-val' };

const rows: Row[] = [
  {
    conformance: 'HTTPRouteQueryParamMatching',
    manifest: 'httproute-query-param-matching',
    resolved: { 'query-param-matching': 'ResolvedRefs' },
    cases: [
      { path: '/?animal=whale', backend: 'infra-backend-v1' },
      { path: '/?animal=dolphin', backend: 'infra-backend-v2' },
      { path: '/?animal=dolphin&color=blue', backend: 'infra-backend-v3' },
      { path: '/?ANIMAL=Whale', backend: 'infra-backend-v3' },
      { path: '/?animal=whale&otherparam=irrelevant', backend: 'infra-backend-v1' },
      { path: '/?animal=dolphin&color=yellow', backend: 'infra-backend-v2' },
      { path: '/?color=blue', status: 404 },
      { path: '/?animal=dog', status: 404 },
      { path: '/?animal=whaledolphin', status: 404 },
      { path: '/', status: 404 },
      { path: '/path1?animal=whale', backend: 'infra-backend-v1' },
      { path: '/?animal=whale', headers: { version: 'one' }, backend: 'infra-backend-v2' },
      { path: '/path2?animal=whale', headers: { version: 'two' }, backend: 'infra-backend-v3' },
      { path: '/path3?animal=shark', backend: 'infra-backend-v1' },
      { path: '/path4?animal=kraken', headers: { version: 'three' }, backend: 'infra-backend-v1' },
      { path: '/?animal=shark', status: 404 },
      { path: '/path4?animal=kraken', status: 404 },
      { path: '/path5?animal=hydra', backend: 'infra-backend-v1' },
      { path: '/?animal=hydra', headers: { version: 'four' }, backend: 'infra-backend-v3' },
    ],
  },
  {
    conformance: 'HTTPRouteMethodMatching',
    manifest: 'httproute-method-matching',
    resolved: { 'method-matching': 'ResolvedRefs' },
    cases: [
      { path: '/', method: 'POST', backend: 'infra-backend-v1' },
      { path: '/', method: 'GET', backend: 'infra-backend-v2' },
      { path: '/', method: 'HEAD', status: 404 },
      { path: '/path1', method: 'GET', backend: 'infra-backend-v1' },
      { path: '/', method: 'PUT', headers: { version: 'one' }, backend: 'infra-backend-v2' },
      { path: '/path2', method: 'POST', headers: { version: 'two' }, backend: 'infra-backend-v3' },
      { path: '/path3', method: 'PATCH', backend: 'infra-backend-v1' },
      { path: '/path4', method: 'DELETE', headers: { version: 'three' }, backend: 'infra-backend-v1' },
      { path: '/', method: 'PUT', status: 404 },
      { path: '/path4', method: 'DELETE', status: 404 },
      { path: '/path5', method: 'PATCH', backend: 'infra-backend-v1' },
      { path: '/', method: 'PATCH', headers: { version: 'four' }, backend: 'infra-backend-v2' },
    ],
  },
  {
    conformance: 'HTTPRouteResponseHeaderModifier',
    manifest: 'httproute-response-header-modifier',
    // The backend answers with the request's X-Header-* headers (conformance.ts), as the suite's does.
    cases: [
      { path: '/set', headers: { 'Some-Other-Header': 'val' }, backend: 'infra-backend-v1', responseHeaders: { 'some-other-header': 'val', 'x-header-set': 'set-overwrites-values' } },
      { path: '/set', headers: { 'Some-Other-Header': 'val', 'X-Header-Set': 'some-other-value' }, backend: 'infra-backend-v1', responseHeaders: { 'x-header-set': 'set-overwrites-values' } },
      { path: '/add', headers: { 'Some-Other-Header': 'val' }, backend: 'infra-backend-v1', responseHeaders: { 'x-header-add': 'add-appends-values' } },
      // Two header lines, which the client joins with ", ".
      { path: '/add', headers: { 'X-Header-Add': 'some-other-value' }, backend: 'infra-backend-v1', responseHeaders: { 'x-header-add': 'some-other-value, add-appends-values' } },
      { path: '/remove', headers: { 'X-Header-Remove': 'val' }, backend: 'infra-backend-v1', responseHeaders: { 'x-header-remove': null } },
      {
        path: '/multiple',
        headers: { 'X-Header-Set-2': 'set-val-2', 'X-Header-Add-2': 'add-val-2', 'X-Header-Remove-2': 'remove-val-2', 'Another-Header': 'another-header-val' },
        backend: 'infra-backend-v1',
        responseHeaders: { 'x-header-set-1': 'header-set-1', 'x-header-set-2': 'header-set-2', 'x-header-add-1': 'header-add-1', 'x-header-add-2': 'add-val-2, header-add-2', 'x-header-add-3': 'header-add-3', 'x-header-remove-1': null, 'x-header-remove-2': null },
      },
      {
        path: '/case-insensitivity',
        headers: { 'x-header-set': 'original-val-set', 'x-header-add': 'original-val-add', 'x-header-remove': 'original-val-remove' },
        backend: 'infra-backend-v1',
        responseHeaders: { 'x-header-set': 'header-set', 'x-header-add': 'original-val-add, header-add', 'x-header-remove': null },
      },
    ],
  },
  {
    conformance: 'HTTPRouteRedirectHostAndStatus',
    manifest: 'httproute-redirect-host-and-status',
    cases: [
      { path: '/hostname-redirect', status: 302, location: 'http://example.org/hostname-redirect' },
      { path: '/host-and-status', status: 301, location: 'http://example.org/host-and-status' },
    ],
  },
  {
    conformance: 'HTTPRouteRedirectPath',
    manifest: 'httproute-redirect-path',
    cases: [
      { path: '/original-prefix/lemon', status: 302, location: 'http://example.com/replacement-prefix/lemon' },
      { path: '/full/path/original', status: 302, location: 'http://example.com/full-path-replacement' },
      { path: '/path-and-host', status: 302, location: 'http://example.org/replacement-prefix' },
      { path: '/path-and-status', status: 301, location: 'http://example.com/replacement-prefix' },
      { path: '/full-path-and-host', status: 302, location: 'http://example.org/replacement-full' },
      { path: '/full-path-and-status', status: 301, location: 'http://example.com/replacement-full' },
    ],
  },
  {
    conformance: 'HTTPRouteRedirectPort',
    manifest: 'httproute-redirect-port',
    cases: [
      { path: '/port', status: 302, location: 'http://example.com:8083/port' },
      { path: '/port-and-host', status: 302, location: 'http://example.org:8083/port-and-host' },
      { path: '/port-and-status', status: 301, location: 'http://example.com:8083/port-and-status' },
      { path: '/port-and-host-and-status', status: 302, location: 'http://example.org:8083/port-and-host-and-status' },
    ],
  },
  {
    conformance: 'HTTPRouteRedirectScheme',
    manifest: 'httproute-redirect-scheme',
    cases: [
      { path: '/scheme', status: 302, location: 'https://example.com/scheme' },
      { path: '/scheme-and-host', status: 302, location: 'https://example.org/scheme-and-host' },
      { path: '/scheme-and-status', status: 301, location: 'https://example.com/scheme-and-status' },
      { path: '/scheme-and-host-and-status', status: 302, location: 'https://example.org/scheme-and-host-and-status' },
    ],
  },
  {
    conformance: 'HTTPRouteRewriteHost',
    manifest: 'httproute-rewrite-host',
    resolved: { 'rewrite-host': 'ResolvedRefs' },
    cases: [
      { host: 'rewrite.example', path: '/one', backend: 'infra-backend-v1', backendHeaders: { host: 'one.example.org' } },
      { host: 'rewrite.example', path: '/two', backend: 'infra-backend-v2', backendHeaders: { host: 'example.org' } },
      {
        host: 'rewrite.example',
        path: '/rewrite-host-and-modify-headers',
        headers: { 'X-Header-Remove': 'remove-val', 'X-Header-Add-Append': 'append-val-1' },
        backend: 'infra-backend-v2',
        backendHeaders: { host: 'test.example.org', 'x-header-add': 'header-val-1', 'x-header-add-append': 'append-val-1,header-val-2', 'x-header-set': 'set-overwrites-values' },
        absentHeaders: ['x-header-remove'],
      },
    ],
  },
  {
    conformance: 'HTTPRouteRewritePath',
    manifest: 'httproute-rewrite-path',
    resolved: { 'rewrite-path': 'ResolvedRefs' },
    cases: [
      { path: '/prefix/one/two', backend: 'infra-backend-v1', backendPath: '/one/two' },
      { path: '/full/one/two', backend: 'infra-backend-v1', backendPath: '/one' },
      { path: '/strip-prefix/three', backend: 'infra-backend-v1', backendPath: '/three' },
      { path: '/full/rewrite-path-and-modify-headers/test', headers: rewriteHeaders, backend: 'infra-backend-v1', backendPath: '/test', backendHeaders: rewritten, absentHeaders: ['x-header-remove'] },
      { path: '/prefix/rewrite-path-and-modify-headers/one', headers: rewriteHeaders, backend: 'infra-backend-v1', backendPath: '/prefix/one', backendHeaders: rewritten, absentHeaders: ['x-header-remove'] },
    ],
  },
];

conformanceRows(rows);
