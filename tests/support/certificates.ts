// Certificates for TLS tests, made with the openssl CLI (P-256 keys: quick to make), and a probe that
// opens a real TLS connection to NGINX and says which certificate it was served.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';

export interface TestCertificate {
  cert: string;
  key: string;
  /** Uppercase hex, as Node's getPeerCertificate() reports it. */
  serial: string;
}

let serials = 0x1000;

/** A self-signed certificate for `names` (the first is the CN), with a serial of its own. */
export async function makeCertificate(names: string[], o: { rsa?: boolean } = {}): Promise<TestCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-cert-'));
  const serial = (++serials + Math.floor(Math.random() * 0xffff) * 0x10000).toString(16).toUpperCase().padStart(8, '0');
  try {
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', o.rsa ? 'rsa:2048' : 'ec', ...(o.rsa ? [] : ['-pkeyopt', 'ec_paramgen_curve:prime256v1']),
      '-nodes', '-days', '2', '-subj', `/CN=${names[0]}`, '-set_serial', `0x${serial}`,
      '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ]);
    return { cert: await readFile(join(dir, 'cert.pem'), 'utf8'), key: await readFile(join(dir, 'key.pem'), 'utf8'), serial };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An open TLS connection and the serial of the certificate it was served; null serial: refused. */
export interface TlsProbe {
  serial: string | null;
  socket: TLSSocket | null;
  error: string | null;
}

/** Opens a TLS connection to 127.0.0.1:port with `servername` as SNI (null: none). Close `socket` after. */
export function tlsConnect(port: number, servername: string | null, timeoutMs = 5000): Promise<TlsProbe> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(servername ? { servername } : {}), ALPNProtocols: ['http/1.1'] });
    const timer = setTimeout(() => done({ serial: null, socket: null, error: 'timeout' }), timeoutMs);
    let settled = false;
    const done = (p: TlsProbe) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!p.socket) socket.destroy();
      resolve(p);
    };
    socket.once('secureConnect', () => done({ serial: socket.getPeerCertificate().serialNumber?.toUpperCase().replace(/^0+/, '') ?? null, socket, error: null }));
    socket.once('error', (e) => done({ serial: null, socket: null, error: e.message }));
  });
}

/** The serial a new handshake is served (null: refused); the connection is closed. */
export async function servedSerial(port: number, servername: string | null): Promise<string | null> {
  const p = await tlsConnect(port, servername);
  p.socket?.destroy();
  return p.serial;
}

/** A serial as servedSerial reports it (no leading zeros). */
export const bare = (serial: string): string => serial.replace(/^0+/, '');

/** One HTTP/1.1 request over an open TLS connection: the status code. */
export function requestOver(socket: TLSSocket, host: string, path = '/'): Promise<number> {
  return new Promise((resolve, reject) => {
    let data = '';
    const onData = (c: Buffer) => {
      data += c.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (m && data.includes('\r\n\r\n')) {
        socket.off('data', onData);
        resolve(Number(m[1]));
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  });
}
