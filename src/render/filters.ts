// The only way a value reaches an NGINX file. Every liquid output must end in one of these filters:
// each checks its value against the grammar of the exact place it lands in, and throws
// UnsafeValueError otherwise. They return NginxText, which the engine's output guard requires.

/** A string that a filter has checked for the NGINX context it is written into. */
export class NginxText {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  toString(): string {
    return this.text;
  }
}

/** A value that would change the meaning of the config at the place a template puts it. */
export class UnsafeValueError extends Error {
  readonly filter: string;
  readonly value: unknown;
  constructor(filter: string, value: unknown, reason: string) {
    super(`${filter}: refused ${JSON.stringify(String(value)).slice(0, 80)}: ${reason}`);
    this.name = 'UnsafeValueError';
    this.filter = filter;
    this.value = value;
  }
}

type Filter = (value: unknown, ...args: unknown[]) => NginxText;

function check(filter: string, pattern: RegExp, reason: string): Filter {
  return (value) => {
    const s = value instanceof NginxText ? value.text : value;
    if (typeof s !== 'string' && typeof s !== 'number') throw new UnsafeValueError(filter, s, 'not a string');
    const text = String(s);
    if (!pattern.test(text)) throw new UnsafeValueError(filter, text, reason);
    return new NginxText(text);
  };
}

/** Filters by name, as registered on the liquid engine. */
export const filters: Record<string, Filter> = {
  // An absolute file system path made of plain characters (no spaces, quotes, `;`, `$`, braces).
  nginx_path: check('nginx_path', /^\/[A-Za-z0-9._\/-]{0,4095}$/, 'not an absolute path of [A-Za-z0-9._/-]'),
  // A bare word: a directive argument such as a log level, a user name or "auto".
  nginx_word: check('nginx_word', /^[A-Za-z0-9_.-]{1,64}$/, 'not a bare word of [A-Za-z0-9_.-]'),
  // A non-negative integer.
  nginx_int: (value) => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new UnsafeValueError('nginx_int', value, 'not a non-negative integer');
    }
    return new NginxText(String(value));
  },
  // lua_package_path: absolute `?.lua` patterns separated by `;`, inside double quotes.
  nginx_lua_path: check(
    'nginx_lua_path',
    /^(\/[A-Za-z0-9._\/-]*\?\.lua;)+;?$/,
    'not a list of absolute ?.lua patterns',
  ),
};
