// A fast reader for the plain YAML most manifests are written in: block mappings and sequences,
// one-line flow collections, plain and one-line quoted scalars, comments, `---` between documents.
// `yaml`'s parseAllDocuments costs about 0.35 ms a file of three small documents (0.7 s of CPU for
// bench:local's 2,000 files, more on cold worker threads), most of local mode's start-up; this reads
// the same files about 15 times faster. It answers only when it is sure to give what `yaml` would
// (the same values, YAML 1.2's core schema, the same documents): anything else (anchors, tags,
// block scalars, multi-line scalars or flow collections, duplicate keys, tabs, errors) answers
// null, and the caller parses with `yaml`, which also words every error.

/** The documents' values (null for an empty one), as `yaml`'s toJS gives them; null: use `yaml`. */
export function parsePlainYaml(text: string): unknown[] | null {
  if (/[\t\r\ufeff]/.test(text)) return null;
  try {
    return new PlainReader(text).documents();
  } catch (e) {
    if (e === NOT_PLAIN) return null;
    throw e;
  }
}

/** Thrown, and caught above, wherever the text leaves the subset. */
const NOT_PLAIN = Symbol('not plain YAML');
const notPlain = (): never => {
  throw NOT_PLAIN;
};

interface Line {
  indent: number;
  /** The line without its indentation (never blank nor a comment). */
  text: string;
}

// YAML 1.2's core schema, as `yaml` resolves plain scalars (schema/core, in its order).
const NULL = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const INT_OCT = /^0o[0-7]+$/;
const INT = /^[-+]?[0-9]+$/;
const INT_HEX = /^0x[0-9a-fA-F]+$/;
const FLOAT_NAN = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const FLOAT_EXP = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;

function resolvePlain(s: string): unknown {
  if (NULL.test(s)) return null;
  if (BOOL.test(s)) return s[0] === 't' || s[0] === 'T';
  if (INT_OCT.test(s)) return parseInt(s.slice(2), 8);
  if (INT.test(s)) return parseInt(s, 10);
  if (INT_HEX.test(s)) return parseInt(s.slice(2), 16);
  if (FLOAT_NAN.test(s)) return s.endsWith('nan') || s.endsWith('NaN') || s.endsWith('NAN') ? NaN : s[0] === '-' ? -Infinity : Infinity;
  if (FLOAT_EXP.test(s) || FLOAT.test(s)) return parseFloat(s);
  return s;
}

