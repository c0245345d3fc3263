// Property test: random strings in every user-controlled field of Ingress objects (hosts, paths,
// path types, backends, TLS, every supported annotation, the IngressNightmare ones, snippets) and of
// the global ConfigMap, through buildModel and the renderer, in batches into a real `nginx -t`.
// Whatever the model lets through must render (no refused fragment), parse as NGINX config that
// holds only directives the templates write, include only the listen files, reference only its own
// files, and pass `nginx -t`. Seeded and reproducible: WHARF_FUZZ_SEED=<seed> to replay or explore
// (the seed is printed); WHARF_FUZZ_CASES to change the number of cases.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNginx, type TestNginx } from '../support/nginx.ts';
import { buildModel, defaultControllerSettings, stateFromObjects, validateIngress } from '../../src/model/index.ts';
import { renderModel, type Fragment } from '../../src/render/index.ts';
import { parseConfig } from './nginx-config.ts';
import { inspect } from './fragment-inspect.ts';
import { ANNOTATION, authSecretObject, caSecretObject, nginxTest, selfSigned, serviceObject, tlsSecretObject } from './helpers.ts';
import { corpus } from './corpus.ts';
import { prng } from '../support/prng.ts';

const SEED = Number(process.env.WHARF_FUZZ_SEED ?? 20260321);
const CASES = Number(process.env.WHARF_FUZZ_CASES ?? 3000);
const BATCH = 500;

/** Pieces that random values are made of: separators, quotes, variables, regex and URL parts, directives, odd characters. */
const ATOMS = [
  ';', '{', '}', '\n', '\r', '#', '"', "'", '\\', '`', '$', '$host', '$1', '$2', '${x}', '$request_uri', '$escaped_request_uri', '$remote_addr',
  '$arg_x', '$http_x_y', '$cookie_s', '$request_body', ' ', '\t', 'load_module /tmp/x.so', 'include /etc/passwd', 'ssl_engine x',
  'content_by_lua_block { os.execute("id") }', '/', '//', '/./', '*', '*.', '.', '-', '_', '(', ')', '(?:', '(?<n>', '[', ']', '|',
  '?', '+', '^', '%', '%2F', '~', ',', ', ', '=', ':', '@', '&', '!', 'é', '\u2028', '\u0000', 'a', 'Z', '0', '9', '80', 'http://',
  'https://', 'CN=', '{2}', '{1,3}', '(.*)', 'true', 'false', 'GET', 'X-A', '10.0.0.0/8', '::1', '8m', 'k',
];

interface Gen {
  rnd: () => number;
  /** Share of fields the current Ingress gets fuzzed (0 = all valid). */
  rate: number;
  int(n: number): number;
  pick<T>(a: readonly T[]): T;
  chance(p: number): boolean;
}

function gen(seed: number): Gen {
  const rnd = prng(seed);
  return {
    rnd,
    rate: 0,
    int: (n) => Math.floor(rnd() * n),
    pick: (a) => a[Math.floor(rnd() * a.length)]!,
    chance: (p) => rnd() < p,
  };
}

function randomString(g: Gen): string {
  let s = '';
  for (let i = 1 + g.int(6); i > 0; i--) s += g.chance(0.7) ? g.pick(ATOMS) : String.fromCharCode(32 + g.int(95));
  return s;
}

function mutate(g: Gen, valid: string): string {
  let s = valid;
  for (let i = 1 + g.int(3); i > 0; i--) {
    const at = g.int(s.length + 1);
    const op = g.int(3);
    const piece = g.chance(0.5) ? g.pick(ATOMS) : g.pick(corpus);
    if (op === 0) s = s.slice(0, at) + piece + s.slice(at);
    else if (op === 1) s = s.slice(0, at) + piece + s.slice(at + 1 + g.int(3));
    else s = s.slice(0, at) + s.slice(at + 1 + g.int(3));
  }
  return s;
}

/** A valid example, or (at the Ingress's fuzz rate) a mutated one or noise. */
function value(g: Gen, valid: readonly string[]): string {
  if (!g.chance(g.rate)) return g.pick(valid);
  const r = g.rnd();
  if (r < 0.7) return mutate(g, g.pick(valid));
  return g.chance(0.5) ? randomString(g) : g.pick(corpus);
}

