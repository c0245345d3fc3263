// The render API: routing model → the fragments the agent includes (docs/architecture.md "How NGINX is laid out").
// Pure and synchronous; the same model always gives the same bytes, so an unchanged host never
// causes a reload. Templates are parsed once, when this module loads.
import type { FragmentPut } from '../protocol/agent-api.ts';
import type { GlobalSettings, Location, ObjectRef, RoutingModel, Server, Tls } from '../model/types.ts';
import { splitHostKey } from '../model/listener-hosts.ts';
import { DEFAULT_HOST } from '../model/translate-ingress.ts';
import { loadTemplate, renderTemplate } from './engine.ts';
import { defaultHttpSettings } from '../model/settings-http.ts';
import { AGENT_SETTINGS_FILE } from '../model/settings-agent.ts';
import { NginxText, UnsafeValueError } from './filters.ts';
import { renderClientAddress } from './client-address.ts';
import { BodyCache, renderErrorLocationBody, renderLocationBody, renderMetricsLine, renderMirrorTarget } from './location.ts';
import { DEFAULT_FRAGMENT, MAIN_FRAGMENT, fragmentName } from './names.ts';
import { serverCertificates, type Certificate } from './certificates.ts';
import { passthroughFiles } from './passthrough.ts';
import { serverView, type BodyView, type LocationView, type ServerView, type WwwRedirectView } from './view.ts';

export { fragmentName, certificateName, MAIN_FRAGMENT, DEFAULT_FRAGMENT } from './names.ts';
export { serverCertificates, type Certificate } from './certificates.ts';
export { UnsafeValueError } from './filters.ts';
export { BodyCache } from './location.ts';

/** One fragment as the agent takes it (FragmentPut without the revision, which the sender assigns). */
export type Fragment = Omit<FragmentPut, 'revision'> & { name: string };

/** A fragment that could not be rendered: a value a filter refused. The previous version should stay. */
export interface RenderFailure {
  name: string;
  host: string | null;
  error: UnsafeValueError;
}

export interface RenderedModel {
  /** `_main`, `_default`, then one per host in the model's host order. */
  fragments: Fragment[];
  failures: RenderFailure[];
  /** The certificates the TLS hosts need in the agent's store, by name (src/render/certificates.ts). */
  certificates: Certificate[];
}

const hostTemplate = loadTemplate('host.liquid');
const defaultTemplate = loadTemplate('default-server.liquid');
const mainTemplate = loadTemplate('main.liquid');
const wwwRedirectTemplate = loadTemplate('www-redirect.liquid');
const tlsTemplate = loadTemplate('server-tls.liquid');
const clientAuthTemplate = loadTemplate('server-client-auth.liquid');
const routeMapsTemplate = loadTemplate('route-maps.liquid');

/** The http-level maps and split_clients of a server's routes, after its server block ('' for most). */
function routeMaps(view: ServerView): string {
  const m = view.routeMaps;
  if (m.conditions.length + m.selections.length + m.appends.length + m.splits.length + m.mirrorSamples.length === 0) return '';
  return renderTemplate(routeMapsTemplate, view);
}
const NO_TLS = new NginxText('');

/** The TLS lines of a host's server block, client-certificate verification included when asked for. */
function tlsLines(view: ServerView): NginxText {
  if (!view.tls) return NO_TLS;
  let text = renderTemplate(tlsTemplate, view);
  if (view.clientAuth) text += renderTemplate(clientAuthTemplate, view);
  return new NginxText(text);
}
/**
 * The server view with each location's body rendered once (a Prefix path is two `location` blocks
 * with the same body), as NginxText that the server template writes through `nginx_block`.
 */
function withBodies(view: ServerView, cache: BodyCache | undefined): object {
  const texts = new Map<BodyView, NginxText>();
  const locations: { modifier: LocationView['modifier'] | 'named'; path: string; source: string; text: NginxText }[] = view.locations.map((l) => {
    let text = texts.get(l.body);
    if (!text) {
      text = withMetrics(l.metrics, cache ? cache.body(l.body) : renderLocationBody(l.body));
      texts.set(l.body, text);
    }
    return { modifier: l.modifier, path: l.path, source: l.body.source, text };
  });
  // custom-http-errors' named locations follow the rules' locations (a server without them adds nothing).
  for (const e of view.errorLocations) locations.push({ modifier: 'named', path: e.name, source: `${e.namespace}/${e.ingress}`, text: renderErrorLocationBody(e) });
  // RequestMirror's internal targets, then routes' named locations (the targets of a shared path's selection map).
  for (const m of view.mirrorLocations) locations.push({ modifier: 'exact', path: m.uri, source: 'mirror', text: renderMirrorTarget(m) });
  for (const n of view.namedLocations) locations.push({ modifier: 'named', path: n.name, source: n.body.source, text: withMetrics(n.metrics, cache ? cache.body(n.body) : renderLocationBody(n.body)) });
  return { ...view, locations };
}

/** A location's body after the line that gives it its request metrics' labels. */
function withMetrics(metrics: string | null, body: NginxText): NginxText {
  return metrics === null ? body : new NginxText(renderMetricsLine(metrics) + body.text);
}

