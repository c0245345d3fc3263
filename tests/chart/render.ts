// `helm template` for the chart tests, without helm (none can be installed on these machines):
// values.yaml deep-merged with the test's values and checked against values.schema.json as Helm
// does, Helm's objects (.Values, .Release, .Chart, .Capabilities, .Template, .Files), the Sprig
// functions the chart calls, and every template executed by go-template.ts. The output is parsed
// into objects, one per YAML document, so a test asserts what a user's `kubectl apply` would get.
// Functions that need a cluster or randomness behave as they do under `helm template`: `lookup`
// finds nothing, genCA/genSignedCert/randAlphaNum return fixed placeholders.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { Ajv } from 'ajv';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { chartDir, templatesDir, valuesSchema, valuesYaml } from './chart-files.ts';
import { TemplateSet, printValue, truthy, type Func } from './go-template.ts';

export type Values = Record<string, unknown>;

export interface RenderedObject {
  /** The template file it came from. */
  file: string;
  doc: Record<string, any>;
}

export interface RenderOptions {
  releaseName?: string;
  namespace?: string;
  /** API versions the cluster serves (.Capabilities.APIVersions.Has). */
  apiVersions?: string[];
  /** Extra files of the chart, by path relative to the chart (e.g. a dashboard for .Files.Glob). */
  files?: Record<string, string>;
  /** The chart's files outside templates/ in place of the real ones (a chart without dashboards). */
  chartFiles?: Record<string, string>;
}

/** Helm's merge of user values into the chart's: maps merge key by key, null deletes a key. */
export function mergeValues(base: unknown, over: unknown): unknown {
  if (!isMap(base) || !isMap(over)) return structuredClone(over);
  const out: Record<string, unknown> = structuredClone(base);
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else out[k] = k in out ? mergeValues(out[k], v) : structuredClone(v);
  }
  return out;
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** sigs.k8s.io/yaml's output as Helm's toYaml gives it: sorted keys, no trailing newline. */
export function toYaml(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  return stringify(v, { sortMapEntries: true, indentSeq: false, lineWidth: 0 }).replace(/\n$/, '');
}

const ajv = new Ajv({ allErrors: true, strict: true });
const validate = ajv.compile(valuesSchema());

