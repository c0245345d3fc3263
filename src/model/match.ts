// The model's routing semantics as executable code: which location of a model serves a request.
// This is the specification the rendered NGINX config must agree with (tests compare the two);
// wharf never routes requests with it.
import type { Location, RoutingModel, Server } from './types.ts';

/** True when a location's path matches a request path (no query), by its match type. */
export function pathMatches(location: Pick<Location, 'path' | 'match'>, requestPath: string): boolean {
  const p = location.path;
  switch (location.match) {
    case 'Exact':
      return requestPath === p;
    case 'Prefix':
      return p === '/' || requestPath === p || requestPath.startsWith(`${p}/`);
    case 'Regex':
      return new RegExp(`^${p}`, 'i').test(requestPath);
  }
}

/**
 * The server for a Host header: exact name (a host or a server-alias name), else a wildcard one label
 * up, else null (default server). A www twin that redirects (from-to-www-redirect) has no server here.
 */
export function serverFor(model: RoutingModel, hostHeader: string): Server | null {
  const host = hostHeader.replace(/:\d+$/, '').replace(/\.$/, '').toLowerCase();
  const named = (name: string) => model.servers.find((s) => s.host === name) ?? model.servers.find((s) => s.aliases?.includes(name));
  const exact = named(host);
  if (exact) return exact;
  const dot = host.indexOf('.');
  if (dot <= 0) return null;
  return named(`*${host.slice(dot)}`) ?? null;
}

/**
 * The location that serves a request, or null (404 from that server, or from the default server
 * when no server has the host). Locations are in precedence order, so the first match wins.
 */
export function routeRequest(model: RoutingModel, hostHeader: string, requestPath: string): Location | null {
  const server = serverFor(model, hostHeader);
  const locations = server ? server.locations : model.defaultServer.locations;
  return locations.find((l) => pathMatches(l, requestPath)) ?? null;
}
