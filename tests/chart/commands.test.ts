// The chart's command lines against the real `wharf` command: every workload's arguments (each flag
// the chart can pass, optional ones included) are handed to `node src/cli.ts` followed by --help.
// The subcommands parse strictly and print their usage only when every flag is known and of the
// right kind, so a renamed or missing flag fails here instead of in a crash-looping pod.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { get, repoRoot, templateDocuments } from './chart-files.ts';

const run = promisify(execFile);

/** The args of the one container of each workload template, template actions inside them replaced by a word. */
function commandLines(): { file: string; args: string[] }[] {
  return templateDocuments()
    .filter((d) => d.doc.apiVersion === 'apps/v1')
    .map((d) => {
      const containers = get(d.doc, 'spec.template.spec.containers') as { args: string[] }[];
      assert.equal(containers.length, 1, `${d.file}: one container`);
      // An argument that is a template action alone is the user's extraArgs: not the chart's.
      const own = containers[0]!.args.filter((a) => !/^⟦[^⟧]*⟧$/.test(a));
      return { file: d.file, args: own.map((a) => a.replace(/⟦[^⟧]*⟧/g, 'x')) };
    });
}

const lines = commandLines();

test('the chart runs the handler, the agent and the event source', () => {
  assert.deepEqual(lines.map((l) => l.args[0]).sort(), ['agent', 'handler', 'source']);
});

for (const { file, args } of lines) {
  test(`${file}: \`wharf ${args[0]}\` accepts every flag the chart passes`, async () => {
    const flags = args.slice(1).filter((a) => a.startsWith('--'));
    assert.ok(flags.length > 0);
    let result: { stdout: string; stderr: string };
    try {
      result = await run(process.execPath, [join(repoRoot, 'src', 'cli.ts'), ...args, '--help'], { cwd: repoRoot, timeout: 30_000 });
    } catch (e) {
      const err = e as { code?: number; stdout?: string; stderr?: string };
      assert.fail(`wharf ${args.join(' ')} --help exited ${err.code}:\n${(err.stderr || err.stdout || '').slice(0, 600)}`);
    }
    assert.match(result.stdout, new RegExp(`usage: wharf ${args[0]}\\b`));
    for (const flag of flags) {
      const name = flag.split('=')[0]!;
      assert.ok(result.stdout.includes(name), `${name} is not in \`wharf ${args[0]} --help\``);
    }
  });
}
