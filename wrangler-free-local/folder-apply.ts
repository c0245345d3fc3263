// Applies what changed in the manifest folder the way a cluster would see it: every object that
// needs no review goes to the handler at once; every Ingress goes through the handler's real
// admission webhook first (several reviews in flight), and only an allowed one is served (a
// refused one is taken back, and the previous version keeps serving). At start-up the handler
// already listed everything but the Ingresses, so the admitted Ingresses come in with one relist
// rather than one CloudEvent each; later changes are CloudEvents, as from a cluster's event source.
import type { EventSender } from '../src/cluster/event-sender.ts';
import type { ManifestSource, ResourceChange, SyncResult } from '../src/cluster/manifest-source.ts';
import { reviewIngress, type HandlerFetch, type Verdict } from './admission-gate.ts';
import { REVIEWED_KINDS, type AdmittedReader } from './admitted-reader.ts';
import type { Terminal } from './terminal.ts';

export interface FolderApplyOptions {
  source: ManifestSource;
  reader: AdmittedReader;
  /** The handler's POST /admission, in this process. */
  admission: HandlerFetch;
  /** The handler's relist: takes in, at once, what the reader lists. */
  relist: () => Promise<unknown>;
  sender: EventSender;
  terminal: Terminal;
  /** Reviews in flight at once. */
  concurrency?: number;
}

const EVENT_TYPE = { add: 'io.wharf.resource.add', update: 'io.wharf.resource.update', delete: 'io.wharf.resource.delete' } as const;
/** Above this many objects, a first load is told as one line per kind. */
const TELL_EACH_UP_TO = 50;

const where = (c: { file: string; index: number }) => (c.index >= 0 ? `${c.file} #${c.index}` : c.file);

/** See the file comment. */
export class FolderApply {
  private readonly o: Required<FolderApplyOptions>;
  private stopped = false;

  constructor(options: FolderApplyOptions) {
    this.o = { concurrency: 8, ...options };
  }

  /** Ends the work in progress at the next step: no new review or event. */
  stop(): void {
    this.stopped = true;
  }

  /** Applies one sync's result; `first`: the start-up load, which the handler's list already holds but for the reviewed kinds. */
  async apply(r: SyncResult, first: boolean): Promise<void> {
    const { terminal, sender, reader } = this.o;
    if (this.stopped) return;
    for (const p of r.problems) terminal.say(p.severity === 'error' ? 'broken' : 'note', `${p.index !== undefined ? `${p.file} #${p.index}` : p.file}: ${p.message}`);
    const tellEach = !first || r.changes.length <= TELL_EACH_UP_TO;
    const verb = (c: ResourceChange) => (first ? 'loaded' : c.type === 'add' ? 'added' : c.type === 'update' ? 'updated' : 'deleted');
    const reviewed = r.changes.filter((c) => REVIEWED_KINDS.has(c.kind) && c.type !== 'delete');
    // Everything else first, so the webhook judges Ingresses against their Services and Secrets.
    for (const c of r.changes.filter((c) => !reviewed.includes(c))) {
      if (tellEach) terminal.say(verb(c), `${c.kind} ${c.key} (${where(c)})${c.kind === 'EndpointSlice' && !first ? ': endpoints only, no reload' : ''}`);
      if (c.type === 'delete') reader.forget(c.kind, c.key);
      if (!first || c.type === 'delete') this.send(c);
    }
    if (!tellEach) terminal.say('loaded', summary(r.changes, reviewed.length));
    await sender.idle();
    const reviewStart = performance.now();
    const verdicts = await this.review(reviewed);
    const reviewMs = Math.round(performance.now() - reviewStart);
    if (this.stopped) return;
    let admitted = 0;
    for (const [i, c] of reviewed.entries()) {
      const verdict = verdicts[i]!;
      if (!verdict.allowed) {
        this.o.source.reject(c);
        terminal.say('rejected', `${c.kind} ${c.key} (${where(c)}): ${verdict.message}${c.previous ? '; the previous version keeps serving' : ''}`);
        continue;
      }
      admitted++;
      if (tellEach) terminal.say(verb(c), `${c.kind} ${c.key} (${where(c)})`);
      for (const w of verdict.warnings) terminal.say('warning', `${c.kind} ${c.key}: ${w}`);
      reader.admit(c.kind, c.key, c.object);
      if (!first) this.send(c);
    }
    if (first) {
      if (!tellEach) terminal.say('admitted', `${admitted} of ${reviewed.length} reviewed objects (${reviewMs} ms)`);
      await this.o.relist();
    }
    await sender.idle();
  }

  private send(c: ResourceChange): void {
    this.o.sender.send({ key: `${c.kind}/${c.key}`, type: EVENT_TYPE[c.type], subject: `${c.kind}/${c.key}`, data: c.object });
  }

  // The webhook's verdicts, in the changes' order, `concurrency` reviews at a time.
  private async review(changes: ResourceChange[]): Promise<Verdict[]> {
    const verdicts: Verdict[] = new Array(changes.length);
    let next = 0;
    const lane = async () => {
      while (next < changes.length && !this.stopped) {
        const i = next++;
        verdicts[i] = await reviewIngress(this.o.admission, changes[i]!.object, changes[i]!.previous);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.o.concurrency, changes.length) }, lane));
    return verdicts;
  }
}

// "2000 Ingresses, 2000 Services, 2000 EndpointSlices (reviewing 2000)".
function summary(changes: ResourceChange[], reviewing: number): string {
  const counts = new Map<string, number>();
  for (const c of changes) counts.set(c.kind, (counts.get(c.kind) ?? 0) + 1);
  const kinds = [...counts].map(([kind, n]) => `${n} ${kind}${n === 1 ? '' : kind.endsWith('s') ? 'es' : 's'}`).join(', ');
  return `${kinds}${reviewing ? ` (reviewing the ${reviewing} that the admission webhook checks)` : ''}`;
}
