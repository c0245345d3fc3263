// Problems as data, with Kubernetes' message shapes (`field: Invalid value: "v": reason`), so that
// an admission denial, an Event and a status condition all read the same way.
import type { ObjectRef, Problem } from './types.ts';

/** Longest value quoted in a message: long values are cut so a warning stays readable. */
const MAX_QUOTED = 64;

/** A value as Kubernetes quotes it in messages: JSON (so control characters show), cut when long. */
export function quote(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (typeof value === 'undefined') return '""';
  if (typeof value !== 'string') {
    const json = JSON.stringify(value) ?? `<${typeof value}>`;
    return json.length > MAX_QUOTED ? `${json.slice(0, MAX_QUOTED)}...` : json;
  }
  const cut = value.length > MAX_QUOTED ? `${value.slice(0, MAX_QUOTED)}...` : value;
  // JSON leaves these raw; a message must stay one line whatever the value.
  return JSON.stringify(cut).replace(/[\u007f\u0085\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `field: Invalid value: "v": reason` */
export function invalidMessage(field: string, value: unknown, reason: string): string {
  return `${field}: Invalid value: ${quote(value)}: ${reason}`;
}

/** `field: Required value: reason` */
export function requiredMessage(field: string, reason = 'must be set'): string {
  return `${field}: Required value: ${reason}`;
}

/** `field: Forbidden: reason` */
export function forbiddenMessage(field: string, reason: string): string {
  return `${field}: Forbidden: ${reason}`;
}

/** `field: Not found: "v"` with a hint. */
export function notFoundMessage(field: string, value: unknown, hint: string): string {
  return `${field}: Not found: ${quote(value)}: ${hint}`;
}

/**
 * Collects the problems of one object: every check appends here, nothing throws, so one run reports
 * every problem at once (an admission denial lists them all, not the first).
 */
export class ProblemList {
  readonly object: ObjectRef;
  readonly items: Problem[] = [];
  constructor(object: ObjectRef) {
    this.object = object;
  }
  add(severity: Problem['severity'], reason: string, field: string, message: string): void {
    this.items.push({ object: this.object, severity, reason, field, message });
  }
  invalid(reason: string, field: string, value: unknown, why: string, severity: Problem['severity'] = 'error'): void {
    this.add(severity, reason, field, invalidMessage(field, value, why));
  }
  required(reason: string, field: string, why?: string, severity: Problem['severity'] = 'error'): void {
    this.add(severity, reason, field, requiredMessage(field, why));
  }
  forbidden(reason: string, field: string, why: string, severity: Problem['severity'] = 'error'): void {
    this.add(severity, reason, field, forbiddenMessage(field, why));
  }
  notFound(reason: string, field: string, value: unknown, hint: string, severity: Problem['severity'] = 'warning'): void {
    this.add(severity, reason, field, notFoundMessage(field, value, hint));
  }
  get hasErrors(): boolean {
    return this.items.some((p) => p.severity === 'error');
  }
}

/** True when any problem is an error (the object is rejected as a whole). */
export function hasErrors(problems: readonly Problem[]): boolean {
  return problems.some((p) => p.severity === 'error');
}

/** Deterministic order for problem lists: object, field, message. */
export function compareProblems(a: Problem, b: Problem): number {
  return (
    cmp(a.object.kind, b.object.kind) ||
    cmp(a.object.namespace, b.object.namespace) ||
    cmp(a.object.name, b.object.name) ||
    cmp(a.field, b.field) ||
    cmp(a.message, b.message)
  );
}

/** Plain code-unit string comparison (locale-independent, so the order is the same everywhere). */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
