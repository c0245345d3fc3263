// One endpoint address, `IPv4:port` or `[IPv6]:port`, checked for real before it reaches NGINX (an
// `upstream` block in reload mode, `set_current_peer` in Lua mode). A shape check alone let through
// `999.999.999.999:99999`, port 0, `[:::::]:80` and zero-padded octets: `010.0.0.1` is 10.0.0.1 to
// NGINX but 8.0.0.1 to inet_aton, so a padded address may reach another host than the one meant.
// The Lua balancer checks the same grammar again where it writes and reads the shared dict
// (templates/lua/wharf/endpoint_address.lua); the two are tested with the same table.
import { isIPv6 } from 'node:net';

/** A checked endpoint. `host` is what NGINX's `set_current_peer` takes: IPv6 keeps its brackets. */
export interface EndpointAddress {
  family: 4 | 6;
  host: string;
  port: number;
}

const SHAPE = /^(?:(\d{1,3}(?:\.\d{1,3}){3})|\[([^\]]{1,45})\]):(\d{1,5})$/;

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const PORT = '(?:[1-9]\\d{0,3}|[1-5]\\d{4}|6[0-4]\\d{3}|65[0-4]\\d\\d|655[0-2]\\d|6553[0-5])';
/** A valid IPv4 endpoint in one test: the common case, for sets of thousands (parseEndpoint decides the rest). */
const VALID_IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}:${PORT}$`);

/** Why `value` is not an endpoint NGINX may be given, or null when it is one. */
export function endpointProblem(value: string): string | null {
  if (VALID_IPV4.test(value)) return null;
  const parsed = parseEndpoint(value);
  return typeof parsed === 'string' ? parsed : null;
}

/** The address and port of `value`, or the reason it is refused (a sentence for an error message). */
export function parseEndpoint(value: string): EndpointAddress | string {
  const m = SHAPE.exec(value);
  if (!m) return 'expected IPv4:port or [IPv6]:port';
  const [, v4, v6, portText] = m as unknown as [string, string | undefined, string | undefined, string];
  const address = v4 !== undefined ? ipv4Problem(v4) : ipv6Problem(v6!);
  if (address) return address;
  if (portText.length > 1 && portText.startsWith('0')) return `port ${portText} has a leading zero`;
  const port = Number(portText);
  if (port < 1 || port > 65535) return `port ${portText} is not between 1 and 65535`;
  return v4 !== undefined ? { family: 4, host: v4, port } : { family: 6, host: `[${v6}]`, port };
}

function ipv4Problem(v4: string): string | null {
  for (const octet of v4.split('.')) {
    if (octet.length > 1 && octet.startsWith('0')) {
      return `${v4} has the zero-padded part ${octet}, which some parsers read as octal: write it without leading zeros`;
    }
    if (Number(octet) > 255) return `${v4} is not an IPv4 address (${octet} is above 255)`;
  }
  return null;
}

function ipv6Problem(v6: string): string | null {
  if (v6.includes('%')) return `[${v6}] has a zone index, which NGINX cannot connect to`;
  if (!/^[0-9A-Fa-f:.]+$/.test(v6) || !isIPv6(v6)) return `[${v6}] is not an IPv6 address`;
  return null;
}

/** True when `value` is an endpoint NGINX may be given. */
export function isEndpoint(value: string): boolean {
  return endpointProblem(value) === null;
}
