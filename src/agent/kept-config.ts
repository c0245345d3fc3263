// What a previous agent left in its prefix: the fragments NGINX last served (fragments/<name>.conf,
// files/<name>/<file>) and the endpoint sets (upstreams.conf without the Lua module; with it, the
// shared dict of an NGINX still running, else private/endpoints.kept). An agent that starts again (after kill -9, an OOM kill, a restart
// of its container with the prefix kept) serves these until the handler tier sends the complete
// configuration, instead of an empty NGINX: it never serves less than it had. Everything kept gets
// revision -1, so whatever the handler tier sends replaces it, and a complete batch removes what it
// does not name.
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FILE_NAME, FRAGMENT_NAME, UPSTREAM_NAME } from '../protocol/agent-api.ts';
import { isEndpoint } from '../protocol/endpoint-address.ts';
import type { EndpointStore } from './endpoint-store.ts';
import { BUILTIN_DEFAULT } from './fragment-files.ts';
import { contentDigest, type FragmentContent, type FragmentStore } from './fragment-store.ts';
import type { PrefixLayout } from './layout.ts';
import { unixRequest } from './unix-http.ts';

/** The revision of kept content: below any the handler tier sends. */
export const KEPT_REVISION = -1;

/**
 * The fragments on disk with their files (a file only its owner may read is a secret). Anything that
 * is not a fragment (a name the API would refuse, files without a config) is removed, since NGINX's
 * `include fragments/*.conf` would read it.
 */
export async function readKeptFragments(layout: PrefixLayout): Promise<Map<string, FragmentContent>> {
  const kept = new Map<string, FragmentContent>();
  for (const entry of await readdir(layout.fragmentsDir).catch(() => [] as string[])) {
    const name = entry.endsWith('.conf') ? entry.slice(0, -5) : '';
    if (!FRAGMENT_NAME.test(name)) {
      await rm(join(layout.fragmentsDir, entry), { recursive: true, force: true });
      continue;
    }
    try {
      const content: FragmentContent = { config: await readFile(layout.fragmentConf(name), 'utf8'), files: {} };
      const dir = layout.fragmentFilesDir(name);
      for (const file of await readdir(dir).catch(() => [] as string[])) {
        if (!FILE_NAME.test(file)) {
          await rm(join(dir, file), { recursive: true, force: true });
          continue;
        }
        const path = layout.fragmentFile(name, file);
        const mode = (await stat(path)).mode;
        content.files[file] = { content: await readFile(path, 'utf8'), secret: (mode & 0o077) === 0 };
      }
      kept.set(name, content);
    } catch {
      // Unreadable (not a file, no permission): not kept, and not left for NGINX to include.
      await rm(join(layout.fragmentsDir, entry), { recursive: true, force: true });
      await rm(layout.fragmentFilesDir(name), { recursive: true, force: true });
    }
  }
  for (const entry of await readdir(layout.filesDir).catch(() => [] as string[])) {
    if (!kept.has(entry)) await rm(join(layout.filesDir, entry), { recursive: true, force: true });
  }
  return kept;
}

/** The endpoint sets of an upstreams.conf the agent wrote (renderUpstreams). */
export function parseUpstreamsConf(text: string): Map<string, string[]> {
  const sets = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const line of text.split('\n')) {
    const open = /^upstream ([a-z0-9][a-z0-9.-]*) \{$/.exec(line);
    if (open) {
      current = UPSTREAM_NAME.test(open[1]!) ? [] : null;
      if (current) sets.set(open[1]!, current);
      continue;
    }
    if (line === '}') current = null;
    const server = /^ {4}server (\S+);$/.exec(line);
    if (server && current && isEndpoint(server[1]!)) current.push(server[1]!);
  }
  for (const [name, list] of sets) if (list.length === 0) sets.delete(name);
  return sets;
}

/** upstreams.conf as the previous agent left it (empty when there is none). */
export async function readKeptUpstreams(layout: PrefixLayout): Promise<Map<string, string[]>> {
  return parseUpstreamsConf(await readFile(layout.upstreamsConf, 'utf8').catch(() => ''));
}

/**
 * The endpoint sets of the Lua module: from the shared dict of the NGINX still running on the prefix
 * (GET /endpoints), else from what the previous agent kept on disk (kept-endpoints.ts).
 */
export async function readLuaEndpoints(layout: PrefixLayout): Promise<Map<string, string[]>> {
  const r = await unixRequest({ socketPath: layout.endpointsSocket, path: '/endpoints', timeoutMs: 2000 }).catch(() => null);
  if (r?.status === 200) return parseEndpointLines(r.body);
  return parseEndpointLines(await readFile(layout.keptEndpoints, 'utf8').catch(() => ''));
}

/** Lines of `upstream endpoint endpoint …` (GET /endpoints, endpoints.kept). */
function parseEndpointLines(text: string): Map<string, string[]> {
  const sets = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const [name, ...endpoints] = line.trim().split(/\s+/);
    if (!name || !UPSTREAM_NAME.test(name)) continue;
    const valid = endpoints.filter(isEndpoint);
    if (valid.length > 0) sets.set(name, valid);
  }
  return sets;
}

/**
 * Seeds the stores with what the previous agent left: its fragments (not the built-in default
 * server, which is written anyway), and its endpoint sets. Returns how many of each.
 */
export async function keepPrevious(
  layout: PrefixLayout,
  mode: 'lua' | 'reload',
  fragmentStore: FragmentStore,
  endpointStore: EndpointStore,
): Promise<{ fragments: number; endpointSets: number }> {
  const fragments = await readKeptFragments(layout);
  const builtin = fragments.get('_default');
  if (builtin && contentDigest(builtin) === BUILTIN_DEFAULT.digest) fragments.delete('_default');
  const endpoints = mode === 'lua' ? await readLuaEndpoints(layout) : await readKeptUpstreams(layout);
  for (const [name, content] of fragments) fragmentStore.set(name, KEPT_REVISION, content);
  for (const [upstream, list] of endpoints) endpointStore.set(upstream, KEPT_REVISION, list);
  return { fragments: fragments.size, endpointSets: endpoints.size };
}
