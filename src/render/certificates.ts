// The certificates a server needs in the agent's store, by the TLS names clients ask for: the host,
// its server-alias names (the same server block answers them) and its www twin when the certificate
// covers it (from-to-www-redirect). Sent apart from the fragments (docs/certificates.md), so that a
// renewal changes no fragment and causes no reload. Pure.
import type { Server } from '../model/types.ts';
import { certificateName } from './names.ts';

/** One certificate as the agent takes it (CertificatePut without the revision, which the sender assigns). */
export interface Certificate {
  name: string;
  cert: string;
  key: string;
}

/** The certificates of one server (none without TLS), sorted by name. */
export function serverCertificates(server: Server): Certificate[] {
  if (!server.tls) return [];
  const { cert, key } = server.tls;
  const names = new Set([server.host, ...(server.aliases ?? [])]);
  if (server.wwwRedirect?.tls) names.add(server.wwwRedirect.from);
  return [...names].map((n) => ({ name: certificateName(n), cert, key })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
