// values.yaml against the templates and the schema, without rendering: every value a template
// reads exists (a typo would render as empty), every value is read by some template (no dead
// knobs), every value is documented, and the schema describes every value the templates read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isScalar, parseDocument, visit, type Scalar } from 'yaml';
import { allTemplateTexts, leafPaths, lookupPath, readChartFile, schemaAt, valueReferences, valuesSchema, valuesYaml } from './chart-files.ts';

const values = valuesYaml();
const schema = valuesSchema();
/** Every value reference of every template, with the files that make it. */
const references = new Map<string, string[]>();
for (const [file, text] of allTemplateTexts()) {
  for (const ref of valueReferences(text)) references.set(ref, [...(references.get(ref) ?? []), file]);
}

test('the templates read values (the reference scan finds them)', () => {
  assert.ok(references.size > 50, `only ${references.size} value references found`);
  assert.ok(references.has('webhook.failurePolicy'));
});

test('every value a template reads exists in values.yaml', () => {
  const missing = [...references].filter(([ref]) => !lookupPath(values, ref).found).map(([ref, files]) => `.Values.${ref} (${files.join(', ')})`);
  assert.deepEqual(missing, [], 'templates read values that values.yaml does not define');
});

test('every value a template reads is described by values.schema.json', () => {
  const missing = [...references.keys()].filter((ref) => schemaAt(schema, ref) === null);
  assert.deepEqual(missing, []);
});

test('every value in values.yaml is read by some template (directly, or inside a value read whole)', () => {
  const refs = [...references.keys()];
  const unused = leafPaths(values).filter((leaf) => !refs.some((ref) => leaf === ref || leaf.startsWith(`${ref}.`)));
  assert.deepEqual(unused, [], 'values nobody reads: remove them or use them');
});

test('every key of values.yaml has a comment', () => {
  const doc = parseDocument(readChartFile('values.yaml'));
  const undocumented: string[] = [];
  visit(doc, {
    Map(_, map) {
      map.items.forEach((pair, i) => {
        const key = pair.key as Scalar | null;
        const comment = key?.commentBefore ?? (i === 0 ? map.commentBefore : undefined);
        if (!comment?.trim()) undocumented.push(isScalar(key) ? String(key.value) : '?');
      });
    },
  });
  assert.deepEqual(undocumented, []);
});

test('every property of values.schema.json has a description, and objects refuse unknown keys', () => {
  const problems: string[] = [];
  // The security contexts are Kubernetes' own objects: open to every field Kubernetes has.
  const kubernetesObjects = new Set(['podSecurityContext', 'containerSecurityContext']);
  const walk = (node: Record<string, unknown>, path: string, free: boolean): void => {
    const props = node.properties as Record<string, Record<string, unknown>> | undefined;
    if (!props) return;
    if (!free && node.additionalProperties !== false) problems.push(`${path || '(root)'}: additionalProperties is not false`);
    for (const [key, child] of Object.entries(props)) {
      const p = path ? `${path}.${key}` : key;
      if (typeof child.description !== 'string' && !free) problems.push(`${p}: no description`);
      walk(child, p, free || kubernetesObjects.has(p));
    }
  };
  walk(schema, '', false);
  assert.deepEqual(problems, []);
  assert.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#');
});
