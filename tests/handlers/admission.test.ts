// POST /admission through app.request(): what `kubectl apply` shows a user for valid, invalid and
// suspicious Ingresses, and what a malformed review gets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { shortWarning } from '../../src/handlers/admission.ts';
import { admissionReview, ingress, service } from './fixtures.ts';
import { testHandler, type TestHandler } from './support.ts';

const LONG_PATH = '/catalogue/seasonal/winter-collection/limited-edition/items/detail';
let h: TestHandler;
before(async () => {
  h = testHandler();
  h.api.put(service('web'));
  h.api.put({ ...ingress('old', 'taken.example.com'), metadata: { name: 'old', namespace: 'default', creationTimestamp: '2020-01-01T00:00:00Z' } });
  h.api.put({ ...ingress('o', 'l.io', [{ path: LONG_PATH, service: 'web' }]), metadata: { name: 'o', namespace: 'default', creationTimestamp: '2020-01-01T00:00:00Z' } });
  await h.relist();
});
after(() => h.close());

const send = (body: unknown) => h.post('/admission', { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

test('a valid Ingress is allowed, answered with the same apiVersion, kind and uid', async () => {
  const r = await send(admissionReview(ingress('new', 'b.example.com'), { uid: 'uid-1' }));
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'uid-1', allowed: true } });
});

test('an Ingress with a snippet of allowed directives is allowed without a word', async () => {
  const snippet = 'more_set_headers "X-Frame-Options: DENY";\nadd_header X-Id $request_id always;';
  const r = await send(admissionReview(ingress('snip', 'snip.example.com', undefined, { annotations: { 'nginx.ingress.kubernetes.io/configuration-snippet': snippet } }), { uid: 'uid-s' }));
  assert.deepEqual(r.json, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'uid-s', allowed: true } });
});

const denied: [string, unknown, RegExp][] = [
  ['a path its pathType cannot hold', ingress('x', 'b.example.com', [{ path: '/foo[0-9]+', pathType: 'Exact' }]), /^spec\.rules\[0\]\.http\.paths\[0\]\.path: Invalid value: "\/foo\[0-9\]\+": .*use-regex/],
  ['a relative path', ingress('x', 'b.example.com', [{ path: 'foo' }]), /^spec\.rules\[0\]\.http\.paths\[0\]\.path: Invalid value: "foo": must be an absolute path/],
  ['a host that is not lowercase DNS', ingress('x', 'Foo_bar.example.com'), /^spec\.rules\[0\]\.host: Invalid value: "Foo_bar\.example\.com"/],
  ['a wildcard that is not the first label', ingress('x', '*.*.example.com'), /^spec\.rules\[0\]\.host: Invalid value: "\*\.\*\.example\.com": a wildcard/],
  [
    'an annotation value outside its grammar',
    ingress('x', 'b.example.com', undefined, { annotations: { 'nginx.ingress.kubernetes.io/proxy-body-size': '8 m;' } }),
    /^metadata\.annotations\[nginx\.ingress\.kubernetes\.io\/proxy-body-size\]: Invalid value: "8 m;": must be a size/,
  ],
  [
    'a snippet with a directive off the allowlist',
    ingress('x', 'b.example.com', undefined, { annotations: { 'nginx.ingress.kubernetes.io/configuration-snippet': 'add_header X-A 1;\nreturn 200;' } }),
    /^metadata\.annotations\[nginx\.ingress\.kubernetes\.io\/configuration-snippet\]: Forbidden: line 2, column 1: return is not allowed in snippets: use the nginx\.ingress\.kubernetes\.io\/permanent-redirect/,
  ],
  [
    'an injection through auth-url (IngressNightmare)',
    ingress('x', 'b.example.com', undefined, { annotations: { 'nginx.ingress.kubernetes.io/auth-url': 'http://x/;}\nlocation /x { return 200; } #' } }),
    /^metadata\.annotations\[nginx\.ingress\.kubernetes\.io\/auth-url\]: Invalid value: .*character ";" is not allowed/,
  ],
  [
    'an injection through rewrite-target',
    ingress('x', 'b.example.com', undefined, { annotations: { 'nginx.ingress.kubernetes.io/rewrite-target': '/$1"; } location /y { root /; }' } }),
    /^metadata\.annotations\[nginx\.ingress\.kubernetes\.io\/rewrite-target\]: Invalid value: /,
  ],
];

for (const [name, object, message] of denied) {
  test(`denied with a precise message: ${name}`, async () => {
    const r = await send(admissionReview(object, { uid: 'uid-2' }));
    assert.equal(r.status, 200);
    assert.equal(r.json.response.uid, 'uid-2');
    assert.equal(r.json.response.allowed, false);
    assert.equal(r.json.response.status.code, 403);
    assert.match(r.json.response.status.message, message);
    assert.doesNotMatch(r.json.response.status.message, /\n/, 'one line');
  });
}

const warned: [string, unknown, RegExp][] = [
  ['a host and path an older Ingress holds', ingress('new', 'taken.example.com'), /path is already served by older Ingress default\/old/],
  ['an unknown annotation', ingress('new', 'b.example.com', undefined, { annotations: { 'nginx.ingress.kubernetes.io/foo-bar': 'x' } }), /foo-bar\]: not supported by wharf/],
  // Field, kind of problem and reason leave no room for the value within 120 characters.
  ['a missing Service', ingress('new', 'b.example.com', [{ path: '/', service: 'nope' }]), /^spec\.rules\[0\]\.http\.paths\[0\]\.backend\.service\.name: no such Service in this namespace; requests get 503 until it exists$/],
  ['a missing TLS Secret', ingress('new', 'b.example.com', undefined, { tls: [{ hosts: ['b.example.com'], secretName: 'nope' }] }), /secretName: Not found: "nope"/],
];

