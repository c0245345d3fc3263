// What wharf takes from Secrets: a TLS certificate and key (kubernetes.io/tls), an htpasswd file
// (the `auth` key, for basic auth), a client CA bundle (`ca.crt`, for auth-tls-secret) and what
// proxy-ssl-secret holds for HTTPS backends (a client certificate and/or a CA bundle). All end up
// in files NGINX reads, so all are checked here: a broken one would make `nginx -t` fail. Messages never quote Secret data.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { Secret } from './schemas.ts';

/** A key of a Secret as text: `stringData` wins over base64 `data`, as the API server merges them. */
export function secretText(secret: Secret, key: string): string | undefined {
  const plain = secret.stringData[key];
  if (plain !== undefined) return plain;
  const b64 = secret.data[key];
  return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)\r?\n?-----END \1-----/g;

/** The PEM blocks of a text, normalized; null when anything but PEM blocks and whitespace is there. */
function pemBlocks(text: string): { label: string; pem: string }[] | null {
  const blocks: { label: string; pem: string }[] = [];
  let rest = text;
  for (const m of text.matchAll(PEM_BLOCK)) {
    const body = m[2]!.replace(/[\r\n]/g, '');
    const lines = body.match(/.{1,64}/g) ?? [];
    blocks.push({ label: m[1]!, pem: `-----BEGIN ${m[1]}-----\n${lines.join('\n')}\n-----END ${m[1]}-----\n` });
    rest = rest.replace(m[0], '');
  }
  return rest.trim() === '' ? blocks : null;
}

/** PEM certificate chain and key of a kubernetes.io/tls Secret, or the reason there is none. */
export type TlsMaterial =
  | {
      ok: true;
      cert: string;
      key: string;
      names: string[];
      /** Set when the Secret's current content was refused (why) and this is its previous, usable one. */
      refused?: string;
    }
  | { ok: false; reason: string };

/**
 * The DNS names a certificate is valid for, lowercase: its DNS subjectAltNames, or its subject CN
 * when it has none (as TLS clients check). Only compared with names (server-alias and
 * from-to-www-redirect decide whether HTTPS can serve them), never written anywhere.
 */