const BOOL = ['true', 'false', 'True', '0'];
/** Valid examples of every annotation value wharf reads, and of the IngressNightmare ones. */
const ANNOTATIONS: Record<string, readonly string[]> = {
  'rewrite-target': ['/', '/$1', '/$2', '/api/$1?x=1'],
  'use-regex': BOOL,
  'ssl-redirect': BOOL,
  'force-ssl-redirect': BOOL,
  'backend-protocol': ['HTTP', 'HTTPS', 'GRPC', 'GRPCS', 'grpc'],
  'proxy-body-size': ['8m', '16k', '0', '1g'],
  'proxy-buffer-size': ['8k', '16k', '1m'],
  'proxy-connect-timeout': ['1', '60', '86400'],
  'proxy-read-timeout': ['1', '60', '86400'],
  'proxy-send-timeout': ['1', '60', '86400'],
  'whitelist-source-range': ['10.0.0.0/8', '10.0.0.0/8,192.168.0.1', '::1/128, 2001:db8::/32'],
  'allowlist-source-range': ['127.0.0.1/32'],
  'limit-rps': ['1', '5', '1000000'],
  'limit-connections': ['1', '10'],
  'limit-rpm': ['1', '60', '1000000'],
  'limit-burst-multiplier': ['1', '5', '1000'],
  'denylist-source-range': ['10.1.0.0/16', '192.168.0.1, 2001:db8::/32'],
  'proxy-buffering': ['on', 'off', 'OFF'],
  'proxy-request-buffering': ['on', 'off'],
  'client-body-buffer-size': ['16k', '1M', '1000'],
  'proxy-http-version': ['1.0', '1.1'],
  'proxy-next-upstream': ['error timeout', 'error timeout http_502 http_503 non_idempotent', 'off', 'http_429 invalid_header http_404'],
  'proxy-next-upstream-tries': ['0', '3', '100'],
  'proxy-next-upstream-timeout': ['0', '10', '86400'],
  'x-forwarded-prefix': ['/api', '/a/b-c_d.e~f', 'prefix'],
  'upstream-vhost': ['api.internal', 'API.example.com:8080', '10.0.0.1', '[2001:db8::1]:443'],
  'enable-cors': BOOL,
  'cors-allow-origin': ['*', 'https://a.test', 'https://*.b.test, http://c.test:8080'],
  'cors-allow-methods': ['GET, POST', 'PUT'],
  'cors-allow-headers': ['X-A, X-B', '*'],
  'cors-expose-headers': ['X-Total'],
  'cors-allow-credentials': BOOL,
  'cors-max-age': ['0', '60'],
  affinity: ['cookie'],
  'session-cookie-name': ['route', 'a.b-c', 'SESSION'],
  'session-cookie-path': ['/', '/app'],
  'session-cookie-max-age': ['1', '3600'],
  'upstream-hash-by': ['$remote_addr', '$arg_user', '$host$request_uri', '$cookie_SESSION'],
  canary: BOOL,
  'canary-weight': ['0', '50', '100'],
  'canary-weight-total': ['100', '1000'],
  'canary-by-header': ['X-Canary'],
  'canary-by-header-value': ['yes', 'v1.2'],
  'auth-type': ['basic'],
  'auth-secret': ['htpasswd', 'default/htpasswd'],
  'auth-realm': ['Staff only'],
  'auth-url': ['http://auth.test/check', 'https://$host/oauth2/auth', 'http://127.0.0.1:9/x'],
  'auth-signin': ['https://login.test/start', 'https://login.test/start?rd=$escaped_request_uri'],
  'auth-response-headers': ['X-User, X-Email'],
  'app-root': ['/app1'],
  'permanent-redirect': ['https://new.test/', 'https://new.test$request_uri'],
  'permanent-redirect-code': ['301', '308'],
  'temporal-redirect': ['https://tmp.test/'],
  'temporal-redirect-code': ['302', '307'],
  'auth-tls-match-cn': ['CN=client', 'CN=a|CN=b c', 'CN=*.fuzz.test', 'CN=x.*,O=y'],
  // "client-ca" holds ca.crt; "tls" has none and "missing-ca" does not exist (warnings: 403 locations).
  'auth-tls-secret': ['client-ca', 'client-ca', 'default/client-ca', 'tls', 'missing-ca'],
  'auth-tls-verify-client': ['on', 'off', 'optional', 'optional_no_ca'],
  'auth-tls-verify-depth': ['1', '2', '100'],
  'auth-tls-error-page': ['https://login.fuzz.test/cert', 'http://127.0.0.1:9/x?y=z'],
  'auth-tls-pass-certificate-to-upstream': BOOL,
  // "tls" holds a client certificate, "client-ca" a CA, "missing-ssl" does not exist (warnings: 502 locations).
  'proxy-ssl-secret': ['tls', 'client-ca', 'default/client-ca', 'missing-ssl'],
  'proxy-ssl-verify': ['on', 'off'],
  'proxy-ssl-verify-depth': ['1', '2', '100'],
  'proxy-ssl-name': ['backend.fuzz.test', 'API.Internal', 'x'],
  'proxy-ssl-server-name': ['on', 'off'],
  'proxy-ssl-protocols': ['TLSv1.2', 'TLSv1.3 TLSv1.2', 'TLSv1 TLSv1.1 TLSv1.2 TLSv1.3'],
  'proxy-ssl-ciphers': ['HIGH:!aNULL:!MD5', 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE+AESGCM', 'DEFAULT:@SECLEVEL=1', 'FOO:HIGH:@STRENGTH', '-ALL:+HIGH:!SHA1'],
  'mirror-target': ['https://mirror.test/'],
  'mirror-uri': ['/mirror'],
  'mirror-host': ['mirror.test'],
  'x-unknown': ['1'],
  // Names that collide with the generated hosts (h<n>.fuzz.test, *.w<n>.fuzz.test) and their www twins on purpose.
  'server-alias': ['alias.fuzz.test', 'h1.fuzz.test', '*.w2.fuzz.test', 'A.Fuzz.Test, b.fuzz.test', 'www.h3.fuzz.test, alias.fuzz.test', 'www.a.fuzz.test'],
  'from-to-www-redirect': ['true', 'true', 'false'],
  // "missing" has no Service (a warning, no default backend); "svc" is also a backend.
  'default-backend': ['errors', 'errors', 'svc', 'missing'],
  'custom-http-errors': ['404', '503,404', '400, 401,403,404,413,429,500,502, 503,504', '599'],
};
const ANNOTATION_NAMES = Object.keys(ANNOTATIONS);
/** Snippets (ingress-nginx's injection hole): accepted only as directives of the allowlist, which wharf re-writes. */
const SNIPPETS: Record<string, readonly string[]> = {
  'configuration-snippet': [
    'more_set_headers "X-Frame-Options: DENY";',
    'add_header X-Id $request_id always;\nproxy_set_header X-Client "$remote_addr $http_x_org";',
    'more_clear_headers -s "404 500" Server X-Powered-*; expires modified 1h30m;',
    'proxy_hide_header X-Powered-By; proxy_pass_header Server; grpc_set_header X-Trace ${request_id}x;',
    "more_set_input_headers -r -t 'text/html application/json' 'X-Tenant: $arg_tenant'; more_clear_input_headers Cookie;",
    'add_header Content-Security-Policy "default-src \'self\'; img-src * data:; # {x}";',
  ],
  'server-snippet': ['add_header X-Server "a \\"quoted\\" one";', 'more_clear_headers Server; expires @15h30m;', 'location /x { return 200; }'],
  'auth-snippet': ['proxy_set_header X-Scope "admin $host";', 'proxy_set_header X-Org $http_x_org;\nproxy_set_header X-Id $request_id;'],
};
/** Annotations that need a companion to be valid. */
const COMPANIONS: Record<string, [string, string]> = { 'auth-type': ['auth-secret', 'htpasswd'], 'session-cookie-name': ['affinity', 'cookie'] };

function randomIngress(g: Gen, i: number): object {
  g.rate = g.pick([0, 0.02, 0.05, 0.1, 0.3, 0.6]);
  const host = (): string | undefined => {
    const r = g.rnd();
    if (r < 0.05) return undefined;
    if (r < 0.5) return `h${g.int(CASES / 4)}.fuzz.test`;
    if (r < 0.65) return `*.w${g.int(CASES / 8)}.fuzz.test`;
    // www hosts whose twin (s<n>.fuzz.test) the certificate's *.fuzz.test covers: redirects over HTTPS too.
    if (r < 0.72) return `www.s${g.int(40)}.fuzz.test`;
    return value(g, ['a.fuzz.test', '*.b.fuzz.test', 'x-y.fuzz.test', 'fuzz.test', 'www.fuzz.test']);
  };
  const backend = () => ({
    service: {
      name: g.chance(0.85) ? 'svc' : value(g, ['svc', 'other']),
      port: g.chance(0.7) ? { number: g.chance(0.9) ? 80 : g.int(70000) } : { name: value(g, ['http', 'web']) },
    },
  });
  // Regex paths (with use-regex) on about one Ingress in four; rewrite targets with captures need them.
  const regex = g.chance(0.25);
  const path = () => {
    const pathType = regex ? 'ImplementationSpecific' : g.pick(['Exact', 'Prefix', 'ImplementationSpecific']);
    const valid = regex ? ['/', '/api/v[0-9]+', '/(.*)', '/x(/|$)(.*)', '/a\\.b/(\\d+)$'] : ['/', '/api', '/a/b/', '/foo.bar', '/Case', '/x-y_z~'];
    return { path: value(g, valid), pathType: g.chance(0.97) ? pathType : value(g, [pathType]), backend: backend() };
  };
  const rules = Array.from({ length: 1 + g.int(2) }, () => {
    const h = host();
    return { ...(h === undefined ? {} : { host: h }), http: { paths: Array.from({ length: 1 + g.int(3) }, path) } };
  });
  const annotations: Record<string, string> = {};
  const annotate = (name: string, valid: readonly string[]) => (annotations[`${ANNOTATION}${name}`] = value(g, valid));
  if (regex) annotate('use-regex', ['true']);
  for (let k = g.int(6); k > 0; k--) {
    const name = g.pick(ANNOTATION_NAMES);
    annotate(name, ANNOTATIONS[name]!);
    const companion = COMPANIONS[name];
    if (companion && g.chance(0.9)) annotate(companion[0], [companion[1]]);
  }
  // The server-level annotations, more often than one pick among many: names are shared across Ingresses.
  if (g.chance(0.1)) annotate('server-alias', ANNOTATIONS['server-alias']!);
  if (g.chance(0.1)) annotate('from-to-www-redirect', ['true']);
  // Error pages need their default backend: the pair, more often than two picks among many.
  if (g.chance(0.1)) {
    annotate('default-backend', ANNOTATIONS['default-backend']!);
    annotate('custom-http-errors', ANNOTATIONS['custom-http-errors']!);
  }
  // Client certificates: the Secret with some of its companions (conflicting CAs and depths on shared hosts).
  if (g.chance(0.1)) {
    annotate('auth-tls-secret', ANNOTATIONS['auth-tls-secret']!);
    for (const name of ['auth-tls-verify-client', 'auth-tls-verify-depth', 'auth-tls-error-page', 'auth-tls-pass-certificate-to-upstream', 'auth-tls-match-cn']) {
      if (g.chance(0.4)) annotate(name, ANNOTATIONS[name]!);
    }
  }
  // TLS to the backend: an HTTPS or GRPCS backend with some of proxy-ssl-*.
  if (g.chance(0.1)) {
    annotate('backend-protocol', ['HTTPS', 'GRPCS', 'HTTPS', 'HTTP']);
    for (const name of ['proxy-ssl-secret', 'proxy-ssl-verify', 'proxy-ssl-verify-depth', 'proxy-ssl-name', 'proxy-ssl-server-name', 'proxy-ssl-protocols', 'proxy-ssl-ciphers']) {
      if (g.chance(0.5)) annotate(name, ANNOTATIONS[name]!);
    }
  }
  if (g.chance(0.15)) {
    const name = g.pick(Object.keys(SNIPPETS));
    annotate(name, SNIPPETS[name]!);
    if (name === 'auth-snippet' && g.chance(0.8)) annotate('auth-url', ANNOTATIONS['auth-url']!);
  }
  const tlsHosts = rules.map((r) => r.host).filter((h): h is string => h !== undefined);
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: `fuzz-${i}`, namespace: 'default', uid: `uid-fuzz-${i}`, creationTimestamp: '2025-01-01T00:00:00Z', annotations },
    spec: {
      ingressClassName: 'wharf',
      ...(g.chance(0.1) ? { defaultBackend: backend() } : {}),
      ...(g.chance(0.25) && tlsHosts.length ? { tls: [{ hosts: tlsHosts, secretName: g.chance(0.9) ? 'tls' : value(g, ['tls']) }] } : {}),
      rules,
    },
  };
}

