// The renderer the chart tests use in place of `helm template` (go-template.ts, render.ts): Go's
// template rules where they differ from JavaScript's, each checked against what Go documents, and
// the whole chart rendered with the value sets a release is checked with (docs/deploying.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TemplateSet } from './go-template.ts';
import { RenderError, mergeValues, ofKind, one, render } from './render.ts';

const run = (src: string, data: unknown = {}): string => {
  const set = new TemplateSet({ quote: (s) => JSON.stringify(String(s)), eq: (a, b) => a === b, not: (v) => !v, list: (...a) => a });
  set.add('t', src);
  return set.execute('t', data);
};

const goRules: { name: string; src: string; data?: unknown; want: string }[] = [
  { name: 'trim markers eat every whitespace on their side', src: 'a  \n  {{- "b" -}}  \n c', want: 'abc' },
  { name: 'a comment with trim markers leaves nothing', src: 'a\n{{- /* note */ -}}\nb', want: 'ab' },
  { name: 'empty map, empty list, 0 and "" are false', src: '{{ if .m }}m{{ end }}{{ if .l }}l{{ end }}{{ if .z }}z{{ end }}{{ if .s }}s{{ end }}{{ if .t }}t{{ end }}', data: { m: {}, l: [], z: 0, s: '', t: { a: 1 } }, want: 't' },
  { name: 'else if chains', src: '{{ if eq .v 1 }}one{{ else if eq .v 2 }}two{{ else }}many{{ end }}', data: { v: 2 }, want: 'two' },
  { name: 'range over a map goes by sorted key', src: '{{ range $k, $v := .m }}{{ $k }}={{ $v }};{{ end }}', data: { m: { b: 2, a: 1 } }, want: 'a=1;b=2;' },
  { name: 'range sets dot, $ stays the root', src: '{{ range .l }}{{ . }}{{ $.x }}{{ end }}', data: { l: [1, 2], x: '-' }, want: '1-2-' },
  { name: 'range else runs for an empty list', src: '{{ range .l }}x{{ else }}none{{ end }}', data: { l: [] }, want: 'none' },
  { name: 'with rebinds dot and skips an empty value', src: '{{ with .a }}{{ .b }}{{ end }}{{ with .c }}c{{ else }}no c{{ end }}', data: { a: { b: 'B' }, c: {} }, want: 'Bno c' },
  { name: 'a missing key prints nothing', src: '[{{ .nope }}]', data: {}, want: '[]' },
  { name: 'and/or return the deciding operand', src: '{{ or .a "dflt" }} {{ and .b .c }}', data: { a: '', b: 'x', c: 'y' }, want: 'dflt y' },
  { name: 'a pipe passes its value as the last argument', src: '{{ "v" | quote }}', want: '"v"' },
  { name: '= assigns the outer variable, := inside a block shadows it', src: '{{ $a := 1 }}{{ if true }}{{ $a = 2 }}{{ end }}{{ $a }}{{ if true }}{{ $a := 3 }}{{ end }}{{ $a }}', want: '22' },
  { name: '(pipeline).field chains, (pipeline) .field is another operand', src: '{{ (.m).k }}|{{ eq (.m.k) .m.k }}', data: { m: { k: 'v' } }, want: 'v|true' },
  { name: '}} inside a string does not close the action', src: '{{ "a}}b" }}', want: 'a}}b' },
];

for (const c of goRules) {
  test(`go template: ${c.name}`, () => assert.equal(run(c.src, c.data ?? {}), c.want));
}

test('go template: a field of a missing map is an error, as in Go (nil pointer evaluating)', () => {
  assert.throws(() => run('{{ .a.b }}', {}), /t:1: nil pointer evaluating interface \{\}\.b/);
});

test('go template: an unknown function names itself and the line', () => {
  assert.throws(() => run('x\n{{ frob 1 }}'), /t:2: function "frob" not defined/);
});

test('values merge as Helm merges them: maps key by key, lists replaced, null deletes', () => {
  assert.deepEqual(mergeValues({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, d: null }), { a: { b: 1, c: [3] } });
});

test('render: values the schema refuses fail the render, as helm template fails', () => {
  assert.throws(() => render({ nginx: { kind: 'StatefulSet' } }), (e: unknown) => e instanceof RenderError && /\/nginx\/kind must be equal to one of the allowed values/.test(e.message));
});

// The sets docs/deploying.md's release check renders.
const releaseSets: Record<string, Record<string, unknown>> = {
  defaults: {},
  'DaemonSet with hostPorts behind a NodePort Service': { nginx: { kind: 'DaemonSet', hostPorts: { enabled: true }, service: { type: 'NodePort' } } },
  'cert-manager': { certManager: { enabled: true } },
  'Knative source': { source: { mode: 'knative' } },
  'no source, no NetworkPolicy': { source: { mode: 'none' }, networkPolicy: { enabled: false } },
  'fixed handler replicas, existing tokens': { handler: { autoscaling: { enabled: false } }, tokens: { existingSecret: 'my-tokens' } },
};

for (const [name, values] of Object.entries(releaseSets)) {
  test(`render: the whole chart renders to Kubernetes objects (${name})`, () => {
    const objects = render(values);
    assert.ok(objects.length > 15);
    for (const { file, doc } of objects) {
      assert.equal(typeof doc.apiVersion, 'string', `${file}: apiVersion`);
      assert.equal(typeof doc.kind, 'string', `${file}: kind`);
      assert.match(String(doc.metadata?.name), /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, `${file}: ${doc.kind} name`);
    }
    const names = objects.map((o) => `${o.doc.kind}/${o.doc.metadata.name}`);
    assert.equal(new Set(names).size, names.length, `an object rendered twice: ${names.join(', ')}`);
  });
}

test('render: the NGINX workload follows nginx.kind and the handler replicas follow autoscaling', () => {
  assert.equal(ofKind(render({ nginx: { kind: 'DaemonSet' } }), 'DaemonSet').length, 1);
  assert.equal(one(render(), 'Deployment', 'wharf-handler').spec.replicas, undefined, 'the HPA owns the count');
  assert.equal(one(render({ handler: { autoscaling: { enabled: false }, replicas: 3 } }), 'Deployment', 'wharf-handler').spec.replicas, 3);
});
