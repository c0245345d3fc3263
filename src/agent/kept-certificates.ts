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
import { RepeatedError } from './repeated-log.ts';

/** Writes the certificates to the prefix after changes, coalesced. */
export class KeptCertificatesWriter {
  private readonly layout: PrefixLayout;
  private readonly store: CertificateStore;
  private readonly failures: RepeatedError;
  private readonly delayMs: number;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private again = false;

  constructor(o: { layout: PrefixLayout; store: CertificateStore; logger: Logger; delayMs?: number }) {
    this.layout = o.layout;
    this.store = o.store;
    this.failures = new RepeatedError(o.logger);
    this.delayMs = o.delayMs ?? 1000;
  }

  /** Certificates changed: write them soon. */
  changed(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, this.delayMs);
    this.timer.unref();
  }

  /** Writes now (and once more if changes came during a write). */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.writing) {
      this.again = true;
      return this.writing;
    }
    this.writing = (async () => {
      do {
        this.again = false;
        const lines = this.store.all().filter((c) => c.pem).map((c) => `${JSON.stringify({ name: c.name, cert: c.pem!.cert, key: c.pem!.key })}\n`);
        try {
          await this.layout.writeAtomic(this.layout.keptCertificates, lines.join(''), 0o600);
          this.failures.ended();
        } catch (e) {
          this.failures.failed('cannot keep the certificates on disk for the next agent', (e as Error).message);
        }
      } while (this.again);
    })();
    try {
      await this.writing;
    } finally {
      this.writing = null;
    }
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
