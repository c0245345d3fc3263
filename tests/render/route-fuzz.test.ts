// The Gateway API twin of fuzz.test.ts: random strings in every string field of HTTPRoutes that can
// reach NGINX (hostnames, paths of each type, header and query matches exact and regex, methods,
// header changes, redirects, rewrites, weights), through the RoutingIndex and the renderer, in
// batches into a real `nginx -t`. Whatever the model lets through must render, hold only what the
// templates write (fragment-inspect.ts) and pass `nginx -t`; and the injection corpus in any field is
// refused by the admission check with the field named, or (an exactly matched value, which the
// renderer escapes character by character) rendered harmlessly. Seeded: WHARF_FUZZ_SEED, WHARF_FUZZ_CASES.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNginx, type TestNginx } from '../support/nginx.ts';
import { buildModel, defaultControllerSettings, stateFromObjects, validateGatewayObject } from '../../src/model/index.ts';
import { renderModel } from '../../src/render/index.ts';
import { inspect } from './fragment-inspect.ts';
import { nginxTest, selfSigned, serviceObject, tlsSecretObject } from './helpers.ts';
import { corpus } from './corpus.ts';
import { prng } from '../support/prng.ts';

const SEED = Number(process.env.WHARF_FUZZ_SEED ?? 20260322);
const CASES = Number(process.env.WHARF_FUZZ_CASES ?? 1500);
const BATCH = 300;
const GW = 'gateway.networking.k8s.io/v1';

const ATOMS = [
  ';', '{', '}', '\n', '#', '"', "'", '\\', '`', '$', '$host', '$1', '${x}', '$request_body', ' ', '\t', 'load_module /tmp/x.so', 'include /etc/passwd',
  '/', '//', '*', '*.', '.', '-', '_', '(', ')', '(?:', '(?<n>', '(?P<n>', '[', ']', '|', '?', '+', '^', '%', '~', ',', '=', ':', '@', '&', '!', 'é',
  '\u2028', '\u0000', 'a', 'Z', '0', '{2}', '(.*)', 'GET', 'X-A', 'x_y',
];

function gen(seed: number) {
  const rnd = prng(seed);
  const g = {
    rate: 0,
    int: (n: number) => Math.floor(rnd() * n),
    chance: (p: number) => rnd() < p,
    pick: <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!,
    /** A valid example, or (at the route's fuzz rate) a mutated one, noise or a corpus payload. */
    value(valid: readonly string[]): string {
      const v = g.pick(valid);
      if (!g.chance(g.rate)) return v;
      const r = rnd();
      if (r < 0.6) {
        const at = g.int(v.length + 1);
        return v.slice(0, at) + (g.chance(0.5) ? g.pick(ATOMS) : g.pick(corpus)) + v.slice(at + g.int(2));
      }
      if (r < 0.85) return Array.from({ length: 1 + g.int(5) }, () => (g.chance(0.7) ? g.pick(ATOMS) : String.fromCharCode(32 + g.int(95)))).join('');
      return g.pick(corpus);
    },
  };
  return g;
}
type Gen = ReturnType<typeof gen>;

const HOSTS = ['a.fuzz.test', 'b.fuzz.test', '*.fuzz.test', 'deep.a.fuzz.test'];
const PATHS = ['/', '/api', '/api/v1', '/x/y', '/a-b_c.d~e'];
const REGEXES = ['^/api/v[0-9]+', '/items/[a-z]+$', '.*'];
const HEADER_NAMES = ['version', 'X-Tenant', 'color'];
const VALUES = ['one', 'two words', 'a,b', 'x=y'];
const VALUE_REGEXES = ['^v[0-9]+$', 'blue|green', '[a-z]{2,3}'];
const METHODS = ['GET', 'POST', 'PATCH'];

