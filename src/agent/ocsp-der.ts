// The bits of DER the agent needs for OCSP stapling (RFC 6960), and nothing more: the request for one
// certificate (its CertID: SHA-1 of the issuer's name and key, and its serial), and reading the
// responder's answer about that certificate, with what its signature covers (checked in
// ocsp-signature.ts, and again by NGINX's ngx.ocsp.validate_ocsp_response). Pure: no I/O, no clock.
import { createHash, type X509Certificate } from 'node:crypto';

interface Node {
  tag: number;
  /** Where its header starts, where its content starts and ends, in `buf`. */
  at: number;
  start: number;
  end: number;
  buf: Buffer;
}

function read(buf: Buffer, at: number, limit = buf.length): Node {
  if (at + 2 > limit) throw new Error('truncated DER');
  const tag = buf[at]!;
  let len = buf[at + 1]!;
  let p = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > limit) throw new Error('bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p++]!;
  }
  if (p + len > limit) throw new Error('truncated DER');
  return { tag, at, start: p, end: p + len, buf };
}

function children(n: Node): Node[] {
  const out: Node[] = [];
  for (let p = n.start; p < n.end; ) {
    const c = read(n.buf, p, n.end);
    out.push(c);
    p = c.end;
  }
  return out;
}

const content = (n: Node): Buffer => n.buf.subarray(n.start, n.end);
const whole = (n: Node): Buffer => n.buf.subarray(n.at, n.end);

function expect(n: Node | undefined, tag: number, what: string): Node {
  if (!n || n.tag !== tag) throw new Error(`${what}: not the expected DER element`);
  return n;
}

function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const n = body.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : n < 0x10000 ? Buffer.from([0x82, n >> 8, n & 0xff]) : Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
}

const SEQUENCE = 0x30;
const SHA1_ALGORITHM = tlv(SEQUENCE, Buffer.from('06052b0e03021a', 'hex'), Buffer.from('0500', 'hex'));
const SHA1_OID = Buffer.from('2b0e03021a', 'hex');
const OCSP_BASIC_OID = Buffer.from('2b0601050507300101', 'hex');

/** The CertID fields of one certificate, as the request carries them and the answer must repeat them. */
export interface CertId {
  issuerNameHash: Buffer;
  issuerKeyHash: Buffer;
  /** The serial's INTEGER content bytes, as in the certificate. */
  serial: Buffer;
}

/** tbsCertificate's fields by position (the optional [0] version shifts them). */
function tbsFields(cert: X509Certificate): Node[] {
  const tbs = expect(children(read(cert.raw, 0))[0], SEQUENCE, 'tbsCertificate');
  const f = children(tbs);
  return f[0]?.tag === 0xa0 ? f.slice(1) : f;
}

/** The CertID of `leaf` issued by `issuer`, hashed with SHA-1 (what RFC 5019 responders expect). */
export function certIdOf(leaf: X509Certificate, issuer: X509Certificate): CertId {
  const sha1 = (b: Buffer) => createHash('sha1').update(b).digest();
  const [serial] = tbsFields(leaf);
  const i = tbsFields(issuer);
  const subject = expect(i[4], SEQUENCE, 'issuer subject');
  const spki = children(expect(i[5], SEQUENCE, 'issuer subjectPublicKeyInfo'));
  const key = expect(spki[1], 0x03, 'issuer subjectPublicKey');
  return { issuerNameHash: sha1(whole(subject)), issuerKeyHash: sha1(content(key).subarray(1)), serial: Buffer.from(content(expect(serial, 0x02, 'serialNumber'))) };
}

/** OCSPRequest { tbsRequest { requestList { Request { reqCert } } } }, no nonce (responders may pre-sign). */
export function ocspRequest(id: CertId): Buffer {
  const certId = tlv(SEQUENCE, SHA1_ALGORITHM, tlv(0x04, id.issuerNameHash), tlv(0x04, id.issuerKeyHash), tlv(0x02, id.serial));
  return tlv(SEQUENCE, tlv(SEQUENCE, tlv(SEQUENCE, tlv(SEQUENCE, certId))));
}

