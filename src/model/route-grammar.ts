// Strict grammars for the strings of Gateway API routes that reach NGINX, one per place (as
// grammar.ts does for annotations). Each returns null when the value is accepted, or the reason.
import { checkHeaderName } from './grammar.ts';

/** Request headers wharf itself sets towards the backend: a route may not set, add or remove them. */
const WHARF_REQUEST_HEADERS = new Set(['host', 'connection', 'upgrade', 'x-real-ip', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port']);

/** A header a route matches on or changes: what `$http_<name>` and proxy_set_header can name. */
export function checkRouteHeaderName(name: string): string | null {
  return checkHeaderName(name);
}

/** A request header a route changes: a header name, and not one wharf sets itself. */
export function checkModifiedRequestHeader(name: string): string | null {
  const bad = checkHeaderName(name);
  if (bad) return bad;
  if (WHARF_REQUEST_HEADERS.has(name.toLowerCase())) return 'is set by wharf for every request (use URLRewrite hostname for Host)';
  return null;
}

/** A value matched exactly (header, query parameter): printable ASCII; the renderer escapes every other character. */
export function checkMatchValue(value: string): string | null {
  if (!/^[\x20-\x7e]{1,4096}$/.test(value)) return 'must be 1 to 4096 printable ASCII characters';
  return null;
}

/** A header value a route writes: printable ASCII without the characters NGINX gives a meaning in a quoted string. */
export function checkHeaderValueToWrite(value: string): string | null {
  if (!/^[\x20-\x7e]{0,1024}$/.test(value)) return 'must be at most 1024 printable ASCII characters';
  const m = /["\\$;{}#]/.exec(value);
  if (m) return `character "${m[0]}" is not allowed (NGINX would read it as syntax or a variable)`;
  return null;
}

/**
 * A RegularExpression match (header, query parameter): PCRE in a map key. Printable ASCII without
 * spaces, quotes, `;`, `#` or backticks (write a space as \x20), no named groups (they would set
 * NGINX variables), and it must compile.
 */
export function checkMatchRegex(value: string): string | null {
  if (!/^[\x21-\x7e]{1,1024}$/.test(value)) return 'must be 1 to 1024 printable ASCII characters without spaces (write a space as \\x20)';
  const m = /["';#`]/.exec(value);
  if (m) return `character "${m[0]}" is not allowed in a regular expression here`;
  if (/\(\?(?:<[A-Za-z]|P<|')/.test(value)) return 'named groups are not allowed';
  try {
    new RegExp(value);
  } catch (e) {
    return `is not a valid regular expression: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`;
  }
  return null;
}