// Characters a plain scalar may not start with (the indicators), beyond those handled as structure.
const PLAIN_START = /^[^-?:,[\]{}#&*!|>'"%@`\s]/;
// `-foo`, `-1`: a dash not followed by a space starts a plain scalar too.
const DASH_START = /^-[^\s]/;
const isPlainStart = (s: string) => PLAIN_START.test(s) || DASH_START.test(s);
const DOUBLE_ESCAPES: Record<string, string> = { '\\': '\\', '"': '"', '/': '/', n: '\n', t: '\t', r: '\r', '0': '\0', b: '\b', f: '\f' };
// Keys that `yaml` turns into something other than a plain property.
const SPECIAL_KEYS = new Set(['__proto__', '<<']);

class PlainReader {
  private readonly docs: Line[][] = [];
  private lines: Line[] = [];
  private at = 0;

  constructor(text: string) {
    let current: Line[] = [];
    let started = false;
    for (const raw of text.split('\n')) {
      if (raw.startsWith('---') && (raw.length === 3 || raw[3] === ' ')) {
        const rest = raw.slice(3).trim();
        if (rest !== '' && !rest.startsWith('#')) notPlain();
        if (started || current.length > 0) this.docs.push(current);
        current = [];
        started = true;
        continue;
      }
      if (raw.startsWith('...') || raw.startsWith('%')) notPlain();
      const text = raw.trimStart();
      if (text === '' || text.startsWith('#')) continue;
      current.push({ indent: raw.length - text.length, text: text.trimEnd() });
    }
    if (started || current.length > 0) this.docs.push(current);
  }

  documents(): unknown[] {
    return this.docs.map((lines) => {
      if (lines.length === 0) return null;
      this.lines = lines;
      this.at = 0;
      const value = this.block(lines[0]!.indent);
      if (this.at < lines.length) notPlain();
      return value;
    });
  }

  // A mapping or a sequence whose lines start at `indent`.
  private block(indent: number): unknown {
    const line = this.lines[this.at]!;
    if (line.indent !== indent) notPlain();
    if (line.text === '-' || line.text.startsWith('- ')) return this.sequence(indent);
    if (keyEnd(line.text) < 0) notPlain(); // a scalar or flow collection as a whole document, or on lines of its own
    return this.mapping(indent);
  }

  private mapping(indent: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    while (this.at < this.lines.length) {
      const line = this.lines[this.at]!;
      if (line.indent < indent) break;
      if (line.indent > indent) notPlain();
      const end = keyEnd(line.text);
      if (end < 0) notPlain();
      const key = scalarKey(line.text.slice(0, end));
      if (Object.hasOwn(out, key) || SPECIAL_KEYS.has(key)) notPlain();
      this.at++;
      out[key] = this.value(line.text.slice(end + 1), indent, true);
    }
    return out;
  }

  private sequence(indent: number): unknown[] {
    const out: unknown[] = [];
    while (this.at < this.lines.length) {
      const line = this.lines[this.at]!;
      if (line.indent < indent) break;
      if (line.indent > indent || !(line.text === '-' || line.text.startsWith('- '))) {
        if (line.indent === indent) break; // a mapping's next key after a sequence at the key's indentation
        notPlain();
      }
      const rest = line.text.slice(1);
      const content = rest.trimStart();
      if (content !== '' && !content.startsWith('#') && keyEnd(content) >= 0) {
        // `- key: value`: a mapping whose keys line up with this first one.
        const column = indent + 1 + (rest.length - content.length);
        this.lines[this.at] = { indent: column, text: content };
        out.push(this.mapping(column));
        continue;
      }
      this.at++;
      out.push(this.value(rest, indent, false));
    }
    return out;
  }

  // What follows `key:` or `-` on a line; `indent` is the key's or the dash's.
  private value(after: string, indent: number, inMapping: boolean): unknown {
    const text = after.trimStart();
    if (after !== '' && text.length === after.length) notPlain(); // `key:value` is not a key here
    const next = this.lines[this.at];
    if (text === '' || text.startsWith('#')) {
      if (next && next.indent > indent) return this.block(next.indent);
      // A sequence may sit at its key's indentation.
      if (inMapping && next && next.indent === indent && (next.text === '-' || next.text.startsWith('- '))) return this.sequence(indent);
      return null;
    }
    // Nothing of this value may continue on the next line (a multi-line scalar).
    if (next && next.indent > indent) notPlain();
    const [value, end] = inlineValue(text, 0, false);
    const tail = text.slice(end);
    if (tail.trim() !== '' && !/^\s+#/.test(tail)) notPlain();
    return value;
  }
}

// Where the key of a block mapping entry ends (the `:`), or -1 when the line is not `key: ...`.
function keyEnd(text: string): number {
  if (text[0] === '"' || text[0] === "'") {
    const [, end] = quoted(text, 0);
    return text[end] === ':' && (end + 1 === text.length || text[end + 1] === ' ') ? end : -1;
  }
  if (!isPlainStart(text)) return -1;
  for (let i = 1; i < text.length; i++) {
    const c = text[i];
    if (c === '#' && text[i - 1] === ' ') return -1;
    if (c === ':' && (i + 1 === text.length || text[i + 1] === ' ')) return i;
  }
  return -1;
}

function scalarKey(raw: string): string {
  if (raw[0] === '"' || raw[0] === "'") return quoted(raw, 0)[0];
  const key = raw.trimEnd();
  // A key that resolves to anything but a string (`80:`, `true:`, `null:`) is left to `yaml`.
  if (resolvePlain(key) !== key) notPlain();
  return key;
}

// A value that ends on this line, from `i`: a quoted or plain scalar, or a flow collection; returns
// the value and where it ends. `flow`: inside a flow collection (a plain scalar stops at , ] }).
function inlineValue(text: string, i: number, flow: boolean): [unknown, number] {
  const c = text[i];
  if (c === '"' || c === "'") return quoted(text, i);
  if (c === '[' || c === '{') return flowCollection(text, i);
  if (c === undefined || !isPlainStart(text.slice(i))) notPlain();
  let end = i;
  for (let j = i; j < text.length; j++) {
    const d = text[j]!;
    if (d === ' ') {
      if (text[j + 1] === '#') break;
      continue;
    }
    if (d === ':' && (j + 1 === text.length || text[j + 1] === ' ' || (flow && /[,\]}]/.test(text[j + 1]!)))) {
      if (!flow) notPlain(); // `a: b: c`
      break;
    }
    if (flow && (d === ',' || d === ']' || d === '}' || d === '[' || d === '{')) {
      if (d === '[' || d === '{') notPlain();
      break;
    }
    end = j + 1;
  }
  return [resolvePlain(text.slice(i, end)), end];
}

