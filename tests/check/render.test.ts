// `wharf render` as a reviewer runs it: the NGINX configuration of a folder of manifests, the same
// bytes every time, and configuration a real NGINX accepts (`nginx -t` in a temporary prefix).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Fragment } from '../../src/render/index.ts';
import { startNginx } from '../support/nginx.ts';
import { nginxTest } from '../render/helpers.ts';
import { wharf } from './run-cli.ts';

/** The fragments of render's output, by the headers it prints (`# ---- fragments/NAME.conf ----`). */
function fragmentsOf(stdout: string): Map<string, string> {
  const parts = stdout.split(/^# ---- fragments\/(.+)\.conf ----\n/m);
  const out = new Map<string, string>();
  for (let i = 1; i < parts.length; i += 2) out.set(parts[i]!, parts[i + 1]!);
  return out;
}

test("render prints the example's server block, the same bytes every time, and NGINX accepts it (nginx -t)", async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'wharf-render-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const [run, again] = await Promise.all([wharf(['render', '--out', out, 'examples/cafe']), wharf(['render', 'examples/cafe'])]);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stderr, '');
  assert.equal(run.stdout, again.stdout, 'deterministic');
  const fragments = fragmentsOf(run.stdout);
  assert.deepEqual([...fragments.keys()], ['_main', '_default', 'cafe.example.com', 'old.cafe.example.com']);
  const cafe = fragments.get('cafe.example.com')!;
  assert.match(cafe, /^server \{\n\s+server_name cafe\.example\.com;/m);
  assert.ok(cafe.includes('location ~ "^/tea(?:/|$)" {'), 'the /tea Prefix path, as a regex beside the regex path');
  // Certificates are named, never printed.
  assert.match(run.stdout, /^# certificate cafe\.example\.com: \d+ bytes and a key \(not printed; NGINX's memory, or certificates\/cafe\.example\.com\.crt and \.key without Lua\)$/m);
  assert.doesNotMatch(run.stdout, /PRIVATE KEY/);
  // --out wrote what stdout shows, and the files NGINX needs.
  assert.deepEqual(readdirSync(join(out, 'fragments')).sort(), ['_default.conf', '_main.conf', 'cafe.example.com.conf', 'old.cafe.example.com.conf']);
  assert.ok(cafe.startsWith(readFileSync(join(out, 'fragments', 'cafe.example.com.conf'), 'utf8')));

  const nginx = await startNginx();
  t.after(() => nginx.stop());
  const asFragments: Fragment[] = [...fragments].map(([name, config]) => {
    const dir = join(out, 'files', name);
    const names = (() => {
      try {
        return readdirSync(dir);
      } catch {
        return [];
      }
    })();
    return { name, config, files: Object.fromEntries(names.map((f) => [f, { content: readFileSync(join(dir, f), 'utf8'), secret: false }])) };
  });
  // --out wrote the certificates as the agent writes them without the Lua module.
  assert.deepEqual(readdirSync(join(out, 'certificates')).sort(), ['cafe.example.com.conf', 'cafe.example.com.crt', 'cafe.example.com.key']);
  const certificates = [{ name: 'cafe.example.com', cert: readFileSync(join(out, 'certificates', 'cafe.example.com.crt'), 'utf8'), key: readFileSync(join(out, 'certificates', 'cafe.example.com.key'), 'utf8') }];
  assert.equal(nginxTest(nginx, asFragments, certificates), '', 'nginx -t accepts the printed configuration');
});

test('render --host prints one host\'s fragment; an unknown host says which hosts there are', async () => {
  const one = await wharf(['render', '--host', 'old.cafe.example.com', 'examples/cafe']);
  assert.equal(one.status, 0, one.stderr);
  assert.deepEqual([...fragmentsOf(one.stdout).keys()], ['old.cafe.example.com']);
  assert.match(one.stdout, /return 301 "?https:\/\/cafe\.example\.com"?;/);
  const none = await wharf(['render', '--host', 'tea.example.com', 'examples/cafe']);
  assert.equal(none.status, 1);
  assert.equal(none.stdout, '');
  assert.match(none.stderr, /--host: Not found: "tea\.example\.com": no server has this name; the hosts are cafe\.example\.com, old\.cafe\.example\.com/);
});

test('render leaves a refused Ingress out, says why on stderr, and exits 1', async () => {
  const run = await wharf(['render', 'tests/check/fixtures/injection']);
  assert.equal(run.status, 1);
  assert.match(run.stderr, /^tests\/check\/fixtures\/injection\/ingress\.yaml:8: error: Ingress attic\/sneaky: /m);
  assert.deepEqual([...fragmentsOf(run.stdout).keys()], ['_main', '_default']);
  assert.doesNotMatch(run.stdout, /content_by_lua/);
});
