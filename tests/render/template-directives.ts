// The set of directive names the templates can write, read from templates/*.liquid themselves: the
// liquid tags removed, the first word of every remaining line. The fuzz test compares rendered
// fragments against it, so a directive that comes from anywhere but a template is caught.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { templatesDir } from '../../src/render/engine.ts';

/** Templates that render fragments (the agent's nginx.conf is not one of them). */
export const FRAGMENT_TEMPLATES = readdirSync(templatesDir).filter((f) => f.endsWith('.liquid') && f !== 'nginx.conf.liquid').sort();

export function templateDirectives(): Set<string> {
  const names = new Set<string>();
  for (const file of FRAGMENT_TEMPLATES) {
    const text = readFileSync(join(templatesDir, file), 'utf8')
      .replace(/\{%-?\s*comment\s*-?%\}[\s\S]*?\{%-?\s*endcomment\s*-?%\}/g, '')
      .replace(/\{%[\s\S]*?%\}/g, '')
      .replace(/\{\{[\s\S]*?\}\}/g, 'X');
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#') || line.startsWith('}')) continue;
      const word = /^[^\s;{]+/.exec(line)?.[0];
      if (word) names.add(word);
    }
  }
  return names;
}
