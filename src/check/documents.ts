// The input of `wharf check` and `wharf render`: files, folders and stdin read into the objects wharf
// reads, each with the file and line it came from. Parsing is local mode's (cluster/manifests.ts), so
// a folder means the same thing to `wharf local` and to `wharf check`; this file adds what a
// reviewer needs on top: the line of a document, and of a field inside it, for every problem.
import { readFile, stat } from 'node:fs/promises';
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import { MANIFEST_PARSE_OPTIONS, manifestDocuments, manifestFiles } from '../cluster/manifests.ts';
import type { Kind } from '../cluster/view.ts';

/** How stdin is named in problem lines (`-` on the command line). */
export const STDIN_NAME = '<stdin>';

/** One object of the input, with where it came from. */
export interface InputObject {
  kind: Kind;
  /** `namespace/name`, or `name` for cluster-scoped kinds. */
  key: string;
  object: Record<string, unknown>;
  file: string;
  /** 1-based line where the object's document starts. */
  line: number;
  /** The line of a field (`spec.rules[0].host`, `metadata.annotations[x]`), else the document's. */
  lineOf(field: string): number;
}

/** A document that is not an object wharf can read (YAML syntax, no kind, no name). */
export interface InputProblem {
  file: string;
  line: number;
  message: string;
}

/** An object of a kind wharf does not read: counted, not checked. */
export interface SkippedObject {
  file: string;
  line: number;
  kind: string;
  /** Empty when not known (an object of a kind wharf does not read) or cluster-scoped. */
  namespace: string;
  name: string;
  why: string;
}

export interface Inputs {
  /** Files in the order they were read (problems are printed in this order). */
  files: string[];
  objects: InputObject[];
  problems: InputProblem[];
  skipped: SkippedObject[];
}

/** An input that cannot be read at all (missing file, unreadable folder): exit status 2. */
export class InputError extends Error {
  override name = 'InputError';
}

/** Reads every path (`-` is stdin, read once), in the order given; folders as local mode reads them. */
export async function readInputs(paths: readonly string[], readStdin: () => Promise<string>): Promise<Inputs> {
  const inputs: Inputs = { files: [], objects: [], problems: [], skipped: [] };
  for (const path of paths) {
    if (path === '-') {
      addText(inputs, await readStdin(), STDIN_NAME);
      continue;
    }
    let files: string[];
    try {
      files = (await stat(path)).isDirectory() ? await manifestFiles(path) : [path];
    } catch (e) {
      throw new InputError(`${path}: cannot read: ${(e as Error).message}`);
    }
    for (const file of files) {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (e) {
        throw new InputError(`${file}: cannot read: ${(e as Error).message}`);
      }
      addText(inputs, text, file);
    }
  }
  return inputs;
}

/** Reads all of stdin as UTF-8. */
export async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Adds one file's documents to `inputs`. */
export function addText(inputs: Inputs, text: string, file: string): void {
  inputs.files.push(file);
  const lines = new LineCounter();
  // Parsed once, as manifests.ts parses, with a LineCounter: the documents give the lines too.
  const docs = parseAllDocuments(text, { ...MANIFEST_PARSE_OPTIONS, lineCounter: lines });
  const list = Array.isArray(docs) ? docs : [];
  const lineAt = (offset: number) => lines.linePos(offset).line;
  const docLine = (index: number): number => {
    const doc = list[index];
    if (!doc) return 1;
    const error = doc.errors[0];
    if (error?.linePos?.[0]) return error.linePos[0].line;
    // The document starts at its first content line, comments before it skipped.
    const start = doc.contents?.range?.[0] ?? doc.range[0];
    return lineAt(start);
  };
  for (const found of manifestDocuments(docs, file)) {
    const line = docLine(found.index ?? 0);
    if ('message' in found) {
      // manifests.ts's only warning is an object of a kind wharf does not read.
      const skipped = found.severity === 'warning' ? /^(\S+) (\S+): (.*)$/.exec(found.message) : null;
      if (skipped) inputs.skipped.push({ file, line, kind: skipped[1]!, namespace: '', name: skipped[2]!, why: skipped[3]! });
      else inputs.problems.push({ file, line, message: found.message.replace(/^YAML syntax error at line \d+, column \d+: (.*?)(?: at line \d+, column \d+:?)?$/, 'YAML syntax error: $1') });
      continue;
    }
    const doc = list[found.index];
    // Field lines only where the document is this object (not a List item, not an Endpoints' slice).
    const sameObject = doc !== undefined && isDocOf(doc, found.kind, found.object);
    inputs.objects.push({
      kind: found.kind,
      key: found.key,
      object: found.object,
      file,
      line,
      lineOf: (field) => (sameObject ? fieldLine(doc, field, lineAt) ?? line : line),
    });
  }
}

function isDocOf(doc: Document.Parsed, kind: string, object: Record<string, unknown>): boolean {
  const meta = object.metadata as Record<string, unknown>;
  return doc.getIn(['kind']) === kind && doc.getIn(['metadata', 'name']) === meta.name;
}

/** `spec.rules[0].http.paths[1].pathType` → ['spec', 'rules', 0, 'http', 'paths', 1, 'pathType']. */
export function fieldKeys(field: string): (string | number)[] {
  const keys: (string | number)[] = [];
  for (const m of field.matchAll(/\.?([A-Za-z_$][A-Za-z0-9_$-]*)|\[([^\]]*)\]/g)) {
    if (m[1] !== undefined) keys.push(m[1]);
    else keys.push(/^\d+$/.test(m[2]!) ? Number(m[2]) : m[2]!);
  }
  return keys;
}

/** The line of the deepest node of `field` present in the document (null: none of it is). */
function fieldLine(doc: Document.Parsed, field: string, lineAt: (offset: number) => number): number | null {
  const keys = fieldKeys(field);
  for (let n = keys.length; n > 0; n--) {
    const node = doc.getIn(keys.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) return lineAt(node.range[0]);
  }
  return null;
}
