// One reload, as the ReloadQueue runs it: take every fragment changed since the last reload, write
// what differs, signal the master (or start it) and confirm the new version through the
// config-version socket. The last good configuration keeps serving throughout.
//
// Optimistic: while the master runs, the reload signal goes out without a prior `nginx -t`. Both
// parse the whole configuration (seconds with thousands of hosts), and a master that cannot load the new configuration logs [emerg] and keeps its
// old one, its workers serving on. Only then does the agent run `nginx -t` on the whole
// configuration, quarantine the fragments NGINX's error points at (their last good content goes back
// on disk) and signal again. A reload that is neither confirmed nor refused in time (an error NGINX
// does not log as [emerg]) is tested the same way. Starting a master is never optimistic: a master
// that cannot load its configuration exits, and the first start replaces an NGINX a previous agent
// left serving. Before a start, when a batch is a small part of the configuration, the test runs on
// the skeleton plus `_main`, `_default` and the changed fragments only.
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.ts';
import { renderVersion } from '../render/skeleton.ts';
import { renderUpstreams, type EndpointStore } from './endpoint-store.ts';
import { FragmentFiles, effectiveContent, type OnConfig } from './fragment-files.ts';
import type { FragmentStore, StoredContent } from './fragment-store.ts';
import type { FileOwner, PrefixLayout } from './layout.ts';
import type { AgentListen } from '../render/listener-ports.ts';
import { ListenerPortFiles } from './listener-port-files.ts';
import { parseNginxError, stripLogPrefix } from './nginx-error.ts';
import type { NginxProcess } from './nginx-process.ts';
import { acceptingWorkerIds, childPids, type WorkerId } from './nginx-workers.ts';
import { confirmVersion, type ConfirmOutcome } from './version-confirmation.ts';
import { AGENT_SETTINGS_FILE, agentSettingsFromJson, type AgentNginxSettings } from '../model/settings-agent.ts';

export type ReloadResult = 'noop' | 'success' | 'partial' | 'rejected' | 'failed' | 'timeout';

/** What one run did, for metrics, logs and waiting API calls. */
export interface ReloadReport {
  result: ReloadResult;
  version: number;
  durationMs: number;
  /** Fragment (and upstreams.conf) changes this run carried. */
  changes: number;
  quarantined: { name: string; error: string }[];
  /** True when the run started the master (first start or after it died). */
  started: boolean;
  error?: string;
  /** Set when the run failed in a way only a later run can fix (a write, a timeout): it comes then. */
  retryInMs?: number;
  /** Of `durationMs`: the wait, after the new version answered, for the old workers to stop accepting. */
  retireMs?: number;
}

interface Change {
  name: string;
  /** The store's desired object (null: deleted), to report status against. */
  desired: StoredContent | null;
  /** What goes on disk. */
  content: StoredContent | null;
  /** What was on disk before (read back before it is overwritten): restored when NGINX refuses `content`. */
  previous: StoredContent | null;
}

export interface ReloaderOptions {
  layout: PrefixLayout;
  nginx: NginxProcess;
  fragments: FragmentStore;
  endpoints: EndpointStore;
  /** 'reload': endpoint sets go into upstreams.conf (no Lua module, or forced). */
  endpointMode: 'lua' | 'reload';
  /** The rendered nginx.conf, for the partial test configuration. */
  nginxConf: string;
  /**
   * nginx.conf with what the ConfigMap sets of it (the `_main` fragment's agent.json; null: none).
   * Without it nginx.conf never changes. A change goes to disk with `_main`, and goes back with it.
   */
  renderConf?: (settings: AgentNginxSettings | null) => string;
  reloadTimeoutMs: number;
  /** Owner of secret files (NGINX's workers when the master runs as root); null: the agent's user. */
  secretOwner?: FileOwner | null;
  logger: Logger;
  /** Called after a run that started the master, once it serves: re-push endpoints. */
  onStarted: () => Promise<void>;
  /** Asks the queue for another run (after a failure, with a delay; 0: right after this one). */
  requestRun: (delayMs: number) => void;
  /**
   * Files written outside the fragments since the last run (certificates without the Lua module):
   * true makes this run reload even when no fragment changed. `restore` puts the flag back when the
   * run could not write.
   */
  otherFiles?: { takeChanged: () => boolean; markChanged: () => void };
  /** Most quarantine-and-retest rounds in one run. */
  maxQuarantineRounds?: number;
  /** NGINX's HTTP and HTTPS addresses, for Gateway listeners' own ports (listener-port-files.ts). */
  listen?: AgentListen;
  /** false: `nginx -t` before every reload signal, as before optimistic reloads (default true). */
  optimistic?: boolean;
  /** The stream side's files (stream-files.ts): told every fragment, written before each reload. */
  streams?: { prepare(): Promise<void>; track: OnConfig; addMissing(): Promise<void>; removeUnused(): Promise<void> };
}

