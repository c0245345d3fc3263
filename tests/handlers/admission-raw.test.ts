// POST /admission as the API server reaches it: over real HTTP, where the node:http listener answers
// the route itself instead of Hono (src/handlers/raw-route.ts). What a connection can do to it:
// several reviews on one keep-alive connection, a body in many TCP pieces or chunked, a client gone
// mid-body, other methods on the path; and every refusal answered as the Hono route answers it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startHandler, type RunningHandler } from '../../src/handlers/serve.ts';
import { eventually, request } from '../support/http.ts';
import { admissionReview, ingress } from './fixtures.ts';
import { testHandler, handlerOptions } from './support.ts';

let running: RunningHandler;
let port: number;
before(async () => {
  running = await startHandler(handlerOptions());
  port = Number(new URL(running.url).port);
});
after(() => running.close());

const JSON_HEADERS = { 'content-type': 'application/json' };
const reviewOf = (uid: string, host = `${uid}.example.com`) => JSON.stringify(admissionReview(ingress(uid, host), { uid }));
const review = (body: string | Buffer, headers: Record<string, string> = JSON_HEADERS, path = '/admission') => request({ port, method: 'POST', path, headers, body });
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A request whose body is written in `pieces`, each flushed on its own after a pause; the answer. */
function piecewise(pieces: (string | Buffer)[], headers: Record<string, string>, agent: http.Agent | false = false): Promise<{ status: number; body: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/admission', headers, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body, reused: req.reusedSocket }));
    });
    req.on('error', reject);
    req.on('socket', (s) => s.setNoDelay(true));
    void (async () => {
      for (const [i, p] of pieces.entries()) {
        if (i) await pause(2);
        req.write(p);
      }
      req.end();
    })();
  });
}

test('several reviews on one keep-alive connection are each answered with their own uid', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const answers = [];
    for (let i = 0; i < 5; i++) {
      const body = i === 2 ? '{"apiVersion":' : reviewOf(`ka-${i}`);
      answers.push(await piecewise([body], { ...JSON_HEADERS, 'content-length': String(Buffer.byteLength(body)) }, agent));
    }
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 400, 200, 200]);
    assert.deepEqual(answers.map((a) => a.reused), [false, true, true, true, true], 'one connection for all five');
    for (const i of [0, 1, 3, 4]) assert.equal(JSON.parse(answers[i]!.body).response.uid, `ka-${i}`);
    assert.match(JSON.parse(answers[2]!.body).error, /^\(body\): Invalid value: malformed JSON: /);
  } finally {
    agent.destroy();
  }
});

test('a body that arrives in many TCP pieces, or chunked, is reviewed whole', async () => {
  const body = reviewOf('pieces');
  const pieces = body.match(/[^]{1,40}/g)!;
  const sized = await piecewise(pieces, { ...JSON_HEADERS, 'content-length': String(Buffer.byteLength(body)) });
  assert.equal(sized.status, 200);
  assert.equal(JSON.parse(sized.body).response.uid, 'pieces');
  // No Content-Length: Transfer-Encoding: chunked, one chunk per piece.
  const chunked = await piecewise(pieces, { ...JSON_HEADERS, 'transfer-encoding': 'chunked' });
  assert.equal(chunked.status, 200);
  assert.equal(JSON.parse(chunked.body).response.uid, 'pieces');
  // A multi-byte character split between two pieces is read as one.
  const accented = JSON.stringify(admissionReview({ ...ingress('accents', 'accents.example.com'), metadata: { name: 'accents', namespace: 'default', annotations: { note: 'é€' } } }, { uid: 'é€' }));
  const bytes = Buffer.from(accented);
  const cut = bytes.indexOf(Buffer.from('€')) + 1;
  const split = await piecewise([bytes.subarray(0, cut), bytes.subarray(cut)], { ...JSON_HEADERS, 'content-length': String(bytes.length) });
  assert.equal(JSON.parse(split.body).response.uid, 'é€');
});

