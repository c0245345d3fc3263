// The client-address part of the `_main` fragment (templates/client-address.liquid): the realip
// module's settings and the variables that locations send backends as X-Forwarded-*, from the
// ConfigMap's use-forwarded-headers, use-proxy-protocol, proxy-real-ip-cidr, forwarded-for-header,
// compute-full-forwarded-for and enable-real-ip, with ingress-nginx's meanings.
import { realIpEnabled, type ClientAddressSettings } from '../model/client-address.ts';
import { loadTemplate, renderTemplate } from './engine.ts';

/** What client-address.liquid reads. */
export interface ClientAddressView {
  /** The realip module replaces $remote_addr with the client's address given by a trusted peer. */
  realIp: boolean;
  /** The address comes from the PROXY protocol header rather than from `header`. */
  proxyProtocol: boolean;
  header: string;
  /** Trusted peers (proxy-real-ip-cidr). */
  trusted: string[];
  /** Trusted peers' X-Forwarded-Proto, -Port and -Host are believed (use-forwarded-headers). */
  forwardedHeaders: boolean;
  /** compute-full-forwarded-for (with use-forwarded-headers): the incoming X-Forwarded-For plus the peer. */
  fullForwardedFor: boolean;
  /** The peer appended by fullForwardedFor: the load balancer's connection, or the address its PROXY header gives. */
  peerVariable: 'realip_remote_addr' | 'proxy_protocol_addr';
  /**
   * --enable-ssl-passthrough: HTTPS comes from the agent's SNI router over a unix socket with a PROXY
   * protocol header, which is believed from that socket only (`set_real_ip_from unix:`). With a
   * header mode (use-forwarded-headers, enable-real-ip) NGINX reads one source only: the header.
   */
  passthroughHop: boolean;
}

/** The view of the client-address settings. */
export function clientAddressView(s: ClientAddressSettings & { sslPassthrough?: boolean }): ClientAddressView {
  return {
    realIp: realIpEnabled(s),
    proxyProtocol: s.useProxyProtocol,
    header: s.forwardedForHeader,
    trusted: s.proxyRealIpCidr,
    forwardedHeaders: s.useForwardedHeaders,
    fullForwardedFor: s.useForwardedHeaders && s.computeFullForwardedFor,
    peerVariable: s.useProxyProtocol ? 'proxy_protocol_addr' : 'realip_remote_addr',
    passthroughHop: s.sslPassthrough === true && (s.useProxyProtocol || !realIpEnabled(s)),
  };
}

const template = loadTemplate('client-address.liquid');

/** The http-level lines of the client-address settings, appended to the `_main` fragment. */
export function renderClientAddress(s: ClientAddressSettings & { sslPassthrough?: boolean }): string {
  return renderTemplate(template, { c: clientAddressView(s) });
}
