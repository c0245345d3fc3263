// How `wharf check` prints its findings: one line per problem, `file:line: severity: Kind ns/name:
// field: reason`, the way compilers, kubectl and kubeconform print theirs (so editors and CI jump to
// the line); or one JSON document for tools.
import type { CheckReport, Finding } from './check.ts';

/** `Ingress default/cafe`, `IngressClass wharf`; empty for a document that is no object. */
export function objectName(kind: string, namespace: string, name: string): string {
  if (!kind) return '';
  return namespace ? `${kind} ${namespace}/${name}` : `${kind} ${name}`;
}

/** One problem line; the message already starts with the field (`field: Invalid value: "v": reason`). */
export function findingLine(f: Finding): string {
  const object = objectName(f.kind, f.namespace, f.name);
  return `${f.file}:${f.line}: ${f.severity}: ${object ? `${object}: ` : ''}${f.message}`;
}

/** The closing count, for stderr (stdout keeps only problem lines). */
export function summaryLine(report: CheckReport): string {
  const errors = report.findings.filter((f) => f.severity === 'error').length;
  const warnings = report.findings.length - errors;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : word.endsWith('s') ? 'es' : 's'}`;
  const line = `${plural(report.checked.length, 'object')} checked, ${plural(errors, 'error')}, ${plural(warnings, 'warning')}, ${report.skipped.length} skipped`;
  const otherClass = otherClassIngresses(report);
  if (!otherClass) return line;
  return `${line}; ${plural(otherClass, 'Ingress')} of another class than ${report.settings.ingressClassName} not checked (--ingress-class NAME checks them as wharf's; --from ingress-nginx reports on them)`;
}

/** Ingresses skipped because they name another controller's class: worth a word on stderr. */
export function otherClassIngresses(report: CheckReport): number {
  return report.skipped.filter((s) => s.kind === 'Ingress').length;
}

/** The JSON document of `--output json`. */
export function reportJson(report: CheckReport): object {
  const errors = report.findings.filter((f) => f.severity === 'error').length;
  return {
    checked: report.checked.length,
    errors,
    warnings: report.findings.length - errors,
    objects: report.checked.map((o) => ({
      file: o.input.file,
      line: o.input.line,
      kind: o.input.kind,
      namespace: o.namespace,
      name: o.name,
      allowed: !o.findings.some((f) => f.severity === 'error'),
    })),
    skipped: report.skipped,
    problems: report.findings,
  };
}
