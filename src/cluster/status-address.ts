// The address wharf publishes in `status.loadBalancer.ingress` of the Ingresses it handles: read from
// wharf's own Service (--publish-service, ingress-nginx's rules) or given (--publish-address). Pure:
// objects in, addresses out, so the status writer only compares and writes.
import { isIP } from 'node:net';
import type { KubeObject } from './view.ts';

/** One entry of `status.loadBalancer.ingress` (ports are not published). */
export interface LoadBalancerIngress {
  ip?: string;
  hostname?: string;
}

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** `--publish-address 203.0.113.7,lb.example.com`: IPs and DNS names, checked as the API server checks them. */
export function parsePublishAddresses(text: string): LoadBalancerIngress[] {
  const out: LoadBalancerIngress[] = [];
  for (const raw of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (isIP(raw)) out.push({ ip: raw });
    else if (HOSTNAME.test(raw.toLowerCase())) out.push({ hostname: raw.toLowerCase() });
    else throw new Error(`--publish-address: Invalid value: ${JSON.stringify(raw)}: must be an IP address or a DNS name`);
  }
  if (out.length === 0) throw new Error('--publish-address: Required value: at least one IP address or DNS name');
  return normalizeAddresses(out);
}

/**
 * What a Service publishes, as ingress-nginx reads its --publish-service: ExternalName → that name;
 * LoadBalancer → the load balancer's addresses; and any spec.externalIPs; a ClusterIP or NodePort
 * Service without external IPs → its cluster IP.
 */
export function addressesOfService(service: KubeObject): LoadBalancerIngress[] {
  const spec = (service.spec ?? {}) as { type?: string; externalName?: string; externalIPs?: string[]; clusterIP?: string };
  const status = (service.status ?? {}) as { loadBalancer?: { ingress?: unknown } };
  const type = spec.type ?? 'ClusterIP';
  const external = (spec.externalIPs ?? []).filter((ip) => isIP(ip)).map((ip) => ({ ip }));
  if (type === 'ExternalName') return spec.externalName ? normalizeAddresses([{ hostname: spec.externalName }]) : [];
  if (type === 'LoadBalancer') return normalizeAddresses([...normalizeAddresses(status.loadBalancer?.ingress), ...external]);
  if (external.length) return normalizeAddresses(external);
  return spec.clusterIP && isIP(spec.clusterIP) ? [{ ip: spec.clusterIP }] : [];
}

/** Entries as found in an object (anything), reduced to ip/hostname, deduplicated and sorted. */
export function normalizeAddresses(entries: unknown): LoadBalancerIngress[] {
  if (!Array.isArray(entries)) return [];
  const seen = new Map<string, LoadBalancerIngress>();
  for (const e of entries) {
    if (!e || typeof e !== 'object') continue;
    const { ip, hostname } = e as { ip?: unknown; hostname?: unknown };
    const entry: LoadBalancerIngress = {};
    if (typeof ip === 'string' && ip) entry.ip = ip;
    if (typeof hostname === 'string' && hostname) entry.hostname = hostname;
    // IPs first, then names: one order for every replica, so equal sets compare equal.
    if (entry.ip || entry.hostname) seen.set(`${entry.ip ? `0${entry.ip}` : '1'}/${entry.hostname ?? ''}`, entry);
  }
  return [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e);
}

export function sameAddresses(a: LoadBalancerIngress[], b: LoadBalancerIngress[]): boolean {
  return a.length === b.length && a.every((x, i) => x.ip === b[i]!.ip && x.hostname === b[i]!.hostname);
}

/** `203.0.113.7, lb.example.com` for logs. */
export function formatAddresses(a: LoadBalancerIngress[]): string {
  return a.map((e) => e.ip ?? e.hostname).join(', ') || '(none)';
}
