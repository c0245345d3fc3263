// Renders the inside of a location block from the section templates it needs, in the order NGINX
// runs them: the rewrite phase first (redirects, then every `set` and `if`, then `rewrite ... break`,
// after which no `set` would run), then access, limits, headers and the proxy. Choosing sections
// here rather than with `if`s in one template keeps a plain location to a few liquid tags: liquid's
// synchronous renderer spends about 2 µs on every tag it evaluates, taken or not.
import { createHash } from 'node:crypto';
import { loadTemplate, renderTemplate } from './engine.ts';
import { filters, NginxText } from './filters.ts';
import type { BodyView, ErrorLocationView, RequestView } from './view.ts';

const sections = {
  httpsRedirect: loadTemplate('location-https-redirect.liquid'),
  answer: loadTemplate('location-return.liquid'),
  upstream: loadTemplate('location-upstream.liquid'),
  canary: loadTemplate('location-canary.liquid'),
  hash: loadTemplate('location-hash.liquid'),
  cors: loadTemplate('location-cors.liquid'),
  rewrite: loadTemplate('location-rewrite.liquid'),
  access: loadTemplate('location-access.liquid'),
  headers: loadTemplate('location-headers.liquid'),
  tuning: loadTemplate('location-tuning.liquid'),
  buffering: loadTemplate('location-buffering.liquid'),
  retries: loadTemplate('location-retries.liquid'),
  proxyRequest: loadTemplate('location-proxy-request.liquid'),
  proxy: loadTemplate('location-proxy.liquid'),
  grpcRequest: loadTemplate('location-grpc-request.liquid'),
  grpc: loadTemplate('location-grpc.liquid'),
  defaultBackend: loadTemplate('location-default-backend.liquid'),
  customErrors: loadTemplate('location-custom-errors.liquid'),
  clientAuth: loadTemplate('location-client-auth.liquid'),
  clientCertHeaders: loadTemplate('location-client-cert-headers.liquid'),
  proxySsl: loadTemplate('location-proxy-ssl.liquid'),
  grpcSsl: loadTemplate('location-grpc-ssl.liquid'),
  snippet: loadTemplate('location-snippet.liquid'),
  routeDispatch: loadTemplate('location-route-dispatch.liquid'),
  routeUpstream: loadTemplate('location-route-upstream.liquid'),
  routeRequest: loadTemplate('location-route-request.liquid'),
  routeResponse: loadTemplate('location-route-response.liquid'),
  routeRedirect: loadTemplate('location-route-redirect.liquid'),
  routeMirror: loadTemplate('location-route-mirror.liquid'),
};
/**
 * The line that gives a location its request metrics' labels (LocationView.metrics), read by the log
 * phase (templates/lua/wharf/request_metrics.lua); written before the body, so that a redirect or
 * `return` is counted too. Built here rather than in a template: liquid spends about 18 µs on a
 * one-line template, for every location of every render; the value still passes its filter.
 */
export function renderMetricsLine(metrics: string): string {
  return `        set $wharf_metrics ${filters.nginx_base64!(metrics).text};\n`;
}
const mirrorTargetTemplate = loadTemplate('location-mirror-target.liquid');

/** The body of a RequestMirror target: an internal location proxying the copy to its upstream. */
export function renderMirrorTarget(m: { uri: string; upstream: string; sample: string | null }): NginxText {
  return new NginxText(renderTemplate(mirrorTargetTemplate, { m }));
}
// A location that cannot reach its backend as asked (proxy-ssl-verify without a CA): 502, as NGINX
// answers when an upstream's certificate fails verification.
const PROXY_SSL_REFUSED = '        return 502;\n';
// A location with its own TLS settings towards the backend never shares a kept-alive connection
// (the skeleton's $wharf_backend then names an upstream without keepalive); a `set`, so it comes
// before any `rewrite ... break`.
const PROXY_SSL_ISOLATED = '        set $wharf_tls_isolated 1;\n';
const errorPageTemplate = loadTemplate('location-error-page.liquid');

/** The body of a custom-http-errors named location (server level, one per location and code). */
export function renderErrorLocationBody(e: ErrorLocationView): NginxText {
  return new NginxText(renderTemplate(errorPageTemplate, { e }));
}

// The request lines of a location that changes nothing about the request (b.request null): the
// same text for every such location, rendered once.
const unchanged: RequestView = { http10: false, vhost: null, forwardedPrefix: null };
const plainRequest = {
  proxy: renderTemplate(sections.proxyRequest, { b: { request: unchanged } }),
  grpc: renderTemplate(sections.grpcRequest, { b: { request: unchanged } }),
};

