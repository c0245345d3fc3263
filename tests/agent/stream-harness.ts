// Stream fragments for agent tests: a TCP or UDP service port as the handler renders it
// (src/render/stream.ts), and a port number whose served port (P + (HTTP port − 80)) is free.
import type { TestAgent } from './harness.ts';
import { freePort } from '../support/backend.ts';

/** A stream fragment routing `protocol` port `port` to `upstream`. */
export function streamFragment(protocol: 'tcp' | 'udp', port: number, upstream: string, o: { proxyProtocolToBackend?: boolean; proxyProtocolFromClient?: boolean } = {}): string {
  const listen = protocol === 'tcp' && o.proxyProtocolFromClient ? `listen-tcp-${port}-proxy-protocol.conf` : `listen-${protocol}-${port}.conf`;
  return `server {\n    include ${listen};\n    set $wharf_stream_upstream ${upstream};\n    include stream-proxy-pass.conf;\n${o.proxyProtocolToBackend ? '    proxy_protocol on;\n' : ''}${protocol === 'udp' ? '    proxy_requests 1;\n    proxy_responses 1;\n' : ''}}\n`;
}

/** A declared stream port P whose served port is free now: { declared, served }. */
export async function streamPort(t: TestAgent): Promise<{ declared: number; served: number }> {
  const offset = t.httpPort - 80;
  for (;;) {
    const served = await freePort();
    const declared = served - offset;
    if (declared >= 1 && declared <= 65535 && declared !== 80 && declared !== 443) return { declared, served };
  }
}
