// Routes the node:http listener answers itself, before Hono. A few routes are the product whose cost
// per request is measured against a bare node:http server (POST /admission, issue 19): for them the
// Web Request and Response that @hono/node-server builds and turns back into Node's cost as much as
// the work itself. Such a route reads its body here, with a limit, and writes its answer with one
// `res.end(buffer)`; every other request goes on to the Hono app's listener, unchanged.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

/** A route served on node:http directly: it answers `res` in every case, errors included. */
export type RawHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Raw routes by `METHOD /path`: the exact path, without the query. */
export type RawRoutes = ReadonlyMap<string, RawHandler>;

/**
 * The request listener that answers `routes` itself and hands every other request (another
 * method, another spelling of the path) to `fallback`, the Hono app's listener.
 */
export function rawFirst(routes: RawRoutes, fallback: RequestListener): RequestListener {
  if (routes.size === 0) return fallback;
  return function rawFirst(req, res) {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const handler = routes.get(`${req.method} ${q < 0 ? url : url.slice(0, q)}`);
    if (handler) handler(req, res);
    else fallback(req, res);
  };
}

/** A body past the limit while it was read (a chunked one: a declared length is checked before). */
export class BodyTooLarge extends Error {
  constructor(maxBytes: number) {
    super(`body over ${maxBytes} bytes`);
    this.name = 'BodyTooLarge';
  }
}

/**
 * Reads a request's body, at most `maxBytes` (BodyTooLarge past it: the rest is left to Node, which
 * discards it once the answer is written). Rejects with Node's own error (`aborted`) when the client
 * goes away before the end.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let first: Buffer | null = null;
    let more: Buffer[] | null = null;
    let size = 0;
    let settled = false;
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > maxBytes) {
        settled = true;
        reject(new BodyTooLarge(maxBytes));
      } else if (first === null) first = chunk;
      else (more ??= [first]).push(chunk);
    });
    req.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(more ? Buffer.concat(more, size) : (first ?? Buffer.alloc(0)));
    });
    req.on('error', (e: Error) => {
      if (settled) return;
      settled = true;
      reject(e);
    });
  });
}

/**
 * Writes a JSON answer in one piece, with its Content-Length. As text: Node sends the head and a
 * text body in one write (a Buffer body would be a second piece of a writev).
 */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: Readonly<Record<string, string>>): void {
  const text = JSON.stringify(body);
  const length = Buffer.byteLength(text);
  res.writeHead(status, headers ? { 'Content-Type': 'application/json', 'Content-Length': length, ...headers } : { 'Content-Type': 'application/json', 'Content-Length': length });
  res.end(text);
}
