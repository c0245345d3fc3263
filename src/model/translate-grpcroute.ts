// One GRPCRoute → the same Translation and status as an HTTPRoute's, through the HTTPRoute
// translation: a gRPC call is an HTTP/2 POST to `/<service>/<method>`, so a method match becomes a
// path match (service and method: Exact path; service only: Prefix `/<service>`; method only or a
// regular expression: a regex path), headers stay headers, and the backends are spoken to with
// grpc_pass. Service and method values are checked here, with their own field paths. Pure.
import type { GRPCMatch, GRPCRoute, HTTPRoute, RouteMatch } from './gateway-schemas.ts';
import type { ServedListener } from './gateway-listeners.ts';
import { checkRegexPath } from './grammar.ts';
import type { RouteStatus } from './gateway-status.ts';
import { invalidMessage } from './problems.ts';
import { translateHTTPRoute, type RouteWorld } from './translate-httproute.ts';
import type { Translation } from './translate-ingress.ts';
import type { ObjectRef, Problem } from './types.ts';

/** The CRD's own patterns (what CEL would refuse anyway), which also keep them plain path text. */
const SERVICE = /^\.?[A-Za-z_][A-Za-z_0-9]*(?:\.[A-Za-z_][A-Za-z_0-9]*)*$/;
const METHOD = /^[A-Za-z_][A-Za-z_0-9]*$/;
const escapeRegex = (s: string): string => s.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');

/** The path match of a gRPC method match, or null with a problem. */
function pathOf(m: GRPCMatch, field: string, problem: (field: string, value: string, why: string) => void): RouteMatch['path'] | null {
  const mm = m.method;
  if (!mm || (mm.service === undefined && mm.method === undefined)) return { type: 'PathPrefix', value: '/' };
  const f = `${field}.method`;
  if (mm.type === 'Exact') {
    let ok = true;
    if (mm.service !== undefined && !SERVICE.test(mm.service)) problem(`${f}.service`, mm.service, 'must be a gRPC service name such as pkg.Service'), (ok = false);
    if (mm.method !== undefined && !METHOD.test(mm.method)) problem(`${f}.method`, mm.method, 'must be a gRPC method name such as SayHello'), (ok = false);
    if (!ok) return null;
    if (mm.service !== undefined && mm.method !== undefined) return { type: 'Exact', value: `/${mm.service}/${mm.method}` };
    if (mm.service !== undefined) return { type: 'PathPrefix', value: `/${mm.service}` };
    return { type: 'RegularExpression', value: `/[^/]+/${escapeRegex(mm.method!)}$` };
  }
  let ok = true;
  for (const part of ['service', 'method'] as const) {
    const v = mm[part];
    if (v === undefined) continue;
    const bad = /[/$^]/.test(v) ? 'must not contain "/", "^" or "$" (it is matched as a whole segment)' : checkRegexPath(`/${v}`);
    if (bad) problem(`${f}.${part}`, v, bad.replace(/^must be an absolute path \(start with "\/"\)$/, 'is not a valid regular expression'));
    ok &&= bad === null;
  }
  if (!ok) return null;
  return { type: 'RegularExpression', value: `/(?:${mm.service ?? '[^/]+'})/(?:${mm.method ?? '[^/]+'})$` };
}

/** Translates one GRPCRoute against the served listeners. */
export function translateGRPCRoute(route: GRPCRoute, listeners: readonly ServedListener[], world: RouteWorld): { translation: Translation; status: RouteStatus; attached: ServedListener[] } {
  const ref: ObjectRef = { kind: 'GRPCRoute', namespace: route.metadata.namespace, name: route.metadata.name };
  const problems: Problem[] = [];
  const problem = (field: string, value: string, why: string) => problems.push({ object: ref, severity: 'error', reason: 'InvalidMatch', field, message: invalidMessage(field, value, why) });
  const asHttp: HTTPRoute = {
    ...route,
    kind: 'HTTPRoute',
    spec: {
      ...route.spec,
      rules: route.spec.rules.map((rule, ri) => ({
        ...rule,
        matches: rule.matches.flatMap((m, mi) => {
          const path = pathOf(m, `spec.rules[${ri}].matches[${mi}]`, problem);
          return path ? [{ path, headers: m.headers, queryParams: [], method: undefined }] : [];
        }),
        filters: rule.filters.map((f) => ({ ...f, requestRedirect: undefined, urlRewrite: undefined })),
        timeouts: undefined,
      })),
    },
  };
  return translateHTTPRoute(asHttp, listeners, world, { kind: 'GRPCRoute', protocol: 'GRPC', problems });
}