// `[a, b]` or `{ k: v, ... }` on one line; returns the value and the index after the closing bracket.
function flowCollection(text: string, i: number): [unknown, number] {
  const close = text[i] === '[' ? ']' : '}';
  const isMap = close === '}';
  const items: unknown[] = [];
  const map: Record<string, unknown> = {};
  let j = skipSpaces(text, i + 1);
  if (text[j] === close) return [isMap ? map : items, j + 1];
  for (;;) {
    if (isMap) {
      let key: unknown;
      [key, j] = inlineValue(text, j, true);
      if (typeof key !== 'string' || Object.hasOwn(map, key) || SPECIAL_KEYS.has(key)) notPlain();
      j = skipSpaces(text, j);
      if (text[j] !== ':' || text[j + 1] !== ' ') notPlain();
      j = skipSpaces(text, j + 1);
      [map[key as string], j] = inlineValue(text, j, true);
    } else {
      let item: unknown;
      [item, j] = inlineValue(text, j, true);
      // `[a: b]` (a one-pair mapping in a sequence) is left to `yaml`.
      if (text[skipSpaces(text, j)] === ':') notPlain();
      items.push(item);
    }
    j = skipSpaces(text, j);
    if (text[j] === close) return [isMap ? map : items, j + 1];
    if (text[j] !== ',') notPlain();
    j = skipSpaces(text, j + 1);
    if (text[j] === close || text[j] === ',') notPlain(); // a trailing or empty entry
  }
}

function skipSpaces(text: string, i: number): number {
  while (text[i] === ' ') i++;
  return i;
}

// A quoted scalar that closes on this line; returns its value and the index after the quote.
function quoted(text: string, i: number): [string, number] {
  const q = text[i]!;
  let out = '';
  for (let j = i + 1; j < text.length; j++) {
    const c = text[j]!;
    if (c === q) {
      if (q === "'" && text[j + 1] === "'") {
        out += "'";
        j++;
        continue;
      }
      return [out, j + 1];
    }
    if (q === '"' && c === '\\') {
      const e = text[j + 1];
      if (e !== undefined && e in DOUBLE_ESCAPES) {
        out += DOUBLE_ESCAPES[e];
        j++;
        continue;
      }
      if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(j + 2, j + 6))) {
        out += String.fromCharCode(parseInt(text.slice(j + 2, j + 6), 16));
        j += 5;
        continue;
      }
      notPlain();
    }
    out += c;
  }
  return notPlain(); // continues on the next line
}
