// No review can stall the others. Four reviews of an Ingress with 10,000 rules used to hold the
// handler's only thread for seconds, and a one-rule review sent meanwhile waited 7 s, past the
// webhook's timeout. Large reviews now take turns in their own lane, a few milliseconds at a time,
// and small ones are answered in between; too many at once get 429 at once; a warning repeated
// for every path is one warning with a count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { send, startHandlerProcess, tokenFile } from '../../bench/handler-process.ts';
import { admissionReview, ingress, service } from './fixtures.ts';
import { testHandler } from './support.ts';

/** An Ingress with `rules` one-host rules, all to Service web. */
function wide(name: string, rules: number) {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: 'default' },
    spec: {
      ingressClassName: 'wharf',
      rules: Array.from({ length: rules }, (_, i) => ({ host: `${name}-${i}.example.com`, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } })),
    },
  };
}

const JSON_HEADERS = { 'content-type': 'application/json' };

test('one-rule reviews sent while four 10,000-rule reviews are in progress are answered in between, not after them', async (t) => {
  const token = randomBytes(24).toString('hex');
  const tf = tokenFile(token);
  const handler = await startHandlerProcess({ tokenPath: tf.path });
  t.after(async () => {
    await handler.stop();
    tf.remove();
  });
  const url = `${handler.url}/admission`;
  const large = Array.from({ length: 4 }, (_, i) => JSON.stringify(admissionReview(wide(`large-${i}`, 10_000), { uid: `large-${i}` })));
  // Warm-up: one large and a few small reviews, so that compiling the code is not measured.
  await send(url, 'POST', JSON_HEADERS, large[0]);
  for (let i = 0; i < 20; i++) await send(url, 'POST', JSON_HEADERS, JSON.stringify(admissionReview(ingress(`w-${i}`, `w-${i}.example.com`))));

  const started = performance.now();
  let largeDone = 0;
  const largeAnswers = Promise.all(
    large.map(async (body) => {
      const r = await send(url, 'POST', JSON_HEADERS, body);
      largeDone++;
      return r;
    }),
  );
  const small: number[] = [];
  for (let i = 0; largeDone < 4; i++) {
    const t0 = performance.now();
    const r = await send(url, 'POST', JSON_HEADERS, JSON.stringify(admissionReview(ingress(`small-${i}`, `small-${i}.example.com`), { uid: `small-${i}` })));
    if (largeDone < 4) small.push(performance.now() - t0);
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).response.uid, `small-${i}`);
  }
  const total = performance.now() - started;
  for (const r of await largeAnswers) {
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).response.allowed, true);
  }
  const slowest = Math.max(...small);
  t.diagnostic(`4 large reviews in ${Math.round(total)} ms; ${small.length} small reviews meanwhile, the slowest ${Math.round(slowest)} ms`);
  // Before, the small reviews waited for the large ones: a handful got through, the slowest after
  // nearly all of their time. Now they are answered between slices of them.
  assert.ok(small.length >= 10, `only ${small.length} small reviews were answered during the large ones (${Math.round(total)} ms)`);
  assert.ok(slowest < total / 2, `a small review waited ${Math.round(slowest)} ms of the large reviews' ${Math.round(total)} ms`);
});

test('too many reviews at once get 429 with Retry-After and a message, at once, instead of a timeout', async (t) => {
  // A "large" review here is one over 1,000 bytes, and slices are as short as can be, so that one is
  // still in progress while the next arrives.
  const h = testHandler({ settings: { admission: { maxInFlight: 2, largeBytes: 1000, maxLargeWaiting: 0, sliceMs: 0 } } });
  t.after(() => h.close());
  h.api.put(service('web'));
  await h.relist();
  const review = (object: unknown, uid: string) => h.post('/admission', { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(admissionReview(object, { uid })) });

  // The lane: one large review runs and none may wait, so a second one is refused.
  const [first, second] = await Promise.all([review(wide('a', 200), 'a'), review(wide('b', 200), 'b')]);
  assert.equal(first.status, 200);
  assert.equal(first.json.response.allowed, true);
  assert.equal(second.status, 429);
  assert.equal(second.headers.get('retry-after'), '1');
  assert.match(second.json.error, /^1 large reviews \(over 1000 bytes\) in progress or waiting \(at most 1\); retry shortly$/);

  // All reviews: two in progress, the third is refused; a small one is answered as soon as a place is free.
  const [x, y, z] = await Promise.all([review(wide('c', 200), 'c'), review(ingress('d', 'd.example.com'), 'd'), review(ingress('e', 'e.example.com'), 'e')]);
  assert.deepEqual([x.status, y.status, z.status], [200, 200, 429]);
  assert.match(z.json.error, /^2 admission reviews in progress \(at most 2\); retry shortly$/);
  assert.equal((await review(ingress('f', 'f.example.com'), 'f')).json.response.allowed, true);
  const metrics = await (await h.app.request('/metrics')).text();
  assert.match(metrics, /wharf_handler_admission_decisions_total\{decision="throttled"\} 2/);
});

test('a warning repeated for every path is one warning with the count', async (t) => {
  const h = testHandler();
  t.after(() => h.close());
  await h.relist();
  const paths = Array.from({ length: 500 }, (_, i) => ({ path: `/p${i}`, service: 'nope' }));
  const r = await h.post('/admission', { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(admissionReview(ingress('many', 'many.example.com', paths))) });
  assert.equal(r.json.response.allowed, true);
  // The field pattern and the count stay whole; the reason is cut only because the two together pass 120.
  assert.deepEqual(r.json.response.warnings, [
    'spec.rules[*].http.paths[*].backend.service.name: 500 times: no such Service in this namespace; requests get 503 unti...',
  ]);
  // One of a kind keeps its own text.
  const one = await h.post('/admission', { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(admissionReview(ingress('one', 'one.example.com', [{ path: '/', service: 'nope' }]))) });
  assert.deepEqual(one.json.response.warnings, ['spec.rules[0].http.paths[0].backend.service.name: no such Service in this namespace; requests get 503 until it exists']);
});

test('a large review whose turn comes after the API server gave up (its ?timeout=) is not reviewed: 503', async (t) => {
  const h = testHandler({ settings: { admission: { largeBytes: 1000, sliceMs: 0 } } });
  t.after(() => h.close());
  h.api.put(service('web'));
  await h.relist();
  const post = (uid: string, query: string) => h.post(`/admission${query}`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(admissionReview(wide(uid, 200), { uid })) });
  const [first, late] = await Promise.all([post('first', '?timeout=10s'), post('late', '?timeout=0s')]);
  assert.equal(first.status, 200);
  assert.equal(late.status, 503);
  assert.match(late.json.error, /waited for larger ones past the timeout the API server gave it/);
  // Small reviews never wait, whatever their timeout.
  const small = await h.post('/admission?timeout=0s', { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(admissionReview(ingress('s', 's.example.com'))) });
  assert.equal(small.status, 200);
});
