// The Gateway API conformance suite's manifests (../shared/gateway-api/conformance: base and one file
// per test) as objects for wharf's model: `{GATEWAY_CLASS_NAME}` is wharf's GatewayClass, the kinds
// wharf does not read (Deployments, the suite's ConfigMap) are left out, and each test's requests go
// through a real NGINX to test backends named after the Services, as the suite's echo backends are.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { buildModel, defaultControllerSettings, stateFromObjects } from '../../src/model/index.ts';
import { RoutingIndex } from '../../src/model/routing-index.ts';
import { renderModel, type Certificate, type Fragment } from '../../src/render/index.ts';
import type { RoutingModel } from '../../src/model/types.ts';
import type { RouteStatus } from '../../src/model/gateway-status.ts';
import assert from 'node:assert/strict';
import { startBackend, type Backend } from '../support/backend.ts';
import { request } from '../support/http.ts';
import { after, before, test } from 'node:test';
import { startNginx, type TestNginx } from '../support/nginx.ts';
import { loadFragments } from '../render/helpers.ts';

const dir = fileURLToPath(new URL('../../../shared/gateway-api/conformance/', import.meta.url));
const READ = new Set(['GatewayClass', 'Gateway', 'HTTPRoute', 'GRPCRoute', 'ReferenceGrant', 'Namespace', 'Service', 'Secret']);
export const CLASS = 'wharf';
export const INFRA = 'gateway-conformance-infra';

/** The objects of a manifest file under conformance/ that wharf reads. */
export function manifests(file: string): object[] {
  const text = readFileSync(`${dir}${file}`, 'utf8').replaceAll('{GATEWAY_CLASS_NAME}', CLASS);
  return parseAllDocuments(text)
    .map((d) => d.toJS() as { kind?: string } | null)
    .filter((o): o is { kind: string } => o !== null && typeof o === 'object' && READ.has(o.kind ?? ''));
}

/** wharf's GatewayClass. */
export const gatewayClass = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: CLASS, generation: 1 }, spec: { controllerName: 'wharf.io/gateway-controller' } };

/** The base manifests, one test's manifests and `extra` objects, through the model and the renderer. */
export function conformanceModel(test: string, extra: object[] = []): { index: RoutingIndex; model: RoutingModel; fragments: Fragment[]; certificates: Certificate[] } {
  const { state, problems } = stateFromObjects([gatewayClass, ...manifests('base/manifests.yaml'), ...manifests(`tests/${test}.yaml`), ...extra]);
  if (problems.length) throw new Error(`manifests refused:\n${problems.map((p) => p.message).join('\n')}`);
  const index = new RoutingIndex(defaultControllerSettings, state);
  const model = buildModel(index, defaultControllerSettings);
  const { fragments, failures, certificates } = renderModel(model);
  if (failures.length) throw new Error(`fragments refused:\n${failures.map((f) => `${f.name}: ${f.error.message}`).join('\n')}`);
  return { index, model, fragments, certificates };
}

/** One request of a conformance test and what must answer it. */
export interface Case {
  path: string;
  host?: string;
  method?: string;
  headers?: Record<string, string>;
  /** 200 unless told. */
  status?: number;
  backend?: string;
  /** The path the backend sees (the request's unless told). */
  backendPath?: string;
  backendHeaders?: Record<string, string>;
  absentHeaders?: string[];
  /** The Location header of a redirect. */
  location?: string;
  /** Response headers (null: absent). */
  responseHeaders?: Record<string, string | null>;
}

/** One conformance test: its manifest, the statuses it checks, its requests. */
export interface Row {
  conformance: string;
  manifest: string;
  /** route name → the ResolvedRefs reason its parent status must have ('ResolvedRefs' when all resolve). */
  resolved?: Record<string, string>;
  cases: Case[];
}


