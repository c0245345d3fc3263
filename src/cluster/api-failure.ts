// API errors turned into one readable line (client-node's own message dumps every header), without
// loading @kubernetes/client-node: local mode and the model's callers read errors too, and that
// package is 868 modules that only code talking to a cluster needs (it loads them itself).

/** An API error as wharf reasons about it: the HTTP code, Kubernetes' reason, and its message. */
export interface ApiFailure {
  code: number;
  reason: string;
  message: string;
}

/**
 * client-node's ApiException, recognised by its shape (a numeric HTTP `code`, a `body` and the
 * `headers`) rather than its class, so that reading an error does not load the client.
 */
function isApiException(e: unknown): e is Error & { code: number; body: unknown } {
  return e instanceof Error && typeof (e as { code?: unknown }).code === 'number' && 'body' in e && 'headers' in e;
}

/** Reads an error from client-node (ApiException, a watch's failed request) or the network; null code 0. */
export function apiFailure(e: unknown): ApiFailure {
  if (isApiException(e)) {
    let body: unknown = e.body;
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body);
      } catch {
        // a non-JSON body (a proxy's error page): keep the text
      }
    }
    const status = typeof body === 'object' && body !== null ? (body as { reason?: string; message?: string }) : {};
    return { code: e.code, reason: status.reason ?? '', message: status.message ?? (typeof body === 'string' ? body.slice(0, 300) : `HTTP ${e.code}`) };
  }
  const err = e as { statusCode?: number; message?: string; cause?: { message?: string; code?: string } };
  if (typeof err?.statusCode === 'number') return { code: err.statusCode, reason: '', message: err.message ?? `HTTP ${err.statusCode}` };
  const cause = err?.cause?.code ?? err?.cause?.message;
  return { code: 0, reason: '', message: `${err?.message ?? String(e)}${cause ? ` (${cause})` : ''}` };
}

/** `HTTP 403 Forbidden: secrets is forbidden: …` or the network error, for logs and wrapped errors. */
export function describeApiError(e: unknown): string {
  const f = apiFailure(e);
  return f.code ? `HTTP ${f.code}${f.reason ? ` ${f.reason}` : ''}: ${f.message}` : f.message;
}
