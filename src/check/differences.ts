// The annotations wharf reads, but not exactly as ingress-nginx does: the one hand-written table of
// the migration report (everything else in it comes from the model's own tables and problems). A
// test checks that every name here is one wharf reads, so the table cannot name a stale annotation.

/** Annotation name (without the prefix) → what differs from ingress-nginx. */
export const READ_DIFFERENTLY: Readonly<Record<string, string>> = {
  'limit-rps': 'over the limit answers 429 (ingress-nginx: 503 by default, limit-req-status-code)',
  'limit-rpm': 'over the limit answers 429 (ingress-nginx: 503 by default, limit-req-status-code)',
  'server-alias': 'host names and one-label "*." wildcards only (no NGINX regular expressions, no trailing wildcards); a name another Ingress has as a host is ignored with a warning',
  'from-to-www-redirect': '308 to the same scheme, port, path and query as sent (ingress-nginx drops a trailing "/" and appends its HTTPS port)',
  'custom-http-errors': 'needs default-backend on the same Ingress (ingress-nginx falls back to its controller-wide default backend)',
  'auth-tls-secret': "checked per location: only this Ingress's locations refuse a client (ingress-nginx: every location of the host); plain HTTP to them gets 400",
  'auth-tls-verify-client': "checked per location: only this Ingress's locations refuse a client (ingress-nginx: every location of the host)",
  'proxy-ssl-secret': 'a missing or unusable Secret answers 502 until fixed (ingress-nginx drops the settings); no keepalive to these backends',
  'session-cookie-expires': 'written as Max-Age (the same lifetime) rather than an Expires date; session-cookie-max-age wins when both are set',
  'auth-cache-key': 'must name a variable that tells clients apart ($http_*, $cookie_*, $arg_*, $remote_user, $remote_addr); answers are kept per location',
  'proxy-ssl-verify': 'a backend certificate is never left unverified: without a usable ca.crt the location answers 502 (ingress-nginx drops the settings)',
};

/** ConfigMap key → what differs from ingress-nginx (the guide's and the report's "read differently"). */
export const KEYS_READ_DIFFERENTLY: Readonly<Record<string, string>> = {
  'allow-snippet-annotations': 'unset or "true": snippets are accepted when every directive is on the allowlist (ingress-nginx: refused by default, pasted verbatim when "true"); "false" refuses every snippet',
};