const FRAGMENT_INCLUDE = 'include fragments/*.conf;';

export class Reloader {
  private readonly o: ReloaderOptions;
  private readonly log: Logger;
  readonly files: FragmentFiles;
  private readonly ports: ListenerPortFiles;
  /** Fragments on disk that passed the test but that no confirmed version carried yet. */
  private readonly unconfirmed = new Map<string, StoredContent | null>();
  /** Endpoint revisions in upstreams.conf on disk, not confirmed yet (reload mode). */
  private unconfirmedUpstreams: { upstream: string; revision: number }[] | null = null;
  private upstreamsOnDisk = '';
  private readonly partialTests: boolean;
  /** nginx.conf as on disk (the ConfigMap's agent settings may change it). */
  private confOnDisk: string;
  private startedOnce = false;
  private restartFailures = 0;
  /** Failed runs in a row that asked for a retry: each waits twice as long (1 s to 30 s). */
  private retryFailures = 0;
  needsStart = true;
  stopping = false;
  writtenVersion = 0;
  appliedVersion = 0;

  constructor(o: ReloaderOptions) {
    this.o = o;
    this.log = o.logger.child({ component: 'reload' });
    this.ports = new ListenerPortFiles(o.layout, o.listen ?? { httpListen: ['80'], httpsListen: ['443'] }, this.log);
    this.files = new FragmentFiles(o.layout, o.secretOwner ?? null, (name, config, files) => {
      this.ports.track(name, config);
      o.streams?.track(name, config, files);
    });
    this.partialTests = o.nginxConf.split(FRAGMENT_INCLUDE).length === 2;
    this.confOnDisk = o.nginxConf;
    if (!this.partialTests) this.log.warn(`nginx.conf has no single "${FRAGMENT_INCLUDE}": every reload tests the whole configuration`);
  }

  /** Writes the files of the first start: version, upstreams.conf, the partial-test config, `_default`. */
  async prepare(): Promise<void> {
    const { layout } = this.o;
    await this.ports.prepare();
    await this.o.streams?.prepare();
    // A `_main` kept from the previous agent carries the ConfigMap's settings of nginx.conf.
    let conf = this.o.nginxConf;
    if (this.o.renderConf) {
      const kept = await readFile(layout.fragmentFile('_main', AGENT_SETTINGS_FILE), 'utf8').catch(() => undefined);
      conf = this.o.renderConf(agentSettingsFromJson(kept));
    }
    await this.writeConf(conf);
    this.writtenVersion = this.o.fragments.desiredVersion;
    await layout.writeAtomic(layout.versionConf, renderVersion(this.writtenVersion));
    this.upstreamsOnDisk = renderUpstreams([]);
    await layout.writeAtomic(layout.upstreamsConf, this.upstreamsOnDisk);
    await this.files.write('_default', effectiveContent('_default', null));
  }

  /** Writes nginx.conf (and the partial-test config made from it). */
  private async writeConf(conf: string): Promise<void> {
    const { layout } = this.o;
    await layout.writeAtomic(layout.nginxConf, conf);
    if (this.partialTests) await layout.writeAtomic(layout.testConf, conf.replace(FRAGMENT_INCLUDE, `include ${layout.testIncludes};`));
    this.confOnDisk = conf;
  }

