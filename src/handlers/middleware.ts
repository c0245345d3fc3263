// The handler tier's middleware, Hono style: each is a factory that checks its options once (a bad
// option fails at start, not on a request) and returns a closure named after it, so a stack trace
// says which one failed.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * Requires `Authorization: Bearer <token>`, compared in constant time (both sides hashed first, so
 * neither the content nor the length of the token leaks through timing).
 */
export const bearerToken = (options: { token: string; what: string }): MiddlewareHandler => {
  const refusal = bearerRefusal(options);
  return async function bearerToken(c, next) {
    const refused = refusal(c.req.header('authorization'));
    if (refused) throw new HTTPException(401, { message: refused, res: new Response(null, { headers: { 'www-authenticate': 'Bearer realm="wharf"' } }) });
    await next();
  };
};

/**
 * bearerToken's check without Hono (a route served on node:http): the reason an Authorization
 * header is refused (answer 401 with it), or null when it carries the token.
 */
export function bearerRefusal(options: { token: string; what: string }): (header: string | undefined) => string | null {
  const token = options.token.trim();
  if (token.length < 16) throw new Error(`the ${options.what} token must be at least 16 characters (it is ${token.length})`);
  const expected = digest(token);
  return (header) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (m && timingSafeEqual(digest(m[1]!), expected)) return null;
    return m ? `the bearer token is not the ${options.what} token` : `send Authorization: Bearer <${options.what} token>`;
  };
}

/**
 * Refuses bodies larger than `maxBytes` with 413 and a message that says the limit, before reading
 * them. A Content-Length is checked as a header (the HTTP server enforces it), which keeps the
 * request on @hono/node-server's fast path; only chunked bodies are counted as they stream in.
 */
export const limitBody = (options: { maxBytes: number; what: string }): MiddlewareHandler => {
  if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes <= 0) throw new Error(`body limit for ${options.what} must be a positive integer`);
  const tooLarge = () => new HTTPException(413, { message: `${options.what} larger than ${options.maxBytes} bytes: send smaller requests (split a batch)` });
  const streamed = bodyLimit({
    maxSize: options.maxBytes,
    onError: () => {
      throw tooLarge();
    },
  });
  return async function limitBody(c, next) {
    const length = c.req.header('content-length');
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
      if (!/^\d+$/.test(length)) throw new HTTPException(400, { message: `Content-Length: Invalid value: ${JSON.stringify(length)}` });
      if (Number(length) > options.maxBytes) throw tooLarge();
      return next();
    }
    return streamed(c, next);
  };
};

/** Answers 503 with Retry-After until `ready()` is true (the view has not been listed yet). */
export const requireReady = (options: { ready: () => boolean; what: string; retryAfterSeconds?: number }): MiddlewareHandler => {
  const retryAfter = String(options.retryAfterSeconds ?? 2);
  return async function requireReady(c, next) {
    if (!options.ready()) {
      throw new HTTPException(503, {
        message: `${options.what}: the view of the cluster is not listed yet; retry shortly`,
        res: new Response(null, { headers: { 'retry-after': retryAfter } }),
      });
    }
    await next();
  };
};
