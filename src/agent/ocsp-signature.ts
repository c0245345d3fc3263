// Whether an OCSP answer is signed by someone entitled to speak about the certificate (RFC 6960
// 4.2.2.2): its issuer itself, or a responder certificate the issuer signed for OCSP signing
// (extended key usage id-kp-OCSPSigning) that is valid now. A staple signed by anyone else would be
// refused by clients; the agent refuses it first (NGINX's check looks at the signature only).
import { verify, X509Certificate, type KeyObject } from 'node:crypto';
import type { OcspAnswer } from './ocsp-der.ts';

/** Signature algorithm OIDs (hex of the DER content) and their hash; null: the algorithm has none. */
const ALGORITHMS: Record<string, string | null> = {
  '2a864886f70d010105': 'sha1', // sha1WithRSAEncryption
  '2a864886f70d01010b': 'sha256',
  '2a864886f70d01010c': 'sha384',
  '2a864886f70d01010d': 'sha512',
  '2a8648ce3d040301': 'sha1', // ecdsa-with-SHA1
  '2a8648ce3d040302': 'sha256',
  '2a8648ce3d040303': 'sha384',
  '2a8648ce3d040304': 'sha512',
  '2b6570': null, // Ed25519
  '2b6571': null, // Ed448
};
const OCSP_SIGNING = '1.3.6.1.5.5.7.3.9';

/** Null when the answer is signed by `issuer` or a responder it authorized; else why not. */
export function ocspSignatureProblem(signed: OcspAnswer['signed'], issuer: X509Certificate, now = new Date()): string | null {
  if (!(signed.algorithm in ALGORITHMS)) return `its signature algorithm (OID ${signed.algorithm}) is not supported`;
  const hash = ALGORITHMS[signed.algorithm]!;
  const by = (key: KeyObject) => {
    try {
      return verify(hash, signed.tbs, key, signed.signature);
    } catch {
      return false;
    }
  };
  if (by(issuer.publicKey)) return null;
  for (const der of signed.certs) {
    let responder: X509Certificate;
    try {
      responder = new X509Certificate(der);
    } catch {
      continue;
    }
    const authorized = responder.checkIssued(issuer) && responder.verify(issuer.publicKey) && (responder.keyUsage ?? []).includes(OCSP_SIGNING);
    const current = new Date(responder.validFrom) <= now && now <= new Date(responder.validTo);
    if (authorized && current && by(responder.publicKey)) return null;
  }
  return 'it is signed neither by the certificate\'s issuer nor by a responder the issuer authorized';
}
