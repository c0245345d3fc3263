// Per-object limits: how many rules, paths and hosts one Ingress may have. The work for an object
// is linear in its size, but its size is the user's to choose (an AdmissionReview may be 4 MiB, an
// event 8 MiB): past a limit the object is refused with a message that names the limit and the flag
// that sets it, instead of the handler spending seconds on it. Counted on the object as received
// (parsed or not), before anything else is done with it, in O(its size).
import type { ControllerSettings } from './cluster-state.ts';
import { isHandled, LEGACY_CLASS_ANNOTATION } from './ingress-class.ts';
import { ProblemList } from './problems.ts';
import type { Ingress, IngressClass } from './schemas.ts';
import type { ObjectRef, Problem } from './types.ts';

export interface ObjectLimits {
  /** spec.rules entries. */
  rules: number;
  /** spec.rules[*].http.paths entries, all rules together. */
  paths: number;
  /** Distinct host names in spec.rules[*].host and spec.tls[*].hosts. */
  hosts: number;
}

/**
 * Well above real manifests (the largest seen have some hundreds of rules; the API server stores
 * objects up to 1.5 MiB, about 10,000 one-host rules), and at these sizes a review takes a few
 * hundred milliseconds.
 */
export const defaultObjectLimits: Readonly<ObjectLimits> = Object.freeze({ rules: 10_000, paths: 20_000, hosts: 10_000 });

/** The handler flag that sets each limit, named in the message so that it says how to change it. */
export const LIMIT_FLAGS: Readonly<Record<keyof ObjectLimits, string>> = Object.freeze({
  rules: '--max-rules-per-ingress',
  paths: '--max-paths-per-ingress',
  hosts: '--max-hosts-per-ingress',
});

const arrayAt = (o: unknown, key: string): unknown[] => {
  const v = typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[key] : undefined;
  return Array.isArray(v) ? v : [];
};

/**
 * The limits an Ingress exceeds, as errors (`spec.rules: Too many: 20001: must have at most 10000
 * rules (--max-rules-per-ingress)`); empty when it is within them. Reads any shape: what is not
 * an array counts as none (the schema reports it).
 */
export function limitProblems(ingress: unknown, limits: Readonly<ObjectLimits>, ref: ObjectRef): Problem[] {
  const spec = typeof ingress === 'object' && ingress !== null ? (ingress as Record<string, unknown>).spec : undefined;
  const rules = arrayAt(spec, 'rules');
  const tls = arrayAt(spec, 'tls');
  const problems = new ProblemList(ref);
  const tooMany = (field: string, count: number, limit: number, what: string, flag: string) =>
    problems.add('error', 'TooMany', field, `${field}: Too many: ${count}: must have at most ${limit} ${what} (${flag})`);

  if (rules.length > limits.rules) tooMany('spec.rules', rules.length, limits.rules, 'rules', LIMIT_FLAGS.rules);
  let paths = 0;
  for (const rule of rules) paths += arrayAt(typeof rule === 'object' && rule !== null ? (rule as Record<string, unknown>).http : undefined, 'paths').length;
  if (paths > limits.paths) tooMany('spec.rules[*].http.paths', paths, limits.paths, 'paths in all rules together', LIMIT_FLAGS.paths);
  let names = rules.length;
  for (const entry of tls) names += arrayAt(entry, 'hosts').length;
  // Distinct names are counted only when the names written could be too many.
  if (names > limits.hosts) {
    const hosts = new Set<string>();
    for (const rule of rules) {
      const host = typeof rule === 'object' && rule !== null ? (rule as Record<string, unknown>).host : undefined;
      if (typeof host === 'string') hosts.add(host);
    }
    for (const entry of tls) for (const host of arrayAt(entry, 'hosts')) if (typeof host === 'string') hosts.add(host);
    if (hosts.size > limits.hosts) tooMany('spec', hosts.size, limits.hosts, 'distinct hosts in spec.rules and spec.tls', LIMIT_FLAGS.hosts);
  }
  return problems.items;
}

const stringAt = (o: unknown, key: string): string | undefined => {
  const v = typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[key] : undefined;
  return typeof v === 'string' ? v : undefined;
};

/**
 * The admission webhook's check before the Ingress is parsed (parsing is itself work in proportion
 * to the size): the limits it exceeds, when it is wharf's by its class; empty otherwise.
 */
export function rawLimitProblems(obj: unknown, classes: ReadonlyMap<string, IngressClass>, settings: ControllerSettings): Problem[] {
  const metadata = typeof obj === 'object' && obj !== null ? (obj as Record<string, unknown>).metadata : undefined;
  const ref: ObjectRef = { kind: 'Ingress', namespace: stringAt(metadata, 'namespace') ?? 'default', name: stringAt(metadata, 'name') ?? '' };
  const over = limitProblems(obj, settings.limits ?? defaultObjectLimits, ref);
  if (over.length === 0) return over;
  // Only the fields isHandled reads, as strings (the rest of the object is not parsed).
  const annotations = (metadata as Record<string, unknown> | undefined)?.annotations;
  const legacy = stringAt(annotations, LEGACY_CLASS_ANNOTATION);
  const spec = (obj as Record<string, unknown>).spec;
  const classOnly = {
    spec: { ingressClassName: stringAt(spec, 'ingressClassName') },
    metadata: { annotations: legacy === undefined ? {} : { [LEGACY_CLASS_ANNOTATION]: legacy } },
  } as unknown as Ingress;
  return isHandled(classOnly, classes, settings) ? over : [];
}
