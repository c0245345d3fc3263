// Names that wharf derives for NGINX: fragment names from hosts, and ids that keep zone names,
// internal locations and shipped files unique and stable while other parts of a host change.
import { createHash } from 'node:crypto';

/** Longest fragment name the agent accepts (FRAGMENT_NAME in src/protocol/agent-api.ts). */
const MAX_FRAGMENT = 240;

/** A short, stable hex id of `text` (for names that must not change when unrelated things do). */
export function shortId(text: string, hexChars = 12): string {
  return createHash('sha256').update(text).digest('hex').slice(0, hexChars);
}

/**
 * The fragment a host's server is shipped in: the host itself, a leading `*` written `_`
 * (`_.example.com`), and the port of a Gateway listener's own after `_` (`example.com_8000`). Hosts longer than 240 characters keep their first 223 and end in `_` and a
 * hash: hosts cannot contain `_` elsewhere, so no real host can take the same name.
 */
export function fragmentName(host: string): string {
  // A host on a Gateway listener's own port, `example.com:8000` (listener-hosts.ts): `example.com_8000`.
  const name = (host.startsWith('*.') ? `_${host.slice(1)}` : host).replace(':', '_');
  if (name.length <= MAX_FRAGMENT) return name;
  return `${name.slice(0, MAX_FRAGMENT - 17)}_${shortId(host, 16)}`;
}

/**
 * The name a TLS name's certificate has in the agent's store: the name itself, a leading `*` written
 * `_` (CERTIFICATE_NAME in src/protocol/agent-api.ts). Unlike fragment names never shortened: NGINX
 * looks it up by the name the client sends.
 */
export function certificateName(host: string): string {
  return host.startsWith('*.') ? `_${host.slice(1)}` : host;
}

/** The http-level global settings fragment. */
export const MAIN_FRAGMENT = '_main';
/** The default server's fragment: rules without a host, spec.defaultBackend, 404 for the rest. */
export const DEFAULT_FRAGMENT = '_default';
