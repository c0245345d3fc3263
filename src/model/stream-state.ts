// The RoutingIndex's part for TCP and UDP services: the two ConfigMaps, the routes they give, and
// the upstream names those routes hold in the index's UpstreamNames (user `stream`), so that a
// Service's endpoints reach a stream route exactly as they reach an Ingress. Pure.
import { objectKey, type ControllerSettings, type ObjectKey } from './cluster-state.ts';
import type { GatewayApiObject } from './gateway-schemas.ts';
import { GATEWAY_CONTROLLER_NAME } from './gateway-status.ts';
import type { ConfigMap } from './schemas.ts';
import { streamConfigMapRole, streamServices, parseStreamConfigMap, type HttpPorts, type StreamServices } from './stream-services.ts';
import type { Problem, RoutingModel } from './types.ts';
import { upstreamRefKey, type Rename, type UpstreamNames, type UpstreamRef } from './upstreams.ts';

/** The UpstreamNames user that stands for every stream route. */
export const STREAM_USER = 'stream';

/** What a change tells the index: upstreams whose set appeared or went, and whether the routes may differ. */
interface StreamOut {
  upstreams: Set<string>;
  streams: boolean;
}

/**
 * NGINX's own ports and the Gateway listeners' ports, which a TCP service may not take (TCP
 * listeners' too: the listener wins), and the UDP listeners' ports, which a UDP service may not take.
 * Only wharf's Gateways (of a GatewayClass naming its controller) hold ports: others are not NGINX's.
 */
export function httpPortsOf(gatewayApi: ReadonlyMap<string, GatewayApiObject>, protocol: 'TCP' | 'UDP' = 'TCP'): HttpPorts {
  const out = new Map<number, string>(protocol === 'UDP' ? [] : [
    [80, "NGINX's HTTP port"],
    [443, "NGINX's HTTPS port"],
  ]);
  const served = new Set<string>();
  for (const o of gatewayApi.values()) if (o.kind === 'GatewayClass' && o.spec.controllerName === GATEWAY_CONTROLLER_NAME) served.add(o.metadata.name);
  for (const o of gatewayApi.values()) {
    if (o.kind !== 'Gateway' || !served.has(o.spec.gatewayClassName)) continue;
    for (const l of o.spec.listeners) {
      if ((l.protocol === 'UDP') !== (protocol === 'UDP')) continue;
      if (!out.has(l.port)) out.set(l.port, `Gateway ${o.metadata.namespace}/${o.metadata.name} (listener ${l.name})`);
    }
  }
  return out;
}

export class StreamState {
  private readonly settings: ControllerSettings;
  private readonly names: UpstreamNames;
  private tcp: ConfigMap | null = null;
  private udp: ConfigMap | null = null;
  private result: StreamServices = { routes: [], problems: [] };
  private refs = new Map<string, UpstreamRef>();
  private fingerprint = '[]';

  constructor(settings: ControllerSettings, names: UpstreamNames) {
    this.settings = settings;
    this.names = names;
  }

  /** Whether `key` is one of the services ConfigMaps. */
  owns(key: ObjectKey): boolean {
    return streamConfigMapRole(key, this.settings) !== null;
  }

  put(key: ObjectKey, cm: ConfigMap | null, gatewayApi: ReadonlyMap<string, GatewayApiObject>, out: StreamOut): void {
    if (streamConfigMapRole(key, this.settings) === 'TCP') this.tcp = cm;
    else this.udp = cm;
    this.refresh(gatewayApi, out);
  }

  /** Parses both ConfigMaps again (a Gateway's ports may have changed) and moves the upstream names. */
  refresh(gatewayApi: ReadonlyMap<string, GatewayApiObject>, out: StreamOut): void {
    if (!this.tcp && !this.udp && this.refs.size === 0) return;
    this.result = streamServices(this.tcp, this.udp, httpPortsOf(gatewayApi), httpPortsOf(gatewayApi, 'UDP'));
    const next = new Map<string, UpstreamRef>();
    for (const r of this.result.routes) next.set(upstreamRefKey(r.backend), r.backend);
    const renamed: Rename[] = [];
    for (const [k, ref] of next) {
      if (this.refs.has(k)) continue;
      const fresh = this.names.usersOf(ref).size === 0;
      renamed.push(...this.names.add(ref, STREAM_USER));
      if (fresh) out.upstreams.add(this.names.nameOf(ref));
    }
    for (const [k, ref] of this.refs) {
      if (next.has(k)) continue;
      const name = this.names.nameOf(ref);
      renamed.push(...this.names.remove(ref, STREAM_USER));
      if (this.names.usersOf(ref).size === 0) out.upstreams.add(name);
    }
    this.refs = next;
    for (const r of renamed) {
      out.upstreams.add(r.from);
      out.upstreams.add(r.to);
    }
    const fingerprint = JSON.stringify(this.routes());
    if (fingerprint !== this.fingerprint || renamed.length > 0) out.streams = true;
    this.fingerprint = fingerprint;
  }

  routes(): NonNullable<RoutingModel['streams']> {
    return this.result.routes.map((r) => ({ ...r, upstream: this.names.nameOf(r.backend) }));
  }

  problems(): Problem[] {
    return this.result.problems;
  }

  /** The problems `cm` would have as the services ConfigMap it is named as; [] for any other. */
  validate(cm: ConfigMap, gatewayApi: ReadonlyMap<string, GatewayApiObject>): Problem[] {
    const role = streamConfigMapRole(objectKey(cm.metadata.namespace, cm.metadata.name), this.settings);
    if (!role) return [];
    return parseStreamConfigMap(cm, role, httpPortsOf(gatewayApi), httpPortsOf(gatewayApi, 'UDP')).problems;
  }
}
