// The filters are the last line of defence: the model has already validated every value, but a
// filter still refuses anything outside the grammar of the place it writes to. Here: what each
// accepts and how it quotes it, the IngressNightmare corpus handed to every filter directly, no
// `raw` in any template, the output guard, and deterministic rendering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { filters, NginxText, UnsafeValueError } from '../../src/render/filters.ts';
import { createEngine, templatesDir } from '../../src/render/engine.ts';
import { BodyCache, fragmentName, renderModel } from '../../src/render/index.ts';
import { FRAGMENT_NAME } from '../../src/protocol/agent-api.ts';
import { parseConfig } from './nginx-config.ts';
import { location, model, server } from './helpers.ts';
import { corpus } from './corpus.ts';

const out = (name: string, value: unknown): string => {
  const f = filters[name];
  assert.ok(f, `filter ${name} exists`);
  const r = f(value);
  assert.ok(r instanceof NginxText);
  return r.text;
};

// [filter, value, written as] — accepted values and their exact NGINX form.
const accepted: [string, unknown, string][] = [
  ['nginx_server_name', 'app.example.com', 'app.example.com'],
  ['nginx_server_name', '*.example.com', '"~^[^.]+\\\\.example\\\\.com$"'],
  ['nginx_server_name', ['app.example.com', '*.w.example.com', 'alias.test'], 'app.example.com "~^[^.]+\\\\.w\\\\.example\\\\.com$" alias.test'],
  ['nginx_url_host', 'www.example.com', 'www.example.com'],
  ['nginx_uri_path', '/a/b-c_d.e~f', '"/a/b-c_d.e~f"'],
  ['nginx_regex', '^/api(/|$)(.*)', '"^/api(/|$)(.*)"'],
  ['nginx_regex', '^/v\\d{2}/', '"^/v\\\\d{2}/"'],
  ['nginx_dn_regex', 'CN=alice|CN=bob smith', '"CN=alice|CN=bob smith"'],
  ['nginx_dn_regex', 'CN=*.example.com,O=x', '"CN=*.example.com,O=x"'],
  ['nginx_string', 'Staff only (v2)', '"Staff only (v2)"'],
  ['nginx_url', 'http://auth.ns.svc:8080/check?x=1', '"http://auth.ns.svc:8080/check?x=1"'],
  ['nginx_url', 'https://$host/oauth2/auth', '"https://$host/oauth2/auth"'],
  ['nginx_redirect', '/new/place', '"/new/place"'],
  ['nginx_signin', 'https://login/start', '"https://login/start?rd=$scheme://$host$escaped_request_uri"'],
  ['nginx_signin', 'https://login/start?rd=$escaped_request_uri', '"https://login/start?rd=$escaped_request_uri"'],
  ['nginx_origin_match', 'https://a.test:8443', '= "https://a.test:8443"'],
  ['nginx_origin_match', 'https://*.a.test', '~* "^https://[A-Za-z0-9-]+\\\\.a\\\\.test$"'],
  ['nginx_cidr', '10.0.0.0/8', '10.0.0.0/8'],
  ['nginx_cidr', '2001:db8::/32', '2001:db8::/32'],
  ['nginx_cidr', '192.168.1.1', '192.168.1.1'],
  ['nginx_size', '8m', '8m'],
  ['nginx_size', '0', '0'],
  ['nginx_seconds', 60, '60s'],
  ['nginx_seconds', 0.5, '500ms'],
  ['nginx_seconds', 1.25, '1250ms'],
  ['nginx_next_upstream', ['error', 'timeout', 'http_502', 'non_idempotent'], 'error timeout http_502 non_idempotent'],
  ['nginx_next_upstream', ['off'], 'off'],
  ['nginx_positive_int', 5, '5'],
  ['nginx_header_name', 'X-Auth_User', 'X-Auth_User'],
  ['nginx_header_var', 'X-Canary', '$http_x_canary'],
  ['nginx_upstream_header_var', 'X-User', '$upstream_http_x_user'],
  ['nginx_token_list', 'GET, POST', '"GET, POST"'],
  ['nginx_cookie_regex', 'route.id', '"(?:^|;\\\\s*)route\\\\.id=([^;]+)"'],
  ['nginx_hash_key', '$remote_addr:$arg_user', '"$remote_addr:$arg_user"'],
  ['nginx_var', 'wharf_auth_header_0', '$wharf_auth_header_0'],
  ['nginx_zone', '_.example.com_0123456789ab_rps', '_.example.com_0123456789ab_rps'],
  ['nginx_file', 'files/app.test/tls.key', 'files/app.test/tls.key'],
  ['nginx_upstream', 'ns-svc-80', '"ns-svc-80"'],
  ['nginx_rewrite_target', '/$2?x=$1', '"/$2?x=$1"'],
  ['nginx_redirect_code', 308, '308'],
  ['nginx_comment', 'default/app', 'default/app'],
  ['nginx_base64', 'WyJhIl0=', '"WyJhIl0="'],
  ['nginx_base64', '.WyJhIl0=', '".WyJhIl0="'],
];

