// APIs the cluster may not serve. A cluster before Kubernetes 1.21 has no discovery.k8s.io/v1, one
// without the Gateway API CRDs has no gateway.networking.k8s.io/v1: listing such a kind answers 404.
// That is not an outage to retry quickly, nor a reason to stop the other kinds: each stream says
// whether wharf needs its API (required: wharf is not ready without it) or can do without it
// (optional), and what wharf does meanwhile. A missing API is logged once, by name, with that
// consequence; it is shown in /readyz and a metric; its stream asks again slowly and starts without
// a restart when the API appears. An optional stream that RBAC does not grant (403: a release whose
// ClusterRole predates the kind) is not there either: read as empty, said once by the stream, asked
// again as slowly (`apiAbsence`).
import type { Logger } from '../log.ts';
import { apiFailure } from './api-failure.ts';
import type { StreamSpec } from './kubernetes-resources.ts';
import { API_VERSIONS, type Kind } from './view.ts';

/** What wharf needs of one kind's API, and what it does without it. */
export interface ApiNeed {
  /** Required: wharf is not ready while the API is missing (it still serves what it can). */
  required: boolean;
  /** What wharf does without the API, for the log line, /readyz and the README. */
  withoutIt: string;
}

const GATEWAY_API_NEED: ApiNeed = { required: false, withoutIt: 'wharf serves Ingress only' };

/**
 * The kinds whose API may be missing, with what wharf does then. Optional kinds (the Gateway API,
 * read where its CRDs are installed) go here too; a kind not listed is required and wharf does
 * without its objects.
 */
export const API_NEEDS: Partial<Record<Kind, ApiNeed>> = {
  EndpointSlice: {
    required: true,
    withoutIt: 'wharf cannot route: no Service has endpoints, so every Ingress path answers 503 (the API is served from Kubernetes 1.21)',
  },
  GatewayClass: GATEWAY_API_NEED,
  Gateway: GATEWAY_API_NEED,
  HTTPRoute: GATEWAY_API_NEED,
  GRPCRoute: GATEWAY_API_NEED,
  TLSRoute: GATEWAY_API_NEED,
  TCPRoute: GATEWAY_API_NEED,
  UDPRoute: GATEWAY_API_NEED,
  ReferenceGrant: GATEWAY_API_NEED,
  // Read for their labels only: the namespace selectors of Gateway listeners' allowedRoutes.
  // Without them a namespace has the label Kubernetes gives every Namespace only (tests/model/gateway-namespace-selector.test.ts).
  Namespace: {
    required: false,
    withoutIt: 'Gateway listeners that select route namespaces by label see only their kubernetes.io/metadata.name label: selectors on other labels admit routes only where they ask for a label\'s absence (NotIn, DoesNotExist)',
  },
};

export function needOf(kind: Kind, needs: Partial<Record<string, ApiNeed>> = API_NEEDS): ApiNeed {
  return needs[kind] ?? { required: true, withoutIt: `wharf reads no ${kind} objects` };
}

/** True when an error (or one it wraps) is the API server's 404 for a collection: the API is not served. */
export function isApiNotServed(e: unknown): boolean {
  for (let x: unknown = e, depth = 0; x && depth < 5; x = (x as { cause?: unknown }).cause, depth++) {
    if (apiFailure(x).code === 404) return true;
  }
  return false;
}

/**
 * Why a stream's API is not there for wharf: 'not served' (404: the API server does not serve the
 * kind's group/version, e.g. its CRD is not installed), or 'forbidden' (403 on an optional stream:
 * the RBAC of a release that does not grant it yet).
 */
export type ApiAbsence = 'not served' | 'forbidden';

/**
 * The one test of "the API is not there" for lists, watches and reads: a 404 for any stream, a 403
 * only for an optional one (a required stream's 403 is a misconfiguration, retried and reported
 * like any failure). null for any other failure.
 */
export function apiAbsence(spec: Pick<StreamSpec, 'optional'>, e: unknown): ApiAbsence | null {
  if (isApiNotServed(e)) return 'not served';
  for (let x: unknown = e, depth = 0; spec.optional && x && depth < 5; x = (x as { cause?: unknown }).cause, depth++) {
    if (apiFailure(x).code === 403) return 'forbidden';
  }
  return null;
}

/** One missing group/version, as /readyz and the metric show it. */
export interface MissingApi {
  groupVersion: string;
  kinds: Kind[];
  required: boolean;
  withoutIt: string;
  /** When wharf first found it missing (ISO 8601). */
  since: string;
}

export interface ApiPresenceOptions {
  log: Logger;
  needs?: Partial<Record<string, ApiNeed>>;
  /** Told every time the set of missing APIs changes (the handler's metric). */
  onChange?: (missing: MissingApi[], appeared: MissingApi[]) => void;
}

/** Which APIs the streams found missing: logs each once, by name, and when it appears. */
export class ApiPresence {
  readonly #o: ApiPresenceOptions;
  readonly #missing = new Map<string, MissingApi>();

  constructor(options: ApiPresenceOptions) {
    this.#o = options;
  }

  needOf(kind: Kind): ApiNeed {
    return needOf(kind, this.#o.needs);
  }

  /** A stream's list answered 404: its group/version is not served. */
  absent(spec: StreamSpec): void {
    const groupVersion = API_VERSIONS[spec.kind];
    const held = this.#missing.get(groupVersion);
    if (held) {
      if (!held.kinds.includes(spec.kind)) held.kinds.push(spec.kind);
      return;
    }
    const need = this.needOf(spec.kind);
    this.#missing.set(groupVersion, { groupVersion, kinds: [spec.kind], required: need.required, withoutIt: need.withoutIt, since: new Date().toISOString() });
    const fields = { groupVersion, kind: spec.kind, required: need.required, withoutIt: need.withoutIt };
    const message = `the API server does not serve ${groupVersion} (${spec.kind}): ${need.withoutIt}; wharf asks again periodically and starts the stream when it appears, without a restart`;
    if (need.required) this.#o.log.error(message, fields);
    else this.#o.log.warn(message, fields);
    this.#o.onChange?.(this.missing(), []);
  }

  /** A stream of `spec`'s kind listed: its group/version is served (again). */
  present(spec: StreamSpec): void {
    const groupVersion = API_VERSIONS[spec.kind];
    const was = this.#missing.get(groupVersion);
    if (!was) return;
    this.#missing.delete(groupVersion);
    this.#o.log.info(`the API server serves ${groupVersion} now: ${spec.kind} is read again`, { groupVersion, kind: spec.kind });
    this.#o.onChange?.(this.missing(), [was]);
  }

  missing(): MissingApi[] {
    return [...this.#missing.values()].map((m) => ({ ...m, kinds: [...m.kinds] }));
  }
}
