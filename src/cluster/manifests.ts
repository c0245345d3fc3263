// Reads a folder of Kubernetes YAML manifests into objects, the way local mode stands in for an API
// server. Every problem names the file, the document index and the reason; a broken document never
// hides the good ones next to it.
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import type { parseAllDocuments } from 'yaml';
import { parsePlainYaml } from './plain-yaml.ts';
import { CLUSTER_SCOPED, KINDS, isKind, type Kind } from './view.ts';

/** A Kubernetes object as found in a manifest, with where it came from. */
export interface ManifestObject {
  kind: Kind;
  /** `namespace/name`, or `name` for cluster-scoped kinds (IngressClass). */
  key: string;
  object: Record<string, unknown>;
  file: string;
  /** 0-based index of the YAML document in its file. */
  index: number;
}

export interface ManifestProblem {
  file: string;
  /** Absent when the problem is with the whole file (unreadable). */
  index?: number;
  severity: 'error' | 'warning';
  message: string;
}

export interface ManifestRead {
  objects: ManifestObject[];
  problems: ManifestProblem[];
  /** Files that could not be parsed at all or had a broken document: their previous objects are kept. */
  brokenFiles: Set<string>;
}

/** Lists the .yaml/.yml files under `dir`, sorted, skipping hidden files and editor temp files. */
export async function manifestFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name) && !e.name.startsWith('.'))
    .map((e) => join(e.parentPath, e.name))
    .filter((p) => !relative(dir, p).split('/').some((part) => part.startsWith('.')))
    .sort();
}

/** Reads every manifest under `dir`. Duplicate objects keep their first place (by file order). */
export async function readManifests(dir: string): Promise<ManifestRead> {
  const result: ManifestRead = { objects: [], problems: [], brokenFiles: new Set() };
  const seen = new Map<string, ManifestObject>();
  for (const path of await manifestFiles(dir)) {
    const file = relative(dir, path);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      result.problems.push({ file, severity: 'error', message: `cannot read: ${(e as Error).message}` });
      result.brokenFiles.add(file);
      continue;
    }
    for (const found of parseManifestText(text, file)) {
      if ('message' in found) {
        result.problems.push(found);
        if (found.severity === 'error') result.brokenFiles.add(file);
        continue;
      }
      const id = `${found.kind}/${found.key}`;
      const first = seen.get(id);
      if (first) {
        result.problems.push({
          file,
          index: found.index,
          severity: 'error',
          message: `duplicate ${found.kind} ${found.key}: already defined in ${first.file} (document ${first.index}); this one is ignored`,
        });
        continue;
      }
      seen.set(id, found);
      result.objects.push(found);
    }
  }
  return result;
}

/** Parses one file's text into objects and problems (plain YAML without `yaml`: see plain-yaml.ts). */
export function parseManifestText(text: string, file: string): (ManifestObject | ManifestProblem)[] {
  const plain = parsePlainYaml(text);
  if (plain) return plain.flatMap((value, index) => documentObjects(value, file, index));
  return manifestDocuments(yaml().parseAllDocuments(text, MANIFEST_PARSE_OPTIONS), file);
}

// `yaml`, loaded the first time a file is not plain: local mode's start (and each parse worker) is
// spared loading it (about 60 ms of CPU) when the folder is plain YAML.
let yamlModule: typeof import('yaml') | null = null;
const yaml = () => (yamlModule ??= createRequire(import.meta.url)('yaml') as typeof import('yaml'));

/** How manifests are parsed (`wharf check` adds a LineCounter to these for positions). */
export const MANIFEST_PARSE_OPTIONS = { prettyErrors: true, uniqueKeys: true } as const;

/** The objects and problems of a file's parsed documents (parseManifestText without the parsing). */
export function manifestDocuments(docs: ReturnType<typeof parseAllDocuments>, file: string): (ManifestObject | ManifestProblem)[] {
  const out: (ManifestObject | ManifestProblem)[] = [];
  docs.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      const e = doc.errors[0]!;
      const where = e.linePos?.[0] ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : 'unknown position';
      out.push({ file, index, severity: 'error', message: `YAML syntax error at ${where}: ${e.message.split('\n')[0]}` });
      return;
    }
    out.push(...documentObjects(doc.toJS({ maxAliasCount: 100 }), file, index));
  });
  return out;
}

