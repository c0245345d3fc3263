// The ConfigMap's HSTS keys besides `hsts` itself: the Strict-Transport-Security header every HTTPS
// server sends (ingress-nginx's names and defaults). Part of every TLS host's fragment.
import { parseBool, parseInteger } from './grammar.ts';
import type { SettingKey } from './settings-table.ts';
import type { GlobalSettings } from './types.ts';

/** What the Strict-Transport-Security header says. */
export interface HstsHeader {
  maxAge: number;
  includeSubdomains: boolean;
  preload: boolean;
}

/** ingress-nginx's header: max-age=31536000; includeSubDomains. */
export const defaultHstsHeader: Readonly<HstsHeader> = Object.freeze({ maxAge: 31536000, includeSubdomains: true, preload: false });

const header = (out: GlobalSettings): HstsHeader => (out.hstsHeader ??= { ...defaultHstsHeader });
const flag = (key: 'includeSubdomains' | 'preload'): SettingKey['rule'] => (v, out) => {
  const b = parseBool(v);
  if (b === null) return 'must be "true" or "false"';
  header(out)[key] = b;
  return null;
};

/** The HSTS keys of the ConfigMap (`hsts` itself is in global-settings.ts). */
export const HSTS_KEYS: Readonly<Record<string, SettingKey>> = Object.freeze({
  'hsts-max-age': {
    rule: (v, out) => {
      const n = parseInteger(v, 0, 315_360_000);
      if (n === null) return 'must be a whole number of seconds between 0 and 315360000 (ten years)';
      header(out).maxAge = n;
      return null;
    },
    does: 'max-age of the Strict-Transport-Security header of HTTPS answers, in seconds (default 31536000)',
  },
  'hsts-include-subdomains': { rule: flag('includeSubdomains'), does: 'adds includeSubDomains to the Strict-Transport-Security header (default "true")' },
  'hsts-preload': { rule: flag('preload'), does: 'adds preload to the Strict-Transport-Security header (default "false")' },
});
