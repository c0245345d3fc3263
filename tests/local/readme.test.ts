// The README's quick start, checked as a person would follow it: `wharf local` with its defaults
// (what `npm start` runs after setting up), then every `$ curl` line of the README's console block,
// whose output must be what the README prints under it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startWharfLocal } from '../support/wharf-local.ts';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url).pathname;

/** The commands of the quick start's console block and the output the README promises for each. */
function readmeExamples(): { command: string; expected: string }[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const quickStart = readme.slice(readme.indexOf('## Quick start'));
  const block = /```console\n([\s\S]*?)```/.exec(quickStart)?.[1];
  assert.ok(block, 'the README quick start has a console block');
  const examples: { command: string; expected: string }[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('$ ')) examples.push({ command: line.slice(2), expected: '' });
    else if (line !== '' && examples.length) examples.at(-1)!.expected += `${line}\n`;
  }
  return examples;
}

// The example balances two endpoints per Service, so either may answer.
const anyEndpoint = (text: string) => text.replace(/\b(tea|coffee)-[12]\b/g, '$1-N');

test("the README's curl lines print what the README says, right after npm start", async (t) => {
  const examples = readmeExamples();
  assert.ok(examples.length >= 5, 'the quick start shows at least five commands');
  const workDir = mkdtempSync(join(tmpdir(), 'wharf-readme-'));
  const local = await startWharfLocal([], workDir, /^Try:$/m);
  t.after(async () => {
    await local.stop();
    rmSync(workDir, { recursive: true, force: true });
  });
  for (const { command, expected } of examples) {
    const { stdout } = await run('bash', ['-c', command], { cwd: root });
    assert.equal(anyEndpoint(stdout), anyEndpoint(expected), `$ ${command}`);
  }
});
