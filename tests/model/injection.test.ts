// The injection corpus at the model level: IngressNightmare-style values in annotations, paths and
// hosts are refused with an error (never a warning, never silently ignored); and a seeded fuzz over
// every annotation shows that whatever the model accepts cannot break out of an NGINX string.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAnnotations, parseSnippet, SNIPPET_DIRECTIVES } from '../../src/model/index.ts';
import { checkSnippetVariable } from '../../src/model/snippet-rules.ts';
import { filters } from '../../src/render/filters.ts';
import { renderModel } from '../../src/render/index.ts';
import { parseConfig } from '../render/nginx-config.ts';
import { ANNOTATION_RULES } from '../../src/model/annotation-rules.ts';
import { AN, annotated, build, ingress, path, rule } from './fixtures.ts';
import { prng } from '../support/prng.ts';

/** What the attacks of March 2025 (and their obvious variants) put into annotation values. */
const PAYLOADS: Record<string, string> = {
  'load_module after a fragment': 'http://example.com/#;load_module /tmp/evil.so;',
  'close the block, open a Lua location': 'http://x/ ; } location /pwn { content_by_lua_block { os.execute("id") } } #',
  'ssl_engine with newlines (CVE-2025-1097)': 'CN=abc #(\n){}\n }}\nssl_engine ../../../../../../proc/1/fd/1;\n#',
  'include after a newline': 'x\ninclude /etc/passwd;',
  'quote breakout': '"; include /etc/nginx/*.conf; #',
  'single quote breakout': "'; error_log /tmp/x debug; #",
  'NGINX variable': 'http://x/$document_root',
  'variable in braces': 'http://x/${request_body}',
  'bare load_module': 'load_module /tmp/evil.so',
  'bare include': 'include /etc/shadow',
  'lua code': 'content_by_lua_block { ngx.say(io.popen("id"):read("*a")) }',
  backslash: 'http://x/\\"; return 200 x; #',
  backtick: 'http://x/`id`',
  'carriage return': 'http://x/\rproxy_pass http://evil;',
  'NUL byte': 'http://x/\u0000;',
  'unicode line separator': 'http://x/\u2028include x;',
};

/** The IngressNightmare annotations (CVE-2025-24514, -1097, -1098 and the auth-url one). */
const NIGHTMARE = ['auth-url', 'auth-tls-match-cn', 'mirror-target', 'mirror-host', 'mirror-uri', 'auth-signin', 'permanent-redirect'];

describe('IngressNightmare annotations carrying injections are refused with an error', () => {
  for (const name of NIGHTMARE) {
    for (const [what, value] of Object.entries(PAYLOADS)) {
      it(`${name}: ${what}`, () => {
        const model = build([annotated({ [AN + name]: value, [`${AN}auth-url`]: name === 'auth-signin' ? 'http://auth/' : (name === 'auth-url' ? value : 'http://auth/') })]);
        const errors = model.problems.filter((p) => p.severity === 'error' && p.field === `metadata.annotations[${AN}${name}]`);
        assert.equal(errors.length, 1, JSON.stringify(model.problems.map((p) => p.message)));
        assert.match(errors[0]!.message, new RegExp(`^metadata\\.annotations\\[${AN.replace(/\./g, '\\.')}${name}\\]: Invalid value: ".*": .+`));
        assert.deepEqual(model.servers, []);
      });
    }
  }
});

/** Payloads that are plain text without a separator: harmless inside a quoted string (a realm may say "include x"). */
const BARE = new Set(['bare load_module', 'bare include']);