  /** nginx.conf for this content of `_main` (its agent.json); null when nginx.conf does not follow `_main`. */
  private confFor(main: StoredContent | null): string | null {
    if (!this.o.renderConf) return null;
    const text = main?.bytes?.files[AGENT_SETTINGS_FILE]?.content;
    const settings = agentSettingsFromJson(text);
    if (text !== undefined && !settings) this.log.warn('the ConfigMap\'s settings of nginx.conf (_main, agent.json) are not valid; the flags\' values are used');
    return this.o.renderConf(settings);
  }

  /** Writes `_main`'s content back (quarantine, revert) with the nginx.conf that goes with it. */
  private async putBack(c: Change): Promise<void> {
    await this.files.write(c.name, c.previous);
    if (c.name !== '_main') return;
    const conf = this.confFor(c.previous);
    if (conf !== null && conf !== this.confOnDisk) await this.writeConf(conf);
  }

  /** The master died: the next run starts it again. */
  masterExited(): void {
    this.needsStart = true;
  }

  /** One reload; never throws for NGINX's reasons (those are in the report). */
  async run(): Promise<ReloadReport> {
    const names = this.o.fragments.takeDirty();
    try {
      return await this.apply(names);
    } finally {
      this.releaseWritten(names);
    }
  }

  /**
   * Content on disk is kept there, not in memory: once a run is over, the bytes of every desired
   * content NGINX's files now hold, or that NGINX refused, are dropped (their digests stay). Content
   * a run had to put back for a later run keeps its bytes.
   */
  private releaseWritten(names: string[]): void {
    for (const name of names) {
      const e = this.o.fragments.get(name);
      const d = e?.desired;
      if (d?.bytes && (this.files.digest(name) === d.digest || e!.status === 'quarantined')) d.release();
    }
  }

