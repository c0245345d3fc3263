// The migration check: every Ingress of tests/migration/manifests (written as public charts write them
// for ingress-nginx) goes through wharf's admission webhook, and is admitted, or denied with a
// message naming the one snippet directive that is not safe; the admitted ones, with ingress-nginx's
// ConfigMap, are rendered and pushed to an agent driving a real NGINX, and route as their authors
// meant; `wharf check --from ingress-nginx` on the same folder agrees with the webhook.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { admissionReview } from '../handlers/fixtures.ts';
import { testHandler, type TestHandler } from '../handlers/support.ts';
import { defaultControllerSettings, stateFromObjects, buildModel } from '../../src/model/index.ts';
import { renderModel } from '../../src/render/index.ts';
import { startBackend, startHttpsBackend, type Backend } from '../support/backend.ts';
import { request, type Reply } from '../support/http.ts';
import { selfSigned } from '../render/helpers.ts';
import { startTestDns, type TestDns } from '../agent/dns-server.ts';
import { startTestAgent, type TestAgent } from '../agent/harness.ts';
import { wharf } from '../check/run-cli.ts';
import { MANIFESTS, asWharfs, corpusObjects, type KubeObject } from './corpus.ts';

const ANN = 'nginx.ingress.kubernetes.io/';
/** What the webhook said about each Ingress, by namespace/name. */
const verdicts = new Map<string, { allowed: boolean; message: string; warnings: string[] }>();
let objects: KubeObject[];
let handler: TestHandler;
let agent: TestAgent;
let dns: TestDns;
const backends: Backend[] = [];
const servers: http.Server[] = [];

/** Services whose pods speak HTTPS (backend-protocol HTTPS in their Ingress). */
const HTTPS_SERVICES = new Set(['argocd/argocd-server', 'kubernetes-dashboard/kubernetes-dashboard', 'argo/argo-workflows-server']);
/** Addresses the corpus's DNS names resolve to (auth-url and an ExternalName), on the ports the manifests name. */
const OAUTH2_PROXY = { host: '127.77.0.1', port: 4180 };
const LEGACY = { host: '127.77.0.2', port: 8080 };

/** The cookies of the auth requests oauth2-proxy got. */
const authChecks: string[] = [];

/** oauth2-proxy: /oauth2/auth answers 202 with the user for a session cookie, 401 without. */
function oauth2Proxy(req: http.IncomingMessage, res: http.ServerResponse): void {
  if (req.url?.startsWith('/oauth2/auth')) {
    authChecks.push(req.headers.cookie ?? '');
    const ok = /(?:^|; )_oauth2_proxy=valid/.test(req.headers.cookie ?? '');
    res.writeHead(ok ? 202 : 401, ok ? { 'x-auth-request-user': 'alice', 'x-auth-request-email': 'alice@example.com' } : {}).end();
    return;
  }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ backend: 'apps/oauth2-proxy', url: req.url, headers: req.headers }));
}

async function listen(handlerFn: http.RequestListener, at: { host: string; port: number }): Promise<void> {
  const server = http.createServer(handlerFn);
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(at.port, at.host, resolve));
  servers.push(server);
}

