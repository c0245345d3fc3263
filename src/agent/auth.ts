// Bearer-token authentication of the agent API. The token is compared in constant time: both sides
// are hashed first, so the comparison takes the same time whatever the length of what was sent.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** True when `sent` equals `expected`, in time independent of where they differ. */
export function tokensEqual(sent: string, expected: string): boolean {
  return timingSafeEqual(digest(sent), digest(expected));
}

/** Reads the token out of a token file's text: surrounding white space is not part of it. */
export function parseTokenFile(text: string, path: string): string {
  const token = text.trim();
  if (!token) throw new Error(`token file ${path} is empty: put the bearer token the handler tier sends in it`);
  if (/\s/.test(token)) throw new Error(`token file ${path}: the token must be one line without spaces`);
  return token;
}

/** Refuses requests without `Authorization: Bearer <token>` with 401 and a message saying why. */
export const bearerAuth = (token: string): MiddlewareHandler => {
  if (!token) throw new Error('bearerAuth: the token is empty');
  return async function bearerAuth(c, next) {
    const header = c.req.header('authorization');
    const fail = (error: string) => c.json({ error }, 401, { 'WWW-Authenticate': 'Bearer realm="wharf-agent"' });
    if (!header) return fail('missing Authorization header: send "Authorization: Bearer <token>" with the token from the agent\'s --token-file');
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (!m) return fail('Authorization header: expected "Bearer <token>"');
    if (!tokensEqual(m[1]!, token)) return fail('invalid bearer token: it does not match the agent\'s --token-file');
    await next();
  };
};