/**
 * A host's fragment: its server block (TLS by SNI when it has a certificate; server-alias names in its
 * server_name) and its files, then the small server that redirects its www twin (from-to-www-redirect),
 * which shares the host's certificate files when they cover the twin. Pass the same BodyCache to every
 * call to re-render only what changed.
 */
export function renderHost(server: Server, global: GlobalSettings, cache?: BodyCache): Fragment {
  const name = fragmentName(server.host);
  const { host, port, h2c } = splitHostKey(server.host);
  // A TLSRoute's host alone: its SNI is routed by the stream side, no HTTP server for it.
  if (server.passthrough && server.locations.length === 0) {
    return { name, config: '# wharf: TLS passthrough only: the stream side reads this fragment\'s files\n', files: sortedFiles(passthroughFiles(host, server.passthrough.backend.upstream, server.deepWildcard === true)) };
  }
  const { view, files } = serverView(name, host, server.locations, {
    port,
    h2c,
    everyName: host === DEFAULT_HOST,
    tls: server.tls,
    sslRedirect: server.sslRedirect,
    sources: server.sources,
    global,
    aliases: server.aliases,
    clientAuth: server.clientAuth,
    snippet: server.snippet,
    deepWildcard: server.deepWildcard,
  });
  let config = renderTemplate(hostTemplate, { ...withBodies(view, cache), tlsLines: tlsLines(view) }) + routeMaps(view);
  // Chosen here, not by a tag in host.liquid: a host without the annotation evaluates nothing for it.
  if (server.wwwRedirect) {
    const www = server.wwwRedirect;
    const redirect: WwwRedirectView = { from: www.from, to: server.host, tls: www.tls ? view.tls : null };
    config += renderTemplate(wwwRedirectTemplate, redirect);
  }
  // ssl-passthrough: the stream side's files (passthrough.ts); the server above serves plain HTTP.
  const all = server.passthrough ? { ...files, ...passthroughFiles(host, server.passthrough.backend.upstream, server.deepWildcard === true) } : files;
  return { name, config, files: sortedFiles(all) };
}

/**
 * The default server: rules without a host, spec.defaultBackend, and 404 for everything else; over
 * TLS, the default certificate when there is one, else handshakes are refused.
 */
export function renderDefaultServer(
  defaultServer: { locations: Location[]; sources: ObjectRef[]; tls?: Tls | null },
  global: GlobalSettings,
  cache?: BodyCache,
): Fragment {
  const { view, files } = serverView(DEFAULT_FRAGMENT, null, defaultServer.locations, {
    // The default certificate (--default-ssl-certificate, else an HTTPS Gateway listener on 443
    // without a hostname): files of this fragment; unknown names get it, not a refused handshake.
    tls: defaultServer.tls ?? null,
    sslRedirect: false,
    sources: defaultServer.sources,
    global,
  });
  return { name: DEFAULT_FRAGMENT, config: renderTemplate(defaultTemplate, { ...withBodies(view, cache), proxyProtocol: global.useProxyProtocol }) + routeMaps(view), files: sortedFiles(files) };
}

/**
 * The http-level settings of the global ConfigMap, and (file agent.json) the ones the agent puts in
 * its own nginx.conf (settings-agent.ts).
 */
export function renderMain(global: GlobalSettings): Fragment {
  const h = global.http ?? defaultHttpSettings;
  const config = renderTemplate(mainTemplate, { ...global, h, brotli: h.enableBrotli }) + renderClientAddress(global);
  const agent = global.agent ?? {};
  const files: Fragment['files'] = {};
  if (Object.keys(agent).length) files[AGENT_SETTINGS_FILE] = { content: `${JSON.stringify(agent)}\n`, secret: false };
  return { name: MAIN_FRAGMENT, config, files };
}

/**
 * Every fragment of a model. A fragment whose values a filter refuses (the model should have
 * refused them first) is reported in `failures` and left out, so one bad host never blocks the rest.
 */
export function renderModel(model: RoutingModel, cache?: BodyCache): RenderedModel {
  const fragments: Fragment[] = [];
  const failures: RenderFailure[] = [];
  const attempt = (name: string, host: string | null, render: () => Fragment) => {
    try {
      fragments.push(render());
    } catch (e) {
      if (!(e instanceof UnsafeValueError)) throw new Error(`rendering fragment ${name}: ${(e as Error).message}`, { cause: e });
      failures.push({ name, host, error: e });
    }
  };
  attempt(MAIN_FRAGMENT, null, () => renderMain(model.global));
  attempt(DEFAULT_FRAGMENT, null, () => renderDefaultServer(model.defaultServer, model.global, cache));
  for (const server of model.servers) attempt(fragmentName(server.host), server.host, () => renderHost(server, model.global, cache));
  // Servers of a Gateway listener on a port of its own carry their certificate as files.
  const certificates = model.servers.filter((s) => splitHostKey(s.host).port == null).flatMap(serverCertificates).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { fragments, failures, certificates };
}

function sortedFiles(files: Fragment['files']): Fragment['files'] {
  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
