// `wharf check`'s core: every object of the input checked by the handler tier's own code, with the
// whole input standing for the cluster (an Ingress's Service, Secret and rivals for its host are the
// ones in the input), each problem placed at its file and line. Pure: inputs in, a report out.
import { isKind } from '../cluster/view.ts';
import { LEGACY_CLASS_ANNOTATION } from '../model/ingress-class.ts';
import { RoutingIndex, parseIngress, parseObject, splitKey, type ControllerSettings, type Problem } from '../model/index.ts';
import type { InputObject, Inputs, SkippedObject } from './documents.ts';
import { kindCheck, type KindContext } from './kinds.ts';

/** One problem as `wharf check` prints it. */
export interface Finding {
  file: string;
  line: number;
  /** Empty for a document that is not an object (YAML syntax, no kind). */
  kind: string;
  namespace: string;
  name: string;
  field: string;
  severity: 'error' | 'warning';
  reason: string;
  message: string;
}

/** An object that was checked, with its own problems. */
export interface CheckedObject {
  input: InputObject;
  /** The object as checked (an adopted Ingress names wharf's class). */
  object: Record<string, unknown>;
  namespace: string;
  name: string;
  findings: Finding[];
}

export interface CheckOptions {
  controller: ControllerSettings;
  /** `namespace/name` of the global ConfigMap; default: see settingsConfigMap. */
  configMap?: string;
  /** Check every Ingress as if it named wharf's class (the migration report). */
  adopt?: boolean;
  /** `app.kubernetes.io/name` values that mark a settings ConfigMap (default: wharf). */
  configMapApps?: readonly string[];
}

export interface CheckReport {
  checked: CheckedObject[];
  /** Objects wharf would not read: other kinds, another controller's Ingresses, other ConfigMaps. */
  skipped: SkippedObject[];
  /** Every problem, in input order (file, then line). */
  findings: Finding[];
  /** The input as the cluster (for render). */
  index: RoutingIndex;
  settings: ControllerSettings;
}

/** The creation time of the first object without one, unless the input has later ones. */
const EPOCH = Date.UTC(2000, 0, 1);

/** Checks the input; never throws on bad input (every problem is a Finding). */
export function checkInputs(inputs: Inputs, options: CheckOptions): CheckReport {
  const findings: Finding[] = inputs.problems.map((p) => ({ file: p.file, line: p.line, kind: '', namespace: '', name: '', field: '', severity: 'error', reason: 'InvalidDocument', message: p.message }));
  const skipped = [...inputs.skipped];
  const configMap = settingsConfigMap(inputs.objects, options);
  const settings: ControllerSettings = { ...options.controller, ...(configMap ? { configMap } : {}) };
  const index = new RoutingIndex(settings);
  const ctx: KindContext = { index, settings };

  // The first definition of an object counts, as in local mode.
  const seen = new Map<string, InputObject>();
  // Objects without a creationTimestamp are newer than those with one (they are yet to be created),
  // and an object listed earlier is older, as if applied in input order.
  const created = inputs.objects.map((o) => Date.parse(String((o.object.metadata as { creationTimestamp?: unknown }).creationTimestamp))).filter((t) => !Number.isNaN(t));
  const base = created.reduce((a, b) => Math.max(a, b), EPOCH) + 1000;
  const objects: { input: InputObject; object: Record<string, unknown> }[] = [];
  inputs.objects.forEach((input, seq) => {
    const id = `${input.kind}/${input.key}`;
    const first = seen.get(id);
    if (first) {
      findings.push(finding(input, input.object, { severity: 'warning', reason: 'DuplicateObject', field: 'metadata.name', message: `metadata.name: Duplicate value: ${JSON.stringify(input.key)}: already defined at ${first.file}:${first.line}; this one is not checked` }));
      return;
    }
    seen.set(id, input);
    if (input.kind === 'ConfigMap' && input.key !== configMap) {
      skipped.push({ file: input.file, line: input.line, kind: 'ConfigMap', ...splitKey(input.key), why: configMap ? `not wharf's ConfigMap (${configMap})` : "not wharf's ConfigMap (name it with --configmap)" });
      return;
    }
    objects.push({ input, object: asApplied(input, base + seq * 1000, options) });
  });
  for (const { object } of objects) {
    const parsed = parseObject(object);
    if (parsed.ok) index.upsert(parsed.value);
  }
  const checked: CheckedObject[] = [];
  for (const { input, object } of objects) {
    const kind = kindCheck(input.kind);
    const meta = object.metadata as { namespace?: string; name: string };
    if (!kind.ours(object, ctx)) {
      skipped.push({ file: input.file, line: input.line, kind: input.kind, ...splitKey(input.key), why: `names another controller's class (wharf serves ${settings.ingressClassName})` });
      continue;
    }
    const own = kind.check(object, ctx).map((p) => finding(input, object, p));
    findings.push(...own);
    checked.push({ input, object, namespace: input.kind === 'IngressClass' ? '' : (meta.namespace ?? ''), name: meta.name, findings: own });
  }
  const fileOrder = new Map(inputs.files.map((f, i) => [f, i] as const));
  findings.sort((a, b) => (fileOrder.get(a.file) ?? 0) - (fileOrder.get(b.file) ?? 0) || a.line - b.line);
  return { checked, skipped, findings, index, settings };
}

