// The fast reader of plain manifests (src/cluster/plain-yaml.ts) gives exactly what `yaml` gives, or
// hands the text to `yaml`: compared with yaml's parseAllDocuments on every manifest of the
// repository and the shared folder and on a table of YAML that is plain, almost plain, and not plain at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parsePlainYaml } from '../../src/cluster/plain-yaml.ts';
import { MANIFEST_PARSE_OPTIONS } from '../../src/cluster/manifests.ts';

const root = new URL('../../', import.meta.url).pathname;

// What yaml gives, or null when it reports an error (the fast reader must then answer null too).
function viaYaml(text: string): unknown[] | null {
  const docs = parseAllDocuments(text, MANIFEST_PARSE_OPTIONS);
  if (!Array.isArray(docs) || docs.some((d) => d.errors.length > 0 || d.warnings.length > 0)) return null;
  return docs.map((d) => d.toJS({ maxAliasCount: 100 }));
}

function agrees(name: string, text: string): unknown[] | null {
  const fast = parsePlainYaml(text);
  const slow = viaYaml(text);
  if (fast !== null) assert.deepStrictEqual(fast, slow, `${name}: the fast reader differs from yaml`);
  return fast;
}

// Plain YAML: the fast reader answers, and with yaml's values.
const plain: Record<string, string> = {
  'bench:local app file': `apiVersion: v1
kind: Service
metadata: { name: app-1, namespace: bench }
spec: { ports: [{ name: http, port: 80 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: app-1-0, namespace: bench, labels: { kubernetes.io/service-name: app-1 } }
addressType: IPv4
ports: [{ name: http, port: 8080 }]
endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true } }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: app-1, namespace: bench }
spec:
  rules:
    - host: app-1.bench.test
      http:
        paths: [{ path: /, pathType: Prefix, backend: { service: { name: app-1, port: { name: http } } } }]
`,
  'core schema scalars': 'a: ~\nb: null\nc: True\nd: FALSE\ne: 0o17\nf: -42\ng: 0x1F\nh: .inf\ni: -.Inf\nj: .nan\nk: 1.5e3\nl: 2.\nm: .5\nn: 007\no: 1.2.3\np: 10m\nq:\nr: yes\ns: +7\n',
  'quoted scalars': `a: "x: y # z"\nb: 'it''s'\nc: "\\u00e9\\n\\t\\"\\\\/"\n"d e": 1\n'f': [ "g, h", 'i]' ]\n`,
  'comments everywhere': '# head\na: b # tail\n# between\nc: d#not a comment\ne: # nothing\n  # nested comment\n  f: g\n',
  'compact and indented sequences': 'a:\n- b\n- c: d\n  e: f\n-   g: h\n    i: j\nk:\n  - l\n  -\n    m: n\n',
  'sequences of sequences': 'a:\n  -\n    - b\n    - c\n  - [d, e]\n',
  'plain values with flow characters in block context': 'a: b,c\nd: x[1]{2}\ne: http://h:80/p?q=1#f\nf: -dash\n',
  'documents and empty documents': '# only a comment\n---\na: 1\n---\n---\n# c\n---\nb: [ ]\nc: {}\n',
  'a trailing separator': 'a: 1\n---\n',
  'indented root': '  a: 1\n  b:\n    c: 2\n',
};

// Not plain (or not valid): the fast reader hands them to yaml.
const notPlain: Record<string, string> = {
  anchors: 'a: &x 1\nb: *x\n',
  tags: 'a: !!str 1\n',
  'block scalar': 'a: |\n  line\n',
  'folded scalar': 'a: >-\n  line\n',
  'multi-line plain scalar': 'a: one\n  two\n',
  'multi-line flow collection': 'a: [b,\n  c]\n',
  'multi-line quoted scalar': 'a: "b\n  c"\n',
  'duplicate key': 'a: 1\na: 2\n',
  'duplicate flow key': 'a: { b: 1, b: 2 }\n',
  tabs: 'a:\tb\n',
  'CRLF line ends': 'a: b\r\nc: d\r\n',
  'a number as a key': '80: http\n',
  'merge key': 'a: { b: 1 }\nc:\n  <<: { b: 2 }\n',
  'proto key': '__proto__: 1\n',
  'a scalar document': 'just text\n',
  'a key and a value on one line twice': 'a: b: c\n',
  'a sequence after a value': 'a: b\n- c\n',
  'a directive': '%YAML 1.2\n---\na: 1\n',
  'a document end': 'a: 1\n...\n',
  'an unknown escape': 'a: "\\x41"\n',
  'a trailing comma': 'a: [b, ]\n',
  'an unclosed flow collection': 'a: [b, c\n',
  'a complex key': '? a\n: b\n',
  'a content after the separator': '--- a: 1\n',
  'a bad indentation': 'a:\n    b: 1\n  c: 2\n',
};

