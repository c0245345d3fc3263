// The ConfigMap's controller-wide error pages: `custom-http-errors`, the codes every Ingress sends
// to its default backend (its own default-backend annotation, else --default-backend-service).
import type { SettingKey } from './settings-table.ts';
import { splitList } from './grammar.ts';

/** HTTP status codes 400–599 separated by commas, sorted without duplicates; or why not. */
export function parseErrorCodes(v: string): number[] | string {
  const items = splitList(v);
  if (items.length === 0) return 'must list HTTP status codes between 400 and 599, separated by commas (e.g. "404,503")';
  if (items.length > 64) return 'must have at most 64 items';
  const codes = new Set<number>();
  for (const item of items) {
    if (!/^[45][0-9]{2}$/.test(item)) return `item ${JSON.stringify(item.slice(0, 40))} must be an HTTP status code between 400 and 599`;
    codes.add(Number(item));
  }
  return [...codes].sort((a, b) => a - b);
}

/** The error-page keys of the ConfigMap. */
export const ERROR_PAGE_KEYS: Readonly<Record<string, SettingKey>> = Object.freeze({
  'custom-http-errors': {
    rule: (v, out) => {
      const codes = parseErrorCodes(v);
      if (typeof codes === 'string') return codes;
      out.customHttpErrors = codes;
      return null;
    },
    does:
      'answers from the backends with these codes are replaced by the default backend\'s page (X-Code, X-Original-URI, X-Namespace, … headers), for every Ingress without its own custom-http-errors; needs --default-backend-service or a default-backend annotation',
  },
});
