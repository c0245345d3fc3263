// The admission webhook's check of one Gateway API object: what the CRDs' schemas and CEL rules
// cannot check. Errors deny (a value NGINX cannot be given safely: the grammar of every string that
// reaches a config file, regex safety); warnings allow (a parent that does not accept the route, a
// reference that does not resolve, a path an older route or Ingress already holds, a listener wharf
// cannot serve). The same translation and merge as the configuration, so what it allows is what
// renders. Pure: the RoutingIndex passes what it holds.
import type { GatewayCheck } from './gateway-index.ts';
import type { GatewayStatus, RouteStatus } from './gateway-status.ts';
import { mergeHost } from './merge-host.ts';
import type { GlobalSettings, ObjectRef, Problem } from './types.ts';
import type { Translation } from './translate-ingress.ts';
import { UpstreamNames } from './upstreams.ts';

/** The Problems of a checked object: its own, its status's as warnings, and its conflicts on shared hosts. */
export function gatewayProblems(
  ref: ObjectRef,
  check: GatewayCheck,
  contributors: (host: string) => Translation[],
  global: GlobalSettings,
): Problem[] {
  const out: Problem[] = [];
  const warn = (reason: string, field: string, message: string) => out.push({ object: ref, severity: 'warning', reason, field, message: `${field}: ${message}` });
  const t = check.translation;
  if (t) out.push(...t.problems);
  const status = check.status;
  if (status && 'parents' in status) {
    (status as RouteStatus).parents.forEach((p, i) => {
      const gw = `Gateway ${p.parentRef.namespace}/${p.parentRef.name}${p.parentRef.sectionName ? ` (${p.parentRef.sectionName})` : ''}`;
      for (const c of p.conditions) {
        if (c.status === 'True' || c.reason === 'UnsupportedValue') continue;
        const field = `spec.parentRefs[${i}]`;
        warn(c.reason, field, c.type === 'Accepted' ? `not accepted by ${gw}: ${c.reason}: ${c.message}` : `${c.reason}: ${c.message}`);
      }
    });
  } else if (status && 'listeners' in status) {
    (status as GatewayStatus).listeners.forEach((l, i) => {
      for (const c of l.conditions) {
        const bad = c.type === 'Conflicted' ? c.status === 'True' : c.type !== 'Programmed' && c.status === 'False';
        if (bad) warn(c.reason, `spec.listeners[${i}]`, `listener ${l.name} is not served: ${c.reason}: ${c.message}`);
      }
    });
  }
  if (t && !t.rejected) {
    // Conflicts on the route's hosts, weighed as the configuration weighs them.
    const names = new UpstreamNames();
    for (const host of t.hosts) {
      const others = contributors(host).filter((o) => o.key !== t.key);
      const merged = mergeHost(host, [...others, t], global, (r) => names.nameOf(r));
      out.push(...merged.problems.filter((p) => p.object.kind === ref.kind && p.object.namespace === ref.namespace && p.object.name === ref.name));
    }
  }
  return out;
}
