// The default TLS certificate (`--default-ssl-certificate NS/NAME`, ingress-nginx's flag): what the
// default server presents, and what a TLS host without a usable certificate of its own (no
// secretName, or a Secret that is missing or refused) is served with. A host the certificate does
// not cover is still served with it, with a warning on its Ingress.
import { objectKey, splitKey, type ObjectKey } from './cluster-state.ts';
import type { Secret } from './schemas.ts';
import { certificateCovers, type TlsMaterial } from './secrets.ts';
import type { ObjectRef, Problem, Tls } from './types.ts';

/** The default certificate as the model sees it: usable, or why not (null: no flag given). */
export type DefaultCertificate = { key: ObjectKey; tls: Tls; reason?: undefined } | { key: ObjectKey; tls: null; reason: string };

/** The default certificate named by `key`, from the Secrets held. */
export function defaultCertificate(
  key: ObjectKey | undefined,
  secrets: ReadonlyMap<ObjectKey, Secret>,
  tlsOf: (s: Secret) => TlsMaterial,
): DefaultCertificate | null {
  if (key === undefined) return null;
  const secret = secrets.get(key);
  if (!secret) return { key, tls: null, reason: `the default certificate Secret ${key} is not found` };
  const m = tlsOf(secret);
  if (!m.ok) return { key, tls: null, reason: `the default certificate Secret ${key} ${m.reason}` };
  const { namespace, name } = splitKey(key);
  const uid = secret.metadata.uid;
  const secretRef = uid ? { kind: 'Secret' as const, namespace, name, uid } : { kind: 'Secret' as const, namespace, name };
  return { key, tls: { secret: secretRef, cert: m.cert, key: m.key, names: m.names, fromDefault: true } };
}

/** `NS/NAME` as --default-ssl-certificate takes it, or null when it is not one. */
export function parseDefaultCertificateFlag(value: string): ObjectKey | null {
  const m = /^([a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?)\/([a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?)$/.exec(value);
  return m ? objectKey(m[1]!, m[2]!) : null;
}

/**
 * The default certificate for a `spec.tls` entry whose own certificate is unusable (no secretName, a
 * missing or refused Secret), or null. `secrets` gets the default Secret's key, so that its changes
 * translate the Ingress again.
 */
export function useDefault(def: DefaultCertificate | null, secrets: ObjectKey[]): Tls | null {
  if (!def) return null;
  secrets.push(def.key);
  return def.tls;
}

/** How the hosts of such an entry are served, for its warning. */
export function servedWith(def: DefaultCertificate | null): string {
  if (def?.tls) return `these hosts are served with the default certificate ${def.key}`;
  return def ? `these hosts are served without TLS (${def.reason})` : 'these hosts are served without TLS';
}

/**
 * The warning for an Ingress whose host is served with the default certificate although the
 * certificate does not cover it (null when it does): `field` is where the Ingress asked for it.
 */
export function defaultMismatch(tls: Tls, host: string, object: ObjectRef, field: string): Problem | null {
  if (!tls.fromDefault || certificateCovers(tls.names, host)) return null;
  const { namespace, name } = tls.secret;
  return {
    object,
    severity: 'warning',
    reason: 'DefaultCertificateMismatch',
    field,
    message: `${field}: Required value: the default certificate ${namespace}/${name} does not cover ${host}`,
  };
}
