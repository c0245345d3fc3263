// Delivery of resource changes as CloudEvents: retried while transient, newest state wins per
// object, never two requests in flight for one object.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HTTP } from 'cloudevents';
import { EventSender } from '../../src/cluster/event-sender.ts';
import { createLogger } from '../../src/log.ts';

const quiet = createLogger({}, () => {});

interface Received { status: number; type: string; subject: string; data: unknown; auth: string | undefined }

// A receiver that answers with the statuses given in turn (then 200), recording what arrives.
async function receiver(statuses: number[], delayMs = 0) {
  const received: Received[] = [];
  let concurrent = 0;
  let maxConcurrentPerSubject = 0;
  const active = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const ce = HTTP.toEvent({ headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString() });
      const event = Array.isArray(ce) ? ce[0]! : ce;
      const subject = String(event.subject);
      active.set(subject, (active.get(subject) ?? 0) + 1);
      maxConcurrentPerSubject = Math.max(maxConcurrentPerSubject, active.get(subject)!);
      concurrent++;
      await new Promise((r) => setTimeout(r, delayMs));
      const status = statuses.shift() ?? 200;
      received.push({ status, type: event.type, subject, data: event.data, auth: req.headers.authorization });
      active.set(subject, active.get(subject)! - 1);
      concurrent--;
      res.statusCode = status;
      res.end(status === 200 ? 'ok' : 'try again');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  return { url, received, stats: () => ({ maxConcurrentPerSubject, concurrent }), close: () => new Promise<void>((r) => server.close(() => r())) };
}

const event = (key: string, version: number) => ({ key, type: 'io.wharf.resource.update', subject: key, data: { metadata: { name: key, resourceVersion: String(version) } } });

test('transient failures (503, 429) are retried until the handler takes the event', async (t) => {
  const r = await receiver([503, 429]);
  t.after(() => r.close());
  const sender = new EventSender({ url: r.url, source: 'wharf/test', token: 's3cret', log: quiet, baseDelayMs: 5 });
  sender.send(event('Service/default/tea', 1));
  await sender.idle();
  assert.deepEqual(r.received.map((x) => x.status), [503, 429, 200]);
  assert.equal(r.received[2]!.auth, 'Bearer s3cret');
  assert.equal(r.received[2]!.type, 'io.wharf.resource.update');
  assert.deepEqual(sender.stats, { delivered: 1, retried: 2, dropped: 0 });
});

test('a refused event (400) is not retried and is counted as dropped', async (t) => {
  const r = await receiver([400]);
  t.after(() => r.close());
  const sender = new EventSender({ url: r.url, source: 'wharf/test', log: quiet, baseDelayMs: 5 });
  sender.send(event('Service/default/tea', 1));
  await sender.idle();
  assert.equal(r.received.length, 1);
  assert.deepEqual(sender.stats, { delivered: 0, retried: 0, dropped: 1 });
});

test('changes of one object are sent one at a time, and a queued change is replaced by a newer one', async (t) => {
  const r = await receiver([], 30);
  t.after(() => r.close());
  const sender = new EventSender({ url: r.url, source: 'wharf/test', log: quiet });
  for (let v = 1; v <= 5; v++) sender.send(event('Ingress/default/cafe', v));
  sender.send(event('Ingress/default/other', 1));
  await sender.idle();
  const cafe = r.received.filter((x) => x.subject === 'Ingress/default/cafe').map((x) => (x.data as { metadata: { resourceVersion: string } }).metadata.resourceVersion);
  assert.deepEqual(cafe, ['1', '5']);
  assert.equal(r.stats().maxConcurrentPerSubject, 1);
  assert.equal(r.received.length, 3);
});

test('an unreachable handler is retried up to the limit, then the event is dropped', async () => {
  const sender = new EventSender({ url: 'http://127.0.0.1:9/events', source: 'wharf/test', log: quiet, baseDelayMs: 1, maxAttempts: 3 });
  sender.send(event('Service/default/tea', 1));
  await sender.idle();
  assert.deepEqual(sender.stats, { delivered: 0, retried: 2, dropped: 1 });
});