before(async () => {
  objects = corpusObjects().map(asWharfs);
  const ingresses = objects.filter((o) => o.kind === 'Ingress');
  assert.ok(ingresses.length >= 30, `at least 30 Ingresses (${ingresses.length})`);

  // Admission: the cluster holds the Services, Secrets and ConfigMap; each Ingress is applied in
  // file order, and the admitted ones join the cluster (later ones are checked against them).
  handler = testHandler({ settings: { controller: { ...defaultControllerSettings, configMap: 'ingress-nginx/ingress-nginx-controller' } } });
  for (const o of objects) if (o.kind !== 'Ingress') handler.api.put(o);
  await handler.relist();
  for (const o of ingresses) {
    const r = await handler.post('/admission', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(admissionReview(o, { uid: `review-${o.metadata.name}` })) });
    assert.equal(r.status, 200);
    const response = (r.json as { response: { allowed: boolean; status?: { message: string }; warnings?: string[] } }).response;
    verdicts.set(`${o.metadata.namespace}/${o.metadata.name}`, { allowed: response.allowed, message: response.status?.message ?? '', warnings: response.warnings ?? [] });
    if (response.allowed) {
      handler.api.put(o);
      await handler.relist();
    }
  }

  // Routing: what the handler tier renders from the admitted objects, on a real NGINX.
  const admitted = objects.filter((o) => o.kind !== 'Ingress' || verdicts.get(`${o.metadata.namespace}/${o.metadata.name}`)!.allowed);
  const { state, problems } = stateFromObjects(admitted);
  assert.deepEqual(problems.filter((p) => p.severity === 'error'), []);
  const model = buildModel(state, { ...defaultControllerSettings, configMap: 'ingress-nginx/ingress-nginx-controller' });
  assert.deepEqual(model.problems.filter((p) => p.severity === 'error').map((p) => p.message), []);
  const { fragments, failures, certificates } = renderModel(model);
  assert.deepEqual(failures, []);

  await listen(oauth2Proxy, OAUTH2_PROXY);
  await listen((req, res) => res.end(JSON.stringify({ backend: 'legacy.corp.internal', url: req.url, headers: req.headers })), LEGACY);
  dns = await startTestDns({ 'oauth2-proxy.oauth2-proxy.svc.cluster.local': OAUTH2_PROXY.host, 'legacy.corp.internal': LEGACY.host });
  const pair = selfSigned('backend.internal');
  const endpoints: { upstream: string; revision: number; endpoints: string[] }[] = [];
  for (const u of model.upstreams) {
    const name = `${u.namespace}/${u.service}`;
    if (u.external) continue;
    let address: string;
    if (name === 'apps/oauth2-proxy') address = `${OAUTH2_PROXY.host}:${OAUTH2_PROXY.port}`;
    else {
      const b = HTTPS_SERVICES.has(name) ? await startHttpsBackend(name, pair) : await startBackend(name);
      backends.push(b);
      address = b.address;
    }
    endpoints.push({ upstream: u.upstream, revision: 1, endpoints: [address] });
  }
  agent = await startTestAgent({ resolvers: [dns.address] });
  const put = await agent.api('POST', '/v1/batch?wait=1', { fragments: fragments.map((f) => ({ ...f, revision: 1 })), certificates: certificates.map((c) => ({ ...c, revision: 1 })), endpoints });
  assert.ok(put.json.fragments.every((f: { status: string }) => f.status === 'applied'), put.text);
});

after(async () => {
  await agent?.stop();
  await handler?.close();
  await dns?.close();
  await Promise.all([...backends.map((b) => b.close()), ...servers.map((s) => new Promise((r) => s.close(r)))]);
});

const get = (host: string, path = '/', o: { method?: string; headers?: Record<string, string>; body?: string; tls?: boolean } = {}): Promise<Reply> =>
  request({ port: o.tls ? agent.httpsPort : agent.httpPort, host, path, method: o.method ?? 'GET', headers: o.headers ?? {}, tls: o.tls ?? false, ...(o.body !== undefined ? { body: o.body } : {}) });
const json = (r: Reply): { backend: string; url?: string; headers?: Record<string, string> } => {
  try {
    return JSON.parse(r.body);
  } catch {
    throw new Error(`not a backend's answer: ${r.status} ${r.body.slice(0, 200)}`);
  }
};
const backend = (name: string) => backends.find((b) => b.name === name)!;

