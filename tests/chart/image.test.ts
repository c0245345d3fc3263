// The Dockerfile, checked statically (no container engine runs on these machines): it installs the
// NGINX the tests run against, runs on the Node the project needs, ships every file the `wharf`
// command loads, and runs as the non-root user the chart expects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { builtinModules } from 'node:module';
import { readRepoFile, repoRoot, valuesYaml } from './chart-files.ts';

const dockerfile = readRepoFile('Dockerfile');
const pkg = JSON.parse(readRepoFile('package.json')) as {
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
/** Dockerfile instructions with their continuation lines joined. */
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

const aptPackages = (line: string): string[] => {
  const m = /apt-get install ((?:-\S+\s+)*)([^&;]+)/.exec(line);
  return m ? m[2]!.trim().split(/\s+/).filter((w) => !w.startsWith('-') && !w.startsWith('$')) : [];
};

test('the image installs the NGINX packages scripts/setup.sh installs for the tests', () => {
  const setup = readRepoFile('scripts/setup.sh');
  const wanted = /^packages="([^"]+)"/m.exec(setup)![1]!.split(/\s+/).sort();
  assert.ok(wanted.includes('libnginx-mod-http-lua'));
  const installed = instructions.flatMap(aptPackages);
  for (const p of wanted) assert.ok(installed.includes(p), `the Dockerfile does not install ${p}`);
  const extra = installed.filter((p) => !wanted.includes(p)).sort();
  assert.deepEqual(extra, ['ca-certificates', 'tini'], 'only tini (PID 1) and CA certificates besides NGINX');
});

test('every stage is Debian bookworm with the Node major version package.json asks for', () => {
  const froms = instructions.filter((l) => l.startsWith('FROM '));
  assert.ok(froms.length >= 1);
  const nodeMajor = /(\d+)/.exec(pkg.devDependencies.node!)![1];
  for (const from of froms) assert.match(from, new RegExp(`^FROM node:${nodeMajor}-bookworm-slim\\b`), from);
});

test('production packages only: npm ci --omit=dev from the lock file, and no import needs a devDependency', () => {
  assert.ok(instructions.some((l) => /^RUN npm ci\b.*--omit=dev/.test(l)), 'npm ci --omit=dev');
  assert.ok(instructions.some((l) => /^COPY package\.json package-lock\.json /.test(l)));
  const needed = new Set<string>();
  for (const file of reachableModules()) {
    for (const spec of bareImports(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
      needed.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  }
  assert.ok(needed.size > 0);
  for (const name of needed) assert.ok(name in pkg.dependencies, `${name} is imported by the wharf command but is not a production dependency: the image would lack it`);
});

test('the image ships every module `wharf` loads, and the NGINX templates', () => {
  const copied = instructions.filter((l) => l.startsWith('COPY ') && !l.includes('--from')).map((l) => l.split(/\s+/)[1]!);
  const ignored = readRepoFile('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const modules = reachableModules();
  assert.ok(modules.length > 1, 'src/cli.ts imports modules');
  for (const file of modules) {
    const rel = relative(repoRoot, file);
    const top = rel.split('/')[0]!;
    assert.ok(copied.includes(top) || copied.includes(rel), `${rel} is loaded by src/cli.ts but not copied into the image`);
    assert.ok(!ignored.includes(top), `${rel} is excluded by .dockerignore`);
  }
  assert.ok(copied.includes('templates'), 'the agent renders nginx.conf from templates/ and loads the Lua balancer from it');
  for (const must of ['node_modules', '.git']) assert.ok(ignored.includes(must), `.dockerignore must exclude ${must}`);
});

test('a numeric non-root user, the one the chart runs as', () => {
  const user = instructions.filter((l) => l.startsWith('USER ')).at(-1);
  assert.ok(user, 'no USER');
  const [uid, gid] = user.slice(5).split(':').map(Number);
  assert.ok(uid! > 0 && gid! > 0, 'not root');
  const values = valuesYaml() as { podSecurityContext: { runAsUser: number; runAsGroup: number } };
  assert.equal(uid, values.podSecurityContext.runAsUser);
  assert.equal(gid, values.podSecurityContext.runAsGroup);
  assert.ok(instructions.some((l) => l.includes(`useradd --system --uid ${uid} `)), 'the uid has a passwd entry (NGINX looks its user up)');
});

test('tini is PID 1 and runs the `wharf` command', () => {
  const entry = instructions.filter((l) => l.startsWith('ENTRYPOINT ')).at(-1)!;
  const argv = JSON.parse(entry.slice('ENTRYPOINT '.length)) as string[];
  assert.deepEqual(argv, ['/usr/bin/tini', '--', 'node', `/app/${pkg.bin.wharf}`]);
  assert.ok(instructions.some((l) => l === 'WORKDIR /app'));
});

/** Relative imports of a TypeScript file. */
function relativeImports(source: string): string[] {
  return [...source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!);
}

/** Package imports of a TypeScript file (type-only imports excluded: they vanish at run time). */
function bareImports(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/^\s*(import|export)\s+(type\s+)?[^'"]*?from\s*['"]([^.'"][^'"]*)['"]/gm)) if (!m[2]) out.push(m[3]!);
  for (const m of source.matchAll(/\bimport\s*\(\s*['"]([^.'"][^'"]*)['"]\s*\)/g)) out.push(m[1]!);
  for (const m of source.matchAll(/^\s*import\s+['"]([^.'"][^'"]*)['"]/gm)) out.push(m[1]!);
  return out;
}

/** Every local module src/cli.ts loads, transitively. */
function reachableModules(): string[] {
  const seen = new Set<string>();
  const queue = [join(repoRoot, pkg.bin.wharf!)];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    assert.ok(existsSync(file), `${relative(repoRoot, file)} is imported but does not exist`);
    seen.add(file);
    for (const spec of relativeImports(readFileSync(file, 'utf8'))) queue.push(resolve(dirname(file), spec));
  }
  return [...seen].sort();
}
