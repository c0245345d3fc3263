// Backends for tests: real HTTP(S) servers on 127.0.0.1 that answer with who they are and what they got.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type tls from 'node:tls';

export interface Backend {
  name: string;
  port: number;
  /** "127.0.0.1:PORT", as an endpoint. */
  address: string;
  /** Requests received, newest last. */
  requests: { method: string; url: string; headers: http.IncomingHttpHeaders }[];
  close(): Promise<void>;
}

/** Starts a backend that answers every request with JSON {backend, method, url, headers}. */
export async function startBackend(name: string, handler?: http.RequestListener): Promise<Backend> {
  const requests: Backend['requests'] = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    if (handler) return handler(req, res);
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ backend: name, method: req.method, url: req.url, headers: req.headers }));
    });
  });
  return listening(name, server, requests);
}

/** Listens on a free port of 127.0.0.1: the Backend that `server` is. */
async function listening(name: string, server: http.Server | https.Server, requests: Backend['requests']): Promise<Backend> {
  server.keepAliveTimeout = 1000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    name,
    port,
    address: `127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A free TCP port on 127.0.0.1 (bound and released; fine for tests on one machine). */
export async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/**
 * An HTTPS backend on 127.0.0.1 with certificate `pair`, answering JSON {backend, servername (the SNI
 * it was sent, or null), client (the CN of a client certificate, or null)}. With `clientCa`, it
 * requires a client certificate that CA signed and refuses the handshake otherwise.
 */
export async function startHttpsBackend(name: string, pair: { cert: string; key: string }, clientCa?: string): Promise<Backend> {
  const requests: Backend['requests'] = [];
  const server = https.createServer({ ...pair, ...(clientCa ? { ca: clientCa, requestCert: true, rejectUnauthorized: true } : {}) }, (req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    req.resume();
    const socket = req.socket as tls.TLSSocket;
    const servername = (socket as unknown as { servername?: string | false }).servername;
    const peer = socket.getPeerCertificate();
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ backend: name, servername: servername || null, client: peer?.subject?.CN ?? null }));
  });
  return listening(name, server, requests);
}
