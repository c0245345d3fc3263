// Reads snippet text (the configuration-snippet, server-snippet and auth-snippet annotations) the
// way NGINX's own reader does (ngx_conf_read_token): words, single- and double-quoted strings with
// NGINX's escapes, `;`, `{`, `}`, `#` comments to the end of the line, `$name` and `${name}`
// variables. It is stricter than NGINX where NGINX would read something surprising: it refuses any
// character outside printable ASCII, tab and newline, a quote or `}` inside a bare word, an escape
// other than \" \' \\, and a `$` that starts no variable, each with its line and column. Snippets
// are never pasted: wharf re-writes the directives these tokens make (snippet-rules.ts).

/** Where a token starts: 1-based line and column, for messages. */
export interface SnippetPosition {
  line: number;
  column: number;
}

/** A variable a word or string uses: its name, as `$name` or `${name}` in the text. */
export interface SnippetVariable {
  name: string;
  braces: boolean;
}

export type SnippetToken =
  | { kind: ';' | '{' | '}'; at: SnippetPosition }
  | {
      kind: 'word';
      /** The argument as NGINX reads it: quotes removed, escapes decoded; variables left as written. */
      value: string;
      quoted: boolean;
      variables: SnippetVariable[];
      at: SnippetPosition;
    };

/** The tokens, or where and why reading stopped (with the tokens read before, to name the directive). */
export type TokenResult = { ok: true; tokens: SnippetToken[] } | { ok: false; at: SnippetPosition; reason: string; tokens: SnippetToken[] };

/** What NGINX allows in a variable name. */
const NAME_CHAR = /[A-Za-z0-9_]/;

/** Splits snippet text into tokens, or says where and why it cannot. */
export function tokenizeSnippet(text: string): TokenResult {
  const tokens: SnippetToken[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const n = text.length;
  const here = (at = i): SnippetPosition => ({ line, column: at - lineStart + 1 });
  const fail = (reason: string, at = i): TokenResult => ({ ok: false, at: here(at), reason, tokens });
  const describe = (c: string): string => {
    const code = c.charCodeAt(0);
    return code >= 0x20 && code < 0x7f ? `"${c}"` : `\\u${code.toString(16).padStart(4, '0')}`;
  };
  const allowedChar = (c: string): boolean => (c >= ' ' && c <= '~') || c === '\t' || c === '\n';

  // Reads `$name` or `${name}` at i (text[i] is `$`); returns the variable or a failure.
  const variable = (): SnippetVariable | TokenResult => {
    const start = i;
    i++;
    const braces = text[i] === '{';
    if (braces) i++;
    const nameStart = i;
    while (i < n && NAME_CHAR.test(text[i]!)) i++;
    const name = text.slice(nameStart, i);
    if (name === '') return fail('"$" must start a variable such as $host (NGINX has no literal "$")', start);
    if (braces) {
      if (text[i] !== '}') return fail(`"\${${name}" must be closed with "}"`, start);
      i++;
    }
    return { name, braces };
  };

  while (i < n) {
    const c = text[i]!;
    if (!allowedChar(c) && c !== '\r') return fail(`character ${describe(c)} is not allowed (printable ASCII only)`);
    if (c === '\n') {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (c === '\r') {
      if (text[i + 1] !== '\n') return fail('character \\u000d is not allowed outside a line ending');
      i++;
      continue;
    }
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < n && text[i] !== '\n') {
        const ch = text[i]!;
        if (!allowedChar(ch) && !(ch === '\r' && text[i + 1] === '\n')) return fail(`character ${describe(ch)} is not allowed (printable ASCII only)`);
        i++;
      }
      continue;
    }
    if (c === ';' || c === '{' || c === '}') {
      tokens.push({ kind: c, at: here() });
      i++;
      continue;
    }
    const at = here();
    let value = '';
    const variables: SnippetVariable[] = [];
    if (c === '"' || c === "'") {
      i++;
      for (;;) {
        if (i >= n) return fail(`the ${c === '"' ? 'double' : 'single'}-quoted string is not closed`, at.column - 1 + lineStart);
        const ch = text[i]!;
        if (ch === c) {
          i++;
          break;
        }
        if (ch === '\\') {
          const next = text[i + 1];
          if (next !== '"' && next !== "'" && next !== '\\') return fail(`escape "\\${next ?? ''}" is not allowed: only \\" \\' and \\\\`);
          value += next;
          i += 2;
          continue;
        }
        if (ch === '$') {
          const v = variable();
          if ('ok' in v) return v;
          variables.push(v);
          value += v.braces ? `\${${v.name}}` : `$${v.name}`;
          continue;
        }
        if (ch === '\n' || ch === '\t' || ch === '\r') return fail(`a quoted string must stay on one line, without tabs`);
        if (!allowedChar(ch)) return fail(`character ${describe(ch)} is not allowed (printable ASCII only)`);
        value += ch;
        i++;
      }
      // NGINX needs white space, ";" or "{" after a closing quote.
      const after = text[i];
      if (after !== undefined && !' \t\r\n;{}'.includes(after)) return fail(`${describe(after)} must not follow a quoted string directly (add a space)`);
      tokens.push({ kind: 'word', value, quoted: true, variables, at });
      continue;
    }
    while (i < n) {
      const ch = text[i]!;
      if (' \t\r\n;{'.includes(ch)) break;
      // NGINX would make `}` part of the word (`a}`) and keep quotes and `\` inside one: refused.
      if (ch === '}' || ch === '"' || ch === "'" || ch === '\\') return fail(`${describe(ch)} inside a word is not allowed: quote the whole argument`);
      if (ch === '#' && value === '') break;
      if (!allowedChar(ch)) return fail(`character ${describe(ch)} is not allowed (printable ASCII only)`);
      if (ch === '$') {
        const v = variable();
        if ('ok' in v) return v;
        variables.push(v);
        value += v.braces ? `\${${v.name}}` : `$${v.name}`;
        continue;
      }
      value += ch;
      i++;
    }
    tokens.push({ kind: 'word', value, quoted: false, variables, at });
  }
  return { ok: true, tokens };
}

