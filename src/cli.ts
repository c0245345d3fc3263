#!/usr/bin/env node
// The `wharf` command: one binary, one subcommand per process of the system.
import { createLogger } from './log.ts';

type Command = { summary: string; run: (argv: string[]) => Promise<void> };

const commands: Record<string, Command> = {
  agent: {
    summary: 'the agent beside NGINX (fragments, reloads, endpoints)',
    run: async (argv) => (await import('./agent/main.ts')).main(argv),
  },
  handler: {
    summary: 'the handler tier (admission webhook, CloudEvents receiver, fan-out to agents)',
    run: async (argv) => (await import('./handlers/serve.ts')).main(argv),
  },
  source: {
    summary: 'the Kubernetes event source (for clusters without Knative Eventing)',
    run: async (argv) => (await import('./cluster/source-cli.ts')).runSourceCommand(argv),
  },
};

const planned: Record<string, string> = {
  local: 'local mode (a folder of manifests, a real NGINX, no cluster)',
};

function usage(): string {
  const lines = ['usage: wharf <command> [options]', '', 'commands:'];
  for (const [name, c] of Object.entries(commands)) lines.push(`  ${name.padEnd(8)} ${c.summary}`);
  for (const [name, what] of Object.entries(planned)) lines.push(`  ${name.padEnd(8)} ${what} (not built yet)`);
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
    const reason = planned[name] ? `${planned[name]} is not built yet` : `unknown command "${name}"`;
    console.error(`wharf: ${reason}\n\n${usage()}`);
    process.exitCode = 2;
    return;
  }
  await command.run(rest);
}

main().catch((e: unknown) => {
  createLogger({ component: 'wharf' }).error('fatal', { error: e });
  process.exitCode = 1;
});
