// Admission warnings repeated for every rule or path (a missing Service named by 10,000 paths, a
// path every rule repeats) become one warning with a count: kubectl prints every warning, and the
// API server carries them all in one response. Warnings of the same reason on the same field but
// for the indexes (`spec.rules[3].http.paths[0]…` and `spec.rules[7].http.paths[0]…`) are one.
import type { Problem } from '../model/types.ts';

/** A field with its list indexes made `[*]`: `spec.rules[3].http.paths[0].path` → `spec.rules[*].http.paths[*].path`. */
export function fieldPattern(field: string): string {
  return field.replace(/\[\d+\]/g, '[*]');
}

/**
 * The warning messages of `problems` (in their order), those alike merged into the first with a
 * count: `spec.rules[*].http.paths[*].backend.service.name: 10000 times: Not found: "web": …`.
 */
export function collapseWarnings(problems: readonly Problem[]): string[] {
  const groups = new Map<string, { first: Problem; count: number; pattern: string }>();
  for (const p of problems) {
    const pattern = fieldPattern(p.field);
    // Only fields with indexes repeat per rule; anything else keeps its own message.
    const key = pattern === p.field ? `\u0000${p.reason}\u0000${p.message}` : `${p.reason}\u0000${pattern}`;
    const g = groups.get(key);
    if (g) g.count++;
    else groups.set(key, { first: p, count: 1, pattern });
  }
  return [...groups.values()].map(({ first, count, pattern }) => {
    if (count === 1) return first.message;
    // Shortened to Kubernetes' 120 characters by admission.ts's shortWarning, which keeps the count.
    const head = `${first.field}: `;
    const rest = first.message.startsWith(head) ? first.message.slice(head.length) : first.message;
    return `${pattern}: ${count} times: ${rest}`;
  });
}
