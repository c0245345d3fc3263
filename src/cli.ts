#!/usr/bin/env node
// The `wharf` command: one binary, one subcommand per process of the system.
import { createLogger } from './log.ts';

type Command = { summary: string; run: (argv: string[]) => Promise<void> };

const commands: Record<string, Command> = {
  agent: {
    summary: 'the agent beside NGINX (fragments, reloads, endpoints)',
    run: async (argv) => (await import('./agent/main.ts')).main(argv),
  },
  check: {
    summary: 'checks manifests offline with the admission webhook\'s code (and --from ingress-nginx)',
    run: async (argv) => (await import('./check/main.ts')).checkMain(argv),
  },
  handler: {
    summary: 'the handler tier (admission webhook, CloudEvents receiver, fan-out to agents)',
    run: async (argv) => (await import('./handlers/serve.ts')).main(argv),
  },
  local: {
    summary: 'local mode: a folder of manifests, a real NGINX, no cluster (what npm start runs)',
    run: async (argv) => (await import('../wrangler-free-local/main.ts')).main(argv),
  },
  render: {
    summary: 'prints the NGINX configuration a set of manifests produces',
    run: async (argv) => (await import('./check/main.ts')).renderMain(argv),
  },
  source: {
    summary: 'the Kubernetes event source (for clusters without Knative Eventing)',
    run: async (argv) => (await import('./cluster/source-cli.ts')).runSourceCommand(argv),
  },
};

function usage(): string {
  const lines = ['usage: wharf <command> [options]', '', 'commands:'];
  for (const [name, c] of Object.entries(commands)) lines.push(`  ${name.padEnd(8)} ${c.summary}`);
  lines.push('', 'Run `wharf <command> --help` for its options.');
  return lines.join('\n');
}

async function main(): Promise<void> {
  const [name, ...rest] = process.argv.slice(2);
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return;
  }
  const command = commands[name];
  if (!command) {
    console.error(`wharf: unknown command "${name}"\n\n${usage()}`);
    process.exitCode = 2;
    return;
  }
  await command.run(rest);
}

main().catch((e: unknown) => {
  createLogger({ component: 'wharf' }).error('fatal', { error: e });
  process.exitCode = 1;
});