/**
 * Rendered location bodies by content, owned by the caller and passed to the render functions across
 * calls (the handler tier keeps one): a host re-rendered after one Ingress changed then renders only
 * that Ingress's locations again. The key is a hash of the whole BodyView, and a body's text is a
 * function of its BodyView alone, so the output is byte-identical with or without a cache.
 */
export class BodyCache {
  readonly maxEntries: number;
  private readonly texts = new Map<string, NginxText>();
  constructor(maxEntries = 100_000) {
    this.maxEntries = maxEntries;
  }
  get size(): number {
    return this.texts.size;
  }
  /** The text of `b`, rendered now unless an equal body was rendered before. */
  body(b: BodyView): NginxText {
    const key = createHash('sha1').update(JSON.stringify(b)).digest('base64');
    const hit = this.texts.get(key);
    if (hit) {
      // Most recently used last, so eviction drops the least recently used.
      this.texts.delete(key);
      this.texts.set(key, hit);
      return hit;
    }
    const text = renderLocationBody(b);
    this.texts.set(key, text);
    if (this.texts.size > this.maxEntries) this.texts.delete(this.texts.keys().next().value!);
    return text;
  }
}

/** The body of a location block (without its `location … {` line), checked by the filters throughout. */
export function renderLocationBody(b: BodyView): NginxText {
  const scope = { b };
  let text = '';
  const add = (section: keyof typeof sections) => {
    text += renderTemplate(sections[section], scope);
  };
  const route = b.route;
  if (route) {
    // A hand-off to the route the conditions choose, or a fixed answer: nothing else runs here.
    if (route.dispatch !== null) {
      add('routeDispatch');
      return new NginxText(text);
    }
    if (route.fail !== null) return new NginxText(route.fail === 404 ? '        return 404;\n' : '        return 500;\n');
  }
  if (b.httpsRedirect) add('httpsRedirect');
  // Client certificates are checked before any answer, as NGINX's ssl_verify_client would.
  if (b.clientAuth) add('clientAuth');
  // Refused TLS to the backend answers before anything else could reach it.
  if (b.proxySsl) text += b.proxySsl.refused ? PROXY_SSL_REFUSED : PROXY_SSL_ISOLATED;
  if (b.escapedUri || b.appRoot !== null || b.redirect !== null || b.noBackend) add('answer');
  if (route?.redirect) add('routeRedirect');
  else if (b.redirect === null && !b.noBackend) {
    add(route?.weighted ? 'routeUpstream' : 'upstream');
    if (b.defaultBackend) add('defaultBackend');
    if (b.canary) add('canary');
    if (b.affinity || b.hashBy !== null) add('hash');
    if (b.cors) add('cors');
    if (b.rewrite) add('rewrite');
    if (b.deny.length > 0 || b.allow.length > 0 || b.basicAuth || b.externalAuth || b.limitReqs.length > 0 || b.limitConn || b.bodySize !== null) add('access');
    if (route?.responseHeaders) add('routeResponse');
    else if (b.cors || b.affinity || b.hsts) add('headers');
    const t = b.tuning;
    if (t) {
      if (t.connectTimeout !== null || t.readTimeout !== null || t.sendTimeout !== null || t.bufferSize !== null) add('tuning');
      if (t.bodyBufferSize !== null || t.buffering !== null || t.requestBuffering !== null) add('buffering');
      if (t.nextUpstream !== null || t.nextUpstreamTries !== null || t.nextUpstreamTimeout !== null) add('retries');
    }
    if (b.defaultBackend && b.defaultBackend.pages.length > 0) add('customErrors');
    if (b.clientAuth && !b.clientAuth.refused) add('clientCertHeaders');
    if (b.proxySsl && !b.proxySsl.refused) add(b.grpc ? 'grpcSsl' : 'proxySsl');
    if (b.snippet) add('snippet');
    if (b.request) add(b.grpc ? 'grpcRequest' : 'proxyRequest');
    else text += b.grpc ? plainRequest.grpc : plainRequest.proxy;
    if (route && route.requestHeaders.length > 0) add('routeRequest');
    if (route && route.mirrors.length > 0) add('routeMirror');
    add(b.grpc ? 'grpc' : 'proxy');
  }
  return new NginxText(text);
}
