// Every command block of the README and docs/*.md is accounted for: run by a test (the README's
// console blocks by readme.test.ts, docs/check.md's by tests/check/docs.test.ts), or, when it needs
// what no test machine has (docker, helm, a cluster), checked here as far as it goes without them:
// the npm scripts exist, the image tag is the version built, each `helm install`/`helm template`
// line's values render with the chart (tests/chart/render.ts) and its objects are the ones the
// following commands name, and a line said to fail fails. Inline `wharf SUB --flag` and
// `npm run NAME` mentions are checked against `wharf SUB --help` and package.json. A new command
// block fails the inventory test until a test runs or checks it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { one, render, RenderError, type Values } from '../chart/render.ts';
import { root } from './readme-console.ts';

const run = promisify(execFile);
const read = (file: string) => readFileSync(join(root, file), 'utf8');
const guides = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];

interface Block { file: string; line: number; lang: string; text: string }

/** The fenced blocks of a guide that hold commands (console, sh, bash, shell). */
function commandBlocks(file: string): Block[] {
  const out: Block[] = [];
  const text = read(file);
  for (const m of text.matchAll(/^```(console|sh|bash|shell)\n([\s\S]*?)^```$/gm)) {
    out.push({ file, line: text.slice(0, m.index).split('\n').length, lang: m[1]!, text: m[2]! });
  }
  return out;
}

const blocks = guides.flatMap(commandBlocks);
const firstCommand = (b: Block) => b.text.split('\n').find((l) => l.trim() && !l.startsWith('#'))!.replace(/^\$ /, '');

/** Who runs or checks each command block, by its first command line. */
const ACCOUNTED: { file: string; first: RegExp; by: string }[] = [
  { file: 'README.md', first: /^npm start\b/, by: 'this file (npm scripts); npm test is what CI runs, and readme.test.ts runs what npm start starts' },
  { file: 'README.md', first: /^curl\b/, by: 'tests/local/readme.test.ts (Quick start and Gateway API console blocks, output compared)' },
  { file: 'README.md', first: /^docker build\b/, by: 'this file, statically (needs docker, helm and a cluster)' },
  { file: 'docs/check.md', first: /^node src\/cli\.ts (check|render)\b/, by: 'tests/check/docs.test.ts (every console block, output compared)' },
  { file: 'docs/deploying.md', first: /^helm lint\b/, by: 'this file, statically (needs helm and kubeconform)' },
  { file: 'docs/streams.md', first: /^curl\b/, by: 'tests/local/readme.test.ts (the TCPRoute console block, with the README\'s TCP services, output compared)' },
  { file: 'docs/ssl-passthrough.md', first: /^openssl req\b/, by: 'tests/local/ssl-passthrough-docs.test.ts (every line run, on free ports, output compared)' },
];

test('every command block of the README and docs/*.md is run or checked by a test', () => {
  assert.ok(blocks.length >= 8, `found only ${blocks.length} command blocks`);
  const unaccounted = blocks.filter((b) => !ACCOUNTED.some((a) => a.file === b.file && a.first.test(firstCommand(b)))).map((b) => `${b.file}:${b.line}: ${firstCommand(b)}`);
  assert.deepEqual(unaccounted, [], 'command blocks no test runs: run them in a test, or check them here');
  for (const a of ACCOUNTED) assert.ok(blocks.some((b) => b.file === a.file && a.first.test(firstCommand(b))), `${a.file}: no block starts with ${a.first} any more (${a.by})`);
});

test('README: npm start and npm test are package.json scripts', () => {
  const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
  const block = blocks.find((b) => b.file === 'README.md' && /^npm start\b/.test(firstCommand(b)))!;
  for (const [, name] of block.text.matchAll(/^npm (\w+)/gm)) assert.ok(scripts[name!], `npm ${name}: no such script`);
  assert.match(scripts.start!, /node src\/cli\.ts local/);
});

/** `--set a.b=c,d=e` as helm reads it: dotted paths, true/false and integers typed. */
function setValues(set: string): Values {
  const values: Values = {};
  for (const pair of set.split(',').filter(Boolean)) {
    const [path, raw] = pair.split('=') as [string, string];
    const value = raw === 'true' ? true : raw === 'false' ? false : /^-?\d+$/.test(raw) ? Number(raw) : raw;
    const keys = path.split('.');
    let node = values as Record<string, unknown>;
    for (const k of keys.slice(0, -1)) node = (node[k] ??= {}) as Record<string, unknown>;
    node[keys.at(-1)!] = value;
  }
  return values;
}

