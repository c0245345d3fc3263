// Local mode's start-up reads thousands of manifests, and parsing their YAML is most of the time
// before anything is served (2,000 files of three documents: about 2 s on one core). ParseWorkers
// spreads that over worker threads, one per core (two at least, four at most), started before
// anything else so that they are ready when the folder's first sync needs them, and closed once it
// is done (later syncs read a few files: parsed on the main thread, and the workers' heaps freed).
import module from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ManyFilesParser, ParsedFile } from '../src/cluster/manifest-folder.ts';

// A worker does not inherit the compile cache the main thread enabled (wharf local's, in its work
// dir): without it each worker would load Node's TypeScript stripper (WebAssembly, ~25 MB) and strip
// every module again, which made the parse slower than on the main thread, with 80 MB more RSS.
const BOOTSTRAP = `const { workerData } = require('node:worker_threads');
if (workerData.cacheDir) require('node:module').enableCompileCache(workerData.cacheDir);
import(workerData.entry);`;

/** Files per job: small enough to share the work evenly, big enough that messages stay few. */
const CHUNK = 50;

/** See the file comment. */
export class ParseWorkers {
  private readonly workers: Worker[];
  private readonly idle: Worker[] = [];
  /** Jobs in flight: how to answer each. */
  private readonly waiting = new Map<number, { resolve: (results: ParsedFile[]) => void; reject: (e: Error) => void }>();
  private failure: Error | null = null;
  private nextId = 0;
  private closed = false;

  constructor(count = Math.max(2, Math.min(availableParallelism(), 4))) {
    this.workers = Array.from({ length: count }, () => {
      const w = new Worker(BOOTSTRAP, { eval: true, workerData: { cacheDir: module.getCompileCacheDir?.(), entry: new URL('./parse-worker.ts', import.meta.url).href } });
      // Idle workers never keep the process alive (a start-up that fails before closing them).
      w.unref();
      w.on('message', (m: { id: number; results: ParsedFile[] }) => {
        w.unref();
        this.idle.push(w);
        this.waiting.get(m.id)?.resolve(m.results);
        this.waiting.delete(m.id);
      });
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => {
        if (!this.closed) this.fail(new Error(`a manifest parsing worker exited (code ${code})`));
      });
      return w;
    });
    this.idle.push(...this.workers);
  }

  /** A ManyFilesParser over these workers (one call at a time, as syncs are); rejects if a worker fails. */
  readonly parse: ManyFilesParser = async (files) => {
    const chunks: { file: string; path: string }[][] = [];
    for (let i = 0; i < files.length; i += CHUNK) chunks.push(files.slice(i, i + CHUNK));
    const results: ParsedFile[][] = new Array(chunks.length);
    let next = 0;
    // One lane per worker: each takes the next chunk when its previous one is answered.
    const lane = async () => {
      while (next < chunks.length) {
        const i = next++;
        results[i] = await this.run(chunks[i]!);
      }
    };
    await Promise.all(this.workers.map(lane));
    return results.flat();
  };

  /** Stops the workers (once the first sync is done). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private run(files: { file: string; path: string }[]): Promise<ParsedFile[]> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('the manifest parsing workers are closed'));
    const worker = this.idle.pop()!; // a lane per worker: one is idle whenever a lane asks
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ id, files });
    });
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }
}
