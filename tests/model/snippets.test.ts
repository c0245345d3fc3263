// Snippet annotations: the NGINX-syntax reader (tokens, refusals with their position), the
// allowlist (accepted snippets and the directives they give; each refusal with its exact message),
// and what the model does with them: locations, the host's server (oldest Ingress wins), the
// external-auth request, canaries, and the admin switch (--snippets off, allow-snippet-annotations).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseObject, parseSnippet, RoutingIndex, tokenizeSnippet, defaultControllerSettings, type SnippetContext } from '../../src/model/index.ts';
import { AN, annotated, build, ingress, messages, path, rule } from './fixtures.ts';

const SAFE = { headersMore: true };

describe('the snippet reader follows NGINX\'s syntax', () => {
  it('reads words, both quotes with their escapes, ; { }, comments and variables', () => {
    const r = tokenizeSnippet(`# a comment\nadd_header  X-A "a \\"b\\" \\\\ 'c' ; {d}" always;\r\nmore_set_headers 'X-B: \${host}x' "X-C: $http_x_y";#tail`);
    assert.ok(r.ok);
    assert.deepEqual(
      r.tokens.map((t) => (t.kind === 'word' ? `${t.at.line}:${t.at.column} ${t.quoted ? 'q' : 'w'} ${t.value} [${t.variables.map((v) => v.name).join(',')}]` : `${t.at.line}:${t.at.column} ${t.kind}`)),
      [
        '2:1 w add_header []',
        '2:13 w X-A []',
        `2:17 q a "b" \\ 'c' ; {d} []`,
        '2:40 w always []',
        '2:46 ;',
        '3:1 w more_set_headers []',
        '3:18 q X-B: ${host}x [host]',
        '3:34 q X-C: $http_x_y [http_x_y]',
        '3:50 ;',
      ],
    );
  });
  const refused: Record<string, [string, string]> = {
    'a control character': ['add_header X a\u0007;', 'line 1, column 15: character \\u0007 is not allowed (printable ASCII only)'],
    'non-ASCII': ['add_header X "é";', 'line 1, column 15: character \\u00e9 is not allowed (printable ASCII only)'],
    'an unknown escape': ['add_header X "a\\nb";', 'line 1, column 16: escape "\\n" is not allowed: only \\" \\\' and \\\\'],
    'a string left open': ['add_header X "abc;', 'line 1, column 14: the double-quoted string is not closed'],
    'a string over two lines': ['add_header X "a\nb";', 'line 1, column 16: a quoted string must stay on one line, without tabs'],
    'a quote glued to a word': ['add_header X "a"b;', 'line 1, column 17: "b" must not follow a quoted string directly (add a space)'],
    'a quote inside a word': ['add_header X a"b";', 'line 1, column 15: """ inside a word is not allowed: quote the whole argument'],
    '"}" inside a word (NGINX would keep it)': ['add_header X a};', 'line 1, column 15: "}" inside a word is not allowed: quote the whole argument'],
    'a lone "$"': ['add_header X "5 $";', 'line 1, column 17: "$" must start a variable such as $host (NGINX has no literal "$")'],
    '"${" left open': ['add_header X ${host;', 'line 1, column 14: "${host" must be closed with "}"'],
    'a bare carriage return': ['add_header X y;\rinclude x;', 'line 1, column 16: character \\u000d is not allowed outside a line ending'],
  };
  for (const [name, [text, message]] of Object.entries(refused)) {
    it(`refuses ${name}, with its position`, () => {
      assert.deepEqual(parseSnippet(text, 'location', SAFE), { ok: false, message });
    });
  }
});

