// The backends of the cafe example: small HTTP servers on 127.0.0.1 that say who they are and what
// they were asked, so a person can see where each request went.
import http from 'node:http';

export interface EchoServer {
  name: string;
  port: number;
  close(): Promise<void>;
}

/** Answers `<name>: <METHOD> <path> (host <Host>)` in plain text. */
export async function startEchoServer(name: string, port: number, host = '127.0.0.1'): Promise<EchoServer> {
  const server = http.createServer((req, res) => {
    req.resume();
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.end(`${name}: ${req.method} ${req.url} (host ${req.headers.host ?? '-'})\n`);
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(`echo server ${name} cannot listen on ${host}:${port}: ${e.code === 'EADDRINUSE' ? 'the port is in use' : e.message}`, { cause: e })),
    );
    server.listen(port, host, resolve);
  });
  return {
    name,
    port,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** The cafe example's endpoints (examples/cafe/endpoints.yaml). */
export const cafeBackends: { name: string; port: number }[] = [
  { name: 'tea-1', port: 9101 },
  { name: 'tea-2', port: 9102 },
  { name: 'coffee-1', port: 9103 },
  { name: 'coffee-2', port: 9104 },
];
