// The agent serves a Gateway listener's own port because a fragment includes its listen file: it
// writes `listen-http-P.conf` with its own addresses and the port moved (P + its HTTP port − 80), and
// the port's default server (404 to hosts no fragment names); once no fragment includes it any more,
// its files go, and the next reload stops listening there. A port it cannot serve refuses only the
// fragment that includes it (quarantined, by NGINX's own error), never the others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../support/backend.ts';
import { request } from '../support/http.ts';
import { startTestAgent } from './harness.ts';

const site = (host: string, include: string, body: string) =>
  `server {\n    server_name ${host};\n    include ${include};\n    location / {\n        return 200 "${body}";\n    }\n}\n`;

test('a fragment that includes a listener port\'s file is served on that port, and the port closes when none does', async (t) => {
  const a = await startTestAgent();
  t.after(() => a.stop());
  const offset = a.httpPort - 80;
  // A declared port whose NGINX port (declared + offset) is free.
  let declared = 0;
  for (let i = 0; i < 2000 && declared === 0; i++) {
    const p = (await freePort()) - offset;
    if (p > 0 && p !== 80 && p !== 443) declared = p;
  }
  assert.ok(declared > 0, 'no free port above the offset');
  const port = declared + offset;
  const put = await a.api('PUT', '/v1/fragments/alt.example.com_p?wait=1', { revision: 1, config: site('alt.example.com', `listen-http-${declared}.conf`, 'alt') });
  assert.equal(put.json.status, 'applied', put.text);
  // Its own addresses (the IPv6 twin of the loopback too, where the host has IPv6), the port moved.
  assert.match(readFileSync(join(a.prefix, `listen-http-${declared}.conf`), 'utf8'), new RegExp(`^listen 127\\.0\\.0\\.1:${port};\n(listen \\[::1\\]:${port};\n)?$`));
  const r = await request({ port, host: 'alt.example.com', path: '/' });
  assert.deepEqual([r.status, r.body], [200, 'alt']);
  // Another host on that port: its default server.
  assert.equal((await request({ port, host: 'other.example.com', path: '/' })).status, 404);
  // Not on the agent's own HTTP port.
  assert.equal((await a.get('alt.example.com')).status, 404);

  const gone = await a.api('DELETE', '/v1/fragments/alt.example.com_p?wait=1&revision=2');
  assert.equal(gone.status < 300, true, gone.text);
  assert.equal(existsSync(join(a.prefix, `listen-http-${declared}.conf`)), false);
  // The files went after the reload that dropped the fragment; the next one closes the port.
  await a.api('PUT', '/v1/fragments/other.example.com?wait=1', { revision: 3, config: site('other.example.com', 'listen-http.conf', 'other') });
  await a.retired();
  await assert.rejects(request({ port, host: 'alt.example.com', path: '/', timeoutMs: 1000 }));
});

test('a port the agent cannot serve quarantines the fragment that includes it; the others apply', async (t) => {
  const a = await startTestAgent();
  t.after(() => a.stop());
  // 65000 + (HTTP port − 80) is beyond 65535 for any HTTP port above 615.
  const batch = await a.api('POST', '/v1/batch?wait=1', {
    fragments: [
      { name: 'far.example.com_65000', revision: 1, config: site('far.example.com', 'listen-http-65000.conf', 'far') },
      { name: 'near.example.com', revision: 1, config: site('near.example.com', 'listen-http.conf', 'near') },
    ],
  });
  const status = Object.fromEntries((batch.json.fragments as { name: string; status: string; error?: string }[]).map((f) => [f.name, [f.status, f.error ?? '']]));
  assert.equal(status['near.example.com']![0], 'applied', batch.text);
  assert.equal(status['far.example.com_65000']![0], 'quarantined');
  assert.match(status['far.example.com_65000']![1]!, /listen-http-65000\.conf/);
  assert.equal((await a.get('near.example.com')).body, 'near');
  assert.ok(a.logs.some((l) => l.includes('a Gateway listener port cannot be served') && l.includes('which is not a port')));
});

test('an agent started again on its prefix serves the kept fragments\' listener ports again, its files written anew', async (t) => {
  const a = await startTestAgent();
  const offset = a.httpPort - 80;
  let declared = 0;
  for (let i = 0; i < 2000 && declared === 0; i++) {
    const p = (await freePort()) - offset;
    if (p > 0 && p !== 80 && p !== 443) declared = p;
  }
  assert.ok(declared > 0, 'no free port above the offset');
  const put = await a.api('PUT', '/v1/fragments/kept.example.com_p?wait=1', { revision: 1, config: site('kept.example.com', `listen-http-${declared}.conf`, 'kept') });
  assert.equal(put.json.status, 'applied', put.text);
  await a.agent.stop();
  // The same prefix and addresses; nothing is pushed: the kept fragment brings its port back.
  const b = await startTestAgent({ prefix: a.prefix, httpListen: [`127.0.0.1:${a.httpPort}`], httpsListen: [`127.0.0.1:${a.httpsPort}`] });
  t.after(async () => {
    await b.stop();
    rmSync(a.prefix, { recursive: true, force: true });
  });
  const r = await request({ port: declared + offset, host: 'kept.example.com', path: '/' });
  assert.deepEqual([r.status, r.body], [200, 'kept']);
  assert.ok(existsSync(join(a.prefix, 'listeners', `http-${declared}.conf`)));
});
