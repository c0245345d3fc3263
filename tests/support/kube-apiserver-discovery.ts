// The API groups the fake API server serves, as a real one tells them: discovery (`/api`, `/apis`,
// `/apis/GROUP`, `/apis/GROUP/VERSION`) lists only what is served, and a group/version that is not
// served (a cluster before Kubernetes 1.21 has no discovery.k8s.io/v1; one without the Gateway API
// CRDs has no gateway.networking.k8s.io/v1) answers 404 on discovery and resource paths alike.
// Tests withdraw a group/version (or a whole group: every version of a CRD) and serve it again later,
// as installing a CRD or upgrading the cluster does, without restarting the server.
import { apiVersionOf, ApiError, type ResourceDef } from './kube-apiserver-resources.ts';

/** Every group/version a def is served at (a CRD: one per served version). */
const groupVersionsOf = (d: ResourceDef) => (d.versions ?? ['v1']).map((version) => apiVersionOf({ ...d, version }));

/** Which group/versions are served, and the discovery documents that follow from it. */
export class ServedApis {
  readonly #resources: ResourceDef[];
  readonly #withdrawn = new Set<string>();

  constructor(resources: ResourceDef[]) {
    this.#resources = resources;
  }

  /**
   * Stops serving `api`: a group/version (`discovery.k8s.io/v1`), or a whole group
   * (`gateway.networking.k8s.io`: every version, as when its CRDs are deleted). Returns the
   * group/versions withdrawn.
   */
  withdraw(api: string): string[] {
    const groupVersions = this.#groupVersions(api);
    if (groupVersions.length === 0) throw new Error(`the fake API server has no group/version or group ${api}`);
    for (const gv of groupVersions) this.#withdrawn.add(gv);
    return groupVersions;
  }

  /** Serves `api` (a group/version, or every version of a group) again: its objects are as they were. */
  restore(api: string): void {
    for (const gv of this.#groupVersions(api)) this.#withdrawn.delete(gv);
  }

  /** The def's versions that are served now. */
  servedVersions(def: ResourceDef): string[] {
    return (def.versions ?? ['v1']).filter((version) => !this.#withdrawn.has(apiVersionOf({ ...def, version })));
  }

  /** Throws the real server's 404 when a resource path names a group/version that is not served. */
  check(path: string): void {
    const parts = path.split('/').filter(Boolean);
    const groupVersion = parts[0] === 'api' ? parts[1] : parts[0] === 'apis' && parts.length >= 3 ? `${parts[1]}/${parts[2]}` : undefined;
    if (groupVersion && this.#withdrawn.has(groupVersion)) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  }

  /** The discovery document at `path`, or null when the path is not a discovery path. */
  answer(path: string): unknown {
    const parts = path.split('/').filter(Boolean);
    // group → its served versions, v1 first (the preferred one, as for the Gateway API's CRDs).
    const versions = new Map<string, Set<string>>();
    for (const d of this.#resources) {
      if (!d.group) continue;
      for (const v of this.servedVersions(d)) versions.set(d.group, (versions.get(d.group) ?? new Set()).add(v));
    }
    const groups = [...versions.keys()].sort();
    const versionsOf = (group: string) =>
      [...versions.get(group)!].sort((a, b) => (a === 'v1' ? -1 : b === 'v1' ? 1 : a.localeCompare(b))).map((version) => ({ groupVersion: `${group}/${version}`, version }));
    const groupDoc = (name: string) => ({ name, versions: versionsOf(name), preferredVersion: versionsOf(name)[0] });
    if (parts.length === 1 && parts[0] === 'api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
    if (parts.length === 1 && parts[0] === 'apis') return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(groupDoc) };
    if (parts.length === 2 && parts[0] === 'apis') {
      if (!groups.includes(parts[1]!)) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      return { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(parts[1]!) };
    }
    const resourceList = (groupVersion: string, defs: ResourceDef[]) => ({
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion,
      resources: defs.flatMap((d) => [
        { name: d.plural, singularName: d.kind.toLowerCase(), namespaced: d.namespaced, kind: d.kind, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
        ...(d.status ? [{ name: `${d.plural}/status`, singularName: '', namespaced: d.namespaced, kind: d.kind, verbs: ['get', 'patch', 'update'] }] : []),
      ]),
    });
    if (parts.length === 2 && parts[0] === 'api' && parts[1] === 'v1') return resourceList('v1', this.#resources.filter((d) => !d.group && this.servedVersions(d).length));
    if (parts.length === 3 && parts[0] === 'apis') {
      const [, group, version] = parts as [string, string, string];
      const defs = this.#resources.filter((d) => d.group === group && this.servedVersions(d).includes(version));
      if (defs.length === 0) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      return resourceList(`${group}/${version}`, defs);
    }
    return null;
  }

  #groupVersions(api: string): string[] {
    const all = new Set(this.#resources.flatMap(groupVersionsOf));
    if (all.has(api)) return [api];
    return [...all].filter((gv) => gv.startsWith(`${api}/`));
  }
}
