// docs/check.md, checked as a reader would follow it: every `$` line of its console blocks is run
// from the repo's root and must print what the guide prints under it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT } from './run-cli.ts';

/** The commands of every console block of a guide, with the output it shows for each. */
function consoleExamples(markdown: string): { command: string; expected: string }[] {
  const examples: { command: string; expected: string }[] = [];
  for (const [, block] of markdown.matchAll(/```console\n([\s\S]*?)```/g)) {
    let current: { command: string; expected: string } | null = null;
    for (const line of block!.split('\n')) {
      if (line.startsWith('$ ')) examples.push((current = { command: line.slice(2), expected: '' }));
      else if (line !== '' && current) current.expected += `${line}\n`;
      else if (line === '' && current && current.expected) current.expected += '\n';
    }
  }
  // A block's blank lines belong to the output; the blank line before ``` does not.
  for (const e of examples) e.expected = e.expected.replace(/\n+$/, '\n').replace(/^\n$/, '');
  return examples;
}

/** Runs a command line with bash in the repo's root, this Node first on PATH; never rejects. */
function sh(command: string): Promise<string> {
  const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
  return new Promise((resolve) => execFile('bash', ['-c', command], { cwd: ROOT, env }, (_e, stdout) => resolve(stdout)));
}

test("docs/check.md: every command line prints what the guide shows", async () => {
  const examples = consoleExamples(readFileSync(join(ROOT, 'docs/check.md'), 'utf8'));
  assert.ok(examples.length >= 6, `the guide shows at least six commands (found ${examples.length})`);
  for (const { command, expected } of examples) assert.equal(await sh(command), expected, `$ ${command}`);
});
