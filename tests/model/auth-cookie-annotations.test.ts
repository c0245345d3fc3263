// auth-method, auth-cache-key/-duration, enable-global-auth, session-cookie-expires/-samesite/-secure
// and the ConfigMap's global-auth-*: what each accepts (typed settings) and refuses (the message),
// and where the global auth applies.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGlobalSettings } from '../../src/model/index.ts';
import { AN, annotated, build, messages, path, rule, ingress } from './fixtures.ts';

const f = (n: string) => `metadata.annotations[${AN}${n}]`;
const withPrefix = (a: Record<string, string>) => Object.fromEntries(Object.entries(a).map(([k, v]) => [AN + k, v]));
const settingsOf = (a: Record<string, string>) => {
  const model = build([annotated(withPrefix(a))]);
  return { settings: model.servers[0]?.locations[0]?.settings, problems: model.problems.filter((p) => p.reason !== 'ServiceNotFound') };
};

describe('accepted', () => {
  it('auth-method and auth-cache-key with the default duration', () => {
    const { settings, problems } = settingsOf({ 'auth-url': 'http://auth.example.com/', 'auth-method': 'GET', 'auth-cache-key': '$remote_user$http_authorization' });
    assert.deepEqual(messages(problems), []);
    assert.deepEqual(settings?.externalAuth, { url: 'http://auth.example.com/', responseHeaders: [], method: 'GET', cache: { key: '$remote_user$http_authorization', valid: ['200 202 401 5m'] } });
  });
  it('auth-cache-duration: items separated by commas, spaces normalized', () => {
    const { settings } = settingsOf({ 'auth-url': 'http://a/', 'auth-cache-key': '$cookie__oauth2_proxy', 'auth-cache-duration': '200  202 10m , 401 30s,any 1m, 404 1w' });
    assert.deepEqual(settings?.externalAuth?.cache, { key: '$cookie__oauth2_proxy', valid: ['200 202 10m', '401 30s', 'any 1m', '404 1w'] });
  });
  it('session-cookie-*: samesite, secure, expires as the max age', () => {
    const { settings, problems } = settingsOf({ affinity: 'cookie', 'session-cookie-samesite': 'None', 'session-cookie-secure': 'true', 'session-cookie-expires': '172800' });
    assert.deepEqual(messages(problems), []);
    assert.deepEqual(settings?.affinity, { cookieName: 'INGRESSCOOKIE', cookieMaxAgeSeconds: 172800, sameSite: 'None', secure: true });
  });
  it('companions without their parent are ignored with a warning', () => {
    const { problems } = settingsOf({ 'auth-method': 'GET', 'auth-cache-key': '$http_authorization', 'session-cookie-samesite': 'Lax', 'session-cookie-secure': 'true', 'session-cookie-expires': '60' });
    assert.deepEqual(messages(problems), [
      `${f('auth-cache-key')}: ignored: auth-url is not set`,
      `${f('auth-method')}: ignored: auth-url is not set`,
      `${f('session-cookie-expires')}: ignored: affinity is not "cookie"`,
      `${f('session-cookie-samesite')}: ignored: affinity is not "cookie"`,
      `${f('session-cookie-secure')}: ignored: affinity is not "cookie"`,
    ].sort());
    const duration = settingsOf({ 'auth-url': 'http://a/', 'auth-cache-duration': '200 1m' });
    assert.deepEqual(messages(duration.problems), [`${f('auth-cache-duration')}: ignored: auth-cache-key is not set`]);
  });
});