describe('accepted snippets become directives with their arguments as NGINX reads them', () => {
  const cases: Record<string, [SnippetContext, string, [string, ...string[]][]]> = {
    'add_header with always': ['location', 'add_header X-Frame-Options "SAMEORIGIN" always;', [['add_header', 'X-Frame-Options', 'SAMEORIGIN', 'always']]],
    'add_header with a variable and an empty value': ['location', 'add_header X-Id $request_id;\nadd_header X-Empty "";', [['add_header', 'X-Id', '$request_id'], ['add_header', 'X-Empty', '']]],
    'more_set_headers with -s and -t': ['location', 'more_set_headers -s "404 500" -t "text/html" "X-A: 1" \'X-B: $host\';', [['more_set_headers', '-s', '404 500', '-t', 'text/html', 'X-A: 1', 'X-B: $host']]],
    'more_clear_headers with a wildcard': ['server', 'more_clear_headers Server X-Powered-* ;', [['more_clear_headers', 'Server', 'X-Powered-*']]],
    'more_set_input_headers -r': ['location', 'more_set_input_headers -r "X-Tenant: $http_x_org";', [['more_set_input_headers', '-r', 'X-Tenant: $http_x_org']]],
    'more_clear_input_headers': ['location', 'more_clear_input_headers Cookie;', [['more_clear_input_headers', 'Cookie']]],
    'proxy_set_header from a request header and the client address': ['location', 'proxy_set_header X-Client $remote_addr;\nproxy_set_header X-Org "$http_x_org-$arg_tenant";', [['proxy_set_header', 'X-Client', '$remote_addr'], ['proxy_set_header', 'X-Org', '$http_x_org-$arg_tenant']]],
    'proxy_set_header in the auth request': ['auth', 'proxy_set_header X-Auth-Scope admin;', [['proxy_set_header', 'X-Auth-Scope', 'admin']]],
    'proxy_hide_header and proxy_pass_header': ['location', 'proxy_hide_header X-Powered-By; proxy_pass_header Server;', [['proxy_hide_header', 'X-Powered-By'], ['proxy_pass_header', 'Server']]],
    'grpc_set_header': ['location', 'grpc_set_header X-Trace $request_id;', [['grpc_set_header', 'X-Trace', '$request_id']]],
    'expires': ['location', 'add_header X-A 1;\nexpires modified 1y2M3w4d5h6m7s;', [['add_header', 'X-A', '1'], ['expires', 'modified', '1y2M3w4d5h6m7s']]],
    'braces, ; and # inside quotes are text': ['location', 'add_header Content-Security-Policy "default-src \'self\'; img-src * data:; # {x}";', [['add_header', 'Content-Security-Policy', "default-src 'self'; img-src * data:; # {x}"]]],
    'a header value with ${} next to text': ['location', 'add_header X-Host "${host}suffix";', [['add_header', 'X-Host', '${host}suffix']]],
  };
  for (const [name, [context, text, want]] of Object.entries(cases)) {
    it(name, () => {
      const r = parseSnippet(text, context, SAFE);
      assert.deepEqual(r, { ok: true, directives: want.map(([n, ...args]) => ({ name: n, args })) });
    });
  }
});