describe('every supported annotation refuses every payload', () => {
  for (const name of Object.keys(ANNOTATION_RULES)) {
    it(name, () => {
      for (const [what, value] of Object.entries(PAYLOADS)) {
        if (name === 'auth-realm' && BARE.has(what)) continue;
        const { problems } = parseAnnotations({ [AN + name]: value }, { kind: 'Ingress', namespace: 'default', name: 'x' });
        assert.ok(
          problems.some((p) => p.severity === 'error' && p.field === `metadata.annotations[${AN}${name}]`),
          `${name} accepted ${what}: ${JSON.stringify(value)}`,
        );
      }
    });
  }
  it("IngressNightmare's injection points that wharf does not read (mirror-*) refuse them too", () => {
    for (const name of ['mirror-target', 'mirror-uri', 'mirror-host']) {
      for (const [what, value] of Object.entries(PAYLOADS)) {
        if (BARE.has(what)) continue; // not rendered at all: a warning says so
        const { problems } = parseAnnotations({ [AN + name]: value }, { kind: 'Ingress', namespace: 'default', name: 'x' });
        assert.equal(problems[0]?.severity, 'error', `${name}=${JSON.stringify(value)}`);
      }
    }
  });
  it('any other annotation wharf does not read is ignored with a warning, whatever its value, and none of it is rendered', () => {
    for (const name of ['proxy-redirect-from', 'custom-headers', 'not-a-real-option']) {
      for (const [what, value] of Object.entries(PAYLOADS)) {
        const { problems } = parseAnnotations({ [AN + name]: value }, { kind: 'Ingress', namespace: 'default', name: 'x' });
        assert.deepEqual(problems.map((p) => [p.severity, p.reason]), [['warning', 'UnsupportedAnnotation']], `${name}=${what}`);
        const model = build([annotated({ [AN + name]: value })]);
        assert.equal(model.servers.length, 1, `${name}=${what}: the Ingress is served`);
        const config = renderModel(model).fragments.map((f) => f.config).join('\n');
        assert.ok(!config.includes(value.trim()), `${name}=${what}: its value reached a fragment`);
      }
    }
  });
});