/** The functions of Go's text/template and Sprig that the chart calls. */
function functions(): Record<string, Func> {
  const toInt = (v: unknown): number => {
    const n = typeof v === 'string' ? Number.parseInt(v, 10) : Number(v ?? 0);
    return Number.isNaN(n) ? 0 : Math.trunc(n);
  };
  const indent = (n: unknown, s: unknown) => String(s).split('\n').map((l) => ' '.repeat(toInt(n)) + l).join('\n');
  const sprintf = (format: unknown, ...args: unknown[]): string => {
    let i = 0;
    return String(format).replace(/%([svdqx%])/g, (_, verb: string) => {
      if (verb === '%') return '%';
      const a = args[i++];
      if (verb === 'q') return JSON.stringify(printValue(a));
      if (verb === 'd') return String(toInt(a));
      if (verb === 'x') return Buffer.from(printValue(a)).toString('hex');
      return printValue(a);
    });
  };
  const fakePem = (what: string, cn: unknown) => `-----BEGIN ${what}-----\n${Buffer.from(`${what} of ${printValue(cn)}`).toString('base64')}\n-----END ${what}-----\n`;
  return {
    // text/template builtins
    not: (v) => !truthy(v),
    eq: (a, ...bs) => bs.some((b) => a === b),
    ne: (a, b) => a !== b,
    lt: (a, b) => (a as number) < (b as number),
    le: (a, b) => (a as number) <= (b as number),
    gt: (a, b) => (a as number) > (b as number),
    ge: (a, b) => (a as number) >= (b as number),
    len: (v) => (Array.isArray(v) || typeof v === 'string' ? v.length : isMap(v) ? Object.keys(v).length : 0),
    index: (v, ...keys) => keys.reduce<unknown>((acc, k) => (acc === null || acc === undefined ? undefined : (acc as Record<string, unknown>)[String(k)]), v),
    print: (...args) => args.map((a, i) => (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string' ? ' ' : '') + printValue(a)).join(''),
    printf: sprintf,
    // Sprig
    default: (d, v) => (truthy(v) ? v : d),
    empty: (v) => !truthy(v),
    required: (msg, v) => {
      if (v === null || v === undefined || v === '') throw new Error(String(msg));
      return v;
    },
    fail: (msg) => { throw new Error(String(msg)); },
    quote: (...args) => args.filter((a) => a !== null && a !== undefined).map((a) => JSON.stringify(printValue(a))).join(' '),
    squote: (...args) => args.filter((a) => a !== null && a !== undefined).map((a) => `'${printValue(a)}'`).join(' '),
    toYaml,
    toJson: (v) => JSON.stringify(v ?? null),
    fromYaml: (s) => parse(String(s)) ?? {},
    indent,
    nindent: (n, s) => `\n${indent(n, s)}`,
    trunc: (n, s) => String(s).slice(0, toInt(n)),
    trim: (s) => String(s).trim(),
    trimSuffix: (suffix, s) => (String(s).endsWith(String(suffix)) ? String(s).slice(0, -String(suffix).length) : String(s)),
    trimPrefix: (prefix, s) => (String(s).startsWith(String(prefix)) ? String(s).slice(String(prefix).length) : String(s)),
    replace: (old, neu, s) => String(s).replaceAll(String(old), String(neu)),
    contains: (sub, s) => String(s).includes(String(sub)),
    hasPrefix: (p, s) => String(s).startsWith(String(p)),
    lower: (s) => String(s).toLowerCase(),
    join: (sep, list) => (list as unknown[]).map(printValue).join(String(sep)),
    b64enc: (s) => Buffer.from(printValue(s)).toString('base64'),
    b64dec: (s) => Buffer.from(printValue(s), 'base64').toString('utf8'),
    sha256sum: (s) => createHash('sha256').update(printValue(s)).digest('hex'),
    int: toInt,
    add: (...args) => args.reduce<number>((n, a) => n + toInt(a), 0),
    sub: (a, b) => toInt(a) - toInt(b),
    toString: (v: unknown) => printValue(v),
    dict: (...kv) => {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < kv.length; i += 2) out[printValue(kv[i])] = kv[i + 1];
      return out;
    },
    list: (...items) => items,
    has: (needle, list) => Array.isArray(list) && list.includes(needle),
    hasKey: (m, k) => isMap(m) && Object.hasOwn(m, String(k)),
    get: (m, k) => (isMap(m) && Object.hasOwn(m, String(k)) ? m[String(k)] : ''),
    keys: (m) => Object.keys(m as object),
    kindIs: (kind, v) => kindOf(v) === kind,
    ternary: (a, b, cond) => (truthy(cond) ? a : b),
    omit: (m, ...keys) => Object.fromEntries(Object.entries(m as object).filter(([k]) => !keys.includes(k))),
    mul: (...ns) => ns.reduce<number>((acc, n) => acc * toInt(n), 1),
    // Cluster and randomness, as under `helm template`.
    lookup: () => ({}),
    randAlphaNum: (n) => 'x'.repeat(toInt(n)),
    genCA: (cn) => ({ Cert: fakePem('CERTIFICATE', cn), Key: fakePem('RSA PRIVATE KEY', cn) }),
    genSignedCert: (cn) => ({ Cert: fakePem('CERTIFICATE', cn), Key: fakePem('RSA PRIVATE KEY', cn) }),
  };
}

/** Sprig's kindOf for the values YAML can hold. */
function kindOf(v: unknown): string {
  if (v === null || v === undefined) return 'invalid';
  if (Array.isArray(v)) return 'slice';
  if (typeof v === 'object') return 'map';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  return 'string';
}

/** The chart's own files outside templates/, for .Files (Helm leaves templates/ out). */
function chartFiles(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      const rel = relative(chartDir, p);
      if (rel === 'templates' || rel === 'charts') continue;
      if (statSync(p).isDirectory()) walk(p);
      else out[rel] = readFileSync(p, 'utf8');
    }
  };
  walk(chartDir);
  return out;
}

