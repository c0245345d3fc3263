// Agents found through the view: the ready endpoints of the agents' (headless) Service, as the
// EndpointSlices in the view list them. The handler needs no extra Kubernetes access for this: the
// event source already sends EndpointSlices.
import { isIPv4, isIPv6 } from 'node:net';
import type { ClusterView } from '../cluster/view.ts';

export interface AgentService {
  namespace: string;
  name: string;
  /** The agent API's port on each pod. */
  port: number;
}

/** Parses `namespace/name` (the --agent-service flag). */
export function parseAgentService(value: string, port: number): AgentService {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z]([-a-z0-9]*[a-z0-9])?)$/.exec(value);
  if (!m) throw new Error(`--agent-service: Invalid value: ${JSON.stringify(value)}: expected namespace/name of the agents' Service`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--agent-port: Invalid value: ${port}: expected a port number`);
  return { namespace: m[1]!, name: m[3]!, port };
}

/**
 * Base URLs of the agents behind `service`, sorted. Not-ready agents are included (a new agent is
 * not ready until it has its first config, which it gets from us); terminating ones are not.
 */
export function agentsFromView(view: ClusterView, service: AgentService): string[] {
  const urls = new Set<string>();
  for (const slice of view.list('EndpointSlice')) {
    const meta = slice.metadata as { namespace?: string; labels?: Record<string, string> };
    if (meta.namespace !== service.namespace || meta.labels?.['kubernetes.io/service-name'] !== service.name) continue;
    const endpoints = (slice as { endpoints?: { addresses: string[]; conditions?: { terminating?: boolean | null } | null }[] }).endpoints ?? [];
    for (const ep of endpoints) {
      if (ep.conditions?.terminating === true) continue;
      for (const a of ep.addresses) {
        if (isIPv4(a)) urls.add(`http://${a}:${service.port}`);
        else if (isIPv6(a)) urls.add(`http://[${a}]:${service.port}`);
      }
    }
  }
  return [...urls].sort();
}
