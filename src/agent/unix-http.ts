// HTTP over NGINX's unix sockets: the config-version socket, stub_status, and the endpoint control
// socket. Minimal on purpose: small bodies, text answers, a timeout on every call.
import type { Agent as HttpAgent } from 'node:http';
import { http } from './node-http.ts';

export interface UnixReply {
  status: number;
  body: string;
}

export interface UnixRequest {
  socketPath: string;
  path: string;
  method?: string;
  body?: string;
  timeoutMs?: number;
  /** A keep-alive agent, or false for a fresh connection (any worker may accept it). */
  agent?: HttpAgent | false;
}

/** One request over a unix socket; rejects on connection errors and timeouts. */
export function unixRequest(o: UnixRequest): Promise<UnixReply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { host: 'localhost' };
    if (o.body !== undefined) headers['content-length'] = Buffer.byteLength(o.body);
    const req = http.request(
      { socketPath: o.socketPath, path: o.path, method: o.method ?? 'GET', headers, agent: o.agent ?? false, timeout: o.timeoutMs ?? 2000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${o.method ?? 'GET'} ${o.path} on ${o.socketPath}: no answer in ${o.timeoutMs ?? 2000} ms`)));
    req.on('error', reject);
    req.end(o.body);
  });
}

/** The config version the worker that accepted a fresh connection serves, or null if none answers. */
export async function readConfigVersion(socketPath: string, timeoutMs = 1000): Promise<number | null> {
  try {
    const r = await unixRequest({ socketPath, path: '/configVersion', timeoutMs });
    if (r.status !== 200) return null;
    const v = Number(r.body.trim());
    return Number.isSafeInteger(v) ? v : null;
  } catch {
    return null;
  }
}

export interface StubStatus {
  active: number;
  accepted: number;
  handled: number;
  requests: number;
  reading: number;
  writing: number;
  waiting: number;
}

/** Parses NGINX's stub_status page. */
export function parseStubStatus(text: string): StubStatus | null {
  const m = /Active connections:\s*(\d+)\s+server accepts handled requests\s+(\d+)\s+(\d+)\s+(\d+)\s+Reading:\s*(\d+)\s+Writing:\s*(\d+)\s+Waiting:\s*(\d+)/.exec(text);
  if (!m) return null;
  const [active, accepted, handled, requests, reading, writing, waiting] = m.slice(1).map(Number) as number[];
  return { active: active!, accepted: accepted!, handled: handled!, requests: requests!, reading: reading!, writing: writing!, waiting: waiting! };
}
