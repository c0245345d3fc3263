// A reader of NGINX configuration text that follows ngx_conf_read_token: quotes with backslash
// escapes, `#` comments, `;` / `{` / `}`, and `${` inside a bare word. The tests use it to see
// what a rendered fragment really says to NGINX: its directives, their arguments and blocks.

export interface Directive {
  name: string;
  args: string[];
  block: Directive[] | null;
  line: number;
}

/** Parses `text` into directives; throws on text NGINX itself could not read (unbalanced braces, open quotes). */
export function parseConfig(text: string): Directive[] {
  let i = 0;
  let line = 1;
  const n = text.length;

  function token(): { value: string; kind: 'word' | ';' | '{' | '}' } | null {
    for (;;) {
      while (i < n && /\s/.test(text[i]!)) {
        if (text[i] === '\n') line++;
        i++;
      }
      if (i >= n) return null;
      if (text[i] === '#') {
        while (i < n && text[i] !== '\n') i++;
        continue;
      }
      break;
    }
    const c = text[i]!;
    if (c === ';' || c === '{' || c === '}') {
      i++;
      return { value: c, kind: c };
    }
    if (c === '"' || c === "'") {
      i++;
      let value = '';
      for (;;) {
        if (i >= n) throw new Error(`line ${line}: unterminated ${c} string`);
        const ch = text[i]!;
        if (ch === '\\' && i + 1 < n) {
          const next = text[i + 1]!;
          value += next === '"' || next === "'" || next === '\\' ? next : next === 'n' ? '\n' : next === 't' ? '\t' : next === 'r' ? '\r' : `\\${next}`;
          i += 2;
          continue;
        }
        if (ch === c) {
          i++;
          break;
        }
        if (ch === '\n') line++;
        value += ch;
        i++;
      }
      // NGINX wants white space, `;` or `{` after a closing quote.
      if (i < n && !/[\s;{)]/.test(text[i]!)) throw new Error(`line ${line}: unexpected "${text[i]}" after a quoted string`);
      return { value, kind: 'word' };
    }
    let value = '';
    let variable = false;
    while (i < n) {
      const ch = text[i]!;
      if (ch === '{' && variable) {
        value += ch;
        i++;
        continue;
      }
      variable = false;
      if (ch === '\\' && i + 1 < n) {
        value += text[i + 1];
        i += 2;
        continue;
      }
      if (ch === '$') variable = true;
      if (/\s/.test(ch) || ch === ';' || ch === '{' || ch === '}') break;
      value += ch;
      i++;
    }
    return { value, kind: 'word' };
  }

  function block(top: boolean): Directive[] {
    const out: Directive[] = [];
    let words: string[] = [];
    let startLine = line;
    for (;;) {
      const t = token();
      if (t === null) {
        if (!top) throw new Error('unexpected end of file, expecting "}"');
        if (words.length) throw new Error(`line ${line}: unexpected end of file, expecting ";" or "}"`);
        return out;
      }
      if (t.kind === 'word') {
        if (words.length === 0) startLine = line;
        words.push(t.value);
        continue;
      }
      if (t.kind === '}') {
        if (top) throw new Error(`line ${line}: unexpected "}"`);
        if (words.length) throw new Error(`line ${line}: unexpected "}" after ${words[0]}`);
        return out;
      }
      if (words.length === 0) throw new Error(`line ${line}: unexpected "${t.kind}"`);
      const [name, ...args] = words as [string, ...string[]];
      out.push({ name, args, block: t.kind === '{' ? block(false) : null, line: startLine });
      words = [];
    }
  }
  return block(true);
}

/** Every directive name in `directives`, nested blocks included. */
export function directiveNames(directives: Directive[], into = new Set<string>()): Set<string> {
  for (const d of directives) {
    into.add(d.name);
    if (d.block) directiveNames(d.block, into);
  }
  return into;
}