/** Helm's .Files.Glob result: ranged as path → content, .AsConfig as a ConfigMap's data. */
function filesObject(files: Record<string, string>) {
  const globRe = (pattern: string) => new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`);
  return {
    Get: (path: unknown) => files[String(path)] ?? '',
    Glob: (pattern: unknown) => {
      const re = globRe(String(pattern));
      const matched: Record<string, string> = {};
      for (const p of Object.keys(files).sort()) if (re.test(p)) matched[p] = files[p]!;
      Object.defineProperty(matched, 'AsConfig', {
        enumerable: false,
        value: () => (Object.keys(matched).length === 0 ? '' : toYaml(Object.fromEntries(Object.entries(matched).map(([p, c]) => [basename(p), c])))),
      });
      return matched;
    },
  };
}

/** Errors of `helm template`: a schema failure or a template's error (e.g. a `fail`). */
export class RenderError extends Error {}

/**
 * Renders the chart with `values` over values.yaml, as `helm template RELEASE charts/wharf -n NS`
 * would, and returns every object (NOTES.txt aside).
 */
export function render(values: Values = {}, options: RenderOptions = {}): RenderedObject[] {
  const merged = mergeValues(valuesYaml(), values) as Values;
  if (!validate(merged)) {
    throw new RenderError(`values don't meet the specifications of the schema: ${(validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`).join('; ')}`);
  }
  const chart = parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as Record<string, unknown>;
  const apiVersions = new Set(options.apiVersions ?? ['v1', 'apps/v1', 'policy/v1', 'autoscaling/v2', 'networking.k8s.io/v1', 'admissionregistration.k8s.io/v1']);
  const set = new TemplateSet(functions());
  const files = readdirSync(templatesDir).sort();
  const name = (f: string) => `${String(chart.name)}/templates/${f}`;
  for (const f of files) set.add(name(f), readFileSync(join(templatesDir, f), 'utf8'));
  const top = {
    Values: merged,
    Release: { Name: options.releaseName ?? 'wharf', Namespace: options.namespace ?? 'wharf', Service: 'Helm', IsInstall: true, IsUpgrade: false, Revision: 1 },
    Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
    Capabilities: { APIVersions: { Has: (v: unknown) => apiVersions.has(String(v)) }, KubeVersion: { Version: 'v1.33.0', Major: '1', Minor: '33' } },
    Files: filesObject({ ...(options.chartFiles ?? chartFiles()), ...options.files }),
  };
  const out: RenderedObject[] = [];
  for (const f of files) {
    if (!f.endsWith('.yaml')) continue;
    let text: string;
    try {
      text = set.execute(name(f), { ...top, Template: { Name: name(f), BasePath: `${String(chart.name)}/templates` } });
    } catch (e) {
      throw new RenderError(`${f}: ${(e as Error).message}`, { cause: e });
    }
    for (const d of parseAllDocuments(text)) {
      if (d.errors.length > 0) throw new RenderError(`${f}: the rendered text is not YAML: ${d.errors[0]!.message}\n${text}`);
      const doc = d.toJS() as Record<string, any> | null;
      if (doc) out.push({ file: f, doc });
    }
  }
  return out;
}

/** The rendered objects of a kind, optionally one by name. */
export function ofKind(objects: RenderedObject[], kind: string): Record<string, any>[] {
  return objects.filter((o) => o.doc.kind === kind).map((o) => o.doc);
}

/** The one rendered object of this kind and name; throws when there is not exactly one. */
export function one(objects: RenderedObject[], kind: string, name: string): Record<string, any> {
  const found = objects.filter((o) => o.doc.kind === kind && o.doc.metadata?.name === name);
  if (found.length !== 1) throw new Error(`${found.length} ${kind} named ${name}; rendered: ${objects.map((o) => `${o.doc.kind}/${o.doc.metadata?.name}`).join(', ')}`);
  return found[0]!.doc;
}