for (const [name, value, want] of accepted) {
  test(`${name} writes ${JSON.stringify(value)} as ${want}`, () => assert.equal(out(name, value), want));
}

// [filter, value, why it is refused] — values of the right shape but outside the grammar.
const refused: [string, unknown][] = [
  ['nginx_server_name', 'App.example.com'], ['nginx_server_name', '*.*.example.com'], ['nginx_server_name', 'a..b'], ['nginx_server_name', 'a.b:80'],
  ['nginx_server_name', []], ['nginx_server_name', ['a.test', 'b.test;']], ['nginx_server_name', ['a.test', 'b.test c.test']], ['nginx_server_name', ['a.test', ['b.test']]],
  ['nginx_server_name', Array.from({ length: 66 }, (_, i) => `h${i}.test`)],
  ['nginx_url_host', '*.example.com'], ['nginx_url_host', 'a.test/x'], ['nginx_url_host', 'a.test$request_uri'], ['nginx_url_host', 'A.test'],
  ['nginx_uri_path', 'relative'], ['nginx_uri_path', '/a b'], ['nginx_uri_path', '/a$b'],
  ['nginx_regex', ''], ['nginx_regex', '/a b'],
  ['nginx_dn_regex', 'alice'], ['nginx_dn_regex', 'CN=a"'], ['nginx_dn_regex', 'CN=a|*b'], ['nginx_dn_regex', 'CN=a**'], ['nginx_dn_regex', 'CN=(a)'],
  ['nginx_url', 'ftp://x/'], ['nginx_url', 'http://x/$request_body'], ['nginx_url', 'http://x/#frag'], ['nginx_url', 'http://x/$hostname'],
  ['nginx_origin_match', 'https://a.test/path'], ['nginx_origin_match', '*'],
  ['nginx_cidr', '10.0.0.0/33'], ['nginx_cidr', '300.1.1.1'], ['nginx_cidr', 'all'], ['nginx_cidr', '10.0.0.0/8/8'],
  ['nginx_size', '10x'], ['nginx_size', '-1'], ['nginx_size', '1234567890'],
  ['nginx_seconds', -1], ['nginx_seconds', -0.5], ['nginx_seconds', 0.0001], ['nginx_seconds', Infinity], ['nginx_seconds', 3_000_000], ['nginx_seconds', '60'],
  ['nginx_next_upstream', 'error timeout'], ['nginx_next_upstream', []], ['nginx_next_upstream', ['error', 'off']], ['nginx_next_upstream', ['ERROR']],
  ['nginx_next_upstream', ['error;']], ['nginx_next_upstream', ['error', 'timeout\ninclude x']], ['nginx_next_upstream', [502]],
  ['nginx_positive_int', 0], ['nginx_int', -3], ['nginx_int', '5'],
  ['nginx_header_name', '-X'], ['nginx_header_var', 'X Y'],
  ['nginx_token_list', 'GET,,POST'],
  ['nginx_cookie_regex', 'a b'], ['nginx_cookie_regex', 'a=b'],
  ['nginx_hash_key', '$request_body'], ['nginx_hash_key', '$1'], ['nginx_hash_key', 'plain text'],
  ['nginx_var', 'Bad-Name'], ['nginx_zone', ''], ['nginx_file', '/etc/passwd'], ['nginx_file', 'files/../../etc/passwd'],
  ['nginx_upstream', 'UPPER-80'], ['nginx_rewrite_target', '/$0'], ['nginx_rewrite_target', '/$name'], ['nginx_rewrite_target', 'http://evil/'],
  ['nginx_redirect_code', 200], ['nginx_comment', 'a\nb'],
  ['nginx_base64', ''], ['nginx_base64', 'WyJhIl0'], ['nginx_base64', 'Wy$a'], ['nginx_base64', 'Wy"a'], ['nginx_base64', 'WyJh Il0='], ['nginx_base64', '..WyJhIl0='],
  ['nginx_affinity_cookie', { cookieName: 'route', cookiePath: '/a b' }], ['nginx_affinity_cookie', null],
  ['nginx_affinity_cookie', { cookieName: 'route', sameSite: 'lax; Domain=evil' }],
  ['nginx_external_backend', 'api.example.com'], ['nginx_external_backend', 'api..example.com:80'], ['nginx_external_backend', 'a.com:0'], ['nginx_external_backend', '$host:80'],
  ['nginx_method', 'get'], ['nginx_method', 'GET POST'],
  ['nginx_auth_cache_key', '$request_body'], ['nginx_auth_cache_key', 'a b'], ['nginx_cache_valid', '200'], ['nginx_cache_valid', '200 5m 1m'],
  ['nginx_cache_path', '/etc/x'], ['nginx_cache_path', 'run/auth-cache-../x'],
];

test('each filter refuses values outside its grammar', () => {
  for (const [name, value] of refused) {
    assert.throws(() => filters[name]!(value), UnsafeValueError, `${name} accepted ${JSON.stringify(value)}`);
  }
});