describe('paths and hosts carrying injections are refused with an error', () => {
  const paths = [
    '/x;}location /pwn {return 200 pwned;}#',
    '/x"; include /etc/passwd; #',
    '/x\ninclude /etc/passwd;',
    '/x { content_by_lua_block { os.execute("id") } }',
    '/$document_root',
    "/x'",
    '/x`id`',
    '/x\\";',
    '/x#',
  ];
  for (const p of paths) {
    for (const type of ['Exact', 'Prefix', 'ImplementationSpecific', 'ImplementationSpecific+use-regex']) {
      it(`${type} ${JSON.stringify(p)}`, () => {
        const regex = type.endsWith('use-regex');
        const model = build([ingress('i', [rule('foo.com', path(p, regex ? 'ImplementationSpecific' : type))], { annotations: regex ? { [`${AN}use-regex`]: 'true' } : {} })]);
        const errors = model.problems.filter((x) => x.severity === 'error');
        assert.equal(errors.length, 1);
        assert.equal(errors[0]!.reason, 'InvalidPath');
        assert.ok(errors[0]!.message.startsWith('spec.rules[0].http.paths[0].path: Invalid value: '));
        assert.deepEqual(model.servers, []);
      });
    }
  }
  const hosts = ['foo.com;', 'foo.com { }', 'foo.com\ninclude x', 'foo.com"', '$host', 'foo.com#', 'foo .com'];
  for (const h of hosts) {
    it(`host ${JSON.stringify(h)}`, () => {
      const model = build([ingress('i', [rule(h, path('/'))])]);
      assert.equal(model.problems.filter((x) => x.severity === 'error' && x.reason === 'InvalidHost').length, 1);
      assert.deepEqual(model.servers, []);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Fuzz: random strings into every annotation, path and host; whatever is accepted must be safe.

const PIECES = ['/', 'a', 'Z', '0', '9', '.', '-', '_', ':', ',', ' ', '$', '$host', '$1', '$request_uri', '$arg_x', ';', '{', '}', '#', '"', "'", '\\', '`', '\n', '\r', '\u0000', '(', ')', '[', ']', '*', '+', '?', '|', '^', '=', '&', '%', '@', 'http://', 'https://a.com', 'CN=', 'true', '10.0.0.0/8', '8m', '60', 'include ', 'load_module ', 'GET', '$http_authorization', '200 5m', 'Lax'];
const SAFE_STRING = /[\u0000-\u001f\u007f\u0085\u2028\u2029;"'`#]/;
const DOLLAR_OK = /\$(?:[1-9]|host|scheme|request_uri|escaped_request_uri|remote_addr|binary_remote_addr|uri|args|server_name|arg_[a-z0-9_]+|http_[a-z0-9_]+|cookie_[A-Za-z0-9_]+)(?![A-Za-z0-9_])/g;

function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) strings(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) strings(v, out);
  return out;
}

function assertSafe(s: string, context: string, regex = false): void {
  assert.ok(!SAFE_STRING.test(s), `${context}: accepted ${JSON.stringify(s)}`);
  if (!regex) {
    assert.ok(!/[{}\\]/.test(s), `${context}: accepted ${JSON.stringify(s)}`);
    assert.ok(!s.replace(DOLLAR_OK, '').includes('$'), `${context}: accepted a variable in ${JSON.stringify(s)}`);
  }
}

describe('fuzz: whatever the model accepts is safe inside an NGINX string', () => {
  it('annotations', () => {
    const rand = prng(20250324);
    const names = [...Object.keys(ANNOTATION_RULES), 'mirror-target', 'mirror-host', 'auth-tls-match-cn', 'unknown-thing'];
    let accepted = 0;
    // About 100 tries per annotation, whatever the table's size.
    for (let i = 0; i < 100 * names.length; i++) {
      const name = names[Math.floor(rand() * names.length)]!;
      let value = '';
      const n = 1 + Math.floor(rand() * 6);
      for (let k = 0; k < n; k++) value += PIECES[Math.floor(rand() * PIECES.length)];
      const { value: parsed, problems } = parseAnnotations({ [AN + name]: value, [`${AN}enable-cors`]: 'true', [`${AN}affinity`]: 'cookie', [`${AN}auth-url`]: 'http://a/', [`${AN}canary`]: 'true' }, { kind: 'Ingress', namespace: 'default', name: 'x' });
      if (problems.some((p) => p.severity === 'error')) continue;
      accepted++;
      for (const s of strings(parsed)) assertSafe(s, `${name}=${JSON.stringify(value)}`);
    }
    assert.ok(accepted > 400, `the fuzz must exercise accepted values too (${accepted} accepted)`);
  });
  it('paths and hosts', () => {
    const rand = prng(1974);
    let accepted = 0;
    for (let i = 0; i < 1500; i++) {
      let value = '/';
      const n = 1 + Math.floor(rand() * 5);
      for (let k = 0; k < n; k++) value += PIECES[Math.floor(rand() * PIECES.length)];
      const type = ['Exact', 'Prefix', 'ImplementationSpecific'][i % 3]!;
      const regex = rand() < 0.5;
      const host = rand() < 0.2 ? value.slice(1) || 'a' : 'foo.com';
      const model = build([ingress('i', [rule(host, path(value, type))], { annotations: regex ? { [`${AN}use-regex`]: 'true' } : {} })]);
      accepted += model.servers.length;
      for (const server of model.servers) {
        assertSafe(server.host, `host ${JSON.stringify(host)}`);
        for (const l of server.locations) assertSafe(l.path, `${type} ${JSON.stringify(value)}`, l.match === 'Regex');
      }
    }
    assert.ok(accepted > 150, `the fuzz must exercise accepted paths too (${accepted} accepted)`);
  });
});

// ---------------------------------------------------------------------------------------------
// Snippets: the payloads are refused; whatever the allowlist accepts is written back as exactly the
// directives it accepted (NGINX reads the rendered text as the same names and arguments).

describe('snippet annotations refuse every payload, with the field named', () => {
  for (const name of ['configuration-snippet', 'server-snippet', 'auth-snippet']) {
    it(name, () => {
      for (const [what, value] of Object.entries(PAYLOADS)) {
        const { problems } = parseAnnotations({ [AN + name]: value, [`${AN}auth-url`]: 'http://a/' }, { kind: 'Ingress', namespace: 'default', name: 'x' });
        assert.ok(problems.some((p) => p.severity === 'error' && p.reason === 'SnippetRefused' && p.field === `metadata.annotations[${AN}${name}]`), `${name} accepted ${what}: ${JSON.stringify(value)}`);
      }
    });
  }
});

describe('fuzz: an accepted snippet renders as exactly its allowed directives', () => {
  const SNIPPET_PIECES = [
    ...Object.keys(SNIPPET_DIRECTIVES), 'include', 'load_module', 'content_by_lua_block', 'location', 'return', 'if', 'set',
    ' ', ' ', ' ', '\n', '\t', ';', ';', '{', '}', '#', '"', '"', "'", '\\', '\\"', "\\'", '\\\\', '$', '$host', '${host}', '$uri', '$1',
    '$http_x_a', '$document_root', '$request_body', 'X-A', 'X-B:', ': ', 'value', '-s', '-t', '-r', '"404 500"', '"text/html"', 'always',
    '1h', 'modified', '@15h', 'epoch', '*', 'é', '\u0000', '\r\n', '}{', '/etc/passwd',
  ];
  it('configuration-, server- and auth-snippet', () => {
    const rand = prng(20251974);
    const contexts = ['location', 'server', 'auth'] as const;
    let accepted = 0;
    for (let i = 0; i < 20000; i++) {
      let text = '';
      // Most cases start from a valid directive, so that mutations reach the argument grammars.
      if (rand() < 0.7) text = ['add_header X-A "v" always;', 'more_set_headers "X-B: $host";', 'proxy_set_header X-C $remote_addr;', 'expires 1h;', 'more_clear_input_headers X-D;'][Math.floor(rand() * 5)]!;
      for (let k = Math.floor(rand() * 3); k > 0; k--) {
        const piece = SNIPPET_PIECES[Math.floor(rand() * SNIPPET_PIECES.length)]!;
        const at = Math.floor(rand() * (text.length + 1));
        text = text.slice(0, at) + piece + text.slice(at);
      }
      const context = contexts[i % 3]!;
      const r = parseSnippet(text, context, { headersMore: true });
      if (!r.ok) continue;
      accepted++;
      const rendered = r.directives.map((d) => `${filters.nginx_snippet_directive!(d).text};`).join('\n');
      const read = parseConfig(rendered);
      assert.deepEqual(read.map((d) => ({ name: d.name, args: d.args, block: d.block })), r.directives.map((d) => ({ ...d, block: null })), `${JSON.stringify(text)} rendered as ${rendered}`);
      for (const d of read) assert.ok(Object.hasOwn(SNIPPET_DIRECTIVES, d.name), `${d.name} from ${JSON.stringify(text)}`);
      for (const d of r.directives) for (const a of d.args) assertSafeSnippetArg(a, text);
    }
    assert.ok(accepted > 2000, `the fuzz must exercise accepted snippets too (${accepted} accepted)`);
  });
});

/** An accepted argument: printable ASCII, and every `$` one of the allowed variables. */
function assertSafeSnippetArg(a: string, text: string): void {
  assert.match(a, /^[\x20-\x7e]*$/, `accepted ${JSON.stringify(a)} from ${JSON.stringify(text)}`);
  for (const m of a.matchAll(/\$\{?([A-Za-z0-9_]*)/g)) assert.equal(checkSnippetVariable(m[1]!), null, `accepted $${m[1]} from ${JSON.stringify(text)}`);
}
