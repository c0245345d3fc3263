// The agent's pure parts: revisions and statuses, reading NGINX's errors, upstreams.conf, log lines,
// and the reload queue's serialization and coalescing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { FragmentStore, contentDigest, type FragmentContent } from '../../src/agent/fragment-store.ts';
import { parseNginxError } from '../../src/agent/nginx-error.ts';
import { renderUpstreams, EndpointStore } from '../../src/agent/endpoint-store.ts';
import { parseLogLine } from '../../src/agent/nginx-process.ts';
import { ReloadQueue } from '../../src/agent/reload-queue.ts';
import { parseStubStatus } from '../../src/agent/unix-http.ts';
import { tokensEqual } from '../../src/agent/auth.ts';
import { PrefixLayout } from '../../src/agent/layout.ts';

const c = (config: string): FragmentContent => ({ config, files: {} });

test('FragmentStore: revisions, tombstones, unchanged content', () => {
  type Step = [op: 'put' | 'del', name: string, revision: number, config: string | null, status: string];
  const cases: Record<string, { steps: Step[]; dirty: string[] }> = {
    'a new fragment is pending': { steps: [['put', 'a', 1, 'x', 'pending']], dirty: ['a'] },
    'an older revision is stale': { steps: [['put', 'a', 2, 'x', 'pending'], ['put', 'a', 1, 'y', 'stale']], dirty: ['a'] },
    'an equal revision is stale': { steps: [['put', 'a', 2, 'x', 'pending'], ['put', 'a', 2, 'y', 'stale']], dirty: ['a'] },
    'a delete keeps its revision': { steps: [['put', 'a', 1, 'x', 'pending'], ['del', 'a', 3, null, 'pending'], ['put', 'a', 2, 'x', 'stale']], dirty: ['a'] },
    'deleting what never existed leaves a tombstone': { steps: [['del', 'a', 5, null, 'applied'], ['put', 'a', 4, 'x', 'stale']], dirty: [] },
    'the same content under a newer revision': { steps: [['put', 'a', 1, 'x', 'pending'], ['put', 'a', 2, 'x', 'pending']], dirty: ['a'] },
  };
  for (const [name, { steps, dirty }] of Object.entries(cases)) {
    const s = new FragmentStore();
    for (const [op, n, rev, config, status] of steps) {
      const r = s.set(n, rev, op === 'put' ? c(config!) : null);
      assert.equal(r.status, status, `${name}: ${op} ${n}@${rev}`);
    }
    assert.deepEqual(s.takeDirty(), dirty, name);
  }
});

test('FragmentStore: applied and quarantined follow what NGINX did with that exact content', () => {
  const s = new FragmentStore();
  s.set('a', 1, c('v1'));
  const v1 = s.get('a')!.desired!;
  s.takeDirty();
  s.markApplied('a', v1, 7);
  assert.deepEqual(s.result(s.get('a')!), { name: 'a', revision: 1, status: 'applied', version: 7 });
  s.set('a', 2, c('bad'));
  const bad = s.get('a')!.desired!;
  s.markQuarantined('a', bad, '[emerg] x');
  assert.equal(s.get('a')!.status, 'quarantined');
  assert.equal(s.get('a')!.good, v1.digest, 'the good content stays');
  assert.equal(s.quarantinedCount, 1);
  // A newer revision arrived meanwhile: a late report on the old content does not overwrite it.
  s.set('a', 3, c('v3'));
  const v3 = s.get('a')!.desired!;
  s.markQuarantined('a', bad, '[emerg] late');
  assert.equal(s.get('a')!.status, 'pending');
  // Unchanged content under a newer revision needs no reload and keeps its status, even once its
  // bytes are no longer in memory (they are on disk).
  s.markApplied('a', v3, 9);
  v3.release();
  s.takeDirty();
  assert.equal(s.set('a', 4, c('v3')).status, 'applied');
  assert.deepEqual(s.takeDirty(), []);
  // A complete snapshot without `a` deletes it.
  const removed = s.retainOnly(new Set());
  assert.deepEqual(removed.map((r) => [r.name, r.revision, r.status]), [['a', 4, 'pending']]);
});

test('FragmentStore: content is compared by digest, files and modes included', () => {
  const d = (config: string, files: Record<string, { content: string; secret: boolean }> = {}) => contentDigest({ config, files });
  assert.equal(d('x'), d('x'));
  assert.notEqual(d('x'), d('y'));
  assert.equal(d('x', { a: { content: '1', secret: false }, b: { content: '2', secret: true } }), d('x', { b: { content: '2', secret: true }, a: { content: '1', secret: false } }), 'file order does not matter');
  assert.notEqual(d('x', { a: { content: '1', secret: false } }), d('x', { a: { content: '1', secret: true } }), 'the mode is part of it');
  assert.notEqual(d('x', { a: { content: '1', secret: false } }), d('x', { b: { content: '1', secret: false } }), 'the name is part of it');
  assert.notEqual(d('x', { a: { content: 'b', secret: false } }), d('x', { ab: { content: '', secret: false } }), 'names and bytes do not run together');
});