/** What a responder said about one certificate. */
export interface OcspAnswer {
  status: 'good' | 'revoked' | 'unknown';
  thisUpdate: Date;
  /** Absent: the responder says newer information is always available. */
  nextUpdate: Date | null;
  /** What the signature covers and the certificates the response carries (a delegated responder's). */
  signed: { tbs: Buffer; algorithm: string; signature: Buffer; certs: Buffer[] };
}

const RESPONSE_STATUS = ['successful', 'malformedRequest', 'internalError', 'tryLater', '4', 'sigRequired', 'unauthorized'];

function generalizedTime(n: Node, what: string): Date {
  const m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.\d+)?Z$/.exec(content(expect(n, 0x18, what)).toString('latin1'));
  if (!m) throw new Error(`${what}: not a GeneralizedTime`);
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s));
}

/**
 * Reads an OCSPResponse and returns what it says about `id`; throws, saying why, when it is not a
 * successful basic response or says nothing about that certificate.
 */
export function readOcspResponse(der: Buffer, id: CertId): OcspAnswer {
  let top: Node[];
  try {
    const outer = read(der, 0);
    if (outer.end !== der.length) throw new Error('trailing bytes');
    top = children(expect(outer, SEQUENCE, 'OCSPResponse'));
  } catch (e) {
    throw new Error(`not an OCSP response (${(e as Error).message})`);
  }
  const status = content(expect(top[0], 0x0a, 'responseStatus'))[0] ?? -1;
  if (status !== 0) throw new Error(`the responder answered ${RESPONSE_STATUS[status] ?? status}`);
  const bytes = children(expect(children(expect(top[1], 0xa0, 'responseBytes'))[0], SEQUENCE, 'responseBytes'));
  if (!content(expect(bytes[0], 0x06, 'responseType')).equals(OCSP_BASIC_OID)) throw new Error('not a basic OCSP response');
  const basicDer = content(expect(bytes[1], 0x04, 'response'));
  const basic = children(expect(read(basicDer, 0), SEQUENCE, 'BasicOCSPResponse'));
  const tbs = expect(basic[0], SEQUENCE, 'tbsResponseData');
  const algorithm = content(expect(children(expect(basic[1], SEQUENCE, 'signatureAlgorithm'))[0], 0x06, 'signatureAlgorithm')).toString('hex');
  const signature = content(expect(basic[2], 0x03, 'signature')).subarray(1);
  const certs = basic[3]?.tag === 0xa0 ? children(expect(children(basic[3])[0], SEQUENCE, 'certs')).map((c) => Buffer.from(whole(c))) : [];
  const signed = { tbs: Buffer.from(whole(tbs)), algorithm, signature: Buffer.from(signature), certs };
  const data = children(tbs);
  const fields = data[0]?.tag === 0xa0 ? data.slice(1) : data;
  const responses = children(expect(fields[2], SEQUENCE, 'responses'));
  for (const single of responses) {
    const [cid, certStatus, thisUpdate, ...rest] = children(expect(single, SEQUENCE, 'SingleResponse'));
    const [alg, nameHash, keyHash, serial] = children(expect(cid, SEQUENCE, 'CertID'));
    const algOid = children(expect(alg, SEQUENCE, 'hashAlgorithm'))[0];
    if (!algOid || !content(algOid).equals(SHA1_OID)) continue;
    if (!content(expect(nameHash, 0x04, 'issuerNameHash')).equals(id.issuerNameHash)) continue;
    if (!content(expect(keyHash, 0x04, 'issuerKeyHash')).equals(id.issuerKeyHash)) continue;
    if (!content(expect(serial, 0x02, 'serialNumber')).equals(id.serial)) continue;
    const tag = certStatus?.tag;
    const st = tag === 0x80 ? 'good' : tag === 0xa1 ? 'revoked' : tag === 0x82 ? 'unknown' : null;
    if (!st) throw new Error('certStatus: not good, revoked nor unknown');
    const next = rest.find((n) => n.tag === 0xa0);
    return {
      status: st,
      thisUpdate: generalizedTime(thisUpdate!, 'thisUpdate'),
      nextUpdate: next ? generalizedTime(children(next)[0]!, 'nextUpdate') : null,
      signed,
    };
  }
  throw new Error('the response is not about this certificate');
}
