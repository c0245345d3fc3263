// A worker thread of ParseWorkers: reads and parses the manifest files it is given (the YAML parse
// is most of local mode's start-up on a big folder) and answers with parseManifestText's items.
import { readFileSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { parseManifestText } from '../src/cluster/manifests.ts';
import type { ParsedFile } from '../src/cluster/manifest-folder.ts';

parentPort!.on('message', (job: { id: number; files: { file: string; path: string }[] }) => {
  const results: ParsedFile[] = job.files.map(({ file, path }) => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      return { readError: (e as Error).message };
    }
    return { items: parseManifestText(text, file) };
  });
  parentPort!.postMessage({ id: job.id, results });
});
