// The ConfigMap keys that tune NGINX's http level (TLS, buffers, client timeouts, keepalive,
// compression): each a strict grammar, ingress-nginx's name, default and meaning. They go into the
// `_main` fragment only (templates/main.liquid), so a change of one re-renders no host.
import { checkCiphers, SSL_PROTOCOLS } from './annotation-rules.ts';
import { parseBool, parseInteger, parseSize } from './grammar.ts';
import type { SettingKey } from './settings-table.ts';
import type { GlobalSettings } from './types.ts';

/** The http-level settings `_main` renders. */
export interface HttpSettings {
  sslProtocols: string[];
  sslCiphers: string;
  proxyBufferSize: string;
  clientBodyBufferSize: string;
  clientHeaderTimeout: number;
  clientBodyTimeout: number;
  keepAlive: number;
  keepAliveRequests: number;
  largeClientHeaderBuffers: { number: number; size: string };
  serverTokens: boolean;
  useGzip: boolean;
  gzipLevel: number;
  gzipTypes: string[];
  enableBrotli: boolean;
}

/** The MIME types ingress-nginx compresses by default (gzip-types, brotli-types). */
export const DEFAULT_COMPRESSED_TYPES: readonly string[] = Object.freeze([
  'application/atom+xml', 'application/javascript', 'application/x-javascript', 'application/json', 'application/rss+xml',
  'application/vnd.ms-fontobject', 'application/x-font-ttf', 'application/x-web-app-manifest+json', 'application/xhtml+xml',
  'application/xml', 'font/opentype', 'image/svg+xml', 'image/x-icon', 'text/css', 'text/javascript', 'text/plain', 'text/x-component',
]);

/** ingress-nginx's defaults for the keys of this file. */
export const defaultHttpSettings: Readonly<HttpSettings> = Object.freeze({
  sslProtocols: ['TLSv1.2', 'TLSv1.3'],
  sslCiphers:
    'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384',
  proxyBufferSize: '4k',
  clientBodyBufferSize: '8k',
  clientHeaderTimeout: 60,
  clientBodyTimeout: 60,
  keepAlive: 75,
  keepAliveRequests: 1000,
  largeClientHeaderBuffers: { number: 4, size: '8k' },
  serverTokens: false,
  useGzip: false,
  gzipLevel: 1,
  gzipTypes: [...DEFAULT_COMPRESSED_TYPES],
  enableBrotli: false,
});

/** The http settings of `out`, created with the defaults on first use. */
const http = (out: GlobalSettings): HttpSettings => (out.http ??= { ...defaultHttpSettings });

/** A MIME type as NGINX's *_types directives take it (type/subtype, or `*`). */
const MIME_TYPE = /^(?:\*|[a-z0-9][a-z0-9_.+-]{0,63}\/(?:\*|[a-z0-9][a-z0-9_.+-]{0,126}))$/;

const seconds = (key: 'clientHeaderTimeout' | 'clientBodyTimeout' | 'keepAlive', min: number): SettingKey['rule'] => (v, out) => {
  const n = parseInteger(v, min, 86400);
  if (n === null) return `must be a whole number of seconds between ${min} and 86400`;
  http(out)[key] = n;
  return null;
};
const size = (key: 'proxyBufferSize' | 'clientBodyBufferSize'): SettingKey['rule'] => (v, out) => {
  const s = parseSize(v);
  if (s === null || s === '0' || /^0+[kmg]?$/.test(s)) return 'must be a size above 0 such as 8k or 1m (digits and an optional k, m or g)';
  if (s.endsWith('g')) return 'must be below 1g (a buffer this size per request would exhaust memory)';
  http(out)[key] = s;
  return null;
};
const flag = (key: 'serverTokens' | 'useGzip' | 'enableBrotli'): SettingKey['rule'] => (v, out) => {
  const b = parseBool(v);
  if (b === null) return 'must be "true" or "false"';
  http(out)[key] = b;
  return null;
};

