// A gRPC backend and a gRPC client over HTTP/2 for the GRPCRoute tests (grpc-mirror.test.ts,
// grpc-h2c.test.ts): real sockets, Node's http2.
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';

export interface H2Backend {
  name: string;
  address: string;
  close(): Promise<void>;
}

/** A gRPC-speaking backend over HTTP/2 cleartext: answers who it is, the path and a header, with grpc-status 0. */
export async function startGrpcBackend(name: string): Promise<H2Backend> {
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    stream.on('data', () => {});
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'x-backend': name, 'x-path': String(headers[':path']), 'x-tenant': String(headers['x-tenant'] ?? '') }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.from([0, 0, 0, 0, 0]));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { name, address: `127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((r) => server.close(() => r())) };
}

/**
 * One unary gRPC call over HTTP/2, with TLS (SNI grpc.example.com) or, with `h2c`, in cleartext with
 * prior knowledge: the answer's status, backend and grpc-status.
 */
export function call(port: number, path: string, headers: Record<string, string> = {}, o: { h2c?: boolean; authority?: string } = {}): Promise<{ status: number; backend: string; path: string; tenant: string; grpcStatus: string }> {
  return new Promise((resolve, reject) => {
    const client = o.h2c ? http2.connect(`http://127.0.0.1:${port}`) : http2.connect(`https://127.0.0.1:${port}`, { servername: 'grpc.example.com', rejectUnauthorized: false });
    client.on('error', reject);
    const req = client.request({ ':method': 'POST', ':path': path, ':authority': o.authority ?? 'grpc.example.com', 'content-type': 'application/grpc', te: 'trailers', ...headers });
    let response: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    req.on('response', (h) => (response = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', () => {});
    req.on('end', () => {
      client.close();
      resolve({ status: Number(response[':status']), backend: String(response['x-backend'] ?? ''), path: String(response['x-path'] ?? ''), tenant: String(response['x-tenant'] ?? ''), grpcStatus: String(trailers['grpc-status'] ?? response['grpc-status'] ?? '') });
    });
    req.on('error', reject);
    req.end(Buffer.from([0, 0, 0, 0, 0]));
  });
}
