// A Service port's endpoints, from its EndpointSlices: what the agent's endpoint API receives.
import { isIPv4, isIPv6 } from 'node:net';
import { objectKey, type ObjectKey } from './cluster-state.ts';
import { cmp } from './problems.ts';
import type { EndpointSlice, Service, ServicePort } from './schemas.ts';

/** The label that ties an EndpointSlice to its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** The `namespace/name` of the Service an EndpointSlice belongs to, or null. */
export function serviceKeyOfSlice(slice: EndpointSlice): ObjectKey | null {
  const name = slice.metadata.labels[SERVICE_NAME_LABEL];
  return name ? objectKey(slice.metadata.namespace, name) : null;
}

/** The Service port an Ingress backend refers to: by number (`port`) or by name. */
export function findServicePort(service: Service, port: number | string): ServicePort | undefined {
  return service.spec.ports.find((p) => (typeof port === 'number' ? p.port === port : p.name === port));
}

/**
 * The sorted, de-duplicated `ip:port` list (`[ipv6]:port`) of a Service port: ready endpoints of
 * the Service's slices (conditions.ready true or unset; not-ready and terminating ones excluded),
 * on the slice port whose name is the Service port's name. Empty when the Service is missing,
 * has no such port, or is an ExternalName Service (wharf only routes to endpoints).
 */
export function endpointsFor(service: Service | undefined, port: number | string, slices: Iterable<EndpointSlice>): string[] {
  if (!service || service.spec.type === 'ExternalName') return [];
  const servicePort = findServicePort(service, port);
  if (!servicePort) return [];
  const portName = servicePort.name ?? '';
  const out = new Set<string>();
  for (const slice of slices) {
    if (slice.metadata.namespace !== service.metadata.namespace) continue;
    if (slice.metadata.labels[SERVICE_NAME_LABEL] !== service.metadata.name) continue;
    if (slice.addressType === 'FQDN') continue;
    const target = slice.ports.find((p) => p.name === portName)?.port;
    if (target === undefined) continue;
    for (const ep of slice.endpoints) {
      if (ep.conditions?.ready === false || ep.conditions?.terminating === true) continue;
      for (const address of ep.addresses) {
        if (slice.addressType === 'IPv4' && isIPv4(address)) out.add(`${address}:${target}`);
        else if (slice.addressType === 'IPv6' && /^[0-9A-Fa-f:.]+$/.test(address) && isIPv6(address)) {
          out.add(`[${address.toLowerCase()}]:${target}`);
        }
      }
    }
  }
  return [...out].sort(cmp);
}
