// The Gateway API conformance suite's manifests (../shared/gateway-api/conformance: base and one file
// per test) as objects for wharf's model: `{GATEWAY_CLASS_NAME}` is wharf's GatewayClass, the kinds
// wharf does not read (Deployments, the suite's ConfigMap) are left out, and each test's requests go
// through a real NGINX to test backends named after the Services, as the suite's echo backends are.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { buildModel, defaultControllerSettings, stateFromObjects } from '../../src/model/index.ts';
import { RoutingIndex } from '../../src/model/routing-index.ts';
import { renderModel, type Fragment } from '../../src/render/index.ts';
import type { RoutingModel } from '../../src/model/types.ts';

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
export function conformanceModel(test: string, extra: object[] = []): { index: RoutingIndex; model: RoutingModel; fragments: Fragment[] } {
  const { state, problems } = stateFromObjects([gatewayClass, ...manifests('base/manifests.yaml'), ...manifests(`tests/${test}.yaml`), ...extra]);
  if (problems.length) throw new Error(`manifests refused:\n${problems.map((p) => p.message).join('\n')}`);
  const index = new RoutingIndex(defaultControllerSettings, state);
  const model = buildModel(index, defaultControllerSettings);
  const { fragments, failures } = renderModel(model);
  if (failures.length) throw new Error(`fragments refused:\n${failures.map((f) => `${f.name}: ${f.error.message}`).join('\n')}`);
  return { index, model, fragments };
}
