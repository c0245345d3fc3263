// The API groups the fake API server serves, as a real one tells them: discovery (`/api`, `/apis`,
// `/apis/GROUP`, `/apis/GROUP/VERSION`) lists only what is served, and a group/version that is not
// served (a cluster before Kubernetes 1.21 has no discovery.k8s.io/v1; one without the Gateway API
// CRDs has no gateway.networking.k8s.io/v1) answers 404 on discovery and resource paths alike.
// Tests withdraw a group/version and serve it again later, as installing a CRD or upgrading the
// cluster does, without restarting the server.
import { apiVersionOf, ApiError, type ResourceDef } from './kube-apiserver-resources.ts';

/** Which group/versions are served, and the discovery documents that follow from it. */
export class ServedApis {
  readonly #resources: ResourceDef[];
  readonly #withdrawn = new Set<string>();

  constructor(resources: ResourceDef[]) {
    this.#resources = resources;
  }

  /** Stops serving `groupVersion` (e.g. `discovery.k8s.io/v1`); returns the kinds it held. */
  withdraw(groupVersion: string): string[] {
    const kinds = this.#resources.filter((d) => apiVersionOf(d) === groupVersion).map((d) => d.kind);
    if (kinds.length === 0) throw new Error(`the fake API server has no group/version ${groupVersion}`);
    this.#withdrawn.add(groupVersion);
    return kinds;
  }

  /** Serves `groupVersion` again (its objects are as they were). */
  restore(groupVersion: string): void {
    this.#withdrawn.delete(groupVersion);
  }

  served(def: ResourceDef): boolean {
    return !this.#withdrawn.has(apiVersionOf(def));
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
    const served = this.#resources.filter((d) => this.served(d));
    const groups = [...new Set(served.filter((d) => d.group).map((d) => d.group))].sort();
    const version = (group: string) => ({ groupVersion: `${group}/v1`, version: 'v1' });
    if (parts.length === 1 && parts[0] === 'api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
    if (parts.length === 1 && parts[0] === 'apis') {
      return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map((name) => ({ name, versions: [version(name)], preferredVersion: version(name) })) };
    }
    if (parts.length === 2 && parts[0] === 'apis') {
      if (!groups.includes(parts[1]!)) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      return { kind: 'APIGroup', apiVersion: 'v1', name: parts[1], versions: [version(parts[1]!)], preferredVersion: version(parts[1]!) };
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
    if (parts.length === 2 && parts[0] === 'api' && parts[1] === 'v1') return resourceList('v1', served.filter((d) => !d.group));
    if (parts.length === 3 && parts[0] === 'apis' && parts[2] === 'v1') {
      const defs = served.filter((d) => d.group === parts[1]);
      if (defs.length === 0) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      return resourceList(`${parts[1]}/v1`, defs);
    }
    return null;
  }
}