describe('refused snippets: one line naming the directive, its position, and what to use instead', () => {
  const cases: Record<string, [SnippetContext, string, string]> = {
    'a timeout': ['location', 'add_header X y;\n  proxy_read_timeout 300;', 'line 2, column 3: proxy_read_timeout is not allowed in snippets: use the nginx.ingress.kubernetes.io/proxy-read-timeout annotation'],
    'client_max_body_size': ['location', 'client_max_body_size 10m;', 'line 1, column 1: client_max_body_size is not allowed in snippets: use the nginx.ingress.kubernetes.io/proxy-body-size annotation'],
    'a block': ['server', 'location /admin { deny all; }', 'line 1, column 1: location { … }: blocks are not allowed in snippets (add a path to the Ingress\'s rules instead)'],
    'if': ['location', 'if ($http_x) { return 403; }', 'line 1, column 1: if { … }: blocks are not allowed in snippets (conditions are not supported in snippets)'],
    'include': ['location', 'include /etc/nginx/conf.d/x.conf;', 'line 1, column 1: include is not allowed in snippets: snippets never read files'],
    'load_module': ['server', 'load_module /tmp/x.so;', 'line 1, column 1: load_module is not allowed in snippets: snippets never load modules'],
    'Lua': ['location', 'access_by_lua_file /tmp/x.lua;', 'line 1, column 1: access_by_lua_file is not allowed in snippets: wharf never runs Lua from an Ingress'],
    'a Lua block': ['location', 'content_by_lua_block { os.execute("id") }', 'line 1, column 1: content_by_lua_block { … }: blocks are not allowed in snippets'],
    'return': ['location', 'return 301 https://x/;', 'line 1, column 1: return is not allowed in snippets: use the nginx.ingress.kubernetes.io/permanent-redirect or nginx.ingress.kubernetes.io/temporal-redirect annotations'],
    'rewrite': ['location', 'rewrite ^/a(.*) /b$1 break;', 'line 1, column 1: rewrite is not allowed in snippets: use the nginx.ingress.kubernetes.io/rewrite-target or nginx.ingress.kubernetes.io/app-root annotations'],
    'an unknown directive': ['location', 'sub_filter a b;', 'line 1, column 1: sub_filter is not on wharf\'s snippet allowlist (add_header, more_set_headers, more_clear_headers, more_set_input_headers, more_clear_input_headers, proxy_set_header, grpc_set_header, proxy_hide_header, proxy_pass_header, expires; see docs/snippets.md)'],
    'a variable that reads a file path': ['location', 'add_header X-Root $document_root;', 'line 1, column 1: add_header: the value: $document_root is not allowed: values may use $host, $remote_addr, $scheme, $request_uri, $request_id, $http_<name>, $arg_<name>, $cookie_<name> and the other variables listed in docs/snippets.md'],
    '$uri (decoded: CRLF)': ['location', 'add_header Link "<$uri>";', 'line 1, column 1: add_header: the value: $uri is not allowed: it holds the decoded path, where %0D%0A is a line break (use $request_uri)'],
    'a capture': ['location', 'proxy_set_header X-Part $1;', 'line 1, column 1: proxy_set_header: the value: $1 is not allowed: it holds the decoded path, where %0D%0A is a line break (use $request_uri)'],
    'a header name with a space': ['location', 'add_header "X A" b;', 'line 1, column 1: add_header: the header name "X A" must be a header name (token characters: A-Z a-z 0-9 and ! # % & \' * + . ^ _ ` | ~ -)'],
    'a variable as a header name': ['location', 'add_header $http_x b;', 'line 1, column 1: add_header: the header name "$http_x" must be a header name (token characters: A-Z a-z 0-9 and ! # % & \' * + . ^ _ ` | ~ -)'],
    'add_header with a fourth argument': ['location', 'add_header X y always z;', 'line 1, column 1: add_header: takes a header name, a value and optionally "always" (2 or 3 arguments), not 4'],
    'add_header with something else than always': ['location', 'add_header X y never;', 'line 1, column 1: add_header: the third argument must be "always", not "never"'],
    'a header wharf sets': ['location', 'proxy_set_header X-Forwarded-Proto https;', 'line 1, column 1: proxy_set_header: X-Forwarded-Proto is set by wharf: wharf sends it itself'],
    'Host': ['location', 'proxy_set_header host api.internal;', 'line 1, column 1: proxy_set_header: host is set by wharf: use the nginx.ingress.kubernetes.io/upstream-vhost annotation'],
    'proxy_set_header in server-snippet': ['server', 'proxy_set_header X-A b;', 'line 1, column 1: proxy_set_header has no effect in server-snippet (every wharf location sets its own): put it in configuration-snippet or auth-snippet'],
    'add_header in auth-snippet': ['auth', 'add_header X-A b;', 'line 1, column 1: add_header has no effect in auth-snippet (the auth service\'s answer never reaches the client): put it in configuration-snippet or server-snippet'],
    'more_*_input_headers in auth-snippet (NGINX would change the client\'s request, or drop it)': ['auth', 'more_clear_input_headers Cookie;', 'line 1, column 1: more_clear_input_headers cannot go in auth-snippet: in the auth request it changes the client\'s own request: use proxy_set_header, or put it in configuration-snippet or server-snippet'],
    'more_set_headers without "Name: value"': ['location', 'more_set_headers "X-A";', 'line 1, column 1: more_set_headers: the first argument "X-A" must be "Name: value" with a header name of token characters'],
    'more_set_headers with an unknown option': ['location', 'more_set_headers -x "X-A: b";', 'line 1, column 1: more_set_headers: option "-x" is not allowed (-s, -t only, each as its own argument)'],
    'more_set_headers -s with a word': ['location', 'more_set_headers -s "ok" "X-A: b";', 'line 1, column 1: more_set_headers: "ok" after -s must be status codes separated by spaces (e.g. "404 500")'],
    'more_set_headers with options only': ['location', 'more_set_headers -t "text/html";', 'line 1, column 1: more_set_headers: needs at least one "Name: value" argument'],
    'expires with a variable': ['location', 'expires $arg_t;', 'line 1, column 1: expires: takes no variables'],
    'expires twice (NGINX: "is duplicate")': ['location', 'expires 1h;\nexpires 2h;', 'line 2, column 1: expires: given twice (NGINX takes it once)'],
    'expires with a word': ['location', 'expires soon;', 'line 1, column 1: expires: takes a time such as 1h, 30d or 1h30m (units y M w d h m s, largest first; optionally after "modified"), a time of day such as @15h30m, epoch, max or off'],
    'expires with units out of order (NGINX refuses 1m1h)': ['location', 'expires 1m1h;', 'line 1, column 1: expires: takes a time such as 1h, 30d or 1h30m (units y M w d h m s, largest first; optionally after "modified"), a time of day such as @15h30m, epoch, max or off'],
    'expires in milliseconds (NGINX refuses ms here)': ['location', 'expires 10ms;', 'line 1, column 1: expires: takes a time such as 1h, 30d or 1h30m (units y M w d h m s, largest first; optionally after "modified"), a time of day such as @15h30m, epoch, max or off'],
    'expires at a time of day past 24 hours': ['location', 'expires @25h;', 'line 1, column 1: expires: the time of day "@25h" must be at most 24 hours'],
    'expires @ alone': ['location', 'expires @;', 'line 1, column 1: expires: takes a time such as 1h, 30d or 1h30m (units y M w d h m s, largest first; optionally after "modified"), a time of day such as @15h30m, epoch, max or off'],
    'a stray "}"': ['server', 'add_header X y; }\nserver { listen 80; }', 'line 1, column 17: "}" closes no block (a snippet cannot end the block wharf puts it in)'],
    'a missing ";"': ['location', 'add_header X y', 'line 1, column 1: add_header: missing ";" at the end of the directive'],
    'nothing but comments': ['location', '# nothing\n', 'holds no directive (remove the annotation)'],
    'a quoted directive name': ['location', '"add_header" X y;', 'line 1, column 1: a directive name must be a plain word, not "add_header"'],
  };
  for (const [name, [context, text, message]] of Object.entries(cases)) {
    it(name, () => {
      assert.deepEqual(parseSnippet(text, context, SAFE), { ok: false, message });
    });
  }
  it('more_* without the headers-more module, saying why', () => {
    assert.deepEqual(parseSnippet('more_set_headers "X: y";', 'location', { headersMore: false }), {
      ok: false,
      message: 'line 1, column 1: more_set_headers needs NGINX\'s headers-more module (Debian\'s libnginx-mod-http-headers-more-filter), which this wharf does not have: use add_header or proxy_set_header',
    });
  });
});