/** True when a denial is among the findings: exit status 1. */
export function hasDenial(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === 'error');
}

function finding(input: InputObject, object: Record<string, unknown>, p: Omit<Problem, 'object'>): Finding {
  const meta = object.metadata as { namespace?: string; name: string };
  return {
    file: input.file,
    line: input.lineOf(p.field),
    kind: input.kind,
    namespace: input.kind === 'IngressClass' ? '' : (meta.namespace ?? ''),
    name: meta.name,
    field: p.field,
    severity: p.severity,
    reason: p.reason,
    message: p.message,
  };
}

/**
 * The object as the API server would hold it: a creationTimestamp where it has none (so the younger
 * of two rivals is the later one), and, when adopting, wharf's class.
 */
function asApplied(input: InputObject, createdAt: number, options: CheckOptions): Record<string, unknown> {
  if (input.kind !== 'Ingress') return input.object;
  const meta = { ...(input.object.metadata as Record<string, unknown>) };
  if (meta.creationTimestamp == null) meta.creationTimestamp = new Date(createdAt).toISOString().replace(/\.\d+Z$/, 'Z');
  let object: Record<string, unknown> = { ...input.object, metadata: meta };
  const parsed = options.adopt ? parseIngress(object) : null;
  if (parsed?.ok) {
    const annotations = { ...(meta.annotations as Record<string, string> | undefined) };
    delete annotations[LEGACY_CLASS_ANNOTATION];
    const spec = { ...(object.spec as Record<string, unknown>), ingressClassName: options.controller.ingressClassName };
    object = { ...object, metadata: { ...meta, annotations }, spec };
  }
  return object;
}

/**
 * Which ConfigMap holds the global settings: the one named, else the one labelled
 * `app.kubernetes.io/name: wharf` (the chart's; ingress-nginx's with --from), else the input's only
 * ConfigMap without that label (a local-mode folder). Others are not wharf's and are skipped.
 */
function settingsConfigMap(objects: readonly InputObject[], options: CheckOptions): string | undefined {
  if (options.configMap) return options.configMap;
  const configMaps = objects.filter((o) => o.kind === 'ConfigMap' && isKind(o.kind));
  const apps = options.configMapApps ?? ['wharf'];
  const labelsOf = (o: InputObject) => ((o.object.metadata as { labels?: Record<string, unknown> }).labels ?? {}) as Record<string, unknown>;
  const labelled = configMaps.filter((o) => {
    const labels = labelsOf(o);
    const component = labels['app.kubernetes.io/component'];
    return apps.includes(String(labels['app.kubernetes.io/name'])) && (component === undefined || component === 'config' || component === 'controller');
  });
  if (labelled.length) return labelled[0]!.key;
  // A ConfigMap labelled as another application's is never taken for wharf's.
  const unlabelled = configMaps.filter((o) => labelsOf(o)['app.kubernetes.io/name'] === undefined);
  return unlabelled.length === 1 ? unlabelled[0]!.key : undefined;
}
