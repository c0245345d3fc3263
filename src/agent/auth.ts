// Bearer-token authentication of the agent API. The token is compared in constant time: both sides
// are hashed first, so the comparison takes the same time whatever the length of what was sent.
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** True when `sent` equals `expected`, in time independent of where they differ. */
export function tokensEqual(sent: string, expected: string): boolean {
  return timingSafeEqual(digest(sent), digest(expected));
}

/**
 * Checks `Authorization: Bearer <token>` against `token`: null when it matches, otherwise why not
 * (the API answers 401 with it).
 */
export function checkBearer(header: string | undefined, token: string): string | null {
  if (!token) throw new Error('checkBearer: the token is empty');
  if (!header) return 'missing Authorization header: send "Authorization: Bearer <token>" with the token from the agent\'s --token-file';
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (!m) return 'Authorization header: expected "Bearer <token>"';
  if (!tokensEqual(m[1]!, token)) return 'invalid bearer token: it does not match the agent\'s --token-file';
  return null;
}