/**
 * The echo of the suite's backends: JSON {backend, method, url, headers}, and the request's
 * `X-Header-*` and `Some-Other-Header` headers sent back as response headers too, so that a
 * response header filter has something to set over, add to and remove.
 */
function echo(name: string): (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void {
  return (req, res) => {
    req.resume();
    req.on('end', () => {
      for (const [k, v] of Object.entries(req.headers)) if ((k.startsWith('x-header-') || k === 'some-other-header') && v !== undefined) res.setHeader(k, v);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ backend: name, method: req.method, url: req.url, headers: req.headers }));
    });
  };
}

/** The test backends, one per Service name, started when first needed. */
export class Backends {
  private readonly started = new Map<string, Backend>();
  async for(service: string): Promise<Backend> {
    let b = this.started.get(service);
    if (!b) this.started.set(service, (b = await startBackend(service, echo(service))));
    return b;
  }
  async close(): Promise<void> {
    await Promise.all([...this.started.values()].map((b) => b.close()));
  }
}

/** Loads a row's model into `nginx`, checks its statuses on the model, then sends its requests. */
export async function runRow(nginx: TestNginx, backends: Backends, row: Row): Promise<void> {
  const { index, model, fragments, certificates } = conformanceModel(row.manifest);
  for (const [route, reason] of Object.entries(row.resolved ?? {})) {
    const status = index.gatewayStatus('HTTPRoute', INFRA, route) as RouteStatus | null;
    assert.ok(status, `no status for HTTPRoute ${route}`);
    for (const p of status.parents) {
      assert.deepEqual(p.conditions.map((c) => [c.type, c.status === 'True' ? 'True' : 'False', c.reason]), [
        ['Accepted', 'True', 'Accepted'],
        ['ResolvedRefs', reason === 'ResolvedRefs' ? 'True' : 'False', reason],
      ]);
    }
  }
  await loadFragments(nginx, fragments, certificates);
  for (const u of model.upstreams) await nginx.setEndpoints(u.upstream, [(await backends.for(u.service)).address]);
  for (const c of row.cases) {
    const what = `${c.method ?? 'GET'} ${c.host ?? ''}${c.path} ${JSON.stringify(c.headers ?? {})}`;
    const r = await request({ port: nginx.httpPort, host: c.host ?? 'example.com', path: c.path, method: c.method ?? 'GET', headers: c.headers ?? {} });
    assert.equal(r.status, c.status ?? 200, `${what}: ${r.status} ${r.body}`);
    if (c.location !== undefined) assert.equal(r.headers.location, c.location, `${what}: Location`);
    for (const [k, v] of Object.entries(c.responseHeaders ?? {})) assert.equal(r.headers[k], v ?? undefined, `${what}: response header ${k}`);
    if (!c.backend) continue;
    const got = JSON.parse(r.body) as { backend: string; url: string; headers: Record<string, string> };
    assert.equal(got.backend, c.backend, `${what}: answered by ${got.backend}`);
    assert.equal(got.url, c.backendPath ?? c.path, `${what}: the backend saw ${got.url}`);
    for (const [k, v] of Object.entries(c.backendHeaders ?? {})) assert.equal(got.headers[k], v, `${what}: header ${k}`);
    for (const k of c.absentHeaders ?? []) assert.equal(got.headers[k], undefined, `${what}: header ${k} should be absent`);
  }
}

/**
 * One NGINX and one set of backends for a file of conformance rows, a test per row named for the
 * conformance test it restates; the file's other tests reach them through the returned getters.
 */
export function conformanceRows(rows: Row[]): { nginx: () => TestNginx; backends: Backends } {
  let nginx: TestNginx;
  const backends = new Backends();
  before(async () => {
    nginx = await startNginx();
  });
  after(async () => {
    await nginx?.stop();
    await backends.close();
  });
  for (const row of rows) test(`${row.conformance} (conformance/tests/${row.manifest}.go)`, () => runRow(nginx, backends, row));
  return { nginx: () => nginx, backends };
}