// The objects and problems of one document's value.
function documentObjects(value: unknown, file: string, index: number): (ManifestObject | ManifestProblem)[] {
  if (value === null || value === undefined) return []; // an empty document
  return listItems(value).flatMap((item) => toManifestObjects(item, file, index));
}

// A `kind: List` holds objects in `items`; anything else is one object.
function listItems(value: unknown): unknown[] {
  if (isRecord(value) && value.kind === 'List' && Array.isArray(value.items)) return value.items;
  return [value];
}

function toManifestObjects(value: unknown, file: string, index: number): (ManifestObject | ManifestProblem)[] {
  if (isRecord(value) && value.kind === 'Endpoints' && value.apiVersion === 'v1' && isRecord(value.metadata)) {
    return endpointsToSlices(value).map((slice) => toManifestObject(slice, file, index));
  }
  return [toManifestObject(value, file, index)];
}

function toManifestObject(value: unknown, file: string, index: number): ManifestObject | ManifestProblem {
  const problem = (message: string, severity: 'error' | 'warning' = 'error'): ManifestProblem => ({ file, index, severity, message });
  if (!isRecord(value)) return problem('not a Kubernetes object: expected a mapping with apiVersion, kind and metadata');
  const { apiVersion, kind, metadata } = value;
  if (typeof apiVersion !== 'string' || apiVersion === '') return problem('apiVersion: Required value');
  if (typeof kind !== 'string' || kind === '') return problem('kind: Required value');
  if (!isRecord(metadata)) return problem('metadata: Required value');
  const name = metadata.name;
  if (typeof name !== 'string' || name === '') return problem('metadata.name: Required value');
  if (!isKind(kind)) {
    return problem(`${kind} ${name}: ignored, wharf reads ${KINDS.join(', ')} and v1 Endpoints`, 'warning');
  }
  const object = value as Record<string, unknown>;
  const meta = object.metadata as Record<string, unknown>;
  const finalKind = kind;
  if (CLUSTER_SCOPED.has(finalKind)) {
    return { kind: finalKind, key: name, object, file, index };
  }
  const namespace = meta.namespace ?? 'default';
  if (typeof namespace !== 'string') return problem('metadata.namespace: Invalid value: must be a string');
  const withNamespace = { ...object, metadata: { ...meta, namespace } };
  return { kind: finalKind, key: `${namespace}/${name}`, object: withNamespace, file, index };
}

/**
 * Core v1 Endpoints (still written by hand for local services) as the discovery.k8s.io/v1
 * EndpointSlices the rest of wharf reads: one slice per subset (a subset is its addresses times its
 * ports), `addresses` ready and `notReadyAddresses` not.
 */
export function endpointsToSlices(endpoints: Record<string, unknown>): Record<string, unknown>[] {
  const meta = endpoints.metadata as Record<string, unknown>;
  const labels = isRecord(meta.labels) ? meta.labels : {};
  const subsets = Array.isArray(endpoints.subsets) ? endpoints.subsets.filter(isRecord) : [];
  return subsets.map((subset, i) => {
    const sliceEndpoints: Record<string, unknown>[] = [];
    for (const [list, ready] of [[subset.addresses, true], [subset.notReadyAddresses, false]] as const) {
      if (!Array.isArray(list)) continue;
      for (const a of list.filter(isRecord)) sliceEndpoints.push({ addresses: [a.ip], conditions: { ready } });
    }
    const ports = (Array.isArray(subset.ports) ? subset.ports.filter(isRecord) : []).map((p) => ({
      ...(p.name !== undefined ? { name: p.name } : {}),
      port: p.port,
      protocol: p.protocol ?? 'TCP',
    }));
    const ipv6 = sliceEndpoints.some((e) => String((e.addresses as unknown[])[0]).includes(':'));
    return {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        ...meta,
        name: `${meta.name as string}-endpoints-${i}`,
        labels: { ...labels, 'kubernetes.io/service-name': meta.name },
      },
      addressType: ipv6 ? 'IPv6' : 'IPv4',
      endpoints: sliceEndpoints,
      ports,
    };
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