test('plain manifests are read without yaml, with the values yaml gives', () => {
  for (const [name, text] of Object.entries(plain)) {
    assert.notEqual(agrees(name, text), null, `${name}: the fast reader handed plain YAML to yaml`);
  }
});

test('anything beyond plain YAML, and every error, is left to yaml', () => {
  for (const [name, text] of Object.entries(notPlain)) {
    assert.equal(parsePlainYaml(text), null, `${name}: the fast reader answered`);
  }
});

test("every manifest in the repository and the shared folder reads the same with or without yaml", () => {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name.startsWith('.') || e.name === 'templates') continue;
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (/\.ya?ml$/.test(e.name)) files.push(path);
    }
  };
  walk(root);
  walk(join(root, '../shared')); // the Gateway API's CRDs and conformance manifests
  assert.ok(files.length >= 20, `only ${files.length} YAML files found`);
  let read = 0;
  for (const f of files) if (agrees(f, readFileSync(f, 'utf8')) !== null) read++;
  // Most are plain: the fast reader is used, not only tried.
  assert.ok(read >= files.length / 2, `the fast reader read ${read} of ${files.length} files`);
});

// Random documents built from the pieces manifests are made of and the ones YAML treats specially
// (numbers in every notation, booleans, nulls, indicators, quotes, escapes, comments, flow and block
// collections at varying indentation): wherever the fast reader answers, it answers as yaml does.
test('generated documents: wherever the fast reader answers, yaml gives the same values', () => {
  let seed = 20261207;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]!;
  const SCALARS = ['a', 'app-1', '80', '-1', '+12', '0o17', '0x1F', '017', '1e3', '.5', '5.', '1_000', '.inf', '-.Inf', '.nan', 'true', 'True', 'FALSE', 'yes', 'off', 'null', '~', 'Null',
    '"80"', "'it''s'", '"a\\tb"', '"\\u00e9"', '"x\\qy"', 'a:b', 'http://x/y', '/$2', 'a #c', 'a# b', '*.example.com', '&anchor', '!tag', '@at', '`tick', '%pct', '-dash', '- x', '? q', 'a, b', '[a, b]', '{k: v}', '[]', '{}', '[a, [b]]', '{a: 1, a: 2}', '[a: b]', '"open', "'open", 'x: y', ''];
  const KEYS = ['a', 'name', 'nginx.ingress.kubernetes.io/rewrite-target', '"quoted"', "'single'", '80', 'true', '__proto__', '<<', 'a b', 'k#x', '-k', '"k: v"'];
  const block = (depth: number, indent: string): string => {
    const lines: string[] = [];
    const seq = rand(3) === 0;
    for (let i = 0, n = 1 + rand(4); i < n; i++) {
      const head = seq ? `${indent}- ` : `${indent}${pick(KEYS)}:`;
      const r = rand(5);
      if (depth > 0 && r === 0) {
        const inner = indent + pick(['  ', '    ', ' ']);
        lines.push(seq ? `${indent}-` : head, block(depth - 1, inner));
      } else if (depth > 0 && r === 1 && !seq) {
        lines.push(head, block(depth - 1, indent)); // a sequence or mapping at the key's indentation
      } else {
        const value = pick(SCALARS);
        lines.push(seq ? `${head}${value}` : `${head}${value === '' ? '' : ' '}${value}${rand(6) === 0 ? ' # note' : ''}`);
      }
      if (rand(8) === 0) lines.push(`${indent}# a comment`);
    }
    return lines.join('\n');
  };
  let answered = 0;
  for (let i = 0; i < 3000; i++) {
    const docs = Array.from({ length: 1 + rand(3) }, () => block(2, rand(5) === 0 ? '  ' : ''));
    const text = docs.join(pick(['\n---\n', '\n--- # next\n', '\n---\n\n'])) + '\n';
    if (agrees(`generated #${i}:\n${text}`, text) !== null) answered++;
  }
  // The generator is not all edge cases: a good share of its documents must take the fast path.
  assert.ok(answered > 300, `only ${answered} of 3000 generated documents were read without yaml`);
});
