// A host served on a Gateway listener's own port (not 80 or 443) is a server of its own: NGINX keys
// server names by address and port, so `example.com` on port 8000 is another server than on 80, with
// only the locations of the routes attached to port-8000 listeners. The model keys such a server
// `example.com:8000` (and the routes without a hostname there `:8000`), so that every per-host step
// (merging, conflicts, fragments, affected hosts) works on it unchanged; the render splits the key
// into the server's name and its listen port. Hosts of 80 and 443 keep their plain key.
import { DEFAULT_HOST } from './translate-ingress.ts';

/**
 * The key of `host` (DEFAULT_HOST: every host) served on a listener declared on `port`; an h2c
 * listener's (gateway-listeners.ts ServedListener.h2c) says so: `grpc.example.com:h2c9000`.
 */
export function listenerHostKey(host: string, port: number, h2c = false): string {
  return port === 80 || port === 443 ? host : `${host}:${h2c ? 'h2c' : ''}${port}`;
}

/**
 * A model host key as the server's name (DEFAULT_HOST: none, it takes every host), declared port
 * (null: 80 and 443), and whether that port speaks HTTP/2 cleartext.
 */
export function splitHostKey(key: string): { host: string; port: number | null; h2c: boolean } {
  const i = key.lastIndexOf(':');
  if (i < 0) return { host: key, port: null, h2c: false };
  const h2c = key.startsWith('h2c', i + 1);
  return { host: key.slice(0, i) || DEFAULT_HOST, port: Number(key.slice(i + (h2c ? 4 : 1))), h2c };
}