for (const [name, object, warning] of warned) {
  test(`allowed with a warning: ${name}`, async () => {
    const r = await send(admissionReview(object));
    assert.equal(r.json.response.allowed, true);
    assert.equal(r.json.response.warnings.length, 1, JSON.stringify(r.json.response.warnings));
    assert.match(r.json.response.warnings[0], warning);
    assert.ok(r.json.response.warnings[0].length <= 120);
  });
}

test('updating the Ingress that holds a host does not warn about itself', async () => {
  const r = await send(admissionReview({ ...ingress('old', 'taken.example.com'), metadata: { name: 'old', namespace: 'default', creationTimestamp: '2020-01-01T00:00:00Z' } }, { operation: 'UPDATE' }));
  assert.deepEqual(r.json.response, { uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed: true });
});

test('deletes and other kinds are allowed untouched', async () => {
  const del = await send(admissionReview(undefined, { operation: 'DELETE' }));
  assert.equal(del.json.response.allowed, true);
  const svc = await send(admissionReview({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' } }, { kind: { group: '', version: 'v1', kind: 'Service' } }));
  assert.deepEqual(svc.json.response, { uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed: true });
});

const malformed: [string, unknown, number, RegExp][] = [
  ['malformed JSON', '{"apiVersion": "admission.k8s.io/v1", ', 400, /malformed JSON/],
  ['a review without a uid', admissionReview(ingress('x', 'b.example.com'), { uid: null }), 400, /^request\.uid: Required value/],
  ['a review without a request', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, 400, /^request: Required value/],
  ['a v1beta1 review', { ...admissionReview(ingress('x', 'b.example.com')), apiVersion: 'admission.k8s.io/v1beta1' }, 400, /admissionReviewVersions: \["v1"\]/],
  ['a CREATE review without the object', admissionReview(undefined), 400, /^request\.object: Required value/],
  ['a JSON array', [], 400, /an AdmissionReview is a JSON object/],
];

for (const [name, body, status, message] of malformed) {
  test(`malformed review → ${status}: ${name}`, async () => {
    const r = await send(body);
    assert.equal(r.status, status);
    assert.match(r.json.error, message);
  });
}

test('a body over the limit gets 413 before it is read, and the app keeps answering', async () => {
  const big = JSON.stringify(admissionReview({ ...ingress('x', 'b.example.com'), pad: 'x'.repeat(5 << 20) }));
  const r = await send(big);
  assert.equal(r.status, 413);
  assert.match(r.json.error, /AdmissionReview larger than \d+ bytes/);
  const ok = await send(admissionReview(ingress('new', 'b.example.com')));
  assert.equal(ok.json.response.allowed, true);
});

test('a review that is not JSON by Content-Type gets 415', async () => {
  const r = await h.post('/admission', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
  assert.equal(r.status, 415);
  assert.match(r.json.error, /expected application\/json/);
});

test('decisions and latency show in /metrics', async () => {
  const res = await h.app.request('/metrics');
  const text = await res.text();
  assert.match(text, /wharf_handler_admission_decisions_total\{decision="denied"\} \d+/);
  assert.match(text, /wharf_handler_admission_duration_seconds_count \d+/);
});

test('a warning over 120 characters keeps its field path and its reason whole; the quoted value is shortened instead', async () => {
  // Before, the cut fell at the end and dropped the reason ("…already served by older Ingr...").
  const r = await send(admissionReview(ingress('new', 'l.io', [{ path: LONG_PATH, service: 'web' }])));
  const [w] = r.json.response.warnings as string[];
  assert.ok(w!.length <= 120, w);
  assert.match(w!, /^spec\.rules\[0\]\.http\.paths\[0\]\.path: Invalid value: "\/cat[^"]*\.\.\.": host l\.io path is already served by older Ingress default\/o$/);
  // A Service name that leaves no room for the value: the field and the reason, whole.
  const name = 'a'.repeat(63);
  const s = await send(admissionReview(ingress('new', 'b.example.com', [{ path: '/', service: name }])));
  assert.deepEqual(s.json.response.warnings, ['spec.rules[0].http.paths[0].backend.service.name: no such Service in this namespace; requests get 503 until it exists']);
});

test('shortWarning: what is kept of a long warning', () => {
  const cases: Record<string, [string, string]> = {
    'short: unchanged': ['spec.rules[0].host: Invalid value: "a": short', 'spec.rules[0].host: Invalid value: "a": short'],
    'the value is cut, the reason kept': [
      `metadata.annotations[nginx.ingress.kubernetes.io/rewrite-target]: Invalid value: "${'x'.repeat(60)}": must not contain spaces`,
      'metadata.annotations[nginx.ingress.kubernetes.io/rewrite-target]: Invalid value: "xxxxxxxxx...": must not contain spaces',
    ],
    'no escape is split': [
      `f: Invalid value: "${'\\u0001'.repeat(30)}": ${'r'.repeat(80)}`,
      `f: Invalid value: "\\u0001\\u0001...": ${'r'.repeat(80)}`,
    ],
    'no room for the value: field and reason': [`f: Not found: "${'v'.repeat(40)}": ${'r'.repeat(105)}`, `f: Not found: ${'r'.repeat(105)}`],
    'not the field: value: reason form: cut at the end': ['x'.repeat(130), `${'x'.repeat(117)}...`],
  };
  for (const [name, [input, want]] of Object.entries(cases)) {
    const got = shortWarning(input);
    assert.equal(got, want, name);
    assert.ok(got.length <= 120, name);
  }
});