function randomRoute(g: Gen, i: number): object {
  g.rate = g.chance(0.5) ? 0 : 0.05 + g.int(4) * 0.1;
  const match = () => {
    const type = g.pick(['Exact', 'PathPrefix', 'PathPrefix', 'RegularExpression'] as const);
    const m: Record<string, unknown> = { path: { type, value: g.value(type === 'RegularExpression' ? REGEXES : PATHS) } };
    if (g.chance(0.5)) m.headers = Array.from({ length: 1 + g.int(2) }, () => {
      const regex = g.chance(0.3);
      return { type: regex ? 'RegularExpression' : 'Exact', name: g.value(HEADER_NAMES), value: g.value(regex ? VALUE_REGEXES : VALUES) };
    });
    if (g.chance(0.3)) m.queryParams = [{ type: g.chance(0.3) ? 'RegularExpression' : 'Exact', name: g.value(['q', 'animal']), value: g.value(VALUES) }];
    if (g.chance(0.3)) m.method = g.pick(METHODS);
    return m;
  };
  const headers = () => ({ set: [{ name: g.value(HEADER_NAMES), value: g.value(VALUES) }], add: [{ name: g.value(['X-Add']), value: g.value(VALUES) }], remove: [g.value(['X-Remove'])] });
  const filters: object[] = [];
  if (g.chance(0.2)) filters.push({ type: 'RequestHeaderModifier', requestHeaderModifier: headers() });
  if (g.chance(0.2)) filters.push({ type: 'ResponseHeaderModifier', responseHeaderModifier: headers() });
  const pathChange = () => (g.chance(0.5) ? { type: 'ReplaceFullPath', replaceFullPath: g.value(PATHS) } : { type: 'ReplacePrefixMatch', replacePrefixMatch: g.value(PATHS) });
  if (g.chance(0.1)) filters.push({ type: 'RequestRedirect', requestRedirect: { hostname: g.value(['moved.test']), ...(g.chance(0.5) ? { path: pathChange() } : {}), ...(g.chance(0.3) ? { port: 8443, scheme: 'https' } : {}), statusCode: g.pick([301, 302, 308]) } });
  else if (g.chance(0.15)) filters.push({ type: 'URLRewrite', urlRewrite: { ...(g.chance(0.5) ? { hostname: g.value(['inside.test']) } : {}), ...(g.chance(0.7) ? { path: pathChange() } : {}) } });
  const backendRefs = Array.from({ length: g.int(3) }, () => ({ name: g.pick(['svc', 'svc', 'other', 'nope']), port: 80, weight: g.int(3) }));
  return {
    apiVersion: GW,
    kind: 'HTTPRoute',
    metadata: { name: `fuzz-${i}`, namespace: 'default', creationTimestamp: '2025-01-01T00:00:00Z' },
    spec: {
      parentRefs: [{ name: 'gw' }],
      hostnames: g.chance(0.1) ? [] : [g.value(HOSTS)],
      rules: Array.from({ length: 1 + g.int(2) }, () => ({
        // Only PathPrefix matches may use ReplacePrefixMatch (the CRD's CEL rule); others get a full path.
        matches: Array.from({ length: 1 + g.int(2) }, match),
        filters,
        backendRefs,
      })),
    },
  };
}

const cert = selfSigned('fuzz.test', ['*.fuzz.test']);
const fixedObjects = [
  serviceObject('svc'), serviceObject('other'), tlsSecretObject('tls', cert),
  { apiVersion: GW, kind: 'GatewayClass', metadata: { name: 'wharf' }, spec: { controllerName: 'wharf.io/gateway-controller' } },
  {
    apiVersion: GW, kind: 'Gateway', metadata: { name: 'gw', namespace: 'default' },
    spec: { gatewayClassName: 'wharf', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }, { name: 'https', port: 443, protocol: 'HTTPS', hostname: '*.fuzz.test', tls: { certificateRefs: [{ name: 'tls' }] } }] },
  },
];

let nginx: TestNginx;
before(async () => {
  nginx = await startNginx();
});
after(async () => {
  await nginx?.stop();
});

