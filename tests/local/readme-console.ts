// The README's console blocks as tests read them: the `$ ` command lines of the first ```console
// block after a heading, each with the output the README prints under it, and the one liberty the
// README takes with that output (which of a Service's two endpoints answers).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const root = new URL('../../', import.meta.url).pathname;

/** The commands of the first console block after `heading` and the output the README (or `file`) promises for each. */
export function readmeExamples(heading: string, file = 'README.md'): { command: string; expected: string }[] {
  const readme = readFileSync(join(root, file), 'utf8');
  const at = readme.indexOf(`\n${heading}\n`);
  assert.ok(at >= 0, `${file} has a section "${heading}"`);
  const block = /```console\n([\s\S]*?)```/.exec(readme.slice(at))?.[1];
  assert.ok(block, `${file}'s "${heading}" has a console block`);
  const examples: { command: string; expected: string }[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('$ ')) examples.push({ command: line.slice(2), expected: '' });
    else if (line !== '' && examples.length) examples.at(-1)!.expected += `${line}\n`;
  }
  return examples;
}

/** The examples balance two endpoints per Service, so either may answer. */
export const anyEndpoint = (text: string): string => text.replace(/\b(tea|coffee)-[12]\b/g, '$1-N');
