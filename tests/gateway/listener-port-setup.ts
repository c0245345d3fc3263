// What the tests of Gateway listeners on ports of their own share: NGINX on 8080 and 8443 as the
// chart runs it (so a declared port P is served on P + 8000), the handler's settings saying so, a
// free declared port, and the files the agent writes for the ports the fragments include.
import assert from 'node:assert/strict';
import { freePort } from '../support/backend.ts';
import { defaultControllerSettings } from '../../src/model/index.ts';
import type { Fragment } from '../../src/render/index.ts';
import { listenerPortFiles, listenerPortsOf } from '../../src/render/listener-ports.ts';

export const AGENT = { httpListen: ['127.0.0.1:8080'], httpsListen: ['127.0.0.1:8443'] };
export const settings = { ...defaultControllerSettings, nginxPorts: { httpPort: 8080, httpsPort: 8443 } };

/** A free port P + 8000 with P a port of its own (not 80 or 443). */
export async function declaredPort(): Promise<number> {
  for (;;) {
    const p = (await freePort()) - 8000;
    if (p > 0 && p !== 80 && p !== 443) return p;
  }
}

/** What the agent writes for the listener ports the fragments include (listener-port-files.ts). */
export function agentFiles(fragments: Fragment[]): Record<string, string> {
  const files: Record<string, string> = {};
  for (const f of fragments) {
    for (const ref of listenerPortsOf(f.config).values()) {
      const out = listenerPortFiles(ref, AGENT);
      assert.ok(out.ok);
      files[out.listen.name] = out.listen.text;
      files[`listeners/${out.server.name}`] = out.server.text;
    }
  }
  return files;
}