  private async apply(names: string[]): Promise<ReloadReport> {
    const started = performance.now();
    const { fragments, endpoints, layout } = this.o;
    const report = (result: ReloadResult, extra: Partial<ReloadReport> = {}): ReloadReport => ({
      result,
      version: this.appliedVersion,
      durationMs: performance.now() - started,
      changes: 0,
      quarantined: [],
      started: false,
      ...extra,
    });

    // 1. What changed since the last run, compared with what is on disk.
    let batch: Change[] = [];
    for (const name of names) {
      const desired = fragments.get(name)?.desired ?? null;
      const content = effectiveContent(name, desired);
      if ((content?.digest ?? null) === this.files.digest(name)) {
        if (this.unconfirmed.has(name)) this.unconfirmed.set(name, desired);
        else fragments.markApplied(name, desired, this.appliedVersion);
        continue;
      }
      batch.push({ name, desired, content, previous: null });
    }
    let upstreams: { text: string; previous: string; revisions: { upstream: string; revision: number }[] } | null = null;
    if (this.o.endpointMode === 'reload' && endpoints.takeChanged()) {
      const sets = endpoints.all();
      const text = renderUpstreams(sets);
      const revisions = sets.map((s) => ({ upstream: s.upstream, revision: s.revision }));
      if (text !== this.upstreamsOnDisk) upstreams = { text, previous: this.upstreamsOnDisk, revisions };
      else for (const r of revisions) endpoints.markApplied(r.upstream, r.revision);
    }
    const other = this.o.otherFiles?.takeChanged() ? 1 : 0;
    const changeCount = batch.length + (upstreams ? 1 : 0) + other;
    if (changeCount === 0 && !this.needsStart && this.unconfirmed.size === 0 && !this.unconfirmedUpstreams) return report('noop');
    if (this.stopping) {
      fragments.markDirty(names);
      return report('noop');
    }

    // 2. Write; test and quarantine unless the reload is optimistic (see the file comment).
    const quarantined: { name: string; error: string }[] = [];
    let version = this.writtenVersion;
    const optimistic = (this.o.optimistic ?? true) && this.startedOnce && !this.needsStart && this.o.nginx.running;
    try {
      if (changeCount > 0) {
        version = Math.max(fragments.desiredVersion, this.writtenVersion + 1);
        const previous = await this.files.readMany(batch.filter((c) => this.files.has(c.name)).map((c) => c.name));
        for (const c of batch) c.previous = previous.get(c.name) ?? null;
        await this.files.writeMany(batch.map((c) => ({ name: c.name, content: c.content })));
        const main = batch.find((c) => c.name === '_main');
        const conf = main ? this.confFor(main.content) : null;
        if (conf !== null && conf !== this.confOnDisk) await this.writeConf(conf);
        await this.ports.addMissing();
        await this.o.streams?.addMissing();
        if (upstreams) await layout.writeAtomic(layout.upstreamsConf, upstreams.text);
        if (upstreams) this.upstreamsOnDisk = upstreams.text;
        await layout.writeAtomic(layout.versionConf, renderVersion(version));
        this.writtenVersion = version;
        if (!optimistic) batch = await this.testAndQuarantine(batch, upstreams, quarantined, this.partialTests && batch.length * 4 <= this.files.count);
      } else if (!this.startedOnce) {
        const t = await this.o.nginx.test(layout.nginxConf);
        if (!t.ok) return report('failed', { error: `nginx -t: ${t.output}` });
      }
    } catch (e) {
      // A write failed (disk full, read-only, permissions): nothing was signalled; NGINX keeps the
      // last good configuration. Try again later, backing off (the Agent logs the report).
      fragments.markDirty(names);
      if (upstreams) endpoints.markChanged();
      if (other) this.o.otherFiles!.markChanged();
      return report('failed', { error: `cannot write the configuration: ${(e as Error).message}`, changes: changeCount, retryInMs: this.retryLater() });
    }
    for (const c of batch) this.unconfirmed.set(c.name, c.desired);
    if (upstreams && this.upstreamsOnDisk === upstreams.text) this.unconfirmedUpstreams = upstreams.revisions;
    const accepted = batch.length + (upstreams && this.upstreamsOnDisk === upstreams.text ? 1 : 0) + other;
    if (accepted === 0 && !this.needsStart && this.unconfirmed.size === 0 && !this.unconfirmedUpstreams) {
      return report(changeCount > 0 ? 'rejected' : 'noop', { changes: changeCount, quarantined });
    }

    // 3. Signal (or start) the master and confirm.
    let outcome = await this.signalAndConfirm(this.writtenVersion);
    const startedNow = outcome.started;
    if (optimistic && outcome.result.kind === 'timeout' && batch.length + (upstreams ? 1 : 0) > 0 && !this.stopping) {
      // Neither served nor refused with an [emerg]: whatever NGINX's test says about it decides.
      const t = await this.o.nginx.test(layout.nginxConf);
      if (!t.ok) outcome = { result: { kind: 'rejected', line: stripLogPrefix(t.output.split('\n').find((l) => /\[(emerg|alert|crit)\]/.test(l)) ?? t.output.split('\n')[0] ?? 'nginx -t failed') }, started: false };
    }
    if (outcome.result.kind === 'rejected' && batch.length + (upstreams ? 1 : 0) > 0) {
      // The partial test missed it (or only the master can see it): test everything, quarantine, retry once.
      const masterLine = outcome.result.line;
      this.log.warn('NGINX refused the reload; testing the whole configuration', { error: masterLine });
      const before = batch;
      batch = await this.testAndQuarantine(batch, upstreams, quarantined, false, masterLine);
      for (const c of before) if (!batch.includes(c)) this.unconfirmed.delete(c.name);
      if (batch.length > 0 || (upstreams && this.upstreamsOnDisk === upstreams.text)) {
        outcome = await this.signalAndConfirm(this.writtenVersion);
      } else {
        outcome = { result: { kind: 'confirmed' }, started: false, noSignal: true };
      }
      if (outcome.result.kind === 'rejected') {
        // Only the master sees it (a port it cannot bind): give the batch up, keep what runs.
        await this.revert(batch, upstreams, quarantined, outcome.result.line);
        for (const c of batch) this.unconfirmed.delete(c.name);
        batch = [];
        return report('rejected', { changes: changeCount, quarantined, error: outcome.result.line, started: startedNow });
      }
    }
    const kind = outcome.result.kind;
    if (kind === 'confirmed') {
      await this.ports.removeUnused().catch((e) => this.log.warn('cannot remove a Gateway listener port\'s files', { error: e }));
      await this.o.streams?.removeUnused().catch((e) => this.log.warn('cannot remove a stream port\'s files', { error: e }));
      if (!outcome.noSignal) {
        this.appliedVersion = this.writtenVersion;
        for (const [name, desired] of this.unconfirmed) fragments.markApplied(name, desired, this.appliedVersion);
        this.unconfirmed.clear();
        if (this.unconfirmedUpstreams) for (const r of this.unconfirmedUpstreams) endpoints.markApplied(r.upstream, r.revision);
        this.unconfirmedUpstreams = null;
      }
      this.needsStart = false;
      this.startedOnce = true;
      this.restartFailures = 0;
      this.retryFailures = 0;
      if (outcome.started) await this.o.onStarted();
      const result: ReloadResult = quarantined.length > 0 ? (batch.length > 0 ? 'partial' : 'rejected') : 'success';
      const retireMs = outcome.result.retireMs;
      return report(result, { version: this.appliedVersion, changes: changeCount, quarantined, started: outcome.started, ...(retireMs !== undefined ? { retireMs } : {}) });
    }
    if (kind === 'stopped') return report('noop', { changes: changeCount, quarantined });
    if (kind === 'exited') {
      // The agent's exit handler asked for the next run; it starts the master after a backoff.
      this.needsStart = true;
      this.restartFailures++;
      const said = [...new Set(this.o.nginx.recentOutput().split('\n').filter((l) => /\[(emerg|alert|crit)\]/.test(l)).map(stripLogPrefix))].slice(-3);
      const detail = `NGINX master exited (${outcome.result.detail})${said.length ? `: ${said.join('; ')}` : ''}`;
      return report('failed', { changes: changeCount, quarantined, error: detail, started: outcome.started });
    }
    if (kind === 'timeout') {
      return report('timeout', { changes: changeCount, quarantined, error: outcome.result.detail, started: outcome.started, retryInMs: this.retryLater() });
    }
    return report('failed', { changes: changeCount, quarantined });
  }

