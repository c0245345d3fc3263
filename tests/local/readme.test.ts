// The README's console blocks, checked as a person would follow them: `wharf local` with its
// defaults (what `npm start` runs after setting up), then every `$ curl` line of the quick start's
// block, whose output must be what the README prints under it; then the same for the Gateway API
// section's block against `wharf local --manifests examples/gateway`, and the TCP services' (with
// docs/streams.md's TCPRoute block) against `examples/streams`. One file: all use the default
// ports, so they run one after the other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startWharfLocal } from '../support/wharf-local.ts';
import { anyEndpoint, readmeExamples, root } from './readme-console.ts';

const run = promisify(execFile);

/** Starts `wharf local ARGS`, waits for `ready`, and runs each example's command against it. */
async function runExamples(t: import('node:test').TestContext, examples: { command: string; expected: string }[], args: string[], ready: RegExp): Promise<void> {
  const workDir = mkdtempSync(join(tmpdir(), 'wharf-readme-'));
  const local = await startWharfLocal(args, workDir, ready);
  t.after(async () => {
    await local.stop();
    rmSync(workDir, { recursive: true, force: true });
  });
  for (const { command, expected } of examples) {
    const { stdout } = await run('bash', ['-c', command], { cwd: root });
    assert.equal(anyEndpoint(stdout), anyEndpoint(expected), `$ ${command}`);
  }
}

test("the README's curl lines print what the README says, right after npm start", async (t) => {
  const examples = readmeExamples('## Quick start');
  assert.ok(examples.length >= 5, 'the quick start shows at least five commands');
  await runExamples(t, examples, [], /^Try:$/m);
});

test("the README's Gateway API curl lines print what the README says, with wharf local --manifests examples/gateway", async (t) => {
  const examples = readmeExamples('## Gateway API');
  assert.ok(examples.length >= 5, 'the Gateway API section shows at least five commands');
  await runExamples(t, examples, ['--manifests', 'examples/gateway'], /Ctrl-C stops everything\.$/m);
});

test("the README's TCP services curl lines, and docs/streams.md's TCPRoute one, print what they say, with wharf local --manifests examples/streams", async (t) => {
  const examples = readmeExamples('## TCP and UDP services');
  assert.ok(examples.length >= 2, 'the TCP and UDP section shows at least two commands');
  const routes = readmeExamples('## TCPRoute and UDPRoute', 'docs/streams.md');
  assert.ok(routes.length >= 1, 'docs/streams.md shows a TCPRoute command');
  await runExamples(t, [...examples, ...routes], ['--manifests', 'examples/streams'], /Ctrl-C stops everything\.$/m);
});
