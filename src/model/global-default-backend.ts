// The controller-wide default backend (--default-backend-service NS/NAME, as ingress-nginx's flag):
// which Service port it is. The RoutingIndex holds it among the upstreams like any Ingress backend,
// so its endpoints reach NGINX through the same reload-free path.
import { splitKey, type ObjectKey } from './cluster-state.ts';
import type { Service } from './schemas.ts';
import type { UpstreamRef } from './upstreams.ts';

/** The user the flag's upstream is counted under (never an Ingress key: it has a space). */
export const DEFAULT_BACKEND_USER = 'flag --default-backend-service';

/**
 * The upstream of --default-backend-service: its Service's first port (what ingress-nginx uses), or
 * null while the Service is missing, ExternalName or has no port (then NGINX answers 404 and 503
 * as without the flag).
 */
export function defaultBackendRef(key: ObjectKey | undefined, services: ReadonlyMap<ObjectKey, Service>): UpstreamRef | null {
  if (!key) return null;
  const service = services.get(key);
  const port = service && service.spec.type !== 'ExternalName' ? service.spec.ports[0]?.port : undefined;
  if (port === undefined) return null;
  const { namespace, name } = splitKey(key);
  return { namespace, service: name, port };
}
