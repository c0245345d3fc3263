// A certificate authority made with openssl for OCSP stapling tests, with a real OCSP responder: an
// HTTP server that answers each POSTed request with `openssl ocsp -index … -reqin … -respout …`,
// signed by the CA, from an index file the test edits (valid or revoked serials). It can hang
// (accept and never answer) to stand for a responder that is down. A stapled response is checked
// with `openssl ocsp -respin`, independently of the agent's own DER code.
import { execFile } from 'node:child_process';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface IssuedCertificate {
  /** The leaf, then the CA: what the agent stores. */
  cert: string;
  key: string;
  leaf: string;
  /** Uppercase hex, 8 digits. */
  serial: string;
}

export class OcspAuthority {
  readonly dir: string;
  readonly url: string;
  /** Requests the responder received. */
  requests = 0;
  /** 'hang': accept and never answer. */
  mode: 'answer' | 'hang' = 'answer';
  /** Who signs answers: the CA, a responder certificate the CA issued for OCSP signing, or a stranger's CA. */
  signer: 'ca' | 'delegate' | 'stranger' = 'ca';
  private readonly index = new Map<string, string>();
  private readonly server: Server;
  private readonly hung = new Set<ServerResponse>();

  private constructor(dir: string, server: Server) {
    this.dir = dir;
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  }

  static async start(): Promise<OcspAuthority> {
    const dir = await mkdtemp(join(tmpdir(), 'wharf-ocsp-'));
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=wharf test OCSP CA',
      '-addext', 'basicConstraints=critical,CA:true', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
      '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt')]);
    await writeFile(join(dir, 'index.txt'), '');
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2'];
    await run('openssl', ['req', '-x509', ...ec, '-subj', '/CN=wharf test OCSP responder', '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'),
      '-addext', 'extendedKeyUsage=OCSPSigning', '-keyout', join(dir, 'delegate.key'), '-out', join(dir, 'delegate.crt')]);
    await run('openssl', ['req', '-x509', ...ec, '-subj', '/CN=wharf test OCSP CA', '-keyout', join(dir, 'stranger.key'), '-out', join(dir, 'stranger.crt')]);
    let self: OcspAuthority;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        self.requests++;
        if (self.mode === 'hang') {
          self.hung.add(res);
          return;
        }
        self.answer(Buffer.concat(chunks)).then(
          (der) => res.writeHead(200, { 'content-type': 'application/ocsp-response' }).end(der),
          (e) => res.writeHead(500).end(String(e)),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    self = new OcspAuthority(dir, server);
    return self;
  }

  private seq = 0;
  private async answer(request: Buffer): Promise<Buffer> {
    const n = ++this.seq;
    const reqFile = join(this.dir, `req-${n}.der`);
    const respFile = join(this.dir, `resp-${n}.der`);
    await writeFile(reqFile, request);
    try {
      await run('openssl', ['ocsp', '-index', join(this.dir, 'index.txt'), '-CA', join(this.dir, 'ca.crt'), '-rsigner', join(this.dir, `${this.signer}.crt`), '-rkey', join(this.dir, `${this.signer}.key`),
        '-reqin', reqFile, '-respout', respFile, '-nmin', '10']);
      return await readFile(respFile);
    } finally {
      await Promise.all([rm(reqFile, { force: true }), rm(respFile, { force: true })]);
    }
  }

  private async writeIndex(): Promise<void> {
    await writeFile(join(this.dir, 'index.txt'), [...this.index.values()].join(''));
  }

  /** A leaf for `name` signed by the CA, naming this responder (unless `responder` is false), known to it as valid. */
  async issue(name: string, o: { responder?: boolean } = {}): Promise<IssuedCertificate> {
    const serial = (0x10000000 + Math.floor(Math.random() * 0x6fffffff)).toString(16).toUpperCase();
    const base = join(this.dir, `leaf-${serial}`);
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=${name}`,
      '-CA', join(this.dir, 'ca.crt'), '-CAkey', join(this.dir, 'ca.key'), '-set_serial', `0x${serial}`,
      '-addext', `subjectAltName=DNS:${name}`, '-addext', 'basicConstraints=CA:false',
      ...(o.responder === false ? [] : ['-addext', `authorityInfoAccess=OCSP;URI:${this.url}`]),
      '-keyout', `${base}.key`, '-out', `${base}.crt`]);
    const leaf = await readFile(`${base}.crt`, 'utf8');
    const key = await readFile(`${base}.key`, 'utf8');
    this.index.set(serial, `V\t301231000000Z\t\t${serial}\tunknown\t/CN=${name}-${serial}\n`);
    await this.writeIndex();
    return { cert: leaf + (await readFile(join(this.dir, 'ca.crt'), 'utf8')), key, leaf, serial };
  }

  /** The responder says `serial` is revoked from now on. */
  async revoke(c: IssuedCertificate, name: string): Promise<void> {
    this.index.set(c.serial, `R\t301231000000Z\t251201000000Z\t${c.serial}\tunknown\t/CN=${name}-${c.serial}\n`);
    await this.writeIndex();
  }

  /** Answers again; the requests left hanging get no answer. */
  release(): void {
    this.mode = 'answer';
    for (const res of this.hung) res.destroy();
    this.hung.clear();
  }

  /**
   * What `openssl ocsp -respin` says of a stapled response for `c`: "good", "revoked", "unknown", or
   * the error when it is not a valid response about `c` signed by the CA.
   */
  async check(response: Buffer, c: IssuedCertificate): Promise<string> {
    const n = ++this.seq;
    const respFile = join(this.dir, `check-${n}.der`);
    const leafFile = join(this.dir, `check-${n}.crt`);
    await Promise.all([writeFile(respFile, response), writeFile(leafFile, c.leaf)]);
    try {
      const { stdout, stderr } = await run('openssl', ['ocsp', '-respin', respFile, '-issuer', join(this.dir, 'ca.crt'), '-cert', leafFile, '-CAfile', join(this.dir, 'ca.crt'), '-no_nonce']);
      if (!/Response verify OK/.test(stderr + stdout)) return `not verified: ${stderr.trim()}`;
      return /: (good|revoked|unknown)/.exec(stdout)?.[1] ?? `no status: ${stdout.trim()}`;
    } catch (e) {
      return `refused: ${(e as Error).message.split('\n').slice(0, 3).join(' ')}`;
    } finally {
      await Promise.all([rm(respFile, { force: true }), rm(leafFile, { force: true })]);
    }
  }

  async stop(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** A handshake that asks for OCSP stapling: the serial served, the stapled response (null: none) and how long it took. */
export function stapledHandshake(port: number, servername: string, timeoutMs = 5000): Promise<{ serial: string | null; staple: Buffer | null; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    let staple: Buffer | null = null;
    const socket = connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, requestOCSP: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no handshake with ${servername} in ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('OCSPResponse', (r: Buffer | null) => {
      staple = r && r.length ? r : null;
    });
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const serial = socket.getPeerCertificate().serialNumber?.toUpperCase().replace(/^0+/, '') ?? null;
      socket.destroy();
      resolve({ serial, staple, ms: performance.now() - started });
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