test('refusals over HTTP say what the Hono route says: type, size, JSON, review', async () => {
  const h = testHandler();
  after(() => h.close());
  await h.relist();
  const big = JSON.stringify(admissionReview({ ...ingress('x', 'b.example.com'), pad: 'x'.repeat(5 << 20) }));
  const cases: [string, string, Record<string, string>, number, RegExp][] = [
    ['text/plain', 'hello', { 'content-type': 'text/plain' }, 415, /^Content-Type "text\/plain": expected application\/json \(an AdmissionReview\)$/],
    ['no Content-Type', reviewOf('n'), {}, 415, /^Content-Type "": expected application\/json/],
    ['over the limit', big, JSON_HEADERS, 413, /^AdmissionReview larger than 4194304 bytes: send smaller requests \(split a batch\)$/],
    ['malformed JSON', '{"a":', JSON_HEADERS, 400, /^\(body\): Invalid value: malformed JSON: /],
    ['an empty body', '', JSON_HEADERS, 400, /^\(body\): Invalid value: malformed JSON: /],
    ['not an object', '[]', JSON_HEADERS, 400, /^\(body\): Invalid value: an AdmissionReview is a JSON object$/],
    ['a v1beta1 review', JSON.stringify({ ...admissionReview(ingress('x', 'x.example.com')), apiVersion: 'admission.k8s.io/v1beta1' }), JSON_HEADERS, 400, /admissionReviewVersions: \["v1"\]/],
  ];
  for (const [name, body, headers, status, message] of cases) {
    const overHttp = await review(body, headers);
    assert.equal(overHttp.status, status, name);
    assert.equal(overHttp.headers['content-type'], 'application/json', name);
    assert.match(JSON.parse(overHttp.body).error, message, name);
    // (in-process, a Request with a text body and no type gets text/plain)
    if (!headers['content-type']) continue;
    const inProcess = await h.post('/admission', { method: 'POST', headers, body });
    assert.deepEqual([inProcess.status, inProcess.json], [overHttp.status, JSON.parse(overHttp.body)], `${name}: the Hono route answers the same`);
  }
  // Chunked, past the limit: counted as it comes, refused once over it.
  const chunked = await piecewise([big.slice(0, 3 << 20), big.slice(3 << 20)], { ...JSON_HEADERS, 'transfer-encoding': 'chunked' });
  assert.equal(chunked.status, 413);
  assert.match(JSON.parse(chunked.body).error, /^AdmissionReview larger than 4194304 bytes/);
  const ok = await review(reviewOf('after-refusals'));
  assert.equal(JSON.parse(ok.body).response.uid, 'after-refusals');
});

test('GET, HEAD and other spellings of /admission are answered as before (Hono)', async () => {
  const get = await request({ port, method: 'GET', path: '/admission' });
  assert.equal(get.status, 404);
  assert.match(JSON.parse(get.body).error, /^no route GET \/admission: the handler serves POST \/admission/);
  const head = await request({ port, method: 'HEAD', path: '/admission' });
  assert.equal(head.status, 404);
  assert.equal(head.body, '');
  const slash = await review(reviewOf('slash'), JSON_HEADERS, '/admission/');
  assert.equal(slash.status, 404);
  // The API server's query (?timeout=) and a percent-encoded path reach the same review.
  for (const path of ['/admission?timeout=10s', '/%61dmission']) {
    const r = await review(reviewOf('spelled'), JSON_HEADERS, path);
    assert.equal(r.status, 200, path);
    assert.equal(JSON.parse(r.body).response.uid, 'spelled', path);
  }
});

test('clients gone mid-body do not crash the handler or hold a place among the reviews in flight', async () => {
  const body = reviewOf('held');
  /** A review whose headers and half its body are sent, then nothing more until it is destroyed. */
  const hold = () => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/admission', headers: { ...JSON_HEADERS, 'content-length': String(body.length) }, agent: false });
    req.on('error', () => {});
    req.write(body.slice(0, body.length / 2));
    return req;
  };
  // 64 reviews at once (the default limit) wait for their bodies: the next one is refused at once.
  const held = Array.from({ length: 64 }, hold);
  const refused = await eventually(async () => {
    const r = await review(reviewOf('refused'));
    return r.status === 429 ? r : null;
  });
  assert.equal(refused!.headers['retry-after'], '1');
  assert.match(JSON.parse(refused!.body).error, /^64 admission reviews in progress \(at most 64\); retry shortly$/);
  // Their clients go away: their places are free again, and the handler answers as before.
  for (const req of held) req.destroy();
  const ok = await eventually(async () => {
    const r = await review(reviewOf('after-aborts'));
    return r.status === 200 ? r : null;
  });
  assert.equal(JSON.parse(ok!.body).response.uid, 'after-aborts');
  const metrics = await request({ port, path: '/metrics' });
  assert.match(metrics.body, /wharf_handler_admission_decisions_total\{decision="throttled"\} [1-9]/);
  assert.match(metrics.body, /wharf_handler_admission_duration_seconds_count [1-9]/);
});