const field = (n: string) => `metadata.annotations[${AN}${n}]`;

describe('snippets in the model', () => {
  it('configuration-snippet goes to every location of the Ingress; a refused one denies it with the field named', () => {
    const model = build([annotated({ [`${AN}configuration-snippet`]: 'add_header X-A "1";' }, [path('/a'), path('/b')])]);
    assert.deepEqual(model.servers[0]!.locations.map((l) => l.settings.snippet), [[{ name: 'add_header', args: ['X-A', '1'] }], [{ name: 'add_header', args: ['X-A', '1'] }]]);
    const denied = build([annotated({ [`${AN}configuration-snippet`]: 'add_header X-A "1";\nproxy_pass http://evil;' })]);
    assert.deepEqual(messages(denied.problems.filter((p) => p.severity === 'error')), [
      `${field('configuration-snippet')}: Forbidden: line 2, column 1: proxy_pass is not allowed in snippets: the backend comes from the Ingress's rules`,
    ]);
    assert.equal(denied.problems.find((p) => p.severity === 'error')?.reason, 'SnippetRefused');
    assert.deepEqual(denied.servers, []);
  });
  it('server-snippet: the oldest Ingress with a location on the host sets it, the others get a warning', () => {
    const model = build([
      ingress('old', [rule('a.com', path('/old'))], { created: '2024-01-01T00:00:00Z', annotations: { [`${AN}server-snippet`]: 'add_header X-Old 1;' } }),
      ingress('new', [rule('a.com', path('/new'))], { created: '2024-02-01T00:00:00Z', annotations: { [`${AN}server-snippet`]: 'add_header X-New 1;' } }),
      ingress('none', [rule('a.com', path('/none'))], { created: '2023-01-01T00:00:00Z' }),
    ]);
    assert.deepEqual(model.servers[0]!.snippet, { directives: [{ name: 'add_header', args: ['X-Old', '1'] }], source: { kind: 'Ingress', namespace: 'default', name: 'old' } });
    assert.deepEqual(messages(model.problems.filter((p) => p.reason === 'ServerSnippetConflict')), [`${field('server-snippet')}: ignored for host a.com: older Ingress default/old sets its server-snippet`]);
  });
  it('server-snippet on rules without a host is ignored with a warning (the default server answers every host)', () => {
    const model = build([ingress('x', [rule(undefined, path('/'))], { annotations: { [`${AN}server-snippet`]: 'add_header X-A 1;' } })]);
    assert.deepEqual(messages(model.problems.filter((p) => p.field === field('server-snippet'))), [`${field('server-snippet')}: ignored for rules without a host: the default server answers every other host too`]);
  });
  it('auth-snippet goes to the external auth request; without auth-url it is ignored with a warning', () => {
    const withAuth = build([annotated({ [`${AN}auth-url`]: 'http://auth.test/check', [`${AN}auth-snippet`]: 'proxy_set_header X-Scope admin;' })]);
    assert.deepEqual(withAuth.servers[0]!.locations[0]!.settings.externalAuth?.snippet, [{ name: 'proxy_set_header', args: ['X-Scope', 'admin'] }]);
    const without = build([annotated({ [`${AN}auth-snippet`]: 'proxy_set_header X-Scope admin;' })]);
    assert.deepEqual(messages(without.problems.filter((p) => p.severity === 'warning' && p.field === field('auth-snippet'))), [`${field('auth-snippet')}: ignored: auth-url is not set (auth-snippet goes into the request to the auth service)`]);
  });
  it('a canary Ingress\'s snippets are ignored with a warning (the primary\'s apply); a redirect\'s configuration-snippet too', () => {
    const model = build([
      ingress('primary', [rule('a.com', path('/'))], { created: '2024-01-01T00:00:00Z', annotations: { [`${AN}configuration-snippet`]: 'add_header X-P 1;' } }),
      ingress('canary', [rule('a.com', path('/'))], { created: '2024-02-01T00:00:00Z', annotations: { [`${AN}canary`]: 'true', [`${AN}configuration-snippet`]: 'add_header X-C 1;', [`${AN}server-snippet`]: 'add_header X-S 1;' } }),
    ]);
    assert.deepEqual(model.servers[0]!.locations[0]!.settings.snippet, [{ name: 'add_header', args: ['X-P', '1'] }]);
    assert.equal(model.servers[0]!.snippet, undefined);
    assert.deepEqual(messages(model.problems.filter((p) => p.object.name === 'canary' && /snippet/.test(p.field))).sort(), [
      `${field('configuration-snippet')}: ignored: canary Ingresses add backends to the paths of other Ingresses, whose configuration-snippet applies`,
      `${field('server-snippet')}: ignored: canary Ingresses add backends to the paths of other Ingresses and do not configure servers`,
    ]);
    const redirect = build([annotated({ [`${AN}permanent-redirect`]: 'https://x.test/', [`${AN}configuration-snippet`]: 'add_header X-P 1;' })]);
    assert.equal(redirect.servers[0]!.locations[0]!.settings.snippet, undefined);
    assert.match(messages(redirect.problems).join('\n'), /configuration-snippet\]: ignored: permanent-redirect or temporal-redirect answers every request/);
  });
  it('--snippets off denies every snippet, and says so', () => {
    const model = build([annotated({ [`${AN}configuration-snippet`]: 'add_header X-A 1;' })], { ...defaultControllerSettings, snippets: 'off' });
    assert.deepEqual(messages(model.problems.filter((p) => p.severity === 'error')), [`${field('configuration-snippet')}: Forbidden: snippets are turned off on this wharf (wharf handler --snippets off)`]);
  });
  it('headersMore false refuses more_* with the reason', () => {
    const model = build([annotated({ [`${AN}configuration-snippet`]: 'more_set_headers "X: y";' })], { ...defaultControllerSettings, headersMore: false });
    assert.match(messages(model.problems.filter((p) => p.severity === 'error'))[0] ?? '', /more_set_headers needs NGINX's headers-more module \(Debian's libnginx-mod-http-headers-more-filter\)/);
  });
  it('allow-snippet-annotations "false" in the ConfigMap turns them off; changing it re-checks every Ingress', () => {
    const cm = (v: string) => parseOk({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'wharf', namespace: 'wharf' }, data: { 'allow-snippet-annotations': v } });
    const index = new RoutingIndex(defaultControllerSettings);
    index.upsert(parseOk(annotated({ [`${AN}configuration-snippet`]: 'add_header X-A 1;' })));
    assert.equal(index.model().servers.length, 1);
    const off = index.upsert(cm('false'));
    assert.deepEqual(off.hosts, ['foo.com']);
    assert.deepEqual(off.ingresses, ['default/ann']);
    assert.deepEqual(messages(index.model().problems.filter((p) => p.severity === 'error')), [
      `${field('configuration-snippet')}: Forbidden: snippets are turned off on this wharf (the ConfigMap sets allow-snippet-annotations to "false")`,
    ]);
    assert.equal(index.model().servers.length, 0);
    index.upsert(cm('true'));
    assert.equal(index.model().servers[0]?.locations[0]?.settings.snippet?.[0]?.name, 'add_header');
    assert.deepEqual(messages(index.upsert(cm('maybe')) && index.model().problems.filter((p) => p.object.kind === 'ConfigMap')), [
      'data[allow-snippet-annotations]: Invalid value: "maybe": must be "true" or "false"; the default is used',
    ]);
  });
});

function parseOk(o: unknown) {
  const r = parseObject(o);
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join('; '));
  return r.value;
}
