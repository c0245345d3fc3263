// The patch formats a Kubernetes API server accepts, as the fake API server applies them: JSON merge
// patch (RFC 7386), JSON patch (RFC 6902), and strategic merge patch approximated as a merge patch
// (wharf's objects have no merge keys where it patches). A failure throws a PatchError carrying the
// status code the real server answers with (422 for a failed `test`, 400 for a malformed patch).

export class PatchError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const isObject = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 7386: objects merge key by key, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): Json {
  if (!isObject(patch)) return structuredClone(patch) as Json;
  const out: Record<string, Json> = isObject(target) ? structuredClone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new PatchError(400, `json patch: path ${JSON.stringify(path)} must start with "/"`);
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: Json, parts: string[], path: string): { parent: Json; last: string } {
  let node: Json = doc;
  for (const p of parts.slice(0, -1)) {
    const next: Json | undefined = Array.isArray(node) ? node[Number(p)] : isObject(node) ? node[p] : undefined;
    if (next === undefined) throw new PatchError(422, `json patch: path ${JSON.stringify(path)}: missing ${JSON.stringify(p)}`);
    node = next;
  }
  return { parent: node, last: parts[parts.length - 1]! };
}

/** RFC 6902 add, remove, replace, test (the operations client libraries send). */
export function jsonPatch(document: unknown, ops: unknown): Json {
  if (!Array.isArray(ops)) throw new PatchError(400, 'json patch: the body must be an array of operations');
  let doc = structuredClone(document) as Json;
  for (const [i, raw] of ops.entries()) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw new PatchError(400, `json patch: operation ${i} needs "op" and "path"`);
    }
    const parts = pointer(raw.path);
    if (raw.op === 'test') {
      let node: Json | undefined = doc;
      for (const p of parts) node = Array.isArray(node) ? node[Number(p)] : isObject(node) ? node[p] : undefined;
      if (JSON.stringify(node) !== JSON.stringify(raw.value)) throw new PatchError(422, `json patch: test operation ${i} failed at ${raw.path}`);
      continue;
    }
    if (parts.length === 0) {
      if (raw.op === 'remove') throw new PatchError(422, 'json patch: cannot remove the whole document');
      doc = structuredClone(raw.value) as Json;
      continue;
    }
    const { parent, last } = parentOf(doc, parts, raw.path);
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      if (!Number.isInteger(index) || index < 0 || index > parent.length) throw new PatchError(422, `json patch: index ${last} out of range at ${raw.path}`);
      if (raw.op === 'add') parent.splice(index, 0, structuredClone(raw.value) as Json);
      else if (raw.op === 'remove' || raw.op === 'replace') {
        if (index >= parent.length) throw new PatchError(422, `json patch: nothing at ${raw.path}`);
        if (raw.op === 'remove') parent.splice(index, 1);
        else parent[index] = structuredClone(raw.value) as Json;
      } else throw new PatchError(400, `json patch: operation ${JSON.stringify(raw.op)} is not supported here`);
    } else if (isObject(parent)) {
      if ((raw.op === 'remove' || raw.op === 'replace') && !(last in parent)) throw new PatchError(422, `json patch: nothing at ${raw.path} to ${raw.op}`);
      if (raw.op === 'remove') delete parent[last];
      else if (raw.op === 'add' || raw.op === 'replace') parent[last] = structuredClone(raw.value) as Json;
      else throw new PatchError(400, `json patch: operation ${JSON.stringify(raw.op)} is not supported here`);
    } else {
      throw new PatchError(422, `json patch: ${raw.path}: the parent is not an object or array`);
    }
  }
  return doc;
}

/** Applies a PATCH body according to its Content-Type, as the API server does. */
export function applyPatch(contentType: string, document: unknown, body: string): Json {
  let patch: unknown;
  try {
    patch = JSON.parse(body);
  } catch (e) {
    throw new PatchError(400, `the patch is not JSON: ${(e as Error).message}`);
  }
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (type === 'application/merge-patch+json' || type === 'application/strategic-merge-patch+json') return mergePatch(document, patch);
  if (type === 'application/json-patch+json') return jsonPatch(document, patch);
  throw new PatchError(415, `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`);
}
