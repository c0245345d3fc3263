// The admission webhook's check of a ConfigMap: only the TCP and UDP services ConfigMaps the
// controller is told about are checked (every entry's port, its Service reference, PROXY fields,
// ports the HTTP side holds); every other ConfigMap is allowed untouched.
import { objectKey, type ClusterState, type ControllerSettings } from './cluster-state.ts';
import { RoutingIndex } from './routing-index.ts';
import { parseObject } from './schemas.ts';
import { streamConfigMapRole } from './stream-services.ts';
import type { Problem } from './types.ts';

/** The problems of `obj` (as it arrives) as a services ConfigMap; [] for any other ConfigMap. */
export function validateServicesConfigMap(obj: unknown, state: ClusterState, settings: ControllerSettings): Problem[] {
  const meta = (obj as { metadata?: { namespace?: unknown; name?: unknown } } | null)?.metadata;
  if (typeof meta?.name !== 'string') return [];
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : 'default';
  if (!streamConfigMapRole(objectKey(namespace, meta.name), settings)) return [];
  const parsed = parseObject(obj);
  if (!parsed.ok) return parsed.problems;
  if (parsed.value.kind !== 'ConfigMap') return [];
  const index = state instanceof RoutingIndex && state.settings === settings ? state : new RoutingIndex(settings, state);
  return index.validateConfigMap(parsed.value);
}
