// POST /events on node:http, ahead of Hono: the same checks in the same order (events token, body
// limit, readiness) and the same answers as the app's route (app.ts), then the same pipeline
// (HandlerApp.receiveEvents). An endpoint event is a few hundred bytes whose handling costs tens of
// microseconds; the Request, Headers and web-stream body that @hono/node-server builds for it, and
// the Response it turns back into Node's, cost more than that, on the path of every endpoint change.
// Every other request goes to Hono. tests/handlers/events-http.test.ts holds both routes to the
// same answers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from '../log.ts';
import type { HandlerApp } from './app.ts';
import { bearerRefusal } from './middleware.ts';

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

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

function answer(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** Reads a body of at most `max` bytes; rejects with 413 past it (the rest is not read). */
function readBody(req: IncomingMessage, max: number, tooLarge: () => HTTPException): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.off('data', onData);
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

/**
 * Wraps the listener Hono's adapter made: POST /events is answered here, everything else there.
 * For a server that serves /events (not the admission port of a split handler: listeners.ts).
 */
export function withEventsRoute(o: EventsRouteOptions, next: Listener): Listener {
  const maxBytes = o.maxBytes ?? 8 << 20;
  const refusal = o.token ? bearerRefusal({ token: o.token, what: 'events' }) : null;
  const tooLarge = () => new HTTPException(413, { message: `CloudEvents request larger than ${maxBytes} bytes: send smaller requests (split a batch)` });

  async function events(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const refused = refusal?.(req.headers.authorization);
    if (refused) return answer(res, 401, { error: refused }, { 'www-authenticate': 'Bearer realm="wharf"' });
    const length = req.headers['content-length'];
    if (length !== undefined && req.headers['transfer-encoding'] === undefined && Number(length) > maxBytes) return answer(res, 413, { error: tooLarge().message });
    if (!o.ready()) return answer(res, 503, { error: 'POST /events: the view of the cluster is not listed yet; retry shortly' }, { 'retry-after': '2' });
    const { results } = await o.receive(req.headers, () => readBody(req, maxBytes, tooLarge));
    answer(res, 200, { results });
  }

  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    if (req.method !== 'POST' || (q < 0 ? url : url.slice(0, q)) !== '/events') return next(req, res);
    events(req, res).catch((e: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (e instanceof HTTPException) {
        const headers: Record<string, string> = {};
        e.res?.headers.forEach((v, k) => (headers[k] = v));
        return answer(res, e.status, { error: e.message }, headers);
      }
      o.log.error('request failed', { method: 'POST', path: '/events', error: e });
      answer(res, 500, { error: `internal error: ${(e as Error).message} (a wharf bug: please report it with the handler's log)` });
    });
  };
}