function certificateNames(x509: X509Certificate): string[] {
  const names: string[] = [];
  // Node writes `DNS:a.com, DNS:*.b.com, IP Address:…`, JSON-quoting a value with special characters.
  for (const m of (x509.subjectAltName ?? '').matchAll(/(?:^|, )DNS:("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    const raw = m[1]!;
    try {
      names.push((raw.startsWith('"') ? (JSON.parse(raw) as string) : raw).toLowerCase());
    } catch {
      // A name Node could not even quote cannot match a host either.
    }
  }
  if (names.length > 0) return [...new Set(names)].sort();
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(x509.subject)?.[1];
  return cn ? [cn.toLowerCase()] : [];
}

/** Checks a TLS Secret: type, both keys, PEM, a parsable certificate and a key that matches it. */
export function tlsMaterial(secret: Secret): TlsMaterial {
  if (secret.type !== 'kubernetes.io/tls') return { ok: false, reason: `has type "${secret.type}", not kubernetes.io/tls` };
  const certText = secretText(secret, 'tls.crt');
  const keyText = secretText(secret, 'tls.key');
  if (!certText) return { ok: false, reason: 'has no tls.crt' };
  if (!keyText) return { ok: false, reason: 'has no tls.key' };
  return certificateAndKey(certText, keyText);
}

/** Checks a PEM certificate chain and its key: PEM, a parsable certificate and a key that matches it (the agent checks what it is sent with it too). */
export function certificateAndKey(certText: string, keyText: string): TlsMaterial {
  const certs = pemBlocks(certText);
  if (!certs || certs.length === 0 || certs.some((b) => b.label !== 'CERTIFICATE')) {
    return { ok: false, reason: 'tls.crt is not a PEM certificate chain' };
  }
  const keys = pemBlocks(keyText);
  if (!keys || keys.length !== 1 || !/^(?:RSA |EC )?PRIVATE KEY$/.test(keys[0]!.label)) {
    return { ok: false, reason: 'tls.key is not one unencrypted PEM private key' };
  }
  let names: string[];
  try {
    const x509 = new X509Certificate(certs[0]!.pem);
    names = certificateNames(x509);
    for (const extra of certs.slice(1)) new X509Certificate(extra.pem);
    const key = createPrivateKey(keys[0]!.pem);
    if (!x509.checkPrivateKey(key)) return { ok: false, reason: 'tls.key does not match the certificate in tls.crt' };
  } catch (e) {
    return { ok: false, reason: `cannot be parsed (${(e as Error).message.slice(0, 80)})` };
  }
  return { ok: true, cert: certs.map((b) => b.pem).join(''), key: keys[0]!.pem, names };
}

/** Hash formats NGINX's auth_basic_user_file accepts (crypt(3) on glibc/libxcrypt, and NGINX's own). */
const HTPASSWD_HASH = new RegExp(
  [
    String.raw`\$apr1\$[./0-9A-Za-z]{1,8}\$[./0-9A-Za-z]{22}`,
    String.raw`\$1\$[./0-9A-Za-z]{1,8}\$[./0-9A-Za-z]{22}`,
    String.raw`\$[56]\$(?:rounds=\d{1,9}\$)?[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{43,86}`,
    String.raw`\$2[aby]\$\d\d\$[./0-9A-Za-z]{53}`,
    String.raw`\{SHA\}[A-Za-z0-9+/]{27}=`,
    String.raw`\{SSHA\}[A-Za-z0-9+/]{27,}={0,2}`,
    String.raw`\{PLAIN\}[\x21-\x7e]{1,256}`,
    String.raw`[./0-9A-Za-z]{13}`,
  ]
    .map((p) => `(?:${p})`)
    .join('|'),
);
const HTPASSWD_LINE = new RegExp(`^[A-Za-z0-9._@+\\-]{1,128}:(?:${HTPASSWD_HASH.source})(?::[\\x20-\\x7e]{0,256})?$`);

/** The htpasswd file of a basic-auth Secret (key `auth`), or the reason it is refused. */
export function htpasswdOf(secret: Secret): { ok: true; htpasswd: string } | { ok: false; reason: string } {
  const text = secretText(secret, 'auth');
  if (text === undefined) return { ok: false, reason: 'has no "auth" key (the htpasswd file)' };
  if (text.length > 1 << 20) return { ok: false, reason: '"auth" is larger than 1 MiB' };
  const lines: string[] = [];
  const all = text.split('\n');
  for (let i = 0; i < all.length; i++) {
    const line = all[i]!.replace(/\r$/, '');
    if (line.trim() === '' || line.startsWith('#')) continue;
    if (!HTPASSWD_LINE.test(line)) {
      return { ok: false, reason: `"auth" line ${i + 1} is not "user:hash" with a supported hash ($apr1$, $2y$, $5$, $6$, {SHA}, {SSHA}, {PLAIN}, crypt)` };
    }
    lines.push(line);
  }
  if (lines.length === 0) return { ok: false, reason: '"auth" lists no user' };
  return { ok: true, htpasswd: `${lines.join('\n')}\n` };
}

/**
 * The CA bundle of a client-certificate Secret (key `ca.crt`, any Secret type, as ingress-nginx
 * reads it): PEM certificates only, each one parsed, normalized; or the reason it is refused.
 */
export function clientCaOf(secret: Secret): { ok: true; ca: string } | { ok: false; reason: string } {
  const text = secretText(secret, 'ca.crt');
  if (text === undefined) return { ok: false, reason: 'has no "ca.crt" key (the PEM bundle of the CA certificates)' };
  // ingress-nginx rejects the revoked certificates a ca.crl lists; wharf cannot, so it refuses them all.
  if (secretText(secret, 'ca.crl') !== undefined) return { ok: false, reason: 'has a "ca.crl", which wharf does not support (revoked certificates would pass)' };
  return caBundle(text);
}

/** A `ca.crt` text as a normalized bundle of parsed PEM certificates, or the reason it is refused. */
function caBundle(text: string): { ok: true; ca: string } | { ok: false; reason: string } {
  if (text.length > 1 << 20) return { ok: false, reason: '"ca.crt" is larger than 1 MiB' };
  const blocks = pemBlocks(text);
  if (!blocks || blocks.length === 0 || blocks.some((b) => b.label !== 'CERTIFICATE')) {
    return { ok: false, reason: '"ca.crt" is not a bundle of PEM certificates' };
  }
  try {
    for (const b of blocks) new X509Certificate(b.pem);
  } catch (e) {
    return { ok: false, reason: `"ca.crt" cannot be parsed (${(e as Error).message.slice(0, 80)})` };
  }
  return { ok: true, ca: blocks.map((b) => b.pem).join('') };
}

/** What proxy-ssl-secret gives an HTTPS backend's connections: a client certificate, a CA bundle, or both. */
export type ProxySslMaterial = { ok: true; cert: string | null; key: string | null; ca: string | null } | { ok: false; reason: string };

/**
 * The contents of a proxy-ssl-secret (Opaque or kubernetes.io/tls, as ingress-nginx reads it):
 * `tls.crt` with `tls.key` (the certificate wharf presents to the backend) and/or `ca.crt` (the CAs
 * the backend's certificate is verified with), each checked; or the reason it is refused.
 */
export function proxySslOf(secret: Secret): ProxySslMaterial {
  if (secret.type !== 'Opaque' && secret.type !== 'kubernetes.io/tls') return { ok: false, reason: `has type "${secret.type}", not Opaque or kubernetes.io/tls` };
  const certText = secretText(secret, 'tls.crt');
  const keyText = secretText(secret, 'tls.key');
  const caText = secretText(secret, 'ca.crt');
  if (certText === undefined && keyText === undefined && caText === undefined) return { ok: false, reason: 'has none of tls.crt with tls.key (a client certificate) and ca.crt (CA certificates)' };
  if ((certText === undefined) !== (keyText === undefined)) return { ok: false, reason: certText === undefined ? 'has tls.key but no tls.crt' : 'has tls.crt but no tls.key' };
  let cert: string | null = null;
  let key: string | null = null;
  if (certText !== undefined && keyText !== undefined) {
    const m = certificateAndKey(certText, keyText);
    if (!m.ok) return m;
    cert = m.cert;
    key = m.key;
  }
  let ca: string | null = null;
  if (caText !== undefined) {
    const b = caBundle(caText);
    if (!b.ok) return b;
    ca = b.ca;
  }
  return { ok: true, cert, key, ca };
}

/** True when a certificate with these names is valid for `name` (a `*.` name covers one label). */
export function certificateCovers(names: readonly string[], name: string): boolean {
  const dot = name.indexOf('.');
  const parent = dot > 0 && !name.startsWith('*.') ? name.slice(dot) : null;
  return names.some((n) => n === name || (parent !== null && n.startsWith('*.') && n.slice(1) === parent));
}
