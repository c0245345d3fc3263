// The certificates on disk, for the next agent. With the Lua module they live in NGINX's shared dict,
// which dies with NGINX: an agent whose container restarted (NGINX gone, the prefix kept) would refuse
// every TLS handshake until the snapshot. So the agent writes them to private/certificates.kept (mode
// 0600, in the directory only it may enter), a second after the last change (never on the
// certificate path, which does not wait for the disk), and reads them back at start. Without the Lua
// module the certificate files themselves are what is kept (certificate-files.ts).
import { readFile } from 'node:fs/promises';
import { CERTIFICATE_NAME } from '../protocol/agent-api.ts';
import type { Logger } from '../log.ts';
import type { CertificateStore } from './certificate-store.ts';
import type { PrefixLayout } from './layout.ts';
import { KeptFile } from './kept-file.ts';

/** Writes the certificates to the prefix after changes, coalesced. */
export class KeptCertificatesWriter extends KeptFile {
  constructor(o: { layout: PrefixLayout; store: CertificateStore; logger: Logger; delayMs?: number }) {
    super({
      ...o,
      path: o.layout.keptCertificates,
      what: 'the certificates',
      content: () => o.store.all().filter((c) => c.pem).map((c) => `${JSON.stringify({ name: c.name, cert: c.pem!.cert, key: c.pem!.key })}\n`).join(''),
    });
  }
}

/** The certificates a previous agent kept (Lua mode); lines that are not one are skipped. */
export async function readKeptCertificates(layout: PrefixLayout): Promise<Map<string, { cert: string; key: string }>> {
  const kept = new Map<string, { cert: string; key: string }>();
  const text = await readFile(layout.keptCertificates, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const v = JSON.parse(line) as { name?: unknown; cert?: unknown; key?: unknown };
      if (typeof v.name === 'string' && CERTIFICATE_NAME.test(v.name) && typeof v.cert === 'string' && typeof v.key === 'string') kept.set(v.name, { cert: v.cert, key: v.key });
    } catch {
      // A torn or foreign line: that certificate comes with the snapshot.
    }
  }
  return kept;
}