/** A `helm install|template RELEASE charts/wharf …` line: release, namespace, values, and whether it must fail. */
function helmLine(line: string): { release: string; namespace: string; values: Values; mustFail: boolean } | null {
  const m = /^helm (?:install|template) (\S+) charts\/wharf(.*)$/.exec(line.trim());
  if (!m) return null;
  const args = m[2]!.split('#')[0]!;
  const sets = [...args.matchAll(/--set (\S+)/g)].map((s) => s[1]!).filter((s) => !s.startsWith('"$'));
  const values = sets.map(setValues).reduce<Values>((acc, v) => ({ ...acc, ...v }), {});
  return { release: m[1]!, namespace: /-n (\S+)/.exec(args)?.[1] ?? 'default', values, mustFail: /must fail/.test(m[2]!) };
}

test('README: the install block builds the version the chart deploys, and its objects are the ones it names', () => {
  const block = blocks.find((b) => b.file === 'README.md' && /^docker build\b/.test(firstCommand(b)))!;
  const version = (JSON.parse(read('package.json')) as { version: string }).version;
  assert.match(block.text, new RegExp(`docker build -t REGISTRY/wharf:${version.replaceAll('.', '\\.')} \\.`), 'the tag is the appVersion the chart pulls');
  assert.match(read('charts/wharf/Chart.yaml'), new RegExp(`appVersion: "${version.replaceAll('.', '\\.')}"`));
  const install = block.text.split('\n').map(helmLine).find(Boolean)!;
  assert.ok(install, 'a helm install line');
  const objects = render(install.values, { releaseName: install.release, namespace: install.namespace });
  for (const w of objects.filter((o) => o.doc.apiVersion === 'apps/v1')) assert.equal(w.doc.spec.template.spec.containers[0].image, `REGISTRY/wharf:${version}`);
  const [, ns, name] = /kubectl -n (\S+) get service (\S+)/.exec(block.text)!;
  assert.equal(one(objects, 'Service', name!).metadata.namespace, ns);
});

test('docs/deploying.md: each value set of the release check renders, and the line said to fail fails', () => {
  const block = blocks.find((b) => b.file === 'docs/deploying.md' && /^helm lint\b/.test(firstCommand(b)))!;
  const loop = /for set in ([\s\S]*?); do/.exec(block.text)?.[1];
  assert.ok(loop, 'the block loops over value sets');
  const sets = [...loop.matchAll(/'([^']*)'/g)].map((m) => m[1]!);
  assert.ok(sets.length >= 5 && sets.includes(''), sets.join(' | '));
  const template = block.text.split('\n').map((l) => helmLine(l)).find((h) => h && !h.mustFail)!;
  for (const set of sets) {
    const objects = render(setValues(set), { releaseName: template.release, namespace: template.namespace });
    assert.ok(objects.length > 15, `--set '${set}'`);
  }
  const failing = block.text.split('\n').map(helmLine).filter((h) => h?.mustFail);
  assert.equal(failing.length, 1);
  assert.throws(() => render(failing[0]!.values), (e: unknown) => e instanceof RenderError && /source\.knative\.caCert/.test(e.message));
});

const helpOf = new Map<string, Promise<string>>();
const help = (sub: string) => {
  if (!helpOf.has(sub)) helpOf.set(sub, run(process.execPath, [join(root, 'src', 'cli.ts'), sub, '--help'], { cwd: root, timeout: 30_000 }).then((r) => r.stdout));
  return helpOf.get(sub)!;
};

test('inline `wharf SUB --flag` and `npm run NAME` in the guides name flags and scripts that exist', async () => {
  const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
  const problems: string[] = [];
  let flags = 0;
  for (const file of guides) {
    for (const [, code] of read(file).matchAll(/`([^`\n]+)`/g)) {
      const npm = /^npm run ([\w:-]+)/.exec(code!);
      if (npm && !scripts[npm[1]!]) problems.push(`${file}: \`${code}\`: no script ${npm[1]}`);
      const wharf = /^(?:wharf|node src\/cli\.ts) (handler|agent|source|local|check|render)\b(.*)$/.exec(code!);
      if (!wharf) continue;
      const usage = await help(wharf[1]!);
      for (const [flag] of wharf[2]!.matchAll(/--[a-z][a-z0-9-]*/g)) {
        if (flag === '--help') continue;
        flags++;
        if (!usage.includes(flag)) problems.push(`${file}: \`${code}\`: ${flag} is not in \`wharf ${wharf[1]} --help\``);
      }
    }
  }
  assert.ok(flags >= 3, `only ${flags} inline flags found`);
  assert.deepEqual(problems, []);
});