  /** Asks for a retry after 1 s, doubling with each failure in a row up to 30 s; returns the delay. */
  private retryLater(): number {
    const ms = Math.min(1000 * 2 ** this.retryFailures, 30_000);
    this.retryFailures++;
    this.o.requestRun(ms);
    return ms;
  }

  private async signalAndConfirm(version: number): Promise<{ result: ConfirmOutcome; started: boolean; noSignal?: boolean }> {
    const { nginx, layout } = this.o;
    let signal: 'reload' | 'start' = 'reload';
    let retiring: WorkerId[] = [];
    let childrenBefore: number[] | null = null;
    if (!nginx.running) {
      signal = 'start';
      if (this.restartFailures > 0) await sleep(Math.min(100 * 2 ** (this.restartFailures - 1), 5000));
      // An NGINX a previous agent left running served until now (its configuration is the one
      // kept): it gives the ports up only here, once the new configuration has passed its test.
      if (!this.startedOnce) await nginx.stopStale();
      await nginx.cleanUpAfterExit();
      if (this.stopping) return { result: { kind: 'stopped' }, started: false };
      try {
        const pid = nginx.start();
        this.log.info(this.startedOnce ? 'NGINX master restarted' : 'NGINX master started', { pid, version });
      } catch (e) {
        return { result: { kind: 'exited', detail: (e as Error).message }, started: false };
      }
    } else {
      // Read before the signal: after it, the new workers would be among them.
      retiring = await acceptingWorkerIds(nginx.pid!);
      childrenBefore = childPids(nginx.pid!);
      nginx.reload();
    }
    const result = await confirmVersion({
      nginx,
      socketPath: layout.versionSocket,
      version,
      timeoutMs: this.o.reloadTimeoutMs,
      signal,
      retiring,
      childrenBefore,
      isStopping: () => this.stopping,
    });
    return { result, started: signal === 'start' && result.kind === 'confirmed' };
  }

