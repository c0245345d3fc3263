// The ConfigMap keys that say who the client is when wharf runs behind a load balancer or another
// proxy (ingress-nginx's names and defaults): whether to believe X-Forwarded-* headers or the PROXY
// protocol, and from which peers. Kept apart from global-settings.ts's other keys; that file's key
// table includes these.
import { parseBool, parseCidr, splitList } from './grammar.ts';
import type { ProblemList } from './problems.ts';

/** The client-address part of GlobalSettings. */
export interface ClientAddressSettings {
  /** use-forwarded-headers: X-Forwarded-For (or forwarded-for-header), -Proto, -Port and -Host from trusted peers are believed. */
  useForwardedHeaders: boolean;
  /** forwarded-for-header: the header the client's address is read from (X-Forwarded-For). */
  forwardedForHeader: string;
  /** compute-full-forwarded-for: backends get the incoming X-Forwarded-For with the peer appended, not just the client. */
  computeFullForwardedFor: boolean;
  /** proxy-real-ip-cidr: the peers trusted to say who the client is (ingress-nginx's default: 0.0.0.0/0, every IPv4 peer). */
  proxyRealIpCidr: string[];
  /** use-proxy-protocol: every connection starts with a PROXY protocol header (v1 or v2); the client address is read from it. */
  useProxyProtocol: boolean;
  /** enable-real-ip: read the client's address from forwarded-for-header without believing the other X-Forwarded-* headers. */
  enableRealIp: boolean;
}

/** ingress-nginx's defaults. */
export const defaultClientAddressSettings: Readonly<ClientAddressSettings> = Object.freeze({
  useForwardedHeaders: false,
  forwardedForHeader: 'X-Forwarded-For',
  computeFullForwardedFor: false,
  proxyRealIpCidr: Object.freeze(['0.0.0.0/0']) as string[],
  useProxyProtocol: false,
  enableRealIp: false,
});

/** A key's parser: writes the value into `out`, or says why it is refused. */
export type ClientAddressRule = (value: string, out: ClientAddressSettings) => string | null;

const bool =
  (key: 'useForwardedHeaders' | 'computeFullForwardedFor' | 'useProxyProtocol' | 'enableRealIp'): ClientAddressRule =>
  (v, out) => {
    const b = parseBool(v);
    if (b === null) return 'must be "true" or "false"';
    out[key] = b;
    return null;
  };

/**
 * A request header name as NGINX's realip module reads it: an HTTP token of letters, digits and
 * `-` (NGINX drops headers with `_` unless told otherwise, and `proxy_protocol` has a meaning of its own).
 */
export function checkForwardedForHeader(v: string): string | null {
  if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/.test(v)) return 'must be a header name of A-Z a-z 0-9 and - (at most 64 characters), such as X-Forwarded-For or CF-Connecting-IP';
  return null;
}

/** The keys of this file, by ConfigMap key. */
export const CLIENT_ADDRESS_KEYS: Readonly<Record<string, ClientAddressRule>> = Object.freeze({
  'use-forwarded-headers': bool('useForwardedHeaders'),
  'compute-full-forwarded-for': bool('computeFullForwardedFor'),
  'use-proxy-protocol': bool('useProxyProtocol'),
  'enable-real-ip': bool('enableRealIp'),
  'forwarded-for-header': (v, out) => {
    const reason = checkForwardedForHeader(v);
    if (reason) return reason;
    out.forwardedForHeader = v;
    return null;
  },
  'proxy-real-ip-cidr': (v, out) => {
    const items = splitList(v);
    if (items.length === 0) return 'must list at least one CIDR, such as 10.0.0.0/8';
    const cidrs: string[] = [];
    for (const item of items) {
      const c = parseCidr(item);
      if (c === null) return `item ${JSON.stringify(item.slice(0, 45))} must be an IPv4 or IPv6 address or CIDR such as 10.0.0.0/8 or 2001:db8::/32`;
      if (!cidrs.includes(c)) cidrs.push(c);
    }
    out.proxyRealIpCidr = cidrs;
    return null;
  },
});

/** The client's address is taken from a header or the PROXY protocol (NGINX's realip module is on). */
export function realIpEnabled(s: ClientAddressSettings): boolean {
  return s.useForwardedHeaders || s.useProxyProtocol || s.enableRealIp;
}

/**
 * Warns when peers say who the client is but proxy-real-ip-cidr is ingress-nginx's default (unset
 * or refused): then any IPv4 peer, a client on the internet included, can set its own address.
 */
export function clientAddressProblems(s: ClientAddressSettings, problems: ProblemList): void {
  if (!realIpEnabled(s) || s.proxyRealIpCidr !== defaultClientAddressSettings.proxyRealIpCidr) return;
  const field = 'data[proxy-real-ip-cidr]';
  const by = s.useProxyProtocol ? 'the PROXY protocol' : s.forwardedForHeader;
  problems.add('warning', 'TrustsEveryPeer', field, `${field}: Required value: unset, any IPv4 peer may give the client's address (${by}); list your load balancers' CIDRs`);
}