test(`random HTTPRoutes (seed ${SEED}, ${CASES} cases): what the model admits renders to config nginx -t accepts, with only template directives`, async (t) => {
  t.diagnostic(`WHARF_FUZZ_SEED=${SEED} WHARF_FUZZ_CASES=${CASES}`);
  const g = gen(SEED);
  let admitted = 0;
  let dispatching = 0;
  for (let start = 0; start < CASES; start += BATCH) {
    const routes = Array.from({ length: Math.min(BATCH, CASES - start) }, (_, k) => randomRoute(g, start + k));
    const { state, problems } = stateFromObjects([...routes, ...fixedObjects]);
    const model = buildModel(state, defaultControllerSettings);
    const { fragments, failures, certificates } = renderModel(model);
    assert.deepEqual(failures.map((f) => `${f.name}: ${f.error.message}`), [], `seed ${SEED}, batch at ${start}: the model admitted values the renderer refuses`);
    for (const f of fragments) {
      const wrong = inspect(f);
      assert.equal(wrong, null, `seed ${SEED}, batch at ${start}, fragment ${f.name}: ${wrong}\n${f.config}`);
    }
    assert.equal(nginxTest(nginx, fragments, certificates), '', `seed ${SEED}, batch at ${start}: nginx -t refused the rendered config`);
    const sources = new Set([...model.servers.flatMap((s) => s.sources), ...model.defaultServer.sources].map((o) => o.name));
    admitted += sources.size;
    dispatching += fragments.filter((f) => f.config.includes('error_page 418')).length;
    void problems;
  }
  t.diagnostic(`${admitted} of ${CASES} routes served, ${dispatching} fragments choosing routes by conditions`);
  assert.ok(admitted > CASES * 0.2, `only ${admitted} of ${CASES} routes were served`);
  assert.ok(dispatching > 0, 'some fragments choose between routes by conditions');
});