/**
 * Filters that only quote: a regex may hold `{`, `}` and `$` (quantifiers, anchors), a string may
 * hold spaces. Inside their double quotes these cannot end the argument or the directive.
 */
const quotingFilters = new Set(['nginx_regex', 'nginx_string']);

test('the IngressNightmare corpus: every filter refuses every payload handed to it directly', () => {
  for (const name of Object.keys(filters)) {
    for (const payload of corpus) {
      const input = name === 'nginx_affinity_cookie' ? { cookieName: payload } : payload;
      let written: string;
      try {
        written = filters[name]!(input).text;
      } catch (e) {
        assert.ok(e instanceof UnsafeValueError, `${name}: ${String(e)}`);
        continue;
      }
      // Only a quoting filter may accept a payload, and then it stays one argument of one directive.
      assert.ok(quotingFilters.has(name), `${name} accepted ${JSON.stringify(payload)} as ${written}`);
      const parsed = parseConfig(`location ~ ${written} { return 404; }`);
      assert.equal(parsed.length, 1, `${name}: ${written}`);
      assert.deepEqual(parsed[0]!.args, ['~', payload]);
      assert.deepEqual(parsed[0]!.block!.map((d) => d.name), ['return']);
    }
  }
});

test('a model value that slips past the model is refused by the renderer, and only its fragment fails', () => {
  const bad = server('app.test', [location('/ok;}\nload_module /x.so;', 'Exact', 'app')]);
  const good = server('good.test', [location('/', 'Prefix', 'app')]);
  const evilHost = server('evil.test;}', [location('/', 'Prefix', 'app')]);
  const { fragments, failures } = renderModel(model([bad, good, evilHost]));
  assert.deepEqual(fragments.map((f) => f.name), ['_main', '_default', 'good.test']);
  assert.deepEqual(failures.map((f) => f.host), ['app.test', 'evil.test;}']);
  assert.ok(failures.every((f) => f.error instanceof UnsafeValueError));
});

test('no template uses `raw` (it would bypass the output guard) and every template names its input type', () => {
  for (const file of readdirSync(templatesDir).filter((f) => f.endsWith('.liquid'))) {
    const text = readFileSync(join(templatesDir, file), 'utf8');
    assert.doesNotMatch(text, /\|\s*raw\b/, `${file} uses raw`);
    assert.match(text.split('\n').slice(0, 3).join('\n'), /Input: \w+/, `${file} does not name its input type first`);
  }
});

test('the output guard refuses any output that did not go through an nginx_* filter', () => {
  const engine = createEngine();
  assert.throws(() => engine.parseAndRenderSync('return 200 {{ v }};', { v: 'x; load_module /x.so' }), /written without an nginx_\* filter/);
  assert.throws(() => engine.parseAndRenderSync('return 200 {{ v | upcase }};', { v: 'x' }), /written without an nginx_\* filter/);
  assert.equal(engine.parseAndRenderSync('return 200 {{ v | nginx_string }};', { v: 'ok' }), 'return 200 "ok";');
});

test('fragment names: wildcards start with _, long hosts are hashed, all fit the agent API', () => {
  assert.equal(fragmentName('app.example.com'), 'app.example.com');
  assert.equal(fragmentName('*.example.com'), '_.example.com');
  const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
  assert.equal(long.length, 253);
  const name = fragmentName(long);
  assert.equal(name.length, 240);
  assert.match(name, FRAGMENT_NAME);
  assert.notEqual(fragmentName(`*.${long.slice(2)}`), name);
  assert.equal(fragmentName(long), name, 'stable');
});

test('rendering is deterministic: the same model gives the same bytes', () => {
  const m = () =>
    model([
      server('b.test', [location('/x', 'Prefix', 'b', { limitRps: 3, cors: { allowOrigins: ['*'], allowMethods: ['GET'], allowHeaders: [], exposeHeaders: [], allowCredentials: false, maxAgeSeconds: 1 } })]),
      server('a.test', [location('/', 'Prefix', 'a', { allowSourceRange: ['10.0.0.0/8'] })]),
    ]);
  const first = renderModel(m());
  const second = renderModel(m());
  assert.deepEqual(second, first);
  assert.equal(JSON.stringify(second), JSON.stringify(first));
});

test('a BodyCache changes no byte, and stays within its size', () => {
  const m = model([
    server('a.test', [location('/x', 'Prefix', 'a', { limitRps: 2 }), location('/y', 'Exact', 'b'), location('/', 'Prefix', 'a')]),
    server('b.test', [location('/x', 'Prefix', 'a', { limitRps: 2 }), location('/(v[0-9])/(.*)', 'Regex', 'b', { rewriteTarget: '/$2' })]),
  ]);
  const plain = renderModel(m);
  const cache = new BodyCache(3);
  assert.deepEqual(renderModel(m, cache), plain);
  assert.deepEqual(renderModel(m, cache), plain, 'with every body cached');
  assert.ok(cache.size <= 3);
});