  /**
   * `nginx -t` until it passes: each error that points into a fragment of `batch` quarantines that
   * fragment (its previous content goes back on disk); an error that cannot be attributed reverts the
   * whole batch. Returns the changes still on disk.
   */
  private async testAndQuarantine(
    batch: Change[],
    upstreams: { text: string; previous: string } | null,
    quarantined: { name: string; error: string }[],
    partial: boolean,
    masterLine?: string,
  ): Promise<Change[]> {
    const { nginx, layout, fragments } = this.o;
    const maxRounds = this.o.maxQuarantineRounds ?? 16;
    let rounds = 0;
    let remaining = batch;
    for (;;) {
      if (remaining.length === 0 && !(upstreams && this.upstreamsOnDisk === upstreams.text)) return remaining;
      if (partial) await this.writeTestIncludes(remaining);
      const t = await nginx.test(partial ? layout.testConf : layout.nginxConf);
      this.log.debug('nginx -t', { ok: t.ok, partial, ms: Math.round(t.durationMs), fragments: remaining.length });
      if (t.ok) {
        if (!partial && masterLine && rounds === 0) {
          // NGINX's test passes but its master refused: nothing here to quarantine by name.
          await this.revert(remaining, upstreams, quarantined, masterLine);
          return [];
        }
        return remaining;
      }
      const error = parseNginxError(t.output, layout.prefix);
      const line = error?.line ?? t.output.split('\n')[0] ?? 'nginx -t failed';
      const culprit = error?.fragment ? remaining.find((c) => c.name === error.fragment) : undefined;
      if (!culprit) {
        if (partial) {
          partial = false;
          continue;
        }
        await this.revert(remaining, upstreams, quarantined, `${line} (not traceable to one fragment of the batch: the whole batch was reverted)`);
        return [];
      }
      await this.putBack(culprit);
      fragments.markQuarantined(culprit.name, culprit.desired, line);
      quarantined.push({ name: culprit.name, error: line });
      this.log.warn('fragment quarantined: NGINX refused it; its previous content keeps serving', { fragment: culprit.name, error: line });
      remaining = remaining.filter((c) => c !== culprit);
      if (++rounds >= maxRounds && remaining.length > 0) {
        // Bounded: the rest waits for the next run, which quarantines the next few.
        for (const c of remaining) await this.putBack(c);
        fragments.markDirty(remaining.map((c) => c.name));
        this.o.requestRun(0);
        return [];
      }
    }
  }

  private async revert(
    batch: Change[],
    upstreams: { text: string; previous: string } | null,
    quarantined: { name: string; error: string }[],
    error: string,
  ): Promise<void> {
    for (const c of batch) {
      await this.putBack(c);
      this.o.fragments.markQuarantined(c.name, c.desired, error);
      quarantined.push({ name: c.name, error });
    }
    if (upstreams && this.upstreamsOnDisk === upstreams.text) {
      await this.o.layout.writeAtomic(this.o.layout.upstreamsConf, upstreams.previous);
      this.upstreamsOnDisk = upstreams.previous;
      quarantined.push({ name: 'upstreams.conf', error });
      // The endpoint sets stay wanted: the next reload (after the clashing fragment changed) retries them.
      this.o.endpoints.markChanged();
    }
    this.log.error('NGINX refused the batch; the previous configuration keeps serving', { error, fragments: batch.map((c) => c.name) });
  }

  private async writeTestIncludes(batch: Change[]): Promise<void> {
    const names = new Set(['_main', '_default', ...batch.map((c) => c.name)]);
    const lines = [...names]
      .sort()
      // Stream fragments are not http-level: stream.conf includes them all, in the test too.
      .filter((n) => this.files.has(n) && !n.startsWith('_stream-'))
      .map((n) => `include ${this.o.layout.fragmentConf(n)};`);
    await this.o.layout.writeAtomic(this.o.layout.testIncludes, lines.join('\n') + '\n');
  }

}
