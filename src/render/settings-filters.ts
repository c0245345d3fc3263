// The filters of the ConfigMap's settings that reach NGINX text (templates/main.liquid and the
// agent's nginx.conf): MIME type lists and the access log format. Like every filter (filters.ts),
// each checks its value for the exact place it lands in and throws UnsafeValueError otherwise.
import { isNormalizedLogFormat } from '../model/log-format.ts';
import { NginxText, UnsafeValueError } from './filters.ts';

type Filter = (value: unknown, ...args: unknown[]) => NginxText;

/** The same grammar as settings-http.ts: lowercase type/subtype, or `*`; never `$`, `#`, `;` or quotes. */
const MIME_TYPE = /^(?:\*|[a-z0-9][a-z0-9_.+-]{0,63}\/(?:\*|[a-z0-9][a-z0-9_.+-]{0,126}))$/;

export const settingsFilters: Record<string, Filter> = {
  // The Strict-Transport-Security value, quoted: numbers and fixed words only.
  nginx_hsts: (value) => {
    const h = value as { maxAge?: unknown; includeSubdomains?: unknown; preload?: unknown } | null;
    if (!h || !Number.isSafeInteger(h.maxAge) || (h.maxAge as number) < 0 || typeof h.includeSubdomains !== 'boolean' || typeof h.preload !== 'boolean') {
      throw new UnsafeValueError('nginx_hsts', value, 'not an HSTS header (max-age, includeSubDomains, preload)');
    }
    return new NginxText(`"max-age=${h.maxAge}${h.includeSubdomains ? '; includeSubDomains' : ''}${h.preload ? '; preload' : ''}"`);
  },
  // gzip_types / brotli_types: a list of MIME types, separated by spaces.
  nginx_mime_types: (value) => {
    if (!Array.isArray(value) || value.length === 0) throw new UnsafeValueError('nginx_mime_types', value, 'not a list of MIME types');
    for (const t of value) {
      if (typeof t !== 'string' || !MIME_TYPE.test(t)) throw new UnsafeValueError('nginx_mime_types', t, 'not a MIME type (type/subtype of [a-z0-9_.+-], or *)');
    }
    return new NginxText(value.join(' '));
  },
  // log_format's format: single-quoted, and only what log-format.ts produces (literal text without
  // quotes or backslashes, `${variable}` from its allowlist), so nothing can close the string.
  nginx_log_format: (value) => {
    if (typeof value !== 'string' || !isNormalizedLogFormat(value)) throw new UnsafeValueError('nginx_log_format', value, 'not a log format wharf\'s grammar produced');
    return new NginxText(`'${value}'`);
  },
};
