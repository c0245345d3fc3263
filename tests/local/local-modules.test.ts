// Local mode never talks to a cluster, so it does not load @kubernetes/client-node (868 modules,
// about half of its start-up's module loading): the handler's cluster parts are imported where a
// cluster is used. `wharf handler` still loads the client before it starts (its start is timed in
// tests/cluster/handler-startup.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

/** The modules a fresh node process resolves while importing `entry` (and running `then`). */
function resolvedBy(entry: string, then = ''): { urls: string[]; output: string } {
  const script = `
    import module from 'node:module';
    const urls = [];
    module.registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); urls.push(r.url); return r; } });
    const m = await import(${JSON.stringify(join(ROOT, entry))});
    ${then}
    console.log(JSON.stringify(urls));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  return { urls: JSON.parse(lines.at(-1)!) as string[], output: lines.slice(0, -1).join('\n') };
}

test('local mode no longer loads @kubernetes/client-node: its start loads about a third of the modules it did', () => {
  const { urls } = resolvedBy('wrangler-free-local/local-mode.ts');
  const client = urls.filter((u) => u.includes('/@kubernetes/client-node/'));
  assert.deepEqual(client, [], `local mode loaded ${client.length} modules of the Kubernetes client`);
  assert.ok(urls.some((u) => u.endsWith('/src/handlers/serve.ts')), 'the handler is part of local mode');
});

test('wharf handler with a cluster still loads the client, and parses its kubeconfig as before', () => {
  const { urls, output } = resolvedBy('src/handlers/handler-flags.ts', `await m.parseHandlerArgs(['--agent-token-file', '/dev/null', '--kubeconfig', '/nonexistent']).catch((e) => console.log(e.message));`);
  assert.ok(urls.some((u) => u.includes('/@kubernetes/client-node/')), 'a handler that reads a cluster loads its client');
  assert.match(output, /^reading the kubeconfig \/nonexistent: .*; or pass --no-list to run fed by events only$/m);
});
