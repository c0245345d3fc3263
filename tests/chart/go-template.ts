// A Go text/template engine for the chart tests: the language Helm renders with (actions, trim
// markers, pipelines, variables, if/else if/range/with/define/template/include), enough of Sprig
// for the functions the chart calls, and Go's rules where they differ from JavaScript's (what is
// true, how a map is ranged, what a missing key prints). No helm binary can be installed on these
// machines, so `helm template` is approximated here; render.ts supplies Helm's objects. Anything
// this engine does not know (a function, a syntax) throws with the template name and line, so a
// template that uses it fails its test instead of rendering something Helm would not.

export type Func = (...args: unknown[]) => unknown;

type Node =
  | { t: 'text'; text: string }
  | { t: 'action'; pipe: Pipe; line: number }
  | { t: 'if' | 'with'; branches: { pipe: Pipe | null; body: Node[] }[]; line: number }
  | { t: 'range'; pipe: Pipe; body: Node[]; else: Node[]; line: number }
  | { t: 'template'; name: string; pipe: Pipe | null; line: number };

/** A pipeline: optional variable declaration/assignment, then commands joined by `|`. */
interface Pipe {
  decl: string[];
  assign: boolean;
  cmds: Arg[][];
}

type Arg =
  | { k: 'lit'; v: unknown }
  | { k: 'field'; base: 'dot' | string; chain: string[] }
  | { k: 'ident'; name: string }
  | { k: 'paren'; pipe: Pipe; chain: string[] };

class TemplateError extends Error {}

/** Missing-value marker: prints as "" (Helm replaces Go's "<no value>"). */
const NO_VALUE = undefined;

export function truthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof Map) return v.size > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