function randomConfigMap(g: Gen): object {
  const data: Record<string, string> = {};
  const keys: Record<string, readonly string[]> = {
    'proxy-body-size': ['1m', '0', '10g'], 'proxy-connect-timeout': ['5'], 'proxy-read-timeout': ['60'], 'proxy-send-timeout': ['60'],
    'ssl-redirect': BOOL, hsts: BOOL, 'x-unknown': ['1'],
    'use-forwarded-headers': BOOL, 'use-proxy-protocol': BOOL, 'compute-full-forwarded-for': BOOL, 'enable-real-ip': BOOL,
    'forwarded-for-header': ['X-Forwarded-For', 'CF-Connecting-IP'], 'proxy-real-ip-cidr': ['10.0.0.0/8', '10.0.0.0/8, 2001:db8::/32', '0.0.0.0/0'],
  };
  for (const [k, valid] of Object.entries(keys)) if (g.chance(0.5)) data[k] = value(g, valid);
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'wharf', namespace: 'wharf', uid: 'uid-cm' }, data };
}

let nginx: TestNginx;
const cert = selfSigned('fuzz.test', ['*.fuzz.test']);
const fixedObjects = [
  serviceObject('svc'), serviceObject('errors'), tlsSecretObject('tls', cert), authSecretObject('htpasswd', 'user:$apr1$HeiA5Pzp$UgIyq34pdCCqyRLZGOHfD0\n'),
  caSecretObject('client-ca', cert.cert),
];

