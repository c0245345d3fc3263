// The admission port and the events port are two ports (--events-listen), so that the chart's
// NetworkPolicy can admit the API server to the one and the event source to the other: before,
// one port served both, and whatever could post events could also flood the webhook.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHandler } from '../../src/handlers/serve.ts';
import { request } from '../support/http.ts';
import { TOKEN, admissionReview, binary, ingress } from './fixtures.ts';
import { handlerOptions } from './support.ts';

test('with --events-listen the webhook and the events are served on two ports, each refusing the other\'s routes', async (t) => {
  const running = await startHandler(handlerOptions({ eventsListen: { host: '127.0.0.1', port: 0 } }));
  t.after(() => running.close());
  const admissionPort = Number(new URL(running.url).port);
  const eventsPort = Number(new URL(running.eventsUrl).port);
  assert.notEqual(admissionPort, eventsPort);
  const review = { method: 'POST', path: '/admission', headers: { 'content-type': 'application/json' }, body: JSON.stringify(admissionReview(ingress('x', 'x.example.com'), { uid: 'two-ports' })) };
  const event = binary('io.wharf.resource.add', { ...ingress('x', 'x.example.com'), metadata: { name: 'x', namespace: 'default', resourceVersion: '5' } });
  const post = { method: 'POST', path: '/events', headers: event.headers as Record<string, string>, body: event.body as string };

  const reviewed = await request({ port: admissionPort, ...review });
  assert.equal(reviewed.status, 200);
  assert.equal(JSON.parse(reviewed.body).response.uid, 'two-ports');
  const eventOnAdmission = await request({ port: admissionPort, ...post });
  assert.equal(eventOnAdmission.status, 404);
  assert.match(JSON.parse(eventOnAdmission.body).error, /^POST \/events is served on the events port \(--events-listen\), not on this port$/);
  assert.equal((await request({ port: admissionPort, path: '/snapshot', headers: { authorization: `Bearer ${TOKEN}` } })).status, 404);

  const posted = await request({ port: eventsPort, ...post });
  assert.equal(posted.status, 200);
  const reviewOnEvents = await request({ port: eventsPort, ...review });
  assert.equal(reviewOnEvents.status, 404);
  assert.match(JSON.parse(reviewOnEvents.body).error, /the admission port \(--listen\)/);
  assert.equal((await request({ port: eventsPort, path: '/snapshot', headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
  assert.equal((await request({ port: eventsPort, path: '/metrics' })).status, 200);
  for (const port of [admissionPort, eventsPort]) assert.equal((await request({ port, path: '/healthz' })).status, 200);
});
