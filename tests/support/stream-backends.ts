// TCP and UDP backends for the stream tests: a TCP echo that names itself ("name: what you sent"),
// a UDP responder that answers each datagram the same way (a DNS-like request and response), and
import { freePort } from './backend.ts';
// what a TCP backend read of a PROXY protocol header. Clients to match: one TCP exchange, one UDP one.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { createSocket } from 'node:dgram';

export interface StreamBackend {
  name: string;
  port: number;
  address: string;
  /** The PROXY protocol v1 lines the TCP backend read (when it was started to expect them). */
  proxyHeaders: string[];
  /** TCP connections open now. */
  open: Set<Socket>;
  close(): Promise<void>;
}

/** A TCP echo on 127.0.0.1 answering "name: data" to each chunk; with `proxyProtocol`, it first reads a PROXY v1 line. */
export async function startTcpEcho(name: string, o: { proxyProtocol?: boolean; port?: number } = {}): Promise<StreamBackend> {
  const proxyHeaders: string[] = [];
  const open = new Set<Socket>();
  const server: Server = createServer((socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => {});
    let header = !o.proxyProtocol;
    let buffered = '';
    socket.on('data', (chunk) => {
      let text = chunk.toString('latin1');
      if (!header) {
        buffered += text;
        const end = buffered.indexOf('\r\n');
        if (end < 0) return;
        proxyHeaders.push(buffered.slice(0, end));
        header = true;
        text = buffered.slice(end + 2);
        if (!text) return;
      }
      socket.write(`${name}: ${text}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(o.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    name,
    port,
    address: `127.0.0.1:${port}`,
    proxyHeaders,
    open,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A UDP responder on 127.0.0.1: each datagram gets one answer, "name: data". */
export async function startUdpEcho(name: string): Promise<StreamBackend> {
  const socket = createSocket('udp4');
  socket.on('message', (msg, rinfo) => socket.send(`${name}: ${msg.toString()}`, rinfo.port, rinfo.address));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = socket.address().port;
  return { name, port, address: `127.0.0.1:${port}`, proxyHeaders: [], open: new Set(), close: () => new Promise<void>((resolve) => socket.close(() => resolve())) };
}

/** Sends `text` over a new TCP connection and returns the first answer (rejects on close or after `timeoutMs`). */
export function tcpExchange(port: number, text: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(text));
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer on TCP port ${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('data', (d) => {
      clearTimeout(timer);
      s.end();
      resolve(d.toString());
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`TCP port ${port} closed the connection without an answer`));
    });
  });
}

/** An open TCP connection: send and read its answers one at a time. */
export async function tcpSession(port: number): Promise<{ say(text: string, timeoutMs?: number): Promise<string>; socket: Socket; close(): void }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  return {
    socket,
    say: (text, timeoutMs = 3000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no answer on the open connection')), timeoutMs);
        socket.once('data', (d) => {
          clearTimeout(timer);
          resolve(d.toString());
        });
        socket.once('close', () => {
          clearTimeout(timer);
          reject(new Error('the open connection was closed'));
        });
        socket.write(text);
      }),
    close: () => socket.destroy(),
  };
}

/** Sends one datagram to 127.0.0.1:`port` and returns the first answer. */
export function udpExchange(port: number, text: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      reject(new Error(`no UDP answer from port ${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m.toString());
    });
    s.send(text, port, '127.0.0.1');
  });
}

/** A Service with one port of `protocol` and its EndpointSlice, one ready endpoint on 127.0.0.1 (local-mode manifests). */
export function streamService(name: string, protocol: 'TCP' | 'UDP', servicePort: number, endpointPort: number): string {
  return `apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec: { ports: [{ name: main, port: ${servicePort}, protocol: ${protocol} }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-0, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv4
ports: [{ name: main, port: ${endpointPort}, protocol: ${protocol} }]
endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true } }]
`;
}

/**
 * A stream port for local mode, whose agent serves declared port P on P + offset: a declared port
 * (not 80 or 443) whose served port is free.
 */
export async function streamPort(offset: number): Promise<{ declared: number; served: number }> {
  for (;;) {
    const served = await freePort();
    const declared = served - offset;
    if (declared > 0 && declared !== 80 && declared !== 443) return { declared, served };
  }
}
