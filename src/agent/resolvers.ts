// The DNS servers NGINX asks when it resolves a name at request time: `proxy_pass` to a variable
// (external auth, `proxy_pass $wharf_auth_url;`) needs a `resolver`, which NGINX does not take from
// /etc/resolv.conf. As ingress-nginx does, the agent gives the skeleton its own nameservers (in a
// pod: the cluster DNS), or those of --resolver. NGINX's resolver does not read /etc/hosts and does
// not apply resolv.conf's search domains: names must be complete (auth.ns.svc.cluster.local).
import { readFile } from 'node:fs/promises';
import { isIPv4, isIPv6 } from 'node:net';
import type { Logger } from '../log.ts';

/** An address as NGINX's `resolver` takes it (IPv4 or [IPv6], optional port); null when it is not one. */
export function resolverAddress(value: string): string | null {
  let m = /^([0-9.]{7,15})(?::(\d{1,5}))?$/.exec(value);
  let host: string | undefined;
  let port: string | undefined;
  if (m && isIPv4(m[1]!)) [host, port] = [m[1]!, m[2]];
  else if ((m = /^\[([0-9a-fA-F:.]{2,45})\](?::(\d{1,5}))?$/.exec(value)) && isIPv6(m[1]!)) [host, port] = [`[${m[1]!}]`, m[2]];
  else if (/^[0-9a-fA-F:.]{2,45}$/.test(value) && isIPv6(value)) host = `[${value}]`;
  if (!host || (port !== undefined && (Number(port) < 1 || Number(port) > 65535))) return null;
  return port === undefined ? host : `${host}:${port}`;
}

/**
 * The nameservers of a resolv.conf, as `resolver` addresses; entries NGINX cannot use (a link-local
 * IPv6 address with a zone, anything malformed) are returned apart, to be reported.
 */
export function parseResolvConf(text: string): { resolvers: string[]; skipped: string[] } {
  const resolvers: string[] = [];
  const skipped: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const m = /^nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    const address = resolverAddress(m[1]!);
    if (address && !resolvers.includes(address)) resolvers.push(address);
    else if (!address) skipped.push(m[1]!);
  }
  return { resolvers, skipped };
}

/** The nameservers of `path` (the system's resolv.conf), saying in the log what NGINX gets. */
export async function systemResolvers(log: Logger, path = '/etc/resolv.conf'): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    log.warn(`no DNS resolver for NGINX: cannot read ${path}; external auth to a host name will fail (see --resolver)`, { error: e });
    return [];
  }
  const { resolvers, skipped } = parseResolvConf(text);
  if (skipped.length) log.warn('nameservers NGINX cannot use were left out', { path, skipped });
  if (resolvers.length === 0) log.warn(`no DNS resolver for NGINX: ${path} names no nameserver; external auth to a host name will fail (see --resolver)`);
  else log.info('DNS resolver for NGINX', { resolvers, from: path });
  return resolvers;
}