/** The http-level keys of the ConfigMap. */
export const HTTP_KEYS: Readonly<Record<string, SettingKey>> = Object.freeze({
  'ssl-protocols': {
    rule: (v, out) => {
      const items = v.split(/\s+/).filter((x) => x !== '');
      if (items.length === 0) return `must list one or more of ${SSL_PROTOCOLS.join(', ')}, separated by spaces`;
      for (const item of items) {
        if (!SSL_PROTOCOLS.includes(item)) return `item ${JSON.stringify(item.slice(0, 40))} must be one of ${SSL_PROTOCOLS.join(', ')} (separated by spaces; SSLv2 and SSLv3 are not supported)`;
      }
      http(out).sslProtocols = SSL_PROTOCOLS.filter((p) => items.includes(p));
      return null;
    },
    does: 'ssl_protocols for every HTTPS server: the TLS versions clients may use (default "TLSv1.2 TLSv1.3"); others are refused in the handshake',
  },
  'ssl-ciphers': {
    rule: (v, out) => {
      const reason = checkCiphers(v);
      if (reason) return reason;
      http(out).sslCiphers = v;
      return null;
    },
    does: 'ssl_ciphers for every HTTPS server (TLSv1.2 and older; ingress-nginx\'s list by default), the server\'s order preferred',
  },
  'proxy-buffer-size': {
    rule: size('proxyBufferSize'),
    does: 'proxy_buffer_size and proxy_buffers 4 of that size for every location without the proxy-buffer-size annotation (default 4k)',
  },
  'client-body-buffer-size': {
    rule: size('clientBodyBufferSize'),
    does: 'client_body_buffer_size: request bodies up to this size stay in memory (default 8k)',
  },
  'client-header-timeout': { rule: seconds('clientHeaderTimeout', 1), does: 'client_header_timeout in seconds (default 60)' },
  'client-body-timeout': { rule: seconds('clientBodyTimeout', 1), does: 'client_body_timeout in seconds (default 60)' },
  'keep-alive': { rule: seconds('keepAlive', 0), does: 'keepalive_timeout for client connections in seconds, 0 closes them after each request (default 75)' },
  'keep-alive-requests': {
    rule: (v, out) => {
      const n = parseInteger(v, 1, 100_000_000);
      if (n === null) return 'must be a whole number of requests between 1 and 100000000';
      http(out).keepAliveRequests = n;
      return null;
    },
    does: 'keepalive_requests: requests one client connection may carry (default 1000)',
  },
  'large-client-header-buffers': {
    rule: (v, out) => {
      const m = /^(\d{1,3})\s+(\d{1,6}[kKmM]?)$/.exec(v);
      const number = m ? Number(m[1]) : 0;
      const s = m ? parseSize(m[2]!) : null;
      if (!m || number < 1 || number > 256 || s === null || /^0+[km]?$/.test(s)) return 'must be a number of buffers (1–256) and a size, such as "4 8k"';
      http(out).largeClientHeaderBuffers = { number, size: s };
      return null;
    },
    does: 'large_client_header_buffers: how many buffers of what size long request lines and headers may use (default "4 8k")',
  },
  'server-tokens': { rule: flag('serverTokens'), does: 'server_tokens: "true" names NGINX\'s version in the Server header and error pages (default "false")' },
  'use-gzip': {
    rule: flag('useGzip'),
    does: 'gzip compression of responses of gzip-types above 256 bytes for clients that accept it, with Vary: Accept-Encoding (default "false")',
  },
  'gzip-level': {
    rule: (v, out) => {
      const n = parseInteger(v, 1, 9);
      if (n === null) return 'must be a whole number between 1 and 9';
      http(out).gzipLevel = n;
      return null;
    },
    does: 'gzip_comp_level with use-gzip (default 1)',
  },
  'gzip-types': {
    rule: (v, out) => {
      const items = v.split(/\s+/).filter((x) => x !== '');
      if (items.length === 0 || items.length > 128) return 'must list 1 to 128 MIME types separated by spaces, such as "text/css application/json"';
      for (const item of items) {
        if (!MIME_TYPE.test(item)) return `item ${JSON.stringify(item.slice(0, 40))} must be a MIME type such as text/css (lowercase type/subtype), or *`;
      }
      http(out).gzipTypes = [...new Set(items)];
      return null;
    },
    does: 'the MIME types use-gzip and enable-brotli compress (ingress-nginx\'s list by default; text/html always)',
  },
  'enable-brotli': {
    rule: flag('enableBrotli'),
    does: 'brotli compression (Debian\'s brotli module) of gzip-types for clients that accept br, preferred over gzip (default "false")',
  },
});