/** The Ingresses denied, and the one directive each denial must name. */
const DENIED: Record<string, { field: string; says: RegExp }> = {
  'nextcloud/nextcloud': { field: `${ANN}server-snippet`, says: /line 2, column 1: location \{ … \}: blocks are not allowed in snippets/ },
  'mattermost/chat': { field: `${ANN}configuration-snippet`, says: /line 2, column 1: gzip is not on wharf's snippet allowlist/ },
  'ci/jenkins': { field: `${ANN}configuration-snippet`, says: /line 1, column 1: proxy_set_header: X-Forwarded-Proto is set by wharf/ },
};

test('admission: every Ingress is admitted, or denied in one line naming the snippet directive that is not safe', () => {
  assert.ok(verdicts.size >= 30);
  for (const [name, v] of verdicts) {
    const denied = DENIED[name];
    if (!denied) {
      assert.equal(v.allowed, true, `${name} denied: ${v.message}`);
      continue;
    }
    assert.equal(v.allowed, false, `${name} admitted`);
    assert.ok(v.message.startsWith(`metadata.annotations[${denied.field}]: Forbidden: `), `${name}: ${v.message}`);
    assert.match(v.message, denied.says, name);
    assert.ok(!v.message.includes('\n'), 'one line');
  }
  // What wharf does not read is a warning, never a denial.
  assert.ok(verdicts.get('argocd/argocd-server')!.warnings.some((w) => w.includes('ssl-passthrough')));
  assert.ok(verdicts.get('keycloak/keycloak')!.warnings.some((w) => w.includes('keycloak.example.com-tls')));
});

test('Argo CD, Harbor, Rancher, cert-manager: TLS from their Secrets, HTTP redirected, HTTPS backends, the ACME challenge not redirected', async () => {
  assert.equal(json(await get('argocd.example.com', '/applications', { tls: true })).backend, 'argocd/argocd-server');
  const redirect = await get('argocd.example.com', '/applications');
  assert.equal(redirect.status, 308);
  assert.equal(redirect.headers.location, 'https://argocd.example.com/applications');
  assert.equal(json(await get('harbor.example.com', '/api/v2.0/ping', { tls: true })).backend, 'harbor/harbor-core');
  assert.equal(json(await get('harbor.example.com', '/v2/', { tls: true })).backend, 'harbor/harbor-core');
  assert.equal(json(await get('harbor.example.com', '/harbor/projects', { tls: true })).backend, 'harbor/harbor-portal');
  assert.equal((await get('harbor.example.com', '/')).status, 308);
  assert.equal(json(await get('rancher.example.com', '/dashboard', { tls: true })).backend, 'cattle-system/rancher');
  assert.equal(json(await get('shop.example.com', '/', { tls: true })).backend, 'shop/storefront');
  assert.equal((await get('shop.example.com', '/')).status, 308);
  const challenge = await get('shop.example.com', '/.well-known/acme-challenge/Qm9vdHN0cmFwVG9rZW4tMDEy');
  assert.equal(challenge.status, 200, 'cert-manager\'s solver answers over plain HTTP');
  assert.equal(json(challenge).backend, 'shop/cm-acme-http-solver-vq8ls');
  // Keycloak's Secret does not exist yet (cert-manager has not issued it): served over HTTP meanwhile.
  assert.equal(json(await get('keycloak.example.com', '/realms/master')).backend, 'keycloak/keycloak');
});

test('paths: Grafana and Argo Workflows under sub-paths, the regex rewrite, an Exact path, websockets beside HTTP', async () => {
  assert.equal(json(await get('grafana.example.com', '/d/home')).backend, 'monitoring/grafana');
  const sub = json(await get('tools.example.com', '/grafana/api/health'));
  assert.equal(sub.backend, 'monitoring/grafana');
  assert.equal(sub.url, '/api/health');
  assert.equal(json(await get('tools.example.com', '/argo/workflows', { tls: false })).backend, 'argo/argo-workflows-server');
  assert.equal(backend('argo/argo-workflows-server').requests.at(-1)!.url, '/workflows');
  const api = json(await get('api.example.com', '/api/users?id=1'));
  assert.equal(api.backend, 'apps/api');
  assert.equal(api.url, '/users?id=1');
  assert.equal(json(await get('graphql.example.com', '/graphql', { method: 'POST', body: '{"query":"{me}"}' })).backend, 'apps/graphql');
  assert.equal((await get('graphql.example.com', '/graphql/x')).status, 404);
  assert.equal(json(await get('realtime.example.com', '/socket.io/?EIO=4')).backend, 'apps/realtime');
  assert.equal(json(await get('realtime.example.com', '/')).backend, 'apps/realtime-web');
  assert.equal(json(await get('gitlab.example.com', '/explore')).backend, 'gitlab/gitlab-webservice-default');
  assert.equal(json(await get('registry.example.com', '/v2/group/app/blobs/uploads/', { method: 'POST', body: 'x'.repeat(100_000) })).backend, 'gitlab/gitlab-registry');
  assert.equal(json(await get('docker.example.com', '/v2/')).backend, 'nexus/nexus-repository-manager-docker');
  const minio = json(await get('minio.example.com', '/'));
  assert.equal(minio.backend, 'minio/minio-console');
  assert.equal(minio.headers?.['x-forwarded-prefix'], '/console');
});

test('oauth2-proxy: the browser is sent to sign in, a session reaches the app with the user, answers cached per session', async () => {
  const out = await get('dashboard.example.com', '/reports?q=1');
  assert.equal(out.status, 302);
  // wharf's $escaped_request_uri leaves / and ? as they are (ingress-nginx escapes them).
  assert.equal(out.headers.location, 'https://dashboard.example.com/oauth2/start?rd=/reports?q=1');
  assert.equal(json(await get('dashboard.example.com', '/oauth2/start?rd=%2F')).backend, 'apps/oauth2-proxy');
  for (let i = 0; i < 3; i++) {
    const r = json(await get('dashboard.example.com', '/reports', { headers: { cookie: '_oauth2_proxy=valid' } }));
    assert.equal(r.backend, 'apps/dashboard');
    assert.equal(r.headers?.['x-auth-request-user'], 'alice');
  }
  assert.equal(authChecks.filter((c) => c === '_oauth2_proxy=valid').length, 1, 'auth-cache-key: one check for three requests of the session');
  assert.ok(dns.questions.includes('oauth2-proxy.oauth2-proxy.svc.cluster.local A'), 'auth-url resolved through the resolver');
});

test('canaries by header and by weight', async () => {
  assert.equal(json(await get('checkout.example.com')).backend, 'shop/checkout-stable');
  assert.equal(json(await get('checkout.example.com', '/', { headers: { 'x-canary': 'always' } })).backend, 'shop/checkout-canary');
  assert.equal(json(await get('checkout.example.com', '/', { headers: { 'x-canary': 'never' } })).backend, 'shop/checkout-stable');
  for (let i = 0; i < 4; i++) assert.equal(json(await get('search.example.com')).backend, 'shop/search-v2');
});

test('headers: CORS, snippets that set response and request headers', async () => {
  const preflight = await get('public-api.example.com', '/v1/items', { method: 'OPTIONS', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' } });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers['access-control-allow-origin'], 'https://app.example.com');
  assert.equal(preflight.headers['access-control-allow-credentials'], 'true');
  assert.equal(preflight.headers['access-control-max-age'], '600');
  const cors = await get('public-api.example.com', '/v1/items', { headers: { origin: 'https://app.example.com' } });
  assert.equal(json(cors).backend, 'apps/public-api');
  assert.equal(cors.headers['access-control-allow-origin'], 'https://app.example.com');
  const wiki = await get('wiki.example.com');
  assert.equal(json(wiki).backend, 'apps/wiki');
  assert.equal(wiki.headers['x-frame-options'], 'SAMEORIGIN');
  assert.equal(wiki.headers['x-content-type-options'], 'nosniff');
  assert.equal(wiki.headers['referrer-policy'], 'strict-origin-when-cross-origin');
  const staging = await get('staging.example.com', '/missing');
  assert.equal(staging.headers['x-robots-tag'], 'noindex, nofollow');
  assert.equal(json(await get('k8s-dashboard.example.com', '/', { headers: { 'accept-encoding': 'gzip' } })).backend, 'kubernetes-dashboard/kubernetes-dashboard');
  assert.equal(backend('kubernetes-dashboard/kubernetes-dashboard').requests.at(-1)!.headers['accept-encoding'], undefined, 'the snippet cleared Accept-Encoding');
});

test('access: basic auth, source ranges; redirects: app-root, permanent-redirect, www; sticky sessions; an ExternalName backend', async () => {
  assert.equal((await get('longhorn.example.com')).status, 401);
  const authorization = `Basic ${Buffer.from('admin:secret').toString('base64')}`;
  assert.equal(json(await get('longhorn.example.com', '/', { headers: { authorization } })).backend, 'longhorn-system/longhorn-frontend');
  assert.equal(json(await get('prometheus.example.com', '/graph')).backend, 'monitoring/kube-prometheus-stack-prometheus');
  assert.equal((await get('alertmanager.example.com')).status, 403, '127.0.0.1 is not in 10.0.0.0/8 or 172.16.0.0/12');
  const root = await get('portal.example.com');
  assert.equal(root.status, 302);
  assert.match(String(root.headers.location), /\/app1$/);
  const moved = await get('olddocs.example.com', '/guide');
  assert.equal(moved.status, 308);
  assert.equal(moved.headers.location, 'https://docs.example.org/');
  const www = await get('blog.example.com', '/2024/post?x=1');
  assert.equal(www.status, 308);
  assert.equal(www.headers.location, 'http://www.blog.example.com/2024/post?x=1', 'the port of the Host the client sent (none)');
  assert.equal(json(await get('www.blog.example.com')).backend, 'blog/wordpress');
  const sticky = await get('sonarqube.example.com');
  assert.equal(json(sticky).backend, 'sonarqube/sonarqube-sonarqube');
  assert.match(String(sticky.headers['set-cookie']?.[0]), /^route=[0-9a-f]{32}; Path=\/; Max-Age=172800; SameSite=Lax; HttpOnly$/);
  const legacy = json(await get('legacy.example.com', '/orders'));
  assert.equal(legacy.backend, 'legacy.corp.internal');
  assert.equal(legacy.headers?.host, 'legacy.corp.internal', 'upstream-vhost');
  assert.ok(dns.questions.includes('legacy.corp.internal A'));
});

test('denied Ingresses route nothing: their hosts get the default server\'s 404', async () => {
  for (const host of ['nextcloud.example.com', 'chat.example.com', 'jenkins.example.com']) assert.equal((await get(host)).status, 404, host);
});

test('wharf check --from ingress-nginx on the folder agrees with the webhook, Ingress by Ingress', async () => {
  const run = await wharf(['check', '--from', 'ingress-nginx', '--output', 'json', MANIFESTS]);
  const report = JSON.parse(run.stdout) as { objects: { kind: string; namespace: string; name: string; verdict: string; keys: { key: string; status: string; note: string }[] }[] };
  assert.equal(run.status, 1, 'exit 1: some Ingresses would be denied');
  const checked = report.objects.filter((o) => o.kind === 'Ingress');
  assert.deepEqual(checked.map((o) => `${o.namespace}/${o.name}`).sort(), [...verdicts.keys()].sort(), 'the same Ingresses');
  for (const o of checked) {
    const v = verdicts.get(`${o.namespace}/${o.name}`)!;
    assert.equal(o.verdict, v.allowed ? 'ready' : 'needs a change', `${o.namespace}/${o.name}`);
    const refused = o.keys.filter((k) => k.status === 'refused');
    if (v.allowed) {
      assert.deepEqual(refused, []);
      continue;
    }
    // The one refused key is the field of the denial, and its note is the denial's reason.
    assert.equal(refused.length, 1, JSON.stringify(o.keys));
    assert.equal(v.message, `metadata.annotations[${refused[0]!.key}]: ${refused[0]!.note}`);
  }
});
