// The addresses NGINX listens on for HTTP and HTTPS: the ones the flags name, plus, where the host
// has IPv6, the IPv6 twin of each IPv4 wildcard or loopback address (`80` and `0.0.0.0:80` →
// `[::]:80`, `127.0.0.1:8080` → `[::1]:8080`), so that clients of a dual-stack or IPv6-only
// network, and `localhost` resolved to ::1, reach the same servers. NGINX's IPv6 sockets are
// ipv6only by default, so a twin never collides with its IPv4 address. `--ipv6-listen off` keeps
// the flags' addresses only.
import { createServer } from 'node:net';
import type { Logger } from '../log.ts';

/** What the host can bind: the IPv6 wildcard `::` and the IPv6 loopback `::1`. */
export interface IPv6Support {
  wildcard: boolean;
  loopback: boolean;
}

const PORT_ONLY = /^\d{1,5}$/;
const IPV4_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/;

/** The IPv6 address that serves the same clients as the IPv4 listen address `a`, or null. */
export function ipv6Twin(a: string, support: IPv6Support): string | null {
  if (PORT_ONLY.test(a)) return support.wildcard ? `[::]:${a}` : null;
  const m = IPV4_PORT.exec(a);
  if (!m) return null;
  if (m[1] === '0.0.0.0') return support.wildcard ? `[::]:${m[2]}` : null;
  if (m[1] === '127.0.0.1') return support.loopback ? `[::1]:${m[2]}` : null;
  return null;
}

/** `addresses` with the IPv6 twin of each (after it), unless the list already has that address. */
export function withIPv6Twins(addresses: string[], support: IPv6Support): string[] {
  const out = [...addresses];
  const have = new Set(addresses);
  for (const a of addresses) {
    const twin = ipv6Twin(a, support);
    if (twin && !have.has(twin)) {
      have.add(twin);
      out.splice(out.indexOf(a) + 1, 0, twin);
    }
  }
  return out;
}

async function canBind(host: string): Promise<boolean> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port: 0, ipv6Only: true }, resolve);
    });
    return true;
  } catch {
    return false;
  } finally {
    server.close();
  }
}

/** Whether this host can listen on IPv6 (a container or kernel with IPv6 disabled cannot). */
export async function probeIPv6(): Promise<IPv6Support> {
  const [wildcard, loopback] = await Promise.all([canBind('::'), canBind('::1')]);
  return { wildcard, loopback };
}

/**
 * The HTTP and HTTPS listen addresses NGINX gets: the given ones, with their IPv6 twins when
 * `ipv6` is `auto` and the host can bind them. Logs what it added, or why it added nothing.
 */
export async function listenAddresses(
  o: { httpListen: string[]; httpsListen: string[]; ipv6: 'auto' | 'off' },
  log: Logger,
  probe: () => Promise<IPv6Support> = probeIPv6,
): Promise<{ httpListen: string[]; httpsListen: string[] }> {
  if (o.ipv6 === 'off') return { httpListen: o.httpListen, httpsListen: o.httpsListen };
  const support = await probe();
  const httpListen = withIPv6Twins(o.httpListen, support);
  const httpsListen = withIPv6Twins(o.httpsListen, support);
  const added = [...httpListen.filter((a) => !o.httpListen.includes(a)), ...httpsListen.filter((a) => !o.httpsListen.includes(a))];
  if (added.length > 0) log.info('NGINX listens on IPv6 too (--ipv6-listen off: only the addresses given)', { added });
  else if (!support.wildcard && !support.loopback) log.info('NGINX listens on IPv4 only: this host cannot bind IPv6 addresses');
  return { httpListen, httpsListen };
}
