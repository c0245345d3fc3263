// How certificates reach NGINX, decided once at start: with the Lua module, into NGINX's certificate
// store over the control socket, served to the next handshake in every worker, never through the
// reload queue (kept on disk for the next agent, 0600); without it (or with --endpoint-mode reload),
// as files that the next coalesced reload serves, as every certificate was before the store.
import { readFile } from 'node:fs/promises';
import type * as Prom from 'prom-client';
import type { CertificateResult } from '../protocol/agent-api.ts';
import type { Logger } from '../log.ts';
import { AGENT_SETTINGS_FILE, agentSettingsFromJson } from '../model/settings-agent.ts';
import type { PlaceholderPaths } from '../render/skeleton.ts';
import { readCertificateFiles, writeCertificateFiles } from './certificate-files.ts';
import { CertificatePusher, STORE_FULL } from './certificate-pusher.ts';
import { CertificateStore, sniName } from './certificate-store.ts';
import { KEPT_REVISION } from './kept-config.ts';
import { KeptCertificatesWriter, readKeptCertificates } from './kept-certificates.ts';
import type { FileOwner, PrefixLayout } from './layout.ts';
import { writePlaceholderCertificate } from './placeholder-certificate.ts';
import { OcspMetrics } from './ocsp-metrics.ts';
import { OcspStapler } from './ocsp-stapler.ts';

type Pem = { cert: string; key: string };
export type TimedResult = CertificateResult & { seconds: number };

export interface CertificateDeliveryOptions {
  mode: 'lua' | 'reload';
  layout: PrefixLayout;
  logger: Logger;
  secretOwner: FileOwner | null;
  /** NGINX runs and takes writes (not starting or restarting: then the start sends everything). */
  nginxReady: () => boolean;
  /** Reload mode: asks for a reload; returns the config version that will carry the change. */
  requestReload: () => number;
  appliedVersion: () => number;
}

export class CertificateDelivery {
  private readonly o: CertificateDeliveryOptions;
  private readonly store = new CertificateStore();
  private readonly pusher: CertificatePusher | null;
  private readonly kept: KeptCertificatesWriter | null;
  /** Lua mode: OCSP responses for the stored certificates (enable-ocsp), from startOcsp(). */
  private stapler: OcspStapler | null = null;
  private ocspWanted = false;
  /** Reload mode: certificate files changed since the last reload run. */
  private filesChanged = false;
  /** For the Reloader: certificate files count as a change that needs a reload. */
  readonly files = {
    takeChanged: (): boolean => {
      const c = this.filesChanged;
      this.filesChanged = false;
      return c;
    },
    markChanged: (): void => {
      this.filesChanged = true;
    },
  };

  constructor(o: CertificateDeliveryOptions) {
    this.o = o;
    this.pusher = o.mode === 'lua' ? new CertificatePusher({ socketPath: o.layout.certificatesSocket, store: this.store, logger: o.logger }) : null;
    this.kept = o.mode === 'lua' ? new KeptCertificatesWriter({ layout: o.layout, store: this.store, logger: o.logger }) : null;
  }

  /** Where the placeholder certificate lives (the skeleton names it before it is written). */
  static placeholderPaths(layout: PrefixLayout): PlaceholderPaths {
    return { cert: `${layout.privateDir}/placeholder.crt`, key: `${layout.privateDir}/placeholder.key` };
  }

  /** Writes the placeholder and takes back what the previous agent kept; returns how many. */
  async prepare(): Promise<number> {
    await writePlaceholderCertificate(this.o.layout, CertificateDelivery.placeholderPaths(this.o.layout));
    if (this.o.mode === 'lua') {
      // Files an agent without Lua left on this prefix: keys on disk this mode does not need.
      await this.o.layout.remove(this.o.layout.certificatesDir);
      await this.o.layout.ensureDir(this.o.layout.certificatesDir);
    }
    const kept = this.o.mode === 'lua' ? await readKeptCertificates(this.o.layout) : await readCertificateFiles(this.o.layout);
    for (const [name, pem] of kept) this.store.set(name, KEPT_REVISION, pem);
    return kept.size;
  }

  /** The start-up line that says how certificates are served. */
  modeMessage(luaMissing: string | null): string {
    if (this.o.mode === 'lua') return 'certificates: lua (chosen by SNI from NGINX\'s memory; new and renewed certificates need no reload)';
    return `certificates: files (a new or renewed certificate is served after a coalesced reload; ${luaMissing ?? 'as asked by --endpoint-mode reload'})`;
  }

  get size(): number {
    return this.store.size;
  }

  /** Accepts one certificate (null: delete) and, with Lua, writes it to NGINX before it returns. */
  set(name: string, revision: number, pem: Pem | null): Promise<TimedResult> {
    return this.deliver(name, revision, this.store.set(name, revision, pem));
  }

