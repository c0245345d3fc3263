// Certificates as files, for NGINX without the Lua module (or --endpoint-mode reload): for each name,
// certificates/NAME.crt, NAME.key (mode 0600, owned by NGINX's workers' user when the agent runs as
// root) and NAME.conf with the two directives, which a host's server block includes as
// `include certificates/NAME.con[f];` (a pattern, so a missing file is no error). A change is served
// after the next coalesced reload, as every certificate was before the Lua store. A deleted
// certificate leaves NAME.conf refusing handshakes, so a server that still includes it stays valid.
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CERTIFICATE_NAME } from '../protocol/agent-api.ts';
import type { FileOwner, PrefixLayout } from './layout.ts';

/** certificates/NAME.conf for a stored certificate, or (null) for a deleted one. */
export function certificateInclude(name: string, stored: boolean): string {
  if (!CERTIFICATE_NAME.test(name)) throw new Error(`certificate name ${JSON.stringify(name)}: not a valid certificate name`);
  return stored ? `ssl_certificate certificates/${name}.crt;\nssl_certificate_key certificates/${name}.key;\n` : 'ssl_reject_handshake on;\n';
}

/** Writes (pem) or retires (null) the files of one certificate. */
export async function writeCertificateFiles(layout: PrefixLayout, name: string, pem: { cert: string; key: string } | null, owner: FileOwner | null): Promise<void> {
  const base = join(layout.certificatesDir, name);
  if (pem) {
    await layout.writeAtomic(`${base}.crt`, pem.cert);
    await layout.writeAtomic(`${base}.key`, pem.key, 0o600, owner);
  }
  await layout.writeAtomic(`${base}.conf`, certificateInclude(name, pem !== null));
  if (!pem) {
    await layout.remove(`${base}.crt`);
    await layout.remove(`${base}.key`);
  }
}

/** The certificates a previous agent left as files (reload mode). */
export async function readCertificateFiles(layout: PrefixLayout): Promise<Map<string, { cert: string; key: string }>> {
  const kept = new Map<string, { cert: string; key: string }>();
  for (const entry of await readdir(layout.certificatesDir).catch(() => [] as string[])) {
    const name = entry.endsWith('.conf') ? entry.slice(0, -5) : '';
    if (!CERTIFICATE_NAME.test(name)) continue;
    const base = join(layout.certificatesDir, name);
    const cert = await readFile(`${base}.crt`, 'utf8').catch(() => null);
    const key = await readFile(`${base}.key`, 'utf8').catch(() => null);
    if (cert && key) kept.set(name, { cert, key });
  }
  return kept;
}
