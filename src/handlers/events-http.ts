// POST /events on node:http, ahead of Hono: the same checks in the same order (events token, body
// limit, readiness) and the same answers as the app's route (app.ts), then the same pipeline
// (HandlerApp.receiveEvents). An endpoint event is a few hundred bytes whose handling costs tens of
// microseconds; the Request, Headers and web-stream body that @hono/node-server builds for it, and
// the Response it turns back into Node's, cost more than that, on the path of every endpoint change.
// Every other request goes to Hono. tests/handlers/events-http.test.ts holds both routes to the
// same answers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from '../log.ts';
import type { HandlerApp } from './app.ts';
import { bearerRefusal } from './middleware.ts';
import { BodyTooLarge, readBody, sendJson, type RawHandler } from './raw-route.ts';

export interface EventsRouteOptions {
  receive: HandlerApp['receiveEvents'];
  /** Required on POST /events when set (as the app's `eventsToken`). */
  token: string | null;
  /** The app's `maxEventBytes` (default 8 MiB there too). */
  maxBytes?: number;
  /** False until the view is listed: 503 with Retry-After. */
  ready(): boolean;
  log: Logger;
}

/**
 * POST /events as a raw route (raw-route.ts: serve.ts puts it before Hono on every listener that
 * serves /events; not on the admission port of a split handler: listeners.ts).
 */
export function eventsRoute(o: EventsRouteOptions): RawHandler {
  const maxBytes = o.maxBytes ?? 8 << 20;
  const refusal = o.token ? bearerRefusal({ token: o.token, what: 'events' }) : null;
  // The Authorization header each connection last presented that carried the token: an event source
  // sends the same header on every request of a kept-alive connection, and checking it costs a
  // SHA-256 (bearerRefusal hashes it for a constant-time comparison). Only a connection that already
  // presented the token can skip the hash, so nothing about the token leaks to one that did not.
  const accepted = new WeakMap<Socket, string>();
  const tooLarge = `CloudEvents request larger than ${maxBytes} bytes: send smaller requests (split a batch)`;
  const body = (req: IncomingMessage) => () =>
    readBody(req, maxBytes).then(
      (b) => b.toString('utf8'),
      (e: unknown) => {
        throw e instanceof BodyTooLarge ? new HTTPException(413, { message: tooLarge }) : e;
      },
    );

  async function events(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (refusal) {
      const header = req.headers.authorization;
      if (header === undefined || accepted.get(req.socket) !== header) {
        const refused = refusal(header);
        if (refused) return sendJson(res, 401, { error: refused }, { 'www-authenticate': 'Bearer realm="wharf"' });
        accepted.set(req.socket, header!);
      }
    }
    const length = req.headers['content-length'];
    if (length !== undefined && req.headers['transfer-encoding'] === undefined && Number(length) > maxBytes) return sendJson(res, 413, { error: tooLarge });
    if (!o.ready()) return sendJson(res, 503, { error: 'POST /events: the view of the cluster is not listed yet; retry shortly' }, { 'retry-after': '2' });
    const { results } = await o.receive(req.headers, body(req));
    sendJson(res, 200, { results });
  }

  return (req, res) => {
    events(req, res).catch((e: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (e instanceof HTTPException) {
        const headers: Record<string, string> = {};
        e.res?.headers.forEach((v, k) => (headers[k] = v));
        return sendJson(res, e.status, { error: e.message }, headers);
      }
      o.log.error('request failed', { method: 'POST', path: '/events', error: e });
      sendJson(res, 500, { error: `internal error: ${(e as Error).message} (a wharf bug: please report it with the handler's log)` });
    });
  };
}