/** One directive of a snippet: its name and arguments (decoded), where it starts, and whether it opens a block. */
export interface SnippetStatement {
  name: string;
  args: Extract<SnippetToken, { kind: 'word' }>[];
  at: SnippetPosition;
  block: boolean;
}

/** The directives, or where grouping failed, with the directives before it (and the unfinished one's name). */
export type StatementResult =
  | { ok: true; statements: SnippetStatement[] }
  | { ok: false; at: SnippetPosition; reason: string; statements: SnippetStatement[]; name?: string };

/**
 * Groups tokens into directives (`name args… ;`). A block (`name args… {`) is returned as a statement
 * with `block` set and reading stops there: no snippet directive may open one.
 */
export function snippetStatements(tokens: readonly SnippetToken[]): StatementResult {
  const statements: SnippetStatement[] = [];
  let current: SnippetStatement | null = null;
  for (const t of tokens) {
    if (t.kind === 'word') {
      if (current) current.args.push(t);
      else {
        if (t.quoted || t.variables.length > 0) return { ok: false, at: t.at, reason: `a directive name must be a plain word, not ${JSON.stringify(t.value.slice(0, 40))}`, statements };
        current = { name: t.value, args: [], at: t.at, block: false };
      }
      continue;
    }
    if (t.kind === ';') {
      if (!current) return { ok: false, at: t.at, reason: '";" without a directive', statements };
      statements.push(current);
      current = null;
      continue;
    }
    if (t.kind === '{') {
      if (!current) return { ok: false, at: t.at, reason: '"{" without a directive', statements };
      current.block = true;
      statements.push(current);
      return { ok: true, statements };
    }
    return { ok: false, at: t.at, reason: '"}" closes no block (a snippet cannot end the block wharf puts it in)', statements };
  }
  if (current) return { ok: false, at: current.at, reason: `${current.name}: missing ";" at the end of the directive`, statements, name: current.name };
  return { ok: true, statements };
}
