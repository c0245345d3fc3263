// Which certificates can be stapled, and where to ask: the leaf of a stored chain names an OCSP
// responder in its authority information access, and its issuer is in the same chain (the request
// hashes the issuer's name and key). Pure: parses PEM, no I/O.
import { X509Certificate } from 'node:crypto';
import { certIdOf, type CertId } from './ocsp-der.ts';

/** A certificate to staple: where to ask, and what to ask about. */
export interface OcspTarget {
  url: string;
  id: CertId;
  /** The leaf's notAfter: no answer is needed past it. */
  notAfter: Date;
  /** Who may sign the answer: the issuer, or a responder it issued for OCSP signing. */
  issuer: X509Certificate;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The responder URL of a certificate (the first http or https OCSP entry), or null. */
export function ocspResponder(cert: X509Certificate): string | null {
  for (const line of (cert.infoAccess ?? '').split('\n')) {
    const m = /^OCSP - URI:(.+)$/.exec(line.trim());
    if (!m) continue;
    let url = m[1]!;
    // Node quotes a value with unusual characters as a JSON string.
    if (url.startsWith('"')) {
      try {
        url = JSON.parse(url) as string;
      } catch {
        continue;
      }
    }
    try {
      const u = new URL(url);
      if (u.protocol === 'http:' || u.protocol === 'https:') return u.href;
    } catch {
      // Not a URL: the next entry, if any.
    }
  }
  return null;
}

/**
 * What to staple for a PEM chain (leaf first): null when the leaf names no responder; `missing`
 * says why one that does cannot be asked.
 */
export function ocspTarget(chain: string): OcspTarget | { missing: string } | null {
  const blocks = chain.match(PEM_CERT) ?? [];
  let certs: X509Certificate[];
  try {
    certs = blocks.map((b) => new X509Certificate(b));
  } catch {
    return { missing: 'its chain does not parse' };
  }
  const leaf = certs[0];
  if (!leaf) return null;
  const url = ocspResponder(leaf);
  if (!url) return null;
  const issuer = certs.slice(1).find((c) => leaf.checkIssued(c) && leaf.verify(c.publicKey));
  if (!issuer) return { missing: 'its chain does not include its issuer (the OCSP request names it)' };
  try {
    return { url, id: certIdOf(leaf, issuer), notAfter: new Date(leaf.validTo), issuer };
  } catch (e) {
    return { missing: `its certificates cannot be read for an OCSP request (${(e as Error).message})` };
  }
}
