// What `wharf check` runs on each kind it reads: one entry per kind, each the very code the handler
// tier runs on that kind (the admission webhook's validateIngress for an Ingress, the ConfigMap's key
// rules, the schemas for the rest). A new kind (the Gateway API's) is one more entry here.
import type { Kind } from '../cluster/view.ts';
import {
  isHandled,
  parseConfigMap,
  parseObject,
  parseEndpointSlice,
  parseGlobalSettings,
  parseIngress,
  parseIngressClass,
  parseSecret,
  parseService,
  sliceProblems,
  validateIngress,
  type ControllerSettings,
  type Parsed,
  type RoutingIndex,
} from '../model/index.ts';
import type { ObjectRef, Problem } from '../model/types.ts';

/** All the input, as the handler's view would hold it once the objects were applied. */
export interface KindContext {
  index: RoutingIndex;
  settings: ControllerSettings;
}

export interface KindCheck {
  /** Every problem of one object as it is in the input (unparsed), errors and warnings. */
  check(raw: Record<string, unknown>, ctx: KindContext): Problem[];
  /** False: wharf would not read this object (another controller's Ingress, not its ConfigMap). */
  ours(raw: Record<string, unknown>, ctx: KindContext): boolean;
}

const always = () => true;

/** The problems of parsing alone: what the handler refuses to hold for these kinds. */
function parseOnly(parse: (raw: unknown) => Parsed<unknown>): KindCheck {
  return {
    check: (raw) => {
      const parsed = parse(raw);
      return parsed.ok ? [] : parsed.problems;
    },
    ours: always,
  };
}

function refOf(kind: ObjectRef['kind'], raw: Record<string, unknown>): ObjectRef {
  const meta = raw.metadata as { namespace?: string; name: string };
  return { kind, namespace: meta.namespace ?? '', name: meta.name };
}

/** The checks of each kind wharf reads; a kind without an entry gets its schema's (parseObject). */
export const KIND_CHECKS: Readonly<Partial<Record<Kind, KindCheck>>> = {
  Ingress: {
    // Exactly what POST /admission answers once the handler holds the cluster.
    check: (raw, ctx) => validateIngress(raw, ctx.index, ctx.settings),
    ours: (raw, ctx) => {
      const parsed = parseIngress(raw);
      // A malformed Ingress is checked (validateIngress says whether it might be ours).
      return !parsed.ok || isHandled(parsed.value, ctx.index.ingressClasses, ctx.settings);
    },
  },
  ConfigMap: {
    // What the handler logs and records as Events for its ConfigMap (config-problems.ts).
    check: (raw) => {
      const parsed = parseConfigMap(raw);
      return parsed.ok ? parseGlobalSettings(parsed.value).problems : parsed.problems;
    },
    ours: (raw, ctx) => {
      const meta = raw.metadata as { namespace?: string; name: string };
      return ctx.settings.configMap === `${meta.namespace}/${meta.name}`;
    },
  },
  EndpointSlice: {
    // What the handler logs about a slice it reads only in part.
    check: (raw) => {
      const parsed = parseEndpointSlice(raw);
      if (!parsed.ok) return parsed.problems;
      return sliceProblems(parsed.value).map((line) => {
        const message = line.replace(/^EndpointSlice \S+: /, '');
        return { object: refOf('EndpointSlice', raw), severity: 'warning', reason: 'EndpointsIgnored', field: message.split(':')[0]!, message };
      });
    },
    ours: always,
  },
  IngressClass: parseOnly(parseIngressClass),
  Service: parseOnly(parseService),
  Secret: parseOnly(parseSecret),
};

const SCHEMA_ONLY = parseOnly(parseObject);

/** The check of a kind: its entry, else what parseObject says of it. */
export function kindCheck(kind: Kind): KindCheck {
  return KIND_CHECKS[kind] ?? SCHEMA_ONLY;
}
