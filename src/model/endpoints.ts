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
        if (addressProblem(slice.addressType, address) === null) {
          out.add(slice.addressType === 'IPv4' ? `${address}:${target}` : `[${address.toLowerCase()}]:${target}`);
        }
      }
    }
  }
  return [...out].sort(cmp);
}

/**
 * Why an address of a slice of `addressType` is not routed, or null when it is: an IPv4 slice
 * routes only IPv4 addresses (dotted quads without leading zeros), an IPv6 slice only IPv6 ones
 * (without a zone index, which NGINX cannot connect to).
 */
function addressProblem(addressType: EndpointSlice['addressType'], address: string): string | null {
  if (addressType === 'IPv4') return isIPv4(address) ? null : 'not an IPv4 address, as the slice\'s addressType IPv4 requires';
  if (addressType === 'IPv6') {
    if (address.includes('%')) return 'an IPv6 address with a zone index, which NGINX cannot connect to';
    return /^[0-9A-Fa-f:.]+$/.test(address) && isIPv6(address) ? null : 'not an IPv6 address, as the slice\'s addressType IPv6 requires';
  }
  return 'a host name';
}

/**
 * What wharf leaves out of an EndpointSlice, one line each for the handler's log: a whole FQDN
 * slice (wharf routes to addresses and does not resolve endpoint names), and each address its
 * addressType does not allow. Empty for a usable slice.
 */
export function sliceProblems(slice: EndpointSlice): string[] {
  const where = `EndpointSlice ${slice.metadata.namespace}/${slice.metadata.name}`;
  if (slice.addressType === 'FQDN') {
    return [`${where}: addressType: Unsupported value: "FQDN": wharf routes only to IPv4 and IPv6 addresses, so this slice's endpoints are ignored`];
  }
  const out: string[] = [];
  slice.endpoints.forEach((ep, i) => {
    ep.addresses.forEach((address, j) => {
      const problem = addressProblem(slice.addressType, address);
      if (problem) out.push(`${where}: endpoints[${i}].addresses[${j}]: Invalid value: ${JSON.stringify(address)}: ${problem}; ignored`);
    });
  });
  return out;
}