test('FragmentStore: a complete snapshot with a revision removes only what it holds below that revision', () => {
  type Case = { held: [name: string, revision: number][]; keep: string[]; below?: number; removed: string[] };
  const cases: Record<string, Case> = {
    'no revision: everything not named': { held: [['a', 5], ['b', 9000], ['c', 1]], keep: ['c'], removed: ['a', 'b'] },
    'older than the snapshot: removed': { held: [['a', 4095], ['b', 100]], keep: [], below: 4096, removed: ['a', 'b'] },
    'at or above the snapshot: kept': { held: [['a', 4096], ['b', 8192 + 17], ['c', 4095]], keep: [], below: 4096, removed: ['c'] },
    'named ones stay whatever their revision': { held: [['a', 1]], keep: ['a'], below: 4096, removed: [] },
  };
  for (const [name, k] of Object.entries(cases)) {
    const s = new FragmentStore();
    for (const [n, r] of k.held) s.set(n, r, c(n));
    s.takeDirty();
    const removed = s.retainOnly(new Set(k.keep), k.below);
    assert.deepEqual(removed.map((r) => r.name).sort(), k.removed, name);
    assert.deepEqual(s.takeDirty(), k.removed, `${name}: removed ones go to the next reload`);
    for (const [n, r] of k.held) assert.equal(s.get(n)!.revision, r, `${name}: ${n} keeps its revision (a tombstone when removed)`);
  }
});

