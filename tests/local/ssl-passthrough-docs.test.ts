// docs/ssl-passthrough.md's console block, run line by line as a person would, on free ports (the
// block's 8443 and 9443, and local mode's other ports, are moved so that it runs beside other
// tests): the `&` lines start in the background and are stopped at the end; every other line's
// output must be what the page prints under it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../support/backend.ts';
import { eventually } from '../support/http.ts';
import { startWharfLocal, type LocalProcess } from '../support/wharf-local.ts';
import { root } from './readme-console.ts';

const run = promisify(execFile);

/** The `$ ` lines of the page's console block, each with the output printed under it. */
function pageExamples(): { command: string; expected: string }[] {
  const block = /```console\n([\s\S]*?)```/.exec(readFileSync(join(root, 'docs/ssl-passthrough.md'), 'utf8'))?.[1];
  assert.ok(block, 'docs/ssl-passthrough.md has a console block');
  const out: { command: string; expected: string }[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('$ ')) out.push({ command: line.slice(2), expected: '' });
    else if (line !== '' && out.length) out.at(-1)!.expected += `${line}\n`;
  }
  return out;
}

test('docs/ssl-passthrough.md: its commands pass a TLS connection through by SNI, as the page says', async (t) => {
  const examples = pageExamples();
  assert.equal(examples.length, 4);
  const [https, backend] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'wharf-passthrough-docs-'));
  chmodSync(dir, 0o755);
  const moved = (command: string) => command.replaceAll('8443', String(https)).replaceAll('9443', String(backend)).replaceAll('/tmp/', `${dir}/`);
  const background: ChildProcess[] = [];
  let local: LocalProcess | null = null;
  t.after(async () => {
    await local?.stop();
    for (const child of background) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  for (const { command, expected } of examples) {
    if (command.startsWith('node src/cli.ts local ')) {
      assert.ok(command.endsWith(' &'));
      // The example's endpoint moves with the backend's port: a copy of the folder with that port.
      const manifests = join(dir, 'manifests');
      await run('bash', ['-c', `mkdir -p ${manifests} && sed 's/9443/${backend}/' examples/ssl-passthrough/secure.yaml > ${manifests}/secure.yaml`], { cwd: root });
      const args = moved(command.slice('node src/cli.ts local '.length, -2)).replace('examples/ssl-passthrough', manifests).split(' ');
      local = await startWharfLocal([...args, '--https-port', String(https), '--http-port', String(await freePort()), '--handler-port', '0', '--agent-port', '0', '--no-backends'], join(dir, 'work'), /agent http:\/\/127\.0\.0\.1:\d+/);
      continue;
    }
    if (command.endsWith(' &')) {
      const child = spawn('bash', ['-c', `exec ${moved(command.slice(0, -2))}`], { cwd: root, stdio: 'ignore' });
      background.push(child);
      continue;
    }
    const line = moved(command);
    const once = async () => (await run('bash', ['-c', line], { cwd: root })).stdout;
    if (expected === '') {
      await once();
      continue;
    }
    // The last line is what the page shows once everything is up: asked until it answers so.
    const got = await eventually(async () => ((await once()) === expected ? expected : null), 20_000, 100);
    const output = got ?? (await once());
    assert.equal(output, expected, `$ ${command}\n--- wharf local said:\n${local?.output() ?? ''}`);
  }
});
