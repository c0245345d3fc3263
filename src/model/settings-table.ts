// The shape of the ConfigMap key tables (global-settings.ts and settings-*.ts): each key's strict
// grammar, and one line on what wharf does with it (the migration guide is generated from them);
// and which settings a change of re-renders the hosts.
import type { GlobalSettings } from './types.ts';

/** Checks one ConfigMap value and sets what it means in `out`; returns why it is refused, or null. */
export type KeyRule = (value: string, out: GlobalSettings) => string | null;

/** One key wharf reads: its grammar, and what wharf does with it (for the migration guide). */
export interface SettingKey {
  rule: KeyRule;
  does: string;
}

/** The rules of a table, for global-settings.ts's KEYS. */
export function rulesOf(table: Readonly<Record<string, SettingKey>>): Record<string, KeyRule> {
  return Object.fromEntries(Object.entries(table).map(([k, v]) => [k, v.rule]));
}

/** What wharf does with each key of the tables, by key. */
export function descriptionsOf(...tables: Readonly<Record<string, SettingKey>>[]): Record<string, string> {
  return Object.fromEntries(tables.flatMap((t) => Object.entries(t).map(([k, v]) => [k, v.does])));
}

/**
 * Settings only `_main` (the http level) and the agent's own files use: a change of these alone
 * re-renders no host. Every other setting (HSTS, error pages, the default backend, …) is part of
 * each host's fragment.
 */
const MAIN_ONLY: ReadonlySet<string> = new Set<keyof GlobalSettings>([
  'proxyBodySize',
  'proxyConnectTimeout',
  'proxyReadTimeout',
  'proxySendTimeout',
  'allowSnippetAnnotations',
  'http',
  'agent',
]);

/** The part of the settings that host fragments depend on, as comparable text. */
export function hostSettingsDigest(settings: GlobalSettings): string {
  return JSON.stringify(Object.entries(settings).filter(([k]) => !MAIN_ONLY.has(k)).sort(([a], [b]) => (a < b ? -1 : 1)));
}