test('parseNginxError: which fragment an error points at', () => {
  const p = '/tmp/wharf-x';
  const cases: [string, string, string | null, string | null][] = [
    [
      'a directive in a fragment',
      `2026/11/21 07:51:26 [emerg] 6753#6753: unknown directive "bogus" in ${p}/fragments/a.example.com.conf:3\nnginx: configuration file ${p}/nginx.conf test failed`,
      'a.example.com',
      null,
    ],
    [
      'a certificate shipped with a fragment',
      `2026/11/21 07:51:26 [emerg] 6754#6754: cannot load certificate "${p}/files/_.example.com/tls.crt": BIO_new_file() failed`,
      '_.example.com',
      null,
    ],
    ['the master refusing a reload', `nginx: [emerg] duplicate upstream "x" in ${p}/fragments/_main.conf:1`, '_main', null],
    ['a file that is not a fragment', `2026/11/21 07:51:26 [emerg] 1#1: invalid number of arguments in "server" directive in ${p}/upstreams.conf:4`, null, 'upstreams.conf'],
    ['no place at all', `2026/11/21 07:51:26 [emerg] 1#1: bind() to 0.0.0.0:80 failed (98: Address already in use)`, null, null],
  ];
  for (const [name, output, fragment, file] of cases) {
    const e = parseNginxError(output, p);
    assert.ok(e, name);
    assert.equal(e.fragment, fragment, name);
    assert.equal(e.file, file, name);
    assert.match(e.line, /^\[emerg\] /, name);
    assert.doesNotMatch(e.line, /\d+#\d+/, `${name}: no pid in the reported line`);
  }
  assert.equal(parseNginxError('nginx: [warn] conflicting server name "a" on 0.0.0.0:80, ignored', p), null);
  // Another prefix's path is not ours.
  assert.equal(parseNginxError(`[emerg] 1#1: x in /other/fragments/a.conf:1`, p)!.fragment, null);
});

test('renderUpstreams: a map with a static upstream per non-empty set, refusing unsafe values', () => {
  assert.equal(
    renderUpstreams([
      { upstream: 'ns-b-80', endpoints: ['10.0.0.2:80', '[fd00::1]:8080', '10.0.0.2:80'] },
      { upstream: 'ns-a-80', endpoints: ['10.0.0.1:80'] },
      { upstream: 'ns-empty-80', endpoints: [] },
      { upstream: 'ns-gone-80', endpoints: null },
    ]),
    [
      'map "$wharf_tls_isolated:$wharf_upstream" $wharf_backend {',
      '    volatile;',
      '    default wharf_no_endpoints;',
      '    ":ns-a-80" "ns-a-80";',
      '    "1:ns-a-80" "ns-a-80_isolated";',
      '    ":ns-b-80" "ns-b-80";',
      '    "1:ns-b-80" "ns-b-80_isolated";',
      '}',
      'upstream ns-a-80 {',
      '    server 10.0.0.1:80;',
      '    keepalive 16;',
      '}',
      'upstream ns-a-80_isolated {',
      '    server 10.0.0.1:80;',
      '}',
      'upstream ns-b-80 {',
      '    server 10.0.0.2:80;',
      '    server [fd00::1]:8080;',
      '    keepalive 16;',
      '}',
      'upstream ns-b-80_isolated {',
      '    server 10.0.0.2:80;',
      '    server [fd00::1]:8080;',
      '}',
      '',
    ].join('\n'),
  );
  assert.throws(() => renderUpstreams([{ upstream: 'a"; }', endpoints: ['10.0.0.1:80'] }]), /not a valid upstream name/);
  assert.throws(() => renderUpstreams([{ upstream: 'a', endpoints: ['10.0.0.1:80; include /x'] }]), /expected IPv4:port/);
});

test('EndpointStore: stale, changed and unchanged sets', () => {
  const s = new EndpointStore();
  assert.equal(s.set('u', 1, ['10.0.0.1:80']), 'changed');
  assert.equal(s.set('u', 1, ['10.0.0.2:80']), 'stale');
  s.markApplied('u', 1);
  assert.equal(s.set('u', 2, ['10.0.0.1:80']), 'unchanged');
  assert.equal(s.get('u')!.appliedRevision, 2, 'NGINX already holds revision 2');
  assert.equal(s.set('u', 3, null), 'changed');
  assert.deepEqual(s.retainOnly(new Set()), [], 'already deleted');
  // A complete snapshot with a revision removes only the sets held below it.
  s.set('old', 10, ['10.0.0.1:80']);
  s.set('new', 4096, ['10.0.0.1:80']);
  s.set('named', 1, ['10.0.0.1:80']);
  assert.deepEqual(s.retainOnly(new Set(['named']), 4096), ['old']);
  assert.equal(s.get('new')!.endpoints!.length, 1);
  assert.deepEqual(s.retainOnly(new Set(['named'])), ['new'], 'without a revision: everything not named');
});

test('parseLogLine and parseStubStatus read what NGINX writes', () => {
  assert.deepEqual(parseLogLine('2026/11/21 07:51:26 [emerg] 6753#6753: unknown directive "x" in /p/fragments/a.conf:1'), {
    level: 'emerg',
    pid: 6753,
    text: 'unknown directive "x" in /p/fragments/a.conf:1',
    raw: '2026/11/21 07:51:26 [emerg] 6753#6753: unknown directive "x" in /p/fragments/a.conf:1',
  });
  assert.equal(parseLogLine('2026/11/21 07:51:26 [error] 12#12: *5 connect() failed (111: Connection refused)').text, 'connect() failed (111: Connection refused)');
  assert.equal(parseLogLine('nginx: [alert] could not open error log file').pid, null);
  assert.deepEqual(parseStubStatus('Active connections: 3 \nserver accepts handled requests\n 10 10 42 \nReading: 0 Writing: 1 Waiting: 2 \n'), {
    active: 3, accepted: 10, handled: 10, requests: 42, reading: 0, writing: 1, waiting: 2,
  });
});

test('tokens: constant-time comparison', () => {
  assert.equal(tokensEqual('abc', 'abc'), true);
  assert.equal(tokensEqual('abc', 'abcd'), false);
  assert.equal(tokensEqual('', 'abc'), false);
});

test('ReloadQueue: one run in flight, one pending; everything requested meanwhile joins the next run', async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  const runs: number[] = [];
  let requested = 0;
  let taken = 0;
  const q = new ReloadQueue(
    async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const batch = requested - taken;
      taken = requested;
      runs.push(batch);
      await sleep(40);
      inFlight--;
    },
    { quietMs: 5, maxHoldMs: 100 },
  );
  const ask = () => {
    requested++;
    q.request();
  };
  ask();
  while (runs.length === 0) await sleep(1);
  assert.equal(q.depth, 1);
  for (let i = 0; i < 50; i++) ask();
  assert.equal(q.depth, 2);
  await q.idle();
  assert.equal(maxInFlight, 1);
  assert.deepEqual(runs, [1, 50]);
  assert.equal(q.coalesced, 49);

  // A burst still arriving when a run ends is waited for (briefly) instead of split.
  runs.length = 0;
  ask();
  const burst = (async () => {
    for (let i = 0; i < 30; i++) {
      ask();
      await sleep(2);
    }
  })();
  await burst;
  await q.idle();
  assert.ok(runs.length <= 3, `runs ${JSON.stringify(runs)}`);
  assert.equal(runs.reduce((x, y) => x + y, 0), 31);
  await q.stop();
  ask();
  await sleep(10);
  assert.equal(q.depth, 0, 'a stopped queue runs nothing');
});

test('PrefixLayout refuses prefixes NGINX could not use', () => {
  assert.throws(() => new PrefixLayout('relative/dir'), /expected an absolute path/);
  assert.throws(() => new PrefixLayout('/srv/with space'), /expected an absolute path/);
  assert.throws(() => new PrefixLayout(`/tmp/${'x'.repeat(90)}`), /too long for NGINX's unix sockets/);
  const l = new PrefixLayout('/srv/wharf/');
  assert.equal(l.fragmentConf('_.example.com'), '/srv/wharf/fragments/_.example.com.conf');
  assert.throws(() => l.fragmentFile('a.example.com', '../../nginx.conf'), /not a valid file name/);
  assert.throws(() => l.fragmentConf('../x'), /not a valid fragment name/);
});
