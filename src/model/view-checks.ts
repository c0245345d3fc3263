// Which problems come from looking at other objects (Services, Secrets, other Ingresses) rather than
// at the Ingress alone. Before a handler holds the cluster (its first list, or a list that cannot be
// read yet) these would be false alarms or, worse, denials (a basic-auth Secret "does not exist"):
// admission drops them and says that they were not checked, and keeps every check of the object.
import type { Problem } from './types.ts';

/** Reasons of problems that depend on other objects being known. */
export const VIEW_DEPENDENT_REASONS: ReadonlySet<string> = new Set([
  // References to Services and Secrets
  'ServiceNotFound',
  'ServicePortNotFound',
  'ExternalNameService',
  'TlsSecretNotFound',
  'InvalidTlsSecret',
  'InvalidAuthSecret',
  'InvalidAuthTlsSecret',
  'InvalidProxySslSecret',
  // Other Ingresses on the same hosts
  'HostPathConflict',
  'CanaryWithoutPrimary',
  'CanaryConflict',
  'ClientAuthConflict',
  'ServerNameConflict',
]);

/** The problems that need only the object itself. */
export function objectOnlyProblems(problems: readonly Problem[]): Problem[] {
  return problems.filter((p) => !VIEW_DEPENDENT_REASONS.has(p.reason));
}
