// Reads charts/wharf for the chart tests. Here no Go-template rendering happens: templates are read
// as text, and `skeleton()` only blanks out the template actions so that the YAML around them can be
// parsed. Nothing is evaluated: both sides of an `if` stay, a `range` body appears once. Tests of
// what a value renders to use render.ts (Go's template rules and Helm's objects, since no helm
// binary can be installed on these machines), whose own rules are checked in render.test.ts.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

export const repoRoot = join(import.meta.dirname, '..', '..');
export const chartDir = join(repoRoot, 'charts', 'wharf');
export const templatesDir = join(chartDir, 'templates');

export function readChartFile(relative: string): string {
  return readFileSync(join(chartDir, relative), 'utf8');
}

export function readRepoFile(relative: string): string {
  return readFileSync(join(repoRoot, relative), 'utf8');
}

/** The YAML templates (not _helpers.tpl, not NOTES.txt), by file name. */
export function templates(): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of readdirSync(templatesDir).sort()) {
    if (f.endsWith('.yaml')) out.set(f, readFileSync(join(templatesDir, f), 'utf8'));
  }
  return out;
}

/** Every template file's text, _helpers.tpl and NOTES.txt included. */
export function allTemplateTexts(): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of readdirSync(templatesDir).sort()) out.set(f, readFileSync(join(templatesDir, f), 'utf8'));
  return out;
}

export function valuesYaml(): Record<string, unknown> {
  return parse(readChartFile('values.yaml')) as Record<string, unknown>;
}

export function valuesSchema(): Record<string, unknown> {
  return JSON.parse(readChartFile('values.schema.json')) as Record<string, unknown>;
}

/** Every `.Values.a.b.c` a text references, as 'a.b.c' (with `$.Values` too). */
export function valueReferences(text: string): string[] {
  const refs = new Set<string>();
  for (const m of text.matchAll(/\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) refs.add(m[1]!.slice(1));
  return [...refs].sort();
}

/** The value at a dotted path of a parsed YAML object; `found` says whether every key exists. */
export function lookupPath(root: unknown, path: string): { found: boolean; value: unknown } {
  let node: unknown = root;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object' || Array.isArray(node) || !Object.hasOwn(node, key)) return { found: false, value: undefined };
    node = (node as Record<string, unknown>)[key];
  }
  return { found: true, value: node };
}

/** The schema node that describes a dotted values path, following `properties` (and allOf/$ref). */
export function schemaAt(schema: Record<string, unknown>, path: string): Record<string, unknown> | null {
  const definitions = (schema.definitions ?? {}) as Record<string, Record<string, unknown>>;
  const resolve = (node: Record<string, unknown>): Record<string, unknown> => {
    let n = node;
    for (;;) {
      if (typeof n.$ref === 'string') n = definitions[n.$ref.replace('#/definitions/', '')] ?? {};
      else if (Array.isArray(n.allOf) && n.allOf.length === 1) n = { ...n, ...(n.allOf[0] as Record<string, unknown>), allOf: undefined };
      else return n;
    }
  };
  let node = resolve(schema);
  for (const key of path.split('.')) {
    const props = node.properties as Record<string, Record<string, unknown>> | undefined;
    if (!props || !props[key]) return null;
    node = resolve(props[key]);
  }
  return node;
}

/** Every dotted path of a parsed values object down to its leaves (a non-empty map is not a leaf). */
export function leafPaths(node: unknown, prefix = ''): string[] {
  if (node === null || typeof node !== 'object' || Array.isArray(node) || Object.keys(node).length === 0) return prefix ? [prefix] : [];
  return Object.entries(node as Record<string, unknown>).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
}

/**
 * The template with its actions blanked: comments removed, lines that hold only actions removed,
 * and every other action replaced by the plain scalar `⟦action⟧` (its text with quotes made
 * single). What remains must be YAML: that is what "plain templates" means here.
 */
export function skeleton(template: string): string {
  return template
    .replace(/\{\{-?\s*\/\*[\s\S]*?\*\/\s*-?\}\}/g, '')
    .split('\n')
    .filter((line) => !(line.includes('{{') && line.replace(/\{\{.*?\}\}/g, '').trim() === ''))
    .map((line) => line.replace(/\{\{-?\s*(.*?)\s*-?\}\}/g, (_, action: string) => `⟦${action.replaceAll('"', "'")}⟧`))
    .join('\n');
}

export interface TemplateDocument {
  file: string;
  /** The object parsed from the skeleton. */
  doc: Record<string, unknown>;
}

/** Every YAML document of every template, parsed from its skeleton. Throws on YAML errors. */
export function templateDocuments(): TemplateDocument[] {
  const out: TemplateDocument[] = [];
  for (const [file, text] of templates()) {
    for (const d of parseAllDocuments(skeleton(text))) {
      if (d.errors.length > 0) throw new Error(`${file}: not YAML once its actions are blanked: ${d.errors[0]!.message}`);
      const doc = d.toJS() as Record<string, unknown> | null;
      if (doc) out.push({ file, doc });
    }
  }
  return out;
}

/** The documents of one kind (and apiVersion, when given). */
export function documentsOfKind(kind: string, apiVersion?: string): TemplateDocument[] {
  return templateDocuments().filter((d) => d.doc.kind === kind && (apiVersion === undefined || d.doc.apiVersion === apiVersion));
}

/** Walks a parsed object: `get(doc, 'spec.template.spec')`. Arrays take numeric keys. */
export function get(node: unknown, path: string): unknown {
  let n: unknown = node;
  for (const key of path.split('.')) {
    if (n === null || n === undefined || typeof n !== 'object') return undefined;
    n = (n as Record<string, unknown>)[key];
  }
  return n;
}
