// `wharf handler` under Node: its flags, HTTPS (the API server calls webhooks over HTTPS only), and
// the CLI entry point.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseHandlerArgs, startHandler, UsageError } from '../../src/handlers/serve.ts';
import { defaultControllerSettings } from '../../src/model/index.ts';
import { selfSigned } from '../render/helpers.ts';
import { request } from '../support/http.ts';
import { TOKEN, admissionReview, ingress } from './fixtures.ts';
import { quietLog } from './support.ts';

function files(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-handler-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, content: string) => {
    writeFileSync(join(dir, name), content);
    return join(dir, name);
  };
  return { dir, write };
}

test('flags are checked with a message naming the flag and the fix', async (t) => {
  const f = files(t);
  const token = f.write('token', `${TOKEN}\n`);
  const short = f.write('short', 'abc');
  const cases: [string, string[], RegExp][] = [
    ['no agent token', ['--no-list'], /--agent-token-file: Required value/],
    ['a short token', ['--no-list', '--agent-token-file', short], /--agent-token-file: the token in .* is 3 characters; use at least 16/],
    ['a missing token file', ['--no-list', '--agent-token-file', join(f.dir, 'nope')], /--agent-token-file: cannot read/],
    ['a bad listen address', ['--no-list', '--agent-token-file', token, '--listen', '8080'], /--listen: Invalid value: "8080": expected HOST:PORT/],
    ['a certificate without key', ['--no-list', '--agent-token-file', token, '--tls-cert', token], /--tls-cert and --tls-key: Required value: give both or neither/],
    ['a bad agent URL', ['--no-list', '--agent-token-file', token, '--agent', 'ftp://x'], /--agent: agent URL ftp:\/\/x: use http:\/\/ or https:\/\//],
    ['a bad agent service', ['--no-list', '--agent-token-file', token, '--agent-service', 'agents'], /--agent-service: Invalid value: "agents": expected namespace\/name/],
    ['a bad duration', ['--no-list', '--agent-token-file', token, '--relist-interval', 'soon'], /--relist-interval: Invalid value: "soon": expected a duration/],
    ['no reader and no --no-list', ['--agent-token-file', token], /pass --no-list/],
    ['an unknown flag', ['--agent-token-file', token, '--frobnicate'], /Unknown option '--frobnicate'/],
  ];
  for (const [name, argv, message] of cases) {
    await assert.rejects(parseHandlerArgs(argv), (e: Error) => e instanceof UsageError && message.test(e.message), name);
  }
  const ok = await parseHandlerArgs(['--no-list', '--agent-token-file', token, '--agent', 'http://10.0.0.5:7071', '--relist-interval', '90s', '--configmap', 'wharf/wharf-config', '--ingress-class', 'edge']);
  assert.equal(ok!.agentToken, TOKEN);
  assert.equal(ok!.eventsToken, null);
  assert.equal(ok!.relistIntervalMs, 90_000);
  assert.deepEqual(ok!.agents, ['http://10.0.0.5:7071']);
  assert.equal(ok!.controller.ingressClassName, 'edge');
  assert.equal(ok!.controller.configMap, 'wharf/wharf-config');
});

test('with a certificate the handler serves HTTPS, and answers reviews over it', async (t) => {
  const pair = selfSigned('wharf-handler.wharf.svc');
  const running = await startHandler({
    host: '127.0.0.1',
    port: 0,
    tls: pair,
    agents: [],
    agentService: null,
    agentToken: TOKEN,
    eventsToken: TOKEN,
    relistIntervalMs: 3_600_000,
    controller: { ...defaultControllerSettings },
    reader: null,
    log: quietLog,
  });
  t.after(() => running.close());
  assert.match(running.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const port = Number(new URL(running.url).port);
  const r = await request({
    port,
    tls: true,
    host: 'wharf-handler.wharf.svc',
    method: 'POST',
    path: '/admission',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(admissionReview(ingress('x', 'x.example.com'), { uid: 'over-tls' })),
  });
  assert.equal(r.status, 200);
  const response = JSON.parse(r.body).response;
  assert.equal(response.uid, 'over-tls');
  assert.equal(response.allowed, true);
});

test('`wharf handler --help` prints the flags; a usage error exits 2 with the reason', () => {
  const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
  const help = spawnSync(process.execPath, [cli, 'handler', '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--agent-token-file FILE/);
  const bad = spawnSync(process.execPath, [cli, 'handler', '--listen', 'nowhere'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /wharf handler: --listen: Invalid value: "nowhere"/);
});