  private async deliver(name: string, revision: number, change: 'stale' | 'changed' | 'unchanged'): Promise<TimedResult> {
    const started = performance.now();
    const via = this.o.mode;
    let status: CertificateResult['status'];
    if (change === 'stale') status = 'stale';
    else if (via === 'lua') {
      if (change === 'changed') this.kept!.changed();
      status = await this.push(name, revision, change);
    } else {
      const c = this.store.get(name)!;
      if (change === 'changed') {
        await writeCertificateFiles(this.o.layout, name, c.pem, this.o.secretOwner);
        this.filesChanged = true;
        c.version = this.o.requestReload();
      }
      status = (c.appliedRevision ?? -1) >= revision ? 'applied' : 'pending';
    }
    const error = status === 'failed' ? (this.store.get(name)?.error ?? undefined) : undefined;
    return { name, revision, status, via, ...(error ? { error } : {}), seconds: (performance.now() - started) / 1000 };
  }

  private async push(name: string, revision: number, change: 'changed' | 'unchanged'): Promise<CertificateResult['status']> {
    const c = this.store.get(name)!;
    if (change === 'unchanged' && (c.appliedRevision ?? -1) >= revision) return 'applied';
    // NGINX is (re)starting: the certificate goes to the new master with all the others.
    if (!this.o.nginxReady()) return 'pending';
    const ok = await this.pusher!.push(name);
    if ((c.appliedRevision ?? -1) >= revision) return 'applied';
    return ok ? 'pending' : c.error === STORE_FULL ? 'failed' : 'pending';
  }

  /**
   * A batch's certificates; `completeBelow` (a complete batch): the ones it does not name are
   * deleted when held below that revision.
   */
  async applyBatch(list: ({ name: string; revision: number } & ({ cert: string; key: string } | { deleted: true }))[], completeBelow: number | null): Promise<TimedResult[]> {
    const work = list.map((c) => this.set(c.name, c.revision, 'deleted' in c ? null : { cert: c.cert, key: c.key }));
    if (completeBelow !== null) {
      for (const name of this.store.retainOnly(new Set(list.map((c) => c.name)), completeBelow)) {
        work.push(this.deliver(name, this.store.get(name)!.revision, 'changed'));
      }
    }
    const results = await Promise.all(work);
    return results.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** A pending result again, as it stands now (for waiting API calls). */
  settled(r: CertificateResult): CertificateResult {
    if (r.status !== 'pending') return r;
    const c = this.store.get(r.name);
    if (c && c.revision > r.revision) return { ...r, status: 'stale' };
    return c && (c.appliedRevision ?? -1) >= r.revision ? { ...r, status: 'applied' } : r;
  }

  /** After each reload run: in reload mode, what the confirmed version carries is applied. */
  reloaded(): void {
    if (this.o.mode !== 'reload') return;
    const applied = this.o.appliedVersion();
    for (const c of this.store.all()) if (c.version <= applied) this.store.markApplied(c.name, c.revision);
  }

  /** A new master has an empty store: every certificate again. */
  async afterMasterStart(): Promise<void> {
    if (!this.pusher || this.store.size === 0) return;
    const t = performance.now();
    const failed = await this.pusher.pushAll();
    this.o.logger.info('certificates written to the new NGINX master', { certificates: this.store.size, failed: failed.length, ms: Math.round(performance.now() - t) });
  }

  /** Lua mode: sets up OCSP stapling (off until the ConfigMap's enable-ocsp, see followSettings). */
  startOcsp(registry: Prom.Registry, o: { timeoutMs?: number; retryMs?: number } = {}): void {
    if (!this.pusher) return;
    const pusher = this.pusher;
    const stapler: OcspStapler = new OcspStapler({
      ...o,
      logger: this.o.logger,
      chainOf: (name) => this.store.get(name)?.pem?.cert ?? null,
      names: () => this.store.all().filter((c) => c.pem && (c.appliedRevision ?? -1) >= c.revision).map((c) => c.name),
      nginxName: sniName,
      request: (path, r) => pusher.control(path, r),
      metrics: new OcspMetrics(registry, { expiries: () => stapler.expiries(), revoked: () => stapler.revokedNames() }),
    });
    this.stapler = stapler;
    pusher.onStored = (name) => stapler.stored(name);
  }

  /**
   * After each reload run: enable-ocsp as the `_main` NGINX now serves carries it (agent.json). The
   * agent, not NGINX, acts on it: on, it fetches and staples OCSP responses; off, it removes them.
   */
  async followSettings(): Promise<void> {
    const text = await readFile(this.o.layout.fragmentFile('_main', AGENT_SETTINGS_FILE), 'utf8').catch(() => undefined);
    const on = agentSettingsFromJson(text)?.enableOcsp === true;
    if (this.stapler) this.stapler.setEnabled(on);
    else if (on && !this.ocspWanted) this.o.logger.warn('enable-ocsp: no OCSP stapling without the Lua module (certificates are files)');
    this.ocspWanted = on;
  }

  state(): { name: string; revision: number; deleted: boolean; appliedRevision: number | null; error?: string; ocsp?: string }[] {
    return this.store.all().map((c) => {
      const ocsp = this.stapler?.statusOf(c.name);
      return { name: c.name, revision: c.revision, deleted: c.pem === null, appliedRevision: c.appliedRevision, ...(c.error ? { error: c.error } : {}), ...(ocsp ? { ocsp } : {}) };
    });
  }

  async close(): Promise<void> {
    this.stapler?.close();
    this.pusher?.close();
    await this.kept?.flush();
  }
}
