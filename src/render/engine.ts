// The liquid engine every NGINX template is rendered with. Templates are parsed once, at start.
import { Liquid, type Template } from 'liquidjs';
import { fileURLToPath } from 'node:url';
import { filters, NginxText, UnsafeValueError } from './filters.ts';
import { routeFilters } from './route-filters.ts';
import { settingsFilters } from './settings-filters.ts';

/** Where the templates live (the repository's templates/ folder). */
export const templatesDir = fileURLToPath(new URL('../../templates/', import.meta.url));

// Refuses any output that did not come out of one of our NGINX filters. `| raw` would skip this
// guard, so the template tests forbid `raw` in templates/.
function requireFiltered(value: unknown): string {
  if (value instanceof NginxText) return value.text;
  if (value === '' || value === undefined || value === null) return '';
  throw new UnsafeValueError('output', value, 'written without an nginx_* filter');
}

/** A liquid engine with wharf's filters, strict about unknown variables and filters. */
export function createEngine(): Liquid {
  const engine = new Liquid({
    root: templatesDir,
    extname: '.liquid',
    strictFilters: true,
    strictVariables: true,
    ownPropertyOnly: true,
    cache: true,
    outputEscape: requireFiltered,
    greedy: false,
    // Partials are named statically (`{% include zones %}`), so they are parsed with their parent.
    dynamicPartials: false,
    // Given, so that liquid does not ask Intl for the machine's locale: that loads ICU's locale and
    // calendar data, about 5 MB of memory in every process that renders (the agent included), for
    // date filters no template uses.
    locale: 'en-US',
  });
  for (const [name, fn] of Object.entries({ ...filters, ...routeFilters, ...settingsFilters })) engine.registerFilter(name, fn);
  return engine;
}

const shared = createEngine();

/** Parses a template of templates/ (full file name, e.g. "host.liquid") once; render it with `renderTemplate`. */
export function loadTemplate(name: string): Template[] {
  return shared.parseFileSync(name);
}

/** Renders a parsed template synchronously (rendering is pure and CPU-bound). */
export function renderTemplate(template: Template[], scope: object): string {
  try {
    return shared.renderSync(template, scope) as string;
  } catch (e) {
    // liquid wraps filter errors; a refused value is the caller's business, not a template bug.
    const original = (e as { originalError?: unknown }).originalError;
    if (original instanceof UnsafeValueError) throw original;
    throw e;
  }
}
