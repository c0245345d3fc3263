// Strict grammars for the strings of Gateway API routes that reach NGINX, one per place (as
// grammar.ts does for annotations). Each returns null when the value is accepted, or the reason.
import { checkHeaderName } from './grammar.ts';

/** Request headers wharf itself sets towards the backend: a route may not set, add or remove them. */
const WHARF_REQUEST_HEADERS = new Set(['host', 'connection', 'upgrade', 'x-real-ip', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-original-forwarded-for']);

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

/** Escapes a match regex may use after `\`. */
const REGEX_ESCAPES = new Set('./-dDwWsSbB()[]{}*+?|^$x'.split(''));

/**
 * A RegularExpression match (header, query parameter): PCRE in a double-quoted map key. Printable
 * ASCII without spaces, quotes, `;`, `#` or backticks (write a space as \x20); `\` only before a
 * regex character, a class letter or `x` and two hex digits; `$` only as an end anchor; `{}` only
 * as quantifiers; `(?` only as `(?:` (no named groups, which would set NGINX variables, no flags);
 * and it must compile.
 */
export function checkMatchRegex(value: string): string | null {
  if (!/^[\x21-\x7e]{1,1024}$/.test(value)) return 'must be 1 to 1024 printable ASCII characters without spaces (write a space as \\x20)';
  const m = /["';#`]/.exec(value);
  if (m) return `character "${m[0]}" is not allowed in a regular expression here`;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\') {
      const next = value[i + 1];
      if (next === undefined || !REGEX_ESCAPES.has(next)) return `"\\${next ?? ''}": only \\ followed by a regex character, d D w W s S b B, or xHH is allowed`;
      if (next === 'x') {
        if (!/^[0-9A-Fa-f]{2}$/.test(value.slice(i + 2, i + 4))) return '"\\x" must be followed by two hex digits';
        i += 3;
      } else i++;
    } else if (c === '$') {
      const next = value[i + 1];
      if (next !== undefined && next !== ')' && next !== '|') return '"$" is only allowed as an end anchor (at the end, or before ")" or "|")';
    } else if (c === '(' && value[i + 1] === '?') {
      if (value[i + 2] === '<' || value[i + 2] === 'P' || value[i + 2] === "'") return 'named groups are not allowed';
      if (value[i + 2] !== ':') return 'only non-capturing groups "(?:" are allowed after "(?" (no flags or lookarounds)';
    } else if (c === '{') {
      const q = /^\{\d{1,4}(,\d{0,4})?\}/.exec(value.slice(i));
      if (!q) return '"{" is only allowed in a quantifier such as {2} or {1,3}';
      i += q[0].length - 1;
    } else if (c === '}') {
      return '"}" is only allowed to close a quantifier such as {2} or {1,3}';
    }
  }
  try {
    new RegExp(value);
  } catch (e) {
    return `is not a valid regular expression: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`;
  }
  return null;
}
