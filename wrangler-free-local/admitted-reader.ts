// What the handler lists in local mode: the folder as the manifest source holds it, except that an
// Ingress is there only once the admission webhook allowed it (as an API server stores only what
// its webhooks admitted), in the version it allowed. So local mode can start the handler on one
// list of the whole folder, review every Ingress, and take the admitted ones in with one relist,
// instead of sending thousands of CloudEvents; and a periodic relist never serves an Ingress that
// is still under review or was refused.
import { CLUSTER_SCOPED, type ClusterReader, type Kind, type KindList, type KubeObject, type ObjectKey } from '../src/cluster/view.ts';

/** Kinds that go through the webhook before they are served (the webhook reviews Ingresses). */
export const REVIEWED_KINDS: ReadonlySet<Kind> = new Set<Kind>(['Ingress']);

/** See the file comment. */
export class AdmittedReader implements ClusterReader {
  private readonly source: ClusterReader;
  private readonly admitted = new Map<string, KubeObject>();

  constructor(source: ClusterReader) {
    this.source = source;
  }

  /** The webhook allowed this version of the object. */
  admit(kind: Kind, key: string, object: Record<string, unknown>): void {
    this.admitted.set(`${kind}/${key}`, object as KubeObject);
  }

  /** The object was deleted from the folder. */
  forget(kind: Kind, key: string): void {
    this.admitted.delete(`${kind}/${key}`);
  }

  async list(kind: Kind): Promise<KindList> {
    const list = await this.source.list(kind);
    if (!REVIEWED_KINDS.has(kind)) return list;
    const items = [...this.admitted.entries()].filter(([id]) => id.startsWith(`${kind}/`)).map(([, o]) => o);
    return { items, resourceVersion: list.resourceVersion };
  }

  async get(key: ObjectKey): Promise<KubeObject | null> {
    if (!REVIEWED_KINDS.has(key.kind)) return this.source.get(key);
    return this.admitted.get(`${key.kind}/${CLUSTER_SCOPED.has(key.kind) ? key.name : `${key.namespace}/${key.name}`}`) ?? null;
  }
}
