// TLS passthrough (ingress-nginx's `ssl-passthrough` annotation with `--enable-ssl-passthrough`):
// TLS for a host goes, by its SNI name, to the Service of the host's "/" path without NGINX
// terminating it. Which Ingress says so for which host, and the conflicts a name cannot have: NGINX
// either terminates a name's TLS or passes it through, never both.
import { ANNOTATION_PREFIX, annotationField } from './annotations.ts';
import type { ProblemList } from './problems.ts';
import { DEFAULT_HOST, type Candidate, type Translation } from './translate-ingress.ts';
import type { ObjectRef, Problem, ServiceBackend } from './types.ts';

export const PASSTHROUGH_FIELD = annotationField(`${ANNOTATION_PREFIX}ssl-passthrough`);

/** What a passthrough host's TLS goes to. */
export interface Passthrough {
  /** The Service port of the host's "/" path (its `upstream` named as the model's). */
  backend: ServiceBackend;
  /** The Ingress whose annotation asks for it. */
  source: ObjectRef;
}

/**
 * The translation's part of ssl-passthrough "true": without the controller flag, a warning that
 * names it (ingress-nginx users expect it); with it, the Ingress's hosts are passed through, its own
 * spec.tls for them is ignored (as ingress-nginx does: NGINX never sees that TLS), and what cannot
 * be passed through is said: rules without a host (no SNI name to route by), hosts without "/".
 */
export function translatePassthrough(t: Translation, enabled: boolean, problems: ProblemList): void {
  if (!enabled) {
    problems.add('warning', 'IgnoredAnnotation', PASSTHROUGH_FIELD, `${PASSTHROUGH_FIELD}: ignored: wharf runs without --enable-ssl-passthrough (the flag of ingress-nginx's controller; set it on the handler and the agent)`);
    return;
  }
  t.passthrough = true;
  if (t.candidates.some((c) => c.host === DEFAULT_HOST && !c.fallback)) {
    problems.add('warning', 'IgnoredAnnotation', PASSTHROUGH_FIELD, `${PASSTHROUGH_FIELD}: ignored for rules without a host: TLS is passed through by its SNI name`);
  }
  const hosts = new Set(t.candidates.map((c) => c.host).filter((h) => h !== DEFAULT_HOST));
  for (const host of [...hosts].sort()) {
    if (!rootCandidate(t.candidates.filter((c) => c.host === host))) {
      problems.add('warning', 'IgnoredAnnotation', PASSTHROUGH_FIELD, `${PASSTHROUGH_FIELD}: ignored for host ${host}: it has no path "/" whose Service gets the TLS connections`);
    }
  }
  for (const [host, { field, tls }] of t.tls) {
    if (!hosts.has(host) || tls.fromDefault) continue;
    problems.add('warning', 'IgnoredTls', field, `${field}: ignored for host ${host}: its TLS is passed through to the Service unterminated (ssl-passthrough), so NGINX presents no certificate for it`);
    t.tls.delete(host);
  }
}

/** The candidate whose backend gets a passthrough host's TLS: path "/" (ingress-nginx's rule), a rule's before spec.defaultBackend. */
export function rootCandidate(candidates: readonly Candidate[]): Candidate | undefined {
  const roots = candidates.filter((c) => c.location.path === '/' && c.location.backend);
  return roots.find((c) => !c.fallback) ?? roots[0];
}

/**
 * A host's passthrough in the merge: the oldest passthrough Ingress with a "/" path here, unless an
 * older Ingress terminates TLS for the name (spec.tls). The newer of the two gets an error: the
 * admission webhook refuses it, and on objects that exist already the older one keeps the name.
 */
export function mergePassthrough(
  host: string,
  ordered: readonly Translation[],
  candidatesOn: (t: Translation) => readonly Candidate[],
  withName: (b: ServiceBackend) => ServiceBackend,
  tlsOwner: Translation | null,
  problems: Problem[],
): Passthrough | null {
  if (host === DEFAULT_HOST) return null;
  for (const t of ordered) {
    if (!t.passthrough) continue;
    const root = rootCandidate(candidatesOn(t));
    if (!root) continue;
    const backend = root.location.backend!;
    const ingress = t.ref.kind === 'Ingress';
    const field = ingress ? PASSTHROUGH_FIELD : 'spec.hostnames';
    if (backend.external) {
      const message = `${field}: ignored for host ${host}: its Service is an ExternalName Service; TLS is passed through to endpoints only`;
      problems.push({ object: t.ref, severity: 'warning', reason: 'IgnoredAnnotation', field, message });
      return null;
    }
    if (tlsOwner && tlsOwner !== t) {
      const tlsField = tlsOwner.tls.get(host)!.field;
      if (ordered.indexOf(tlsOwner) < ordered.indexOf(t)) {
        const value = ingress ? '"true"' : JSON.stringify(host);
        const message = `${field}: Invalid value: ${value}: host ${host} is an HTTPS host of older ${tlsOwner.ref.kind} ${tlsOwner.ref.namespace}/${tlsOwner.ref.name} (${tlsField}); NGINX either terminates a name's TLS or passes it through`;
        problems.push({ object: t.ref, severity: 'error', reason: 'PassthroughConflict', field, message });
        return null;
      }
      const how = ingress ? 'ssl-passthrough' : 'a TLS listener in Passthrough mode';
      const message = `${tlsField}: Invalid value: ${JSON.stringify(host)}: host ${host} is passed through unterminated by older ${t.ref.kind} ${t.ref.namespace}/${t.ref.name} (${how}); NGINX either terminates a name's TLS or passes it through`;
      problems.push({ object: tlsOwner.ref, severity: 'error', reason: 'PassthroughConflict', field: tlsField, message });
    }
    for (const other of ordered.slice(ordered.indexOf(t) + 1)) {
      if (!other.passthrough || !rootCandidate(candidatesOn(other))) continue;
      const field = other.ref.kind === 'Ingress' ? PASSTHROUGH_FIELD : 'spec.hostnames';
      const message = `${field}: ignored for host ${host}: its TLS is already passed through by older ${t.ref.kind} ${t.ref.namespace}/${t.ref.name}`;
      problems.push({ object: other.ref, severity: 'warning', reason: 'HostConflict', field, message });
    }
    return { backend: withName(backend), source: t.ref };
  }
  return null;
}
