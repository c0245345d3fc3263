// The ConfigMap's keys against the IngressNightmare corpus and random mutations of valid values:
// whatever a key accepts, `_main` and the agent's nginx.conf say exactly the directives they say
// with the defaults (no value adds, closes or splits one), and NGINX accepts the nginx.conf.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseGlobalSettings, stateFromObjects } from '../../src/model/index.ts';
import { SETTING_KEYS } from '../../src/model/global-settings.ts';
import { renderMain } from '../../src/render/index.ts';
import { renderSkeleton, withAgentSettings, type SkeletonParams } from '../../src/render/skeleton.ts';
import { findNginx } from '../../src/agent/nginx-install.ts';
import { agentSettingsFromJson, AGENT_SETTINGS_FILE } from '../../src/model/settings-agent.ts';
import { corpus } from './corpus.ts';
import { parseConfig, type Directive } from './nginx-config.ts';
import { prng } from '../support/prng.ts';

const VALID: Record<string, string[]> = {
  'ssl-protocols': ['TLSv1.2 TLSv1.3'], 'ssl-ciphers': ['HIGH:!aNULL:!MD5'], 'proxy-buffer-size': ['16k'], 'client-body-buffer-size': ['1m'],
  'client-header-timeout': ['30'], 'client-body-timeout': ['30'], 'keep-alive': ['10'], 'keep-alive-requests': ['100'],
  'large-client-header-buffers': ['4 16k'], 'server-tokens': ['true'], 'use-gzip': ['true'], 'gzip-level': ['5'], 'gzip-types': ['text/css application/json'],
  'enable-brotli': ['true'], 'hsts-max-age': ['60'], 'hsts-include-subdomains': ['false'], 'hsts-preload': ['true'], 'worker-processes': ['auto', '2'],
  'max-worker-connections': ['1024'], 'upstream-keepalive-connections': ['0', '64'], 'log-format-escape-json': ['true'],
  'log-format-upstream': ['$remote_addr [$time_local] "$request" $status $req_id $namespace/$ingress_name ${service_name}:$service_port'],
};

/** Each directive with its number of arguments (log_format's optional escape=json not counted), nested. */
const shape = (ds: Directive[]): string[] => ds.flatMap((d) => [`${d.name}/${d.args.filter((a) => a !== 'escape=json').length}`, ...shape(d.block ?? []).map((s) => `${d.name} > ${s}`)]);

const params: SkeletonParams = {
  runDir: '/tmp/wharf-fuzz/run', privateDir: '/tmp/wharf-fuzz/private', lua: null, user: null, errorLogLevel: 'warn', accessLog: true,
  workerProcesses: 1, workerConnections: 512, workerShutdownTimeoutSeconds: 5, httpListen: ['127.0.0.1:1'], httpsListen: [],
};

test('no ConfigMap value changes which directives _main and the agent\'s nginx.conf say; a refused value names its key', () => {
  const rnd = prng(20261207);
  const baseMain = shape(parseConfig(renderMain(parseGlobalSettings(null).settings).config));
  const accepted: string[] = [];
  let refused = 0;
  for (const key of SETTING_KEYS) {
    const values = [...corpus, ...(VALID[key] ?? [])];
    for (const v of VALID[key] ?? []) {
      for (let i = 0; i < 40; i++) {
        const at = Math.floor(rnd() * (v.length + 1));
        values.push(v.slice(0, at) + corpus[Math.floor(rnd() * corpus.length)]!.slice(0, 1 + Math.floor(rnd() * 12)) + v.slice(at));
      }
    }
    for (const value of values) {
      const cm = stateFromObjects([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'd' }, data: { [key]: value } }]).state.configMap!;
      const { settings, problems } = parseGlobalSettings(cm);
      if (problems.length) {
        refused++;
        assert.ok(problems.every((p) => p.message.startsWith(`data[${key}]: `)), problems[0]!.message);
        continue;
      }
      accepted.push(`${key}=${value}`);
      const main = renderMain(settings);
      // Gzip and brotli add their own lines; every other key changes arguments only.
      const got = shape(parseConfig(main.config)).filter((s) => !/^(gzip|brotli)/.test(s));
      assert.deepEqual(got, baseMain, `${key}=${JSON.stringify(value)}`);
      const agent = agentSettingsFromJson(main.files[AGENT_SETTINGS_FILE]?.content);
      assert.deepEqual(agent ?? {}, settings.agent ?? {}, 'the agent reads back what the handler sent');
      const conf = renderSkeleton(withAgentSettings(params, agent))['nginx.conf'];
      const names = shape(parseConfig(conf)).filter((s) => !/keepalive/.test(s));
      assert.deepEqual(names, shape(parseConfig(renderSkeleton(params)['nginx.conf'])).filter((s) => !/keepalive/.test(s)), `${key}=${JSON.stringify(value)}`);
    }
  }
  assert.ok(refused > 500, `only ${refused} values refused`);
  assert.ok(accepted.length > 30, `only ${accepted.length} values accepted`);
});

test('NGINX accepts the nginx.conf of every log format the grammar accepts, the corpus\'s included', () => {
  const nginx = findNginx();
  const dir = mkdtempSync(join(tmpdir(), 'wharf-logfmt-'));
  try {
    mkdirSync(join(dir, 'run'));
    mkdirSync(join(dir, 'fragments'));
    writeFileSync(join(dir, 'listen-http.conf'), '');
    writeFileSync(join(dir, 'upstreams.conf'), '');
    writeFileSync(join(dir, 'version.conf'), 'return 200 "1";\n');
    const formats = [...corpus, ...VALID['log-format-upstream']!]
      .map((v) => parseGlobalSettings(stateFromObjects([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'd' }, data: { 'log-format-upstream': v } }]).state.configMap!).settings.agent?.logFormat)
      .filter((f): f is string => f !== undefined);
    assert.ok(formats.length >= 2, `${formats.length} formats accepted`);
    for (const format of formats) {
      // The access log itself off: /dev/stdout is not a file here; log_format is read all the same.
      const conf = renderSkeleton({ ...params, accessLog: false, runDir: join(dir, 'run'), privateDir: join(dir, 'run'), logFormat: { format, escapeJson: true } })['nginx.conf'];
      writeFileSync(join(dir, 'nginx.conf'), conf);
      const r = spawnSync(nginx.bin, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-t', '-q', '-e', 'stderr'], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${format}: ${r.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
