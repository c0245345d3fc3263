// A small HTTP(S) client for tests: sets Host and SNI freely, never follows redirects, and returns
// status, headers and body as text.
import http from 'node:http';
import https from 'node:https';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  port: number;
  path?: string;
  host?: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** TLS with this SNI name (defaults to `host`); certificates are not verified. */
  tls?: boolean;
  socketPath?: string;
  timeoutMs?: number;
}

export function request(o: RequestOptions): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const lib = o.tls ? https : http;
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (o.host) headers.host = o.host;
    const req = lib.request(
      {
        host: '127.0.0.1',
        port: o.port,
        socketPath: o.socketPath,
        path: o.path ?? '/',
        method: o.method ?? 'GET',
        headers,
        agent: false,
        ...(o.tls ? { servername: o.host && !/^[\d.]+$/.test(o.host) ? o.host : undefined, rejectUnauthorized: false } : {}),
        timeout: o.timeoutMs ?? 5000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request to ${o.host ?? ''}${o.path ?? '/'} timed out`)));
    req.on('error', reject);
    req.end(o.body);
  });
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes; returns the last value. */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 5000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T;
  let lastError: unknown;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      if (lastError && !last!) throw lastError;
      return last!;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
