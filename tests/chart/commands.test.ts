// The chart's command lines against the real `wharf` command: each workload's arguments, rendered
// with the default values and with every optional flag turned on, are handed to `node src/cli.ts`
// followed by --help. The subcommands parse strictly and print their usage only when every flag is
// known and of the right kind (and refuse flags that exclude each other), so a renamed or missing
// flag fails here instead of in a crash-looping pod.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { repoRoot } from './chart-files.ts';
import { render, type Values } from './render.ts';

const run = promisify(execFile);

const sets: Record<string, Values> = {
  'default values': {},
  'every optional flag, status from a Service': {
    handler: { watchIngressWithoutClass: true, defaultSSLCertificate: 'default/wildcard', publishService: { pathOverride: 'edge/lb' }, extraArgs: { 'relist-interval': '10m', 'no-watch': true } },
    nginx: { extraArgs: ['--ipv6-listen=off'] },
    gatewayAPI: { enabled: false },
  },
  'status from fixed addresses': { handler: { publishService: { enabled: false }, publishAddress: ['203.0.113.7', 'lb.example.com'] } },
};

for (const [setName, values] of Object.entries(sets)) {
  const workloads = render(values).filter((o) => o.doc.apiVersion === 'apps/v1');
  test(`${setName}: the chart runs the handler, the agent and the event source`, () => {
    assert.deepEqual(workloads.map((w) => w.doc.spec.template.spec.containers[0].args[0]).sort(), ['agent', 'handler', 'source']);
  });
  for (const { file, doc } of workloads) {
    const args = doc.spec.template.spec.containers[0].args as string[];
    const sub = args[0]!;
    test(`${setName}: ${file}: \`wharf ${sub}\` accepts every flag the chart passes`, async () => {
      const checked = args;
      let result: { stdout: string };
      try {
        result = await run(process.execPath, [join(repoRoot, 'src', 'cli.ts'), ...checked, '--help'], { cwd: repoRoot, timeout: 30_000 });
      } catch (e) {
        const err = e as { code?: number; stdout?: string; stderr?: string };
        assert.fail(`wharf ${checked.join(' ')} --help exited ${err.code}:\n${(err.stderr || err.stdout || '').slice(0, 600)}`);
      }
      assert.match(result.stdout, new RegExp(`usage: wharf ${sub}\\b`));
      for (const flag of checked.slice(1).filter((a) => a.startsWith('--'))) {
        const name = flag.split('=')[0]!;
        assert.ok(result.stdout.includes(name), `${name} is not in \`wharf ${sub} --help\``);
      }
    });
  }
}

test('status: --publish-service by default, another Service, fixed addresses, or neither', () => {
  const handlerArgs = (values: Values) => (render(values).find((o) => o.doc.kind === 'Deployment' && o.doc.metadata.name === 'wharf-handler')!.doc.spec.template.spec.containers[0].args as string[]).filter((a) => a.startsWith('--publish'));
  assert.deepEqual(handlerArgs({}), ['--publish-service=wharf/wharf-nginx']);
  assert.deepEqual(handlerArgs({ handler: { publishService: { pathOverride: 'edge/lb' } } }), ['--publish-service=edge/lb']);
  assert.deepEqual(handlerArgs({ handler: { publishService: { enabled: false }, publishAddress: ['203.0.113.7', 'lb.example.com'] } }), ['--publish-address=203.0.113.7,lb.example.com']);
  // Fixed addresses win even with publishService left on: the handler refuses both flags together.
  assert.deepEqual(handlerArgs({ handler: { publishAddress: ['203.0.113.7'] } }), ['--publish-address=203.0.113.7']);
  assert.deepEqual(handlerArgs({ handler: { publishService: { enabled: false } } }), []);
  // `--publish-address` in extraArgs (as before these values existed) takes the place of --publish-service too.
  assert.deepEqual(handlerArgs({ handler: { extraArgs: ['--publish-address=198.51.100.1'] } }), ['--publish-address=198.51.100.1']);
  assert.deepEqual(handlerArgs({ handler: { extraArgs: { 'publish-address': '198.51.100.1' } } }), ['--publish-address=198.51.100.1']);
});