describe('refused', () => {
  const cases: Record<string, { a: Record<string, string>; want: string }> = {
    'auth-method lowercase': { a: { 'auth-method': 'get' }, want: `${f('auth-method')}: Invalid value: "get": must be one of GET, HEAD, POST, PUT, PATCH, DELETE, CONNECT, OPTIONS, TRACE` },
    'auth-method with a directive': { a: { 'auth-method': 'GET; proxy_pass http://evil' }, want: `${f('auth-method')}: Invalid value: "GET; proxy_pass http://evil": must be one of GET, HEAD, POST, PUT, PATCH, DELETE, CONNECT, OPTIONS, TRACE` },
    'auth-cache-key without a client variable': { a: { 'auth-cache-key': '$host$request_uri' }, want: `${f('auth-cache-key')}: Invalid value: "$host$request_uri": must use a variable that tells clients apart ($http_*, $cookie_*, $arg_*, $remote_user or $remote_addr): otherwise one client's answer would be served to all` },
    'auth-cache-key with a variable off the list': { a: { 'auth-cache-key': '$http_x$wharf_auth_url' }, want: `${f('auth-cache-key')}: Invalid value: "$http_x$wharf_auth_url": variable $wharf_auth_url is not one auth-cache-key may use ($http_*, $cookie_*, $arg_*, $remote_user, $remote_addr, $host, $uri, $request_uri, $scheme, $request_method, $server_name)` },
    'auth-cache-key with a quote': { a: { 'auth-cache-key': '$http_x"; evil' }, want: `${f('auth-cache-key')}: Invalid value: "$http_x\\"; evil": must be NGINX variables and A-Z a-z 0-9 _ . : / -, at most 256 characters (e.g. "$remote_user$http_authorization")` },
    'auth-cache-duration without a time': { a: { 'auth-cache-duration': '200 202' }, want: `${f('auth-cache-duration')}: Invalid value: "200 202": item "200 202" must be HTTP status codes (or "any") separated by spaces, then a time with its unit such as 30s, 5m or 1h` },
    'auth-cache-duration with a directive': { a: { 'auth-cache-duration': '200 5m; proxy_cache off' }, want: `${f('auth-cache-duration')}: Invalid value: "200 5m; proxy_cache off": item "200 5m; proxy_cache off" must be HTTP status codes (or "any") separated by spaces, then a time with its unit such as 30s, 5m or 1h` },
    'session-cookie-samesite lowercase': { a: { 'session-cookie-samesite': 'lax' }, want: `${f('session-cookie-samesite')}: Invalid value: "lax": must be one of None, Lax, Strict` },
    'session-cookie-expires with a unit': { a: { 'session-cookie-expires': '2d' }, want: `${f('session-cookie-expires')}: Invalid value: "2d": must be a whole number of seconds between 1 and 315360000` },
    'session-cookie-secure not a bool': { a: { 'session-cookie-secure': 'yes' }, want: `${f('session-cookie-secure')}: Invalid value: "yes": must be "true" or "false"` },
    'enable-global-auth not a bool': { a: { 'enable-global-auth': 'off' }, want: `${f('enable-global-auth')}: Invalid value: "off": must be "true" or "false"` },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, () => {
      const model = build([annotated(withPrefix(c.a))]);
      assert.deepEqual(messages(model.problems.filter((p) => p.severity === 'error')), [c.want]);
      assert.deepEqual(model.servers, []);
    });
  }
});

describe('global-auth-url (ConfigMap)', () => {
  const cm = (data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'wharf', namespace: 'wharf' }, data });
  it('parsed with its companions; an invalid URL is an error and there is no global auth', () => {
    const ok = parseGlobalSettings(cm({ 'global-auth-url': 'http://auth.example.com/check', 'global-auth-signin': 'https://login.example.com/?rd=$escaped_request_uri', 'global-auth-response-headers': 'X-User, X-Email', 'global-auth-method': 'GET' }) as never);
    assert.deepEqual(ok.problems, []);
    assert.deepEqual(ok.settings.globalAuth, { url: 'http://auth.example.com/check', signin: 'https://login.example.com/?rd=$escaped_request_uri', responseHeaders: ['X-User', 'X-Email'], method: 'GET' });
    const bad = parseGlobalSettings(cm({ 'global-auth-url': 'http://a/$wharf', 'global-auth-method': 'GET' }) as never);
    assert.equal(bad.settings.globalAuth, undefined);
    assert.match(messages(bad.problems)[0]!, /^data\[global-auth-url\]: Invalid value: "http:\/\/a\/\$wharf": .*; the default is used$/);
  });
  it('applies to Ingress locations without their own auth-url, not to those that opt out nor to ACME challenges', () => {
    const model = build([
      ingress('plain', [rule('a.com', path('/'), path('/.well-known/acme-challenge/x', 'Exact'))]),
      ingress('optout', [rule('b.com', path('/'))], { annotations: { [`${AN}enable-global-auth`]: 'false' } }),
      ingress('own', [rule('c.com', path('/'))], { annotations: { [`${AN}auth-url`]: 'http://own/' } }),
      cm({ 'global-auth-url': 'http://global/' }),
    ]);
    const auth = (host: string, p = '/') => model.servers.find((s) => s.host === host)!.locations.find((l) => l.path === p)!.settings.externalAuth?.url;
    assert.equal(auth('a.com'), 'http://global/');
    assert.equal(auth('a.com', '/.well-known/acme-challenge/x'), undefined);
    assert.equal(auth('b.com'), undefined);
    assert.equal(auth('c.com'), 'http://own/');
  });
});
