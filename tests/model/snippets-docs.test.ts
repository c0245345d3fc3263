// docs/snippets.md shows the allowlist and the variables as the code has them: the tables between
// its markers are generated from SNIPPET_DIRECTIVES and SNIPPET_VARIABLES, and must not drift.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { snippetAllowlist, SNIPPET_VARIABLES } from '../../src/model/index.ts';

const doc = readFileSync(new URL('../../docs/snippets.md', import.meta.url), 'utf8');

/** The lines between `<!-- NAME:start … -->` and `<!-- NAME:end -->`. */
function section(name: string): string {
  const m = new RegExp(`<!-- ${name}:start[^>]*-->\\n([\\s\\S]*?)\\n<!-- ${name}:end -->`).exec(doc);
  assert.ok(m, `docs/snippets.md has a ${name} section`);
  return m[1]!;
}

const cell = (s: string) => s.replace(/\|/g, '\\|');

test('docs/snippets.md lists exactly the allowlist of the code', () => {
  const rows = snippetAllowlist().map((r) => `| \`${cell(r.directive)}\` | ${r.snippets.join(', ')} | \`${cell(r.syntax)}\` | ${r.headersMore ? 'headers-more' : ''} |`);
  const table = ['| directive | allowed in | arguments | needs |', '| --- | --- | --- | --- |', ...rows].join('\n');
  assert.equal(section('allowlist'), table, `paste this between the allowlist markers:\n${table}`);
});

test('docs/snippets.md lists exactly the variables of the code', () => {
  const list = [...SNIPPET_VARIABLES].map((v) => `\`$${v}\``).join(', ');
  assert.equal(section('variables'), list, `paste this between the variables markers:\n${list}`);
});
