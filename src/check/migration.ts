// `wharf check --from ingress-nginx`: for each Ingress and the ConfigMap, what wharf does with each
// `nginx.ingress.kubernetes.io/*` annotation and each ConfigMap key, derived from the model's own
// tables (ANNOTATION_RULES, SETTING_KEYS) and the very problems admission finds, plus the tables of
// differences (differences.ts, through keys-guide.ts's rows, which docs/ingress-nginx-keys.md also
// shows); then how many objects are ready and how many need a change.
import { ANNOTATION_RULES } from '../model/annotation-rules.ts';
import { ANNOTATION_PREFIX, annotationField } from '../model/annotations.ts';
import { SETTING_KEYS } from '../model/global-settings.ts';
import type { CheckedObject, CheckReport, Finding } from './check.ts';
import { KEYS_READ_DIFFERENTLY } from './differences.ts';
import { annotationRow } from './keys-guide.ts';
import { objectName } from './output.ts';

export type KeyStatus = 'read' | 'read differently' | 'ignored' | 'refused';

/** What wharf does with one annotation or ConfigMap key. */
export interface KeyVerdict {
  key: string;
  field: string;
  line: number;
  status: KeyStatus;
  /** Why (refused, ignored), what differs, or the warnings wharf gives about it. */
  note: string;
}

export interface MigrationEntry {
  file: string;
  line: number;
  kind: string;
  namespace: string;
  name: string;
  verdict: 'ready' | 'needs a change';
  keys: KeyVerdict[];
  /** The object's other problems (conflicts, missing Services, schema errors). */
  problems: Finding[];
}

export interface MigrationReport {
  objects: MigrationEntry[];
  summary: { objects: number; ready: number; needChange: number; ignored: number; refused: number };
}

/** The model's reasons for "not read": the status says it. */
const IGNORED_REASONS = new Set(['UnsupportedAnnotation', 'UnknownSetting']);

/** The reason of a problem without its field (the line already names the key). */
function reasonOf(f: Finding): string {
  return f.message.startsWith(`${f.field}: `) ? f.message.slice(f.field.length + 2) : f.message;
}

function keyVerdict(key: string, field: string, own: Finding[], known: boolean, differs: string | undefined, line: number): KeyVerdict {
  const errors = own.filter((f) => f.severity === 'error');
  if (errors.length) return { key, field, line, status: 'refused', note: errors.map(reasonOf).join('; ') };
  if (!known) {
    const others = own.filter((f) => !IGNORED_REASONS.has(f.reason)).map(reasonOf);
    return { key, field, line, status: 'ignored', note: ['wharf does not read it', ...others].join('; ') };
  }
  const warnings = own.map(reasonOf);
  if (differs) return { key, field, line, status: 'read differently', note: [differs, ...warnings].join('; ') };
  return { key, field, line, status: 'read', note: warnings.join('; ') };
}

function entryOf(o: CheckedObject): MigrationEntry | null {
  const meta = o.object.metadata as { annotations?: Record<string, string> };
  const keys: KeyVerdict[] = [];
  if (o.input.kind === 'Ingress') {
    for (const key of Object.keys(meta.annotations ?? {}).sort()) {
      if (!key.startsWith(ANNOTATION_PREFIX)) continue;
      const name = key.slice(ANNOTATION_PREFIX.length);
      const field = annotationField(key);
      const own = o.findings.filter((f) => f.field === field);
      // Snippets are the model's own business (refused, or read when safe): they are not ignored.
      const known = !own.some((f) => f.reason === 'UnsupportedAnnotation') && (name in ANNOTATION_RULES || name.endsWith('-snippet'));
      const row = annotationRow(name);
      keys.push(keyVerdict(key, field, own, known, row.status === 'read differently' ? row.note : undefined, o.input.lineOf(field)));
    }
  } else if (o.input.kind === 'ConfigMap') {
    const data = (o.object.data ?? {}) as Record<string, unknown>;
    for (const key of Object.keys(data).sort()) {
      const field = `data[${key}]`;
      const own = o.findings.filter((f) => f.field === field);
      keys.push(keyVerdict(key, field, own, SETTING_KEYS.includes(key), KEYS_READ_DIFFERENTLY[key], o.input.lineOf(field)));
    }
  } else if (o.findings.length === 0) {
    return null; // Services, Secrets, …: listed only when something is wrong with them
  }
  keys.sort((a, b) => a.line - b.line || (a.key < b.key ? -1 : 1));
  const fields = new Set(keys.map((k) => k.field));
  return {
    file: o.input.file,
    line: o.input.line,
    kind: o.input.kind,
    namespace: o.namespace,
    name: o.name,
    verdict: o.findings.some((f) => f.severity === 'error') ? 'needs a change' : 'ready',
    keys,
    problems: o.findings.filter((f) => !fields.has(f.field)),
  };
}

/** The migration report of a check run with `adopt` (every Ingress taken as wharf's). */
export function migrationReport(report: CheckReport): MigrationReport {
  const objects = report.checked.map(entryOf).filter((e): e is MigrationEntry => e !== null);
  const count = (status: KeyStatus) => objects.reduce((n, e) => n + e.keys.filter((k) => k.status === status).length, 0);
  const ready = objects.filter((e) => e.verdict === 'ready').length;
  return { objects, summary: { objects: objects.length, ready, needChange: objects.length - ready, ignored: count('ignored'), refused: count('refused') } };
}

/** The report as text: one block per object, one line per key, the summary last. */
export function migrationText(m: MigrationReport): string {
  const lines: string[] = [];
  for (const e of m.objects) {
    lines.push(`${e.file}:${e.line}: ${objectName(e.kind, e.namespace, e.name)}: ${e.verdict}`);
    for (const k of e.keys) lines.push(`  ${e.file}:${k.line}: ${k.key}: ${k.status}${k.note ? `: ${k.note}` : ''}`);
    for (const p of e.problems) lines.push(`  ${p.file}:${p.line}: ${p.severity}: ${p.message}`);
  }
  const s = m.summary;
  lines.push(`summary: ${s.objects} object${s.objects === 1 ? '' : 's'}: ${s.ready} ready, ${s.needChange} need${s.needChange === 1 ? 's' : ''} a change; ${s.ignored} annotation${s.ignored === 1 ? '' : 's'} or key${s.ignored === 1 ? '' : 's'} ignored, ${s.refused} refused`);
  return `${lines.join('\n')}\n`;
}