before(async () => {
  nginx = await startNginx();
});
after(async () => {
  await nginx?.stop();
});

test(`random Ingresses (seed ${SEED}, ${CASES} cases): what the model admits renders to config nginx -t accepts, with only template directives`, async (t) => {
  t.diagnostic(`WHARF_FUZZ_SEED=${SEED} WHARF_FUZZ_CASES=${CASES}`);
  console.log(`fuzz seed ${SEED} (replay with WHARF_FUZZ_SEED=${SEED})`);
  const g = gen(SEED);
  let admitted = 0;
  let hosts = 0;
  let clientAuthHosts = 0;
  let snippetDirectives = 0;
  for (let start = 0; start < CASES; start += BATCH) {
    const ingresses = Array.from({ length: Math.min(BATCH, CASES - start) }, (_, k) => randomIngress(g, start + k));
    const { state } = stateFromObjects([...ingresses, ...fixedObjects, randomConfigMap(g)]);
    const model = buildModel(state, defaultControllerSettings);
    const { fragments, failures, certificates } = renderModel(model);
    const failed = failures.map((f) => `${f.name}: ${f.error.message}`);
    assert.deepEqual(failed, [], `seed ${SEED}, batch at ${start}: the model admitted values the renderer refuses`);
    for (const f of fragments) {
      const wrong = inspect(f);
      assert.equal(wrong, null, `seed ${SEED}, batch at ${start}, fragment ${f.name}: ${wrong}\n${f.config}`);
    }
    // Every name is on one server only (NGINX would warn "conflicting server name" and pick one).
    const names = new Map<string, string>();
    for (const f of fragments) {
      for (const server of parseConfig(f.config).filter((d) => d.name === 'server')) {
        for (const name of server.block?.find((d) => d.name === 'server_name')?.args ?? []) {
          assert.equal(names.get(name), undefined, `seed ${SEED}, batch at ${start}: server name ${name} in ${f.name} and ${names.get(name)}`);
          names.set(name, f.name);
        }
      }
    }
    const problem = nginxTest(nginx, fragments, certificates);
    assert.equal(problem, '', `seed ${SEED}, batch at ${start}: nginx -t refused the rendered config`);
    const sources = new Set(model.servers.flatMap((s) => s.sources.map((o) => o.name)));
    for (const o of model.defaultServer.sources) sources.add(o.name);
    admitted += sources.size;
    hosts += model.servers.length;
    clientAuthHosts += model.servers.filter((s) => s.clientAuth).length;
    for (const f of fragments) snippetDirectives += (f.config.match(/^\s*(?:more_\w+|expires|proxy_hide_header|proxy_pass_header) "/gm) ?? []).length;
  }
  t.diagnostic(`${admitted} of ${CASES} Ingresses admitted, ${hosts} host fragments, ${clientAuthHosts} verifying client certificates`);
  assert.ok(clientAuthHosts > 0, 'some hosts verify client certificates (auth-tls-*)');
  t.diagnostic(`${snippetDirectives} snippet-only directives rendered`);
  assert.ok(snippetDirectives > 20, `snippets reach NGINX too (${snippetDirectives} snippet-only directives rendered)`);
  // Not vacuous: a good share of the random Ingresses gets through the model to NGINX.
  assert.ok(admitted > CASES * 0.2, `only ${admitted} of ${CASES} Ingresses were admitted`);
});

test('the IngressNightmare corpus in any field of an Ingress is refused by the model (the webhook) with the field named', () => {
  const { state } = stateFromObjects(fixedObjects);
  const base = () => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'victim', namespace: 'default', uid: 'uid-victim', annotations: {} as Record<string, string> },
    spec: { ingressClassName: 'wharf', rules: [{ host: 'victim.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'svc', port: { number: 80 } } } }] } }] },
  });
  const fields: [string, (o: ReturnType<typeof base>, v: string) => void][] = [
    ['spec.rules[0].host', (o, v) => (o.spec.rules[0]!.host = v)],
    ['spec.rules[0].http.paths[0].path', (o, v) => (o.spec.rules[0]!.http.paths[0]!.path = v)],
    ...['auth-url', 'auth-signin', 'auth-tls-match-cn', 'mirror-target', 'mirror-host', 'mirror-uri', 'rewrite-target', 'permanent-redirect', 'upstream-hash-by', 'cors-allow-origin', 'session-cookie-name', 'auth-realm', 'configuration-snippet', 'server-snippet', 'auth-snippet',
      'upstream-vhost', 'x-forwarded-prefix', 'proxy-next-upstream', 'denylist-source-range', 'client-body-buffer-size', 'server-alias', 'from-to-www-redirect',
      'default-backend', 'custom-http-errors']
      .map((a): [string, (o: ReturnType<typeof base>, v: string) => void] => [`metadata.annotations[${ANNOTATION}${a}]`, (o, v) => (o.metadata.annotations[`${ANNOTATION}${a}`] = v)]),
  ];
  const admitted: string[] = [];
  for (const [field, set] of fields) {
    for (const payload of corpus) {
      const o = base();
      set(o, payload);
      const errors = validateIngress(o, state, defaultControllerSettings).filter((p) => p.severity === 'error');
      if (errors.length === 0) {
        // Free text (a realm) may hold words and spaces: it is written as one quoted argument.
        if (!(field.endsWith('auth-realm]') && /^[A-Za-z0-9 ._]+$/.test(payload))) admitted.push(`${field} = ${JSON.stringify(payload)}`);
      } else assert.ok(errors.some((p) => p.message.includes(field.replace(/^spec\.rules\[0\]\.http\.paths\[0\]\./, ''))), `${field}: ${errors[0]!.message}`);
    }
  }
  assert.deepEqual(admitted, [], 'payloads the model admitted');
});

test('the fuzz checks catch an injected directive, a foreign include, a stray file and text NGINX refuses', () => {
  const frag = (config: string): Fragment => ({ name: 'x.test', config, files: {} });
  const ok = 'server {\n    server_name x.test;\n    include listen-http.conf;\n    location / {\n        return 404;\n    }\n}\n';
  assert.equal(inspect(frag(ok)), null);
  assert.match(String(inspect(frag(ok.replace('return 404;', 'return 404; load_module /tmp/x.so;')))), /load_module/);
  assert.match(String(inspect(frag(ok.replace('return 404;', 'more_set_headers "X: $document_root";')))), /more_set_headers does not pass the allowlist again: .*\$document_root is not allowed/);
  assert.equal(inspect(frag(ok.replace('return 404;', 'more_set_headers "X: $host"; expires "1h";'))), null);
  assert.match(String(inspect(frag(ok.replace('listen-http.conf', '/etc/passwd')))), /include/);
  assert.match(String(inspect(frag(ok.replace('return 404;', 'auth_basic_user_file /etc/shadow;')))), /not a file of the fragment/);
  assert.equal(inspect(frag(`${ok}${ok}`)), null, 'a host fragment may hold the www redirect server');
  assert.match(String(inspect(frag(`${ok}${ok}${ok}`))), /3 server blocks/);
  assert.match(String(inspect({ ...frag(`${ok}${ok}`), name: '_default' })), /2 server blocks/);
  assert.match(String(inspect(frag(ok.replace('return 404;', 'return "404;')))), /does not parse/);
  assert.match(nginxTest(nginx, [frag(ok.replace('return 404;', 'proxy_pass http://$nope;'))]), /unknown "nope" variable/);
  assert.equal(nginxTest(nginx, [frag(ok)]), '');
});