/** How Go's fmt prints a value with %v (the cases the chart meets). */
export function printValue(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) < 1e21 ? String(v) : String(v);
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(printValue).join(' ')}]`;
  if (typeof v === 'object') return `map[${Object.keys(v).sort().map((k) => `${k}:${printValue((v as Record<string, unknown>)[k])}`).join(' ')}]`;
  return String(v);
}

// ---------------------------------------------------------------------------------------------
// Lexing and parsing

interface Token {
  k: 'str' | 'num' | 'bool' | 'nil' | 'field' | 'var' | 'ident' | '(' | ')' | '|' | ':=' | '=' | ',';
  v: string;
  /** Whitespace before it: `(x).a` chains a field, `(x) .a` is another operand. */
  spaced?: boolean;
}

function lexAction(src: string, where: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let spaced = false;
  const push = (t: Token) => { out.push({ ...t, spaced }); spaced = false; };
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) { i++; spaced = true; continue; }
    if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) throw new TemplateError(`${where}: unterminated string`);
      push({ k: 'str', v: JSON.parse(src.slice(i, j + 1)) as string });
      i = j + 1;
      continue;
    }
    if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0) throw new TemplateError(`${where}: unterminated raw string`);
      push({ k: 'str', v: src.slice(i + 1, j) });
      i = j + 1;
      continue;
    }
    if (c === '(' || c === ')' || c === '|' || c === ',') { push({ k: c, v: c }); i++; continue; }
    if (src.startsWith(':=', i)) { push({ k: ':=', v: ':=' }); i += 2; continue; }
    if (c === '=') { push({ k: '=', v: '=' }); i++; continue; }
    const m = /^(-?\d+(?:\.\d+)?)|^(\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)|^((?:\.[A-Za-z0-9_]+)+|\.)|^([A-Za-z_][A-Za-z0-9_]*)/.exec(src.slice(i));
    if (!m) throw new TemplateError(`${where}: unexpected "${src.slice(i, i + 10)}"`);
    if (m[1]) push({ k: 'num', v: m[1] });
    else if (m[2]) push({ k: 'var', v: m[2] });
    else if (m[3]) push({ k: 'field', v: m[3] });
    else if (m[4] === 'true' || m[4] === 'false') push({ k: 'bool', v: m[4] });
    else if (m[4] === 'nil') push({ k: 'nil', v: 'nil' });
    else push({ k: 'ident', v: m[4]! });
    i += m[0].length;
  }
  return out;
}

function parsePipe(tokens: Token[], where: string): Pipe {
  let pos = 0;
  const pipe: Pipe = { decl: [], assign: false, cmds: [] };
  // `$a := …`, `$a, $b := …` (range), `$a = …`.
  const declEnd = tokens.findIndex((t) => t.k === ':=' || t.k === '=');
  if (declEnd > 0 && tokens.slice(0, declEnd).every((t) => t.k === 'var' || t.k === ',')) {
    pipe.decl = tokens.slice(0, declEnd).filter((t) => t.k === 'var').map((t) => t.v);
    pipe.assign = tokens[declEnd]!.k === '=';
    pos = declEnd + 1;
  }
  const chainAfter = (): string[] => {
    const t = tokens[pos];
    if (t && t.k === 'field' && t.v !== '.' && !t.spaced) { pos++; return t.v.slice(1).split('.'); }
    return [];
  };
  const operand = (): Arg => {
    const t = tokens[pos++];
    if (!t) throw new TemplateError(`${where}: missing operand`);
    switch (t.k) {
      case 'str': return { k: 'lit', v: t.v };
      case 'num': return { k: 'lit', v: Number(t.v) };
      case 'bool': return { k: 'lit', v: t.v === 'true' };
      case 'nil': return { k: 'lit', v: null };
      case 'field': return { k: 'field', base: 'dot', chain: t.v === '.' ? [] : t.v.slice(1).split('.') };
      case 'var': {
        const [name, ...chain] = t.v.split('.');
        return { k: 'field', base: name!, chain };
      }
      case 'ident': return { k: 'ident', name: t.v };
      case '(': {
        let depth = 1;
        const start = pos;
        while (pos < tokens.length && depth > 0) {
          if (tokens[pos]!.k === '(') depth++;
          if (tokens[pos]!.k === ')') depth--;
          pos++;
        }
        if (depth !== 0) throw new TemplateError(`${where}: unclosed (`);
        return { k: 'paren', pipe: parsePipe(tokens.slice(start, pos - 1), where), chain: chainAfter() };
      }
      default: throw new TemplateError(`${where}: unexpected "${t.v}"`);
    }
  };
  let cmd: Arg[] = [];
  while (pos < tokens.length) {
    if (tokens[pos]!.k === '|') {
      if (cmd.length === 0) throw new TemplateError(`${where}: empty command before |`);
      pipe.cmds.push(cmd);
      cmd = [];
      pos++;
      continue;
    }
    cmd.push(operand());
  }
  if (cmd.length === 0) throw new TemplateError(`${where}: empty pipeline`);
  pipe.cmds.push(cmd);
  return pipe;
}

interface RawAction { text: string; line: number }

/** Splits a template into text and actions, applying `{{-` and `-}}` and dropping comments. */
function split(src: string): (string | RawAction)[] {
  const parts: (string | RawAction)[] = [];
  let i = 0;
  let line = 1;
  let trimNext = false;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    let text = open < 0 ? src.slice(i) : src.slice(i, open);
    if (trimNext) text = text.replace(/^\s+/, '');
    trimNext = false;
    if (open < 0) { parts.push(text); break; }
    line += (src.slice(i, open).match(/\n/g) ?? []).length;
    let inner = src.slice(open + 2);
    if (/^- /.test(inner) || /^-\n/.test(inner) || inner.startsWith('-/*')) { text = text.replace(/\s+$/, ''); inner = inner.slice(1); }
    parts.push(text);
    let close: number;
    if (inner.trimStart().startsWith('/*')) {
      const end = inner.indexOf('*/');
      close = inner.indexOf('}}', end);
    } else {
      // `}}` inside a string literal does not close the action.
      let j = 0;
      close = -1;
      while (j < inner.length) {
        const ch = inner[j]!;
        if (ch === '"') { j++; while (j < inner.length && inner[j] !== '"') j += inner[j] === '\\' ? 2 : 1; j++; continue; }
        if (ch === '`') { j = inner.indexOf('`', j + 1) + 1; continue; }
        if (inner.startsWith('}}', j)) { close = j; break; }
        j++;
      }
    }
    if (close < 0) throw new TemplateError(`line ${line}: unclosed action`);
    let body = inner.slice(0, close);
    if (/ -$/.test(body) || /\n-$/.test(body) || body.endsWith('*/-')) { body = body.slice(0, -1); trimNext = true; }
    body = body.trim();
    if (!body.startsWith('/*')) parts.push({ text: body, line });
    const consumed = open + 2 + (src.slice(open + 2).length - inner.length) + close + 2;
    line += (src.slice(open, consumed).match(/\n/g) ?? []).length;
    i = consumed;
  }
  return parts;
}

/** Parses a template file: its body, and the `define`d templates it holds. */
export function parseTemplate(name: string, src: string): { body: Node[]; defines: Map<string, Node[]> } {
  const parts = split(src);
  const defines = new Map<string, Node[]>();
  let pos = 0;
  const where = (a: RawAction) => `${name}:${a.line}`;
  // Parses nodes until one of `stops` (else / end) and returns which one stopped it.
  const parseList = (stops: boolean): { nodes: Node[]; stop: RawAction | null } => {
    const nodes: Node[] = [];
    while (pos < parts.length) {
      const p = parts[pos++]!;
      if (typeof p === 'string') { if (p) nodes.push({ t: 'text', text: p }); continue; }
      const kw = /^(\w+)\b\s*/.exec(p.text)?.[1];
      const rest = (s: string) => p.text.slice(s.length).trim();
      if (kw === 'end' || kw === 'else') {
        if (!stops) throw new TemplateError(`${where(p)}: unexpected ${kw}`);
        return { nodes, stop: p };
      }
      if (kw === 'if' || kw === 'with') {
        const branches: { pipe: Pipe | null; body: Node[] }[] = [];
        let pipe: Pipe | null = parsePipe(lexAction(rest(kw), where(p)), where(p));
        for (;;) {
          const r = parseList(true);
          branches.push({ pipe, body: r.nodes });
          if (!r.stop) throw new TemplateError(`${where(p)}: ${kw} without end`);
          if (r.stop.text === 'end') break;
          const elseRest = r.stop.text.slice(4).trim();
          if (elseRest.startsWith(`${kw} `)) pipe = parsePipe(lexAction(elseRest.slice(kw.length + 1), where(r.stop)), where(r.stop));
          else if (elseRest === '') pipe = null;
          else throw new TemplateError(`${where(r.stop)}: unsupported "${r.stop.text}"`);
          if (pipe === null) {
            const last = parseList(true);
            branches.push({ pipe: null, body: last.nodes });
            if (last.stop?.text !== 'end') throw new TemplateError(`${where(p)}: ${kw} without end`);
            break;
          }
        }
        nodes.push({ t: kw, branches, line: p.line });
        continue;
      }
      if (kw === 'range') {
        const pipe = parsePipe(lexAction(rest('range'), where(p)), where(p));
        const r = parseList(true);
        let elseNodes: Node[] = [];
        if (r.stop?.text === 'else') {
          const e = parseList(true);
          if (e.stop?.text !== 'end') throw new TemplateError(`${where(p)}: range without end`);
          elseNodes = e.nodes;
        } else if (r.stop?.text !== 'end') throw new TemplateError(`${where(p)}: range without end`);
        nodes.push({ t: 'range', pipe, body: r.nodes, else: elseNodes, line: p.line });
        continue;
      }
      if (kw === 'define') {
        const m = /^define\s+"([^"]+)"$/.exec(p.text);
        if (!m) throw new TemplateError(`${where(p)}: bad define`);
        const r = parseList(true);
        if (r.stop?.text !== 'end') throw new TemplateError(`${where(p)}: define without end`);
        defines.set(m[1]!, r.nodes);
        continue;
      }
      if (kw === 'template') {
        const m = /^template\s+"([^"]+)"\s*(.*)$/s.exec(p.text);
        if (!m) throw new TemplateError(`${where(p)}: bad template`);
        nodes.push({ t: 'template', name: m[1]!, pipe: m[2] ? parsePipe(lexAction(m[2], where(p)), where(p)) : null, line: p.line });
        continue;
      }
      if (kw === 'block' || kw === 'break' || kw === 'continue') throw new TemplateError(`${where(p)}: ${kw} is not supported by this engine`);
      nodes.push({ t: 'action', pipe: parsePipe(lexAction(p.text, where(p)), where(p)), line: p.line });
    }
    return { nodes, stop: null };
  };
  const { nodes, stop } = parseList(false);
  if (stop) throw new TemplateError(`${name}:${stop.line}: unexpected ${stop.text}`);
  return { body: nodes, defines };
}

// ---------------------------------------------------------------------------------------------
// Execution

type Scope = Map<string, unknown>[];

/** A set of parsed templates and the functions they may call. */
export class TemplateSet {
  private readonly named = new Map<string, Node[]>();
  private readonly funcs: Record<string, Func>;

  constructor(funcs: Record<string, Func>) {
    this.funcs = {
      ...funcs,
      include: (name: unknown, data: unknown) => this.execute(String(name), data),
    };
  }

  /** Adds a file: its body under its own name, and each of its `define`s. */
  add(name: string, src: string): void {
    const { body, defines } = parseTemplate(name, src);
    this.named.set(name, body);
    for (const [n, d] of defines) this.named.set(n, d);
  }

  has(name: string): boolean {
    return this.named.has(name);
  }

  execute(name: string, data: unknown): string {
    const nodes = this.named.get(name);
    if (!nodes) throw new TemplateError(`no template "${name}"`);
    const out: string[] = [];
    this.run(nodes, data, [new Map([['$', data]])], out, name);
    return out.join('');
  }

  private run(nodes: Node[], dot: unknown, scope: Scope, out: string[], name: string): void {
    for (const n of nodes) {
      const where = `${name}:${'line' in n ? n.line : '?'}`;
      switch (n.t) {
        case 'text': out.push(n.text); break;
        case 'action': {
          const v = this.pipe(n.pipe, dot, scope, where);
          if (n.pipe.decl.length === 0) out.push(printValue(v));
          break;
        }
        case 'if':
        case 'with': {
          for (const b of n.branches) {
            const inner: Scope = [...scope, new Map()];
            const v = b.pipe ? this.pipe(b.pipe, dot, inner, where) : true;
            if (truthy(v)) {
              this.run(b.body, n.t === 'with' && b.pipe ? v : dot, inner, out, name);
              break;
            }
          }
          break;
        }
        case 'range': {
          const inner: Scope = [...scope, new Map()];
          const v = this.pipe({ ...n.pipe, decl: [] }, dot, inner, where);
          const items: [unknown, unknown][] = Array.isArray(v)
            ? v.map((x, i) => [i, x])
            : v && typeof v === 'object'
              ? Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]])
              : typeof v === 'number'
                ? Array.from({ length: v }, (_, i) => [i, i])
                : v === null || v === undefined
                  ? []
                  : (() => { throw new TemplateError(`${where}: range can't iterate over ${printValue(v)}`); })();
          if (items.length === 0) { this.run(n.else, dot, [...scope, new Map()], out, name); break; }
          for (const [k, x] of items) {
            const iter = new Map<string, unknown>();
            if (n.pipe.decl.length === 1) iter.set(n.pipe.decl[0]!, x);
            if (n.pipe.decl.length === 2) { iter.set(n.pipe.decl[0]!, k); iter.set(n.pipe.decl[1]!, x); }
            this.run(n.body, x, [...scope, iter], out, name);
          }
          break;
        }
        case 'template': {
          const d = n.pipe ? this.pipe(n.pipe, dot, scope, where) : null;
          out.push(this.execute(n.name, d));
          break;
        }
      }
    }
  }

  private pipe(p: Pipe, dot: unknown, scope: Scope, where: string): unknown {
    let last: unknown;
    let first = true;
    for (const cmd of p.cmds) {
      last = this.command(cmd, dot, scope, where, first ? [] : [last]);
      first = false;
    }
    if (p.decl.length === 1) {
      const name = p.decl[0]!;
      if (p.assign) {
        const frame = [...scope].reverse().find((f) => f.has(name));
        if (!frame) throw new TemplateError(`${where}: undefined variable ${name}`);
        frame.set(name, last);
      } else scope[scope.length - 1]!.set(name, last);
    }
    return last;
  }

  private command(cmd: Arg[], dot: unknown, scope: Scope, where: string, piped: unknown[]): unknown {
    const [head, ...rest] = cmd as [Arg, ...Arg[]];
    if (head.k === 'ident') {
      if (head.name === 'and' || head.name === 'or') {
        // Short-circuit, returning the deciding value (Go 1.18 and later).
        const operands = [...rest.map((a) => () => this.arg(a, dot, scope, where)), ...piped.map((v) => () => v)];
        let v: unknown;
        for (const get of operands) {
          v = get();
          if (head.name === 'and' ? !truthy(v) : truthy(v)) return v;
        }
        return v;
      }
      const f = this.funcs[head.name];
      if (!f) throw new TemplateError(`${where}: function "${head.name}" not defined`);
      const args = [...rest.map((a) => this.arg(a, dot, scope, where)), ...piped];
      try {
        return f(...args);
      } catch (e) {
        if (e instanceof TemplateError) throw e;
        throw new TemplateError(`${where}: error calling ${head.name}: ${(e as Error).message}`, { cause: e });
      }
    }
    // A field that is a method takes the remaining operands (`.Capabilities.APIVersions.Has "x"`).
    const v = this.arg(head, dot, scope, where, true);
    if (typeof v === 'function') return (v as Func)(...rest.map((a) => this.arg(a, dot, scope, where)), ...piped);
    if (rest.length > 0 || piped.length > 0) throw new TemplateError(`${where}: can't give arguments to a non-function`);
    return v;
  }

  private arg(a: Arg, dot: unknown, scope: Scope, where: string, call = false): unknown {
    switch (a.k) {
      case 'lit': return a.v;
      case 'ident': {
        const f = this.funcs[a.name];
        if (!f) throw new TemplateError(`${where}: function "${a.name}" not defined`);
        return f();
      }
      case 'paren': return this.walk(this.pipe(a.pipe, dot, scope, where), a.chain, where, call);
      case 'field': {
        let base: unknown = dot;
        if (a.base !== 'dot') {
          const frame = [...scope].reverse().find((f) => f.has(a.base));
          if (!frame) throw new TemplateError(`${where}: undefined variable ${a.base}`);
          base = frame.get(a.base);
        }
        return this.walk(base, a.chain, where, call);
      }
    }
  }

  private walk(base: unknown, chain: string[], where: string, call: boolean): unknown {
    let v = base;
    for (const [i, key] of chain.entries()) {
      if (v === null || v === undefined) throw new TemplateError(`${where}: nil pointer evaluating interface {}.${key}`);
      if (typeof v !== 'object' || Array.isArray(v)) throw new TemplateError(`${where}: can't evaluate field ${key} in type ${typeof v}`);
      const next = (v as Record<string, unknown>)[key];
      if (typeof next === 'function' && !(call && i === chain.length - 1)) v = (next as Func).call(v);
      else if (typeof next === 'function') v = (next as Func).bind(v);
      else v = Object.hasOwn(v, key) ? next : NO_VALUE;
    }
    return v;
  }
}
