// The level-triggered half over the Kubernetes API: a ClusterReader whose list(kind) is every object
// of the kind wharf reads, paged (limit/continue, one consistent snapshot), and whose get(key) reads
// one object for Knative's reference-mode events. The handler's relist (src/handlers/app.ts) calls it.
import { apiAbsence, type ApiPresence } from './api-presence.ts';
import { describeApiError, apiFailure } from './api-failure.ts';
import type { KubeClients } from './kubernetes-client.ts';
import { listPage, OLDER_VERSIONS, readObject, streamName, streamsFor, TLS_SECRET_TYPE, type StreamSpec, type WatchScope } from './kubernetes-resources.ts';
import { CLUSTER_SCOPED, compareVersions, formatKey, type ClusterReader, type Kind, type KindList, type KubeObject, type ObjectKey } from './view.ts';

export interface KubernetesReaderOptions {
  /** Objects per page (the API server's `limit`); 500 is what kubectl and client-go use. */
  pageSize?: number;
}

/**
 * What a lister keeps of each listed object, applied page by page as the pages arrive, so that a
 * large list's raw pages are not all held at once (the handler keeps the objects parsed for its model).
 */
export type PrepareListed = (object: KubeObject) => KubeObject;

/** Lists every page of one stream; a continue token that expired mid-list restarts the list. */
export async function listStream(clients: KubeClients, spec: StreamSpec, pageSize = 500, prepare?: PrepareListed): Promise<KindList> {
  for (let attempt = 1; ; attempt++) {
    const items: KubeObject[] = [];
    let resourceVersion = '';
    let token: string | undefined;
    try {
      do {
        const page = await listPage(clients, spec, pageSize, token);
        for (const item of page.items) items.push(prepare ? prepare(item) : item);
        // Every page of a paged list comes from the first page's snapshot: its version is the list's.
        if (!resourceVersion) resourceVersion = page.resourceVersion;
        token = page.continueToken;
      } while (token);
      return { items, resourceVersion };
    } catch (e) {
      // 410 on a continue token: the snapshot was compacted between pages. Start again (a few times).
      if (token && apiFailure(e).code === 410 && attempt < 3) continue;
      throw new Error(`listing ${streamName(spec)}: ${describeApiError(e)}`, { cause: e });
    }
  }
}

/**
 * Lists a stream at its kind's version or, where that is not served (404), at an older version the
 * kind is also read at (ReferenceGrant v1beta1 before Gateway API v1.5). Returns the list and the
 * version that answered (undefined: the kind's own); throws the first failure when none answers.
 */
export async function listServed(clients: KubeClients, spec: StreamSpec, pageSize = 500, prepare?: PrepareListed): Promise<KindList & { version?: string }> {
  try {
    return await listStream(clients, spec, pageSize, prepare);
  } catch (e) {
    if (apiAbsence(spec, e) !== 'not served') throw e;
    for (const version of OLDER_VERSIONS[spec.kind] ?? []) {
      try {
        return { ...(await listStream(clients, { ...spec, version }, pageSize, prepare)), version };
      } catch (older) {
        if (apiAbsence(spec, older) !== 'not served') throw older;
      }
    }
    throw e;
  }
}

/** The smallest of several list versions: merged lists are only known complete up to it. */
export function oldestVersion(versions: string[]): string {
  let oldest = versions[0] ?? '0';
  for (const v of versions.slice(1)) if (compareVersions(v, oldest) === -1) oldest = v;
  return oldest;
}

export class KubernetesReader implements ClusterReader {
  readonly streams: StreamSpec[];
  /** Told when a kind's group/version is not served (its list is then empty) and when it is again. */
  presence?: ApiPresence;
  readonly #clients: KubeClients;
  readonly #scope: WatchScope;
  readonly #pageSize: number;

  constructor(clients: KubeClients, scope: WatchScope = {}, options: KubernetesReaderOptions = {}) {
    this.#clients = clients;
    this.#scope = scope;
    this.streams = streamsFor(scope);
    this.#pageSize = options.pageSize ?? 500;
  }

  /**
   * Every object of a kind wharf reads. Secrets come from two streams (TLS and Opaque); the merged
   * list carries the older of their versions, so nothing newer than it is taken as deleted. A kind
   * wharf reads nothing of (no ConfigMap configured), or whose group/version the API server does not
   * serve (404: there are no such objects), or an optional kind RBAC does not grant (403), is an
   * empty list. A kind whose own version is not served is listed at an older one (`listServed`).
   */
  async list(kind: Kind): Promise<KindList> {
    const specs = this.streams.filter((s) => s.kind === kind);
    if (specs.length === 0) return { items: [], resourceVersion: '0' };
    let lists: KindList[];
    try {
      lists = await Promise.all(specs.map((s) => listServed(this.#clients, s, this.#pageSize)));
    } catch (e) {
      const absence = apiAbsence(specs[0]!, e);
      if (!absence) throw e;
      // Not granted (403 on an optional stream) is RBAC, not a missing API: empty, not reported.
      if (absence === 'not served') this.presence?.absent(specs[0]!);
      return { items: [], resourceVersion: '0' };
    }
    this.presence?.present(specs[0]!);
    if (lists.length === 1) return lists[0]!;
    return { items: lists.flatMap((l) => l.items), resourceVersion: oldestVersion(lists.map((l) => l.resourceVersion)) };
  }

  /** One object as it is now; null when it does not exist or is not one wharf reads. */
  async get(key: ObjectKey): Promise<KubeObject | null> {
    if (!this.#inScope(key)) return null;
    try {
      const o = await readObject(this.#clients, key);
      if (key.kind === 'Secret' && !this.#secretWanted(o)) return null;
      return o;
    } catch (e) {
      if (apiFailure(e).code === 404) {
        // Not found, or not served at this version: an older version may serve it (ReferenceGrant).
        for (const version of OLDER_VERSIONS[key.kind] ?? []) {
          try {
            return await readObject(this.#clients, key, version);
          } catch (older) {
            if (apiFailure(older).code !== 404) throw new Error(`reading ${formatKey(key)}: ${describeApiError(older)}`, { cause: older });
          }
        }
        return null;
      }
      throw new Error(`reading ${formatKey(key)}: ${describeApiError(e)}`, { cause: e });
    }
  }

  #inScope(key: ObjectKey): boolean {
    if (key.kind === 'ConfigMap') {
      const cm = this.#scope.configMap;
      if ((this.#scope.streamConfigMaps ?? []).some((s) => s.namespace === key.namespace && s.name === key.name)) return true;
      return !!cm && cm.namespace === key.namespace && cm.name === key.name;
    }
    return CLUSTER_SCOPED.has(key.kind) || !this.#scope.namespace || this.#scope.namespace === key.namespace;
  }

  #secretWanted(o: KubeObject): boolean {
    const type = (o.type as string | undefined) ?? 'Opaque';
    return type === TLS_SECRET_TYPE || (type === 'Opaque' && this.#scope.authSecrets !== false);
  }
}
