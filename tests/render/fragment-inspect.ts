// What a rendered fragment may say to NGINX, as the fuzz tests check it (tests/render/fuzz.test.ts,
// tests/render/route-fuzz.test.ts): only directives the templates write or the snippet allowlist's
// (each of those read back through the allowlist again), only the listen files included, only its own files referenced, and at http level only zones, and the maps and
// split_clients of routes with entries of the shapes route-maps.liquid writes.
import { parseSnippet, SNIPPET_DIRECTIVES } from '../../src/model/index.ts';
import type { Fragment } from '../../src/render/index.ts';
import { FRAGMENT_INCLUDES } from '../../src/render/skeleton.ts';
import { parseConfig, type Directive } from './nginx-config.ts';
import { templateDirectives } from './template-directives.ts';

const VAR = /^\$wharf_[a-z]_[0-9a-f]{12}$/;
const NAMED = /^@wharf_r_[0-9a-f]{12}$/;

/** A map or split_clients of a route: what is wrong with it, or null. */
function routeBlock(d: Directive): string | null {
  const entries = d.block ?? [];
  if (d.name === 'split_clients') {
    // Weighted backends hash the request id; RequestMirror's sampling hashes it with a suffix (another draw).
    if (d.args.length !== 2 || !['$request_id', '${request_id}mirror'].includes(d.args[0]!.replace(/^"|"$/g, '')) || !VAR.test(d.args[1]!)) return `split_clients ${d.args.join(' ')}`;
    for (const e of entries) if (!/^(?:\*|\d{1,3}(?:\.\d{1,2})?%)$/.test(e.name) || e.args.length !== 1 || !/^[a-z0-9][a-z0-9.-]*$/.test(e.args[0]!)) return `split_clients entry ${e.name} ${e.args.join(' ')}`;
    return null;
  }
  if (d.args.length !== 2 || !VAR.test(d.args[1]!)) return `map ${d.args.join(' ')}`;
  const source = d.args[0]!;
  if (!/^\$(?:http_[a-z0-9_]+|args|request_method|uri|scheme)$/.test(source) && !/^(?:\$\{wharf_c_[0-9a-f]{12}\})+$/.test(source)) return `map source ${source}`;
  for (const e of entries) {
    if (e.args.length !== 1) return `map entry ${e.name} with ${e.args.length} values`;
    const v = e.args[0]!;
    // A condition (1/0), a named location, or an added header's value (no variable but the client's header).
    const ok = v === '1' || v === '0' || NAMED.test(v) || !/\$(?!http_[a-z0-9_]+,)/.test(v);
    if (!ok) return `map entry ${e.name} ${v}`;
  }
  return null;
}

/** What a fragment may say: the templates' directives, and the snippet allowlist's (written from parsed arguments). */
const allowed = new Set([...templateDirectives(), ...Object.keys(SNIPPET_DIRECTIVES)]);
/** Directives only snippets write: each must read back as a snippet of its own would. */
const snippetOnly = Object.keys(SNIPPET_DIRECTIVES).filter((d) => !templateDirectives().has(d));
const AGENT_FILES = new Set(FRAGMENT_INCLUDES);
/** A Gateway listener's own port (src/render/listener-ports.ts). */
const LISTENER_PORT_FILE = /^listen-(?:https?|h2c)-[1-9][0-9]{0,4}\.conf$/;

/** Checks what a fragment says to NGINX; returns what is wrong, or null. */
export function inspect(f: Fragment): string | null {
  let directives: Directive[];
  try {
    directives = parseConfig(f.config);
  } catch (e) {
    return `does not parse: ${(e as Error).message}`;
  }
  const servers = directives.filter((d) => d.name === 'server');
  // A host's fragment may add the server that redirects its www twin (from-to-www-redirect).
  if (f.name !== '_main' && (servers.length < 1 || servers.length > (f.name === '_default' ? 1 : 2))) return `has ${servers.length} server blocks`;
  const top = new Set(['server', 'limit_req_zone', 'limit_conn_zone', 'map', 'split_clients']);
  if (f.name !== '_main') for (const d of directives) if (!top.has(d.name)) return `has ${d.name} at http level`;
  // Routes' maps and split_clients: a variable of wharf's own, entries of the shapes route-maps.liquid writes.
  for (const d of directives) {
    if (d.name !== 'map' && d.name !== 'split_clients') continue;
    // `_main`'s maps are client-address.liquid's, fixed but for the header names its filters check.
    if (f.name === '_main') continue;
    const wrong = routeBlock(d);
    if (wrong) return `line ${d.line}: ${wrong}`;
  }
  const walk = (ds: Directive[]): string | null => {
    for (const d of ds) {
      if (d.name === 'map' || d.name === 'split_clients') continue;
      // `_main`'s geo of trusted peers: CIDRs (nginx_cidr) and 1.
      if (d.name === 'geo' && f.name === '_main' && (d.block ?? []).every((e) => e.args.length === 1 && /^[0-9a-f.:/]+$|^default$/.test(e.name))) continue;
      if (!allowed.has(d.name)) return `line ${d.line}: directive ${d.name} is not one the templates write nor on the snippet allowlist`;
      if (snippetOnly.includes(d.name) && d.block === null) {
        // Parsed back as NGINX reads it and through the allowlist again: the arguments pass their grammar.
        const again = parseSnippet(`${d.name} ${d.args.map((a) => `"${a.replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(' ')};`, 'location', { headersMore: true });
        if (!again.ok) return `line ${d.line}: ${d.name} does not pass the allowlist again: ${again.message}`;
      }
      // The certificate of the host's own name (or of its www twin's server, the host's): certificates by name.
      const ownCertificate = d.args[0] === `certificates/${f.name}.con[f]`;
      if (d.name === 'include' && !(d.args.length === 1 && (AGENT_FILES.has(d.args[0]!) || LISTENER_PORT_FILE.test(d.args[0]!) || ownCertificate))) return `line ${d.line}: include ${d.args.join(' ')}`;
      if (['ssl_certificate', 'ssl_certificate_key', 'ssl_client_certificate', 'auth_basic_user_file'].includes(d.name)) {
        const file = d.args[0] ?? '';
        if (!file.startsWith(`files/${f.name}/`) || !(file.slice(`files/${f.name}/`.length) in f.files)) return `line ${d.line}: ${d.name} ${file} is not a file of the fragment`;
      }
      if (d.block) {
        const inner = walk(d.block);
        if (inner) return inner;
      }
    }
    return null;
  };
  return walk(directives);
}