test('the IngressNightmare corpus in any string field of an HTTPRoute is refused with the field named, or rendered harmlessly', async () => {
  const { state } = stateFromObjects(fixedObjects);
  type Route = { spec: { hostnames: string[]; rules: Record<string, unknown>[] } };
  const base = (): Route => ({
    apiVersion: GW, kind: 'HTTPRoute', metadata: { name: 'victim', namespace: 'default' },
    spec: { parentRefs: [{ name: 'gw' }], hostnames: ['victim.test'], rules: [{ backendRefs: [{ name: 'svc', port: 80 }] }] },
  } as unknown as Route);
  const rule = (o: Route) => o.spec.rules[0]!;
  const headers = (kind: 'requestHeaderModifier' | 'responseHeaderModifier', list: 'set' | 'add', part: 'name' | 'value') => (o: Route, v: string) => {
    const entry = { name: 'X-A', value: 'a', [part]: v };
    rule(o).filters = [{ type: kind === 'requestHeaderModifier' ? 'RequestHeaderModifier' : 'ResponseHeaderModifier', [kind]: { [list]: [entry] } }];
  };
  const fields: [string, (o: Route, v: string) => void, 'refused' | 'escaped'][] = [
    ['spec.hostnames[0]', (o, v) => (o.spec.hostnames[0] = v), 'refused'],
    ['spec.rules[0].matches[0].path.value', (o, v) => (rule(o).matches = [{ path: { type: 'PathPrefix', value: v } }]), 'refused'],
    ['spec.rules[0].matches[0].path.value', (o, v) => (rule(o).matches = [{ path: { type: 'Exact', value: v } }]), 'refused'],
    ['spec.rules[0].matches[0].path.value', (o, v) => (rule(o).matches = [{ path: { type: 'RegularExpression', value: v } }]), 'refused'],
    ['spec.rules[0].matches[0].headers[0].name', (o, v) => (rule(o).matches = [{ headers: [{ name: v, value: 'a' }] }]), 'refused'],
    ['spec.rules[0].matches[0].headers[0].value', (o, v) => (rule(o).matches = [{ headers: [{ type: 'RegularExpression', name: 'x', value: v }] }]), 'refused'],
    ['spec.rules[0].matches[0].queryParams[0].value', (o, v) => (rule(o).matches = [{ queryParams: [{ type: 'RegularExpression', name: 'q', value: v }] }]), 'refused'],
    ['spec.rules[0].filters[0].requestHeaderModifier.set[0].name', headers('requestHeaderModifier', 'set', 'name'), 'refused'],
    
    
    
    ['spec.rules[0].filters[0].requestRedirect.hostname', (o, v) => (rule(o).filters = [{ type: 'RequestRedirect', requestRedirect: { hostname: v } }]), 'refused'],
    ['spec.rules[0].filters[0].requestRedirect.path.replaceFullPath', (o, v) => (rule(o).filters = [{ type: 'RequestRedirect', requestRedirect: { path: { type: 'ReplaceFullPath', replaceFullPath: v } } }]), 'refused'],
    ['spec.rules[0].filters[0].urlRewrite.hostname', (o, v) => (rule(o).filters = [{ type: 'URLRewrite', urlRewrite: { hostname: v } }]), 'refused'],
    ['spec.rules[0].filters[0].urlRewrite.path.replacePrefixMatch', (o, v) => (rule(o).filters = [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: v } } }]), 'refused'],
    // Written as one quoted argument: a header value may hold words and spaces, never a quote, `\`, `$`, `;`, braces or `#`.
    ['spec.rules[0].filters[0].requestHeaderModifier.set[0].value', headers('requestHeaderModifier', 'set', 'value'), 'escaped'],
    ['spec.rules[0].filters[0].requestHeaderModifier.add[0].value', headers('requestHeaderModifier', 'add', 'value'), 'escaped'],
    ['spec.rules[0].filters[0].responseHeaderModifier.add[0].value', headers('responseHeaderModifier', 'add', 'value'), 'escaped'],
    // Matched exactly: any printable value is written as \xHH escapes in a regex, so it is admitted when printable.
    ['spec.rules[0].matches[0].headers[0].value', (o, v) => (rule(o).matches = [{ headers: [{ name: 'x', value: v }] }]), 'escaped'],
    ['spec.rules[0].matches[0].queryParams[0].value', (o, v) => (rule(o).matches = [{ queryParams: [{ name: 'q', value: v }] }]), 'escaped'],
  ];
  const admitted: string[] = [];
  const escaped: object[] = [];
  for (const [field, set, expect] of fields) {
    for (const payload of corpus) {
      const o = base();
      set(o, payload);
      const errors = validateGatewayObject(o, state, defaultControllerSettings).filter((p) => p.severity === 'error');
      if (errors.length > 0) {
        assert.ok(errors.some((p) => p.message.startsWith(`${field}: `)), `${field} = ${JSON.stringify(payload)}: ${errors[0]!.message}`);
        continue;
      }
      if (expect === 'refused') admitted.push(`${field} = ${JSON.stringify(payload)}`);
      else escaped.push({ ...o, metadata: { name: `escaped-${escaped.length}`, namespace: 'default' }, spec: { ...o.spec, hostnames: [`e${escaped.length}.victim.test`] } });
    }
  }
  assert.deepEqual(admitted, [], 'payloads the model admitted');
  // What was admitted for an exact match renders, holds only template directives, and NGINX accepts it.
  assert.ok(escaped.length > 0);
  const { state: all } = stateFromObjects([...fixedObjects, ...escaped]);
  const { fragments, failures, certificates } = renderModel(buildModel(all, defaultControllerSettings));
  assert.deepEqual(failures, []);
  for (const f of fragments) assert.equal(inspect(f), null, f.config);
  assert.equal(nginxTest(nginx, fragments, certificates), '');
});
