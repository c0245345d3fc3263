// The migration corpus (tests/migration/manifests): Ingresses as public charts and docs write them
// for ingress-nginx, with their Services, Secrets and ingress-nginx's ConfigMap. Read as YAML, and
// taken as wharf's the way docs/migrating.md says to try them: `ingressClassName: wharf` in a copy.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const MANIFESTS = 'tests/migration/manifests';
const DIR = new URL('./manifests/', import.meta.url).pathname;

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; annotations?: Record<string, string>; [k: string]: unknown };
  spec?: Record<string, unknown>;
  [k: string]: unknown;
}

/** Every object of the corpus, file by file in name order, as written. */
export function corpusObjects(): KubeObject[] {
  const out: KubeObject[] = [];
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(DIR, file), 'utf8'))) {
      const o = doc.toJS() as KubeObject | null;
      if (o) out.push(o);
    }
  }
  return out;
}

/** An Ingress as its owner would try it on wharf: class wharf, the legacy class annotation dropped. */
export function asWharfs(o: KubeObject, index: number): KubeObject {
  if (o.kind !== 'Ingress') return o;
  const annotations = { ...(o.metadata.annotations ?? {}) };
  delete annotations['kubernetes.io/ingress.class'];
  // Older first, in file order: the same order `wharf check` takes them in.
  const creationTimestamp = new Date(Date.UTC(2025, 0, 1, 0, 0, index)).toISOString().replace('.000Z', 'Z');
  return {
    ...o,
    metadata: { ...o.metadata, annotations, uid: `uid-${o.metadata.namespace}-${o.metadata.name}`, creationTimestamp },
    spec: { ...o.spec, ingressClassName: 'wharf' },
  };
}
