// TLS passthrough in agent tests: an agent with --enable-ssl-passthrough (its prefix open to NGINX's
// workers, which connect to the SNI router's sockets in it when tests run as root), and a
// passthrough host's fragment as the handler renders it (src/render/index.ts, passthrough.ts).
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderPassthroughMapLine } from '../../src/render/passthrough.ts';
import type { AgentOptions } from '../../src/agent/agent.ts';
import { startTestAgent, type TestAgent } from './harness.ts';

/** An agent whose SNI router takes its HTTPS port. */
export async function startPassthroughAgent(opts: Partial<AgentOptions> = {}): Promise<TestAgent> {
  const prefix = mkdtempSync(join(tmpdir(), 'wharf-passthrough-agent-'));
  chmodSync(prefix, 0o755);
  try {
    const t = await startTestAgent({ sslPassthrough: true, prefix, ...opts });
    const stop = t.stop;
    return { ...t, prefix, stop: async () => { await stop(); rmSync(prefix, { recursive: true, force: true }); } };
  } catch (e) {
    rmSync(prefix, { recursive: true, force: true });
    throw e;
  }
}

/** The fragment of a host whose TLS goes unterminated to `upstream` (a TLSRoute's: no HTTP server). */
export function passthroughFragment(host: string, upstream: string, revision = 1) {
  return {
    name: host,
    revision,
    config: '# wharf: TLS passthrough only: the stream side reads this fragment\'s files\n',
    files: { 'passthrough.map': { content: renderPassthroughMapLine(host, upstream), secret: false } },
  };
}
