// The ConfigMap keys of settings-http.ts, settings-hsts.ts and settings-agent.ts: each value's
// grammar (a refused value keeps the default, with the key, the value and the reason), and which
// fragments a change re-renders.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultControllerSettings, parseGlobalSettings, RoutingIndex, stateFromObjects } from '../../src/model/index.ts';
import type { ConfigMap } from '../../src/model/schemas.ts';
import { ingress, path, rule, service } from './fixtures.ts';

const configMap = (data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'wharf', namespace: 'default' }, data });
const parsed = (data: Record<string, string>): ConfigMap => stateFromObjects([configMap(data)]).state.configMap!;
const messages = (data: Record<string, string>, nginx = {}) => parseGlobalSettings(parsed(data), nginx).problems.map((p) => p.message);

describe('ConfigMap keys: values', () => {
  const accepted: [Record<string, string>, (s: ReturnType<typeof parseGlobalSettings>['settings']) => unknown, unknown][] = [
    [{ 'ssl-protocols': 'TLSv1.3  TLSv1.2 TLSv1.3' }, (s) => s.http?.sslProtocols, ['TLSv1.2', 'TLSv1.3']],
    [{ 'ssl-ciphers': 'HIGH:!aNULL:!MD5' }, (s) => s.http?.sslCiphers, 'HIGH:!aNULL:!MD5'],
    [{ 'proxy-buffer-size': '16K' }, (s) => s.http?.proxyBufferSize, '16k'],
    [{ 'keep-alive': '0' }, (s) => s.http?.keepAlive, 0],
    [{ 'large-client-header-buffers': '8 16k' }, (s) => s.http?.largeClientHeaderBuffers, { number: 8, size: '16k' }],
    [{ 'gzip-types': 'text/css application/json text/css' }, (s) => s.http?.gzipTypes, ['text/css', 'application/json']],
    [{ 'hsts-max-age': '0', 'hsts-preload': 'true' }, (s) => s.hstsHeader, { maxAge: 0, includeSubdomains: true, preload: true }],
    [{ 'worker-processes': 'auto', 'max-worker-connections': '0' }, (s) => s.agent, { workerProcesses: 'auto' }],
    [{ 'worker-processes': '4', 'max-worker-connections': '2048', 'upstream-keepalive-connections': '0' }, (s) => s.agent, { workerProcesses: 4, workerConnections: 2048, upstreamKeepalive: 0 }],
    [
      { 'log-format-upstream': '{"ns":"$namespace","ing":"$ingress_name","svc":"${service_name}","rid":"$req_id","ua":"$http_user_agent"}', 'log-format-escape-json': 'true' },
      (s) => s.agent,
      { logFormat: '{"ns":"${wharf_namespace}","ing":"${wharf_ingress_name}","svc":"${wharf_service_name}","rid":"${wharf_request_id}","ua":"${http_user_agent}"}', logEscapeJson: true },
    ],
  ];
  for (const [data, pick, want] of accepted) {
    it(`accepts ${JSON.stringify(data)}`, () => {
      const { settings, problems } = parseGlobalSettings(parsed(data));
      assert.deepEqual(problems, []);
      assert.deepEqual(pick(settings), want);
    });
  }

  const refused: [string, string, string][] = [
    ['ssl-protocols', 'SSLv3 TLSv1.2', 'item "SSLv3" must be one of TLSv1, TLSv1.1, TLSv1.2, TLSv1.3 (separated by spaces; SSLv2 and SSLv3 are not supported)'],
    ['ssl-ciphers', 'HIGH; include /etc/passwd', 'item "HIGH; include /etc/passwd" must be an OpenSSL cipher name or alias (A-Z a-z 0-9 . _ -, joined by "+", optionally after ! - or +), @STRENGTH or @SECLEVEL=n, items separated by ":"'],
    ['ssl-ciphers', 'NOPE', 'selects no cipher OpenSSL knows (e.g. "HIGH:!aNULL:!MD5" or "ECDHE-RSA-AES128-GCM-SHA256")'],
    ['proxy-buffer-size', '0', 'must be a size above 0 such as 8k or 1m (digits and an optional k, m or g)'],
    ['client-body-buffer-size', '8 k', 'must be a size above 0 such as 8k or 1m (digits and an optional k, m or g)'],
    ['client-header-timeout', '60s', 'must be a whole number of seconds between 1 and 86400'],
    ['keep-alive-requests', '-1', 'must be a whole number of requests between 1 and 100000000'],
    ['large-client-header-buffers', '4 8k;', 'must be a number of buffers (1–256) and a size, such as "4 8k"'],
    ['server-tokens', 'yes', 'must be "true" or "false"'],
    ['gzip-level', '10', 'must be a whole number between 1 and 9'],
    ['gzip-types', 'text/html $x', 'item "$x" must be a MIME type such as text/css (lowercase type/subtype), or *'],
    ['hsts-max-age', '1y', 'must be a whole number of seconds between 0 and 315360000 (ten years)'],
    ['worker-processes', '0', 'must be "auto" (one per CPU) or a whole number between 1 and 1024'],
    ['max-worker-connections', '10', 'must be 0 (the agent\'s default, 16384) or a whole number between 64 and 1000000'],
    ['upstream-keepalive-connections', 'many', 'must be a whole number between 0 (no kept connections) and 100000'],
    ['log-format-upstream', "$remote_addr'; access_log /tmp/x", 'column 13: "\'" is not allowed: the format is printable ASCII without \' or \\'],
    ['log-format-upstream', '$remote_addr $document_root', 'column 14: $document_root is not a variable wharf logs (request, response, upstream and TLS variables, $http_*, $sent_http_*, $upstream_http_*, and ingress-nginx\'s $proxy_upstream_name, $req_id, $namespace, $ingress_name, $service_name, $service_port)'],
    ['log-format-upstream', 'cost: 5$', 'column 8: "$" must start a variable name such as $status (write no "$" otherwise)'],
  ];
  for (const [key, value, reason] of refused) {
    it(`refuses ${key}: ${JSON.stringify(value)}`, () => {
      assert.deepEqual(messages({ [key]: value }), [`data[${key}]: Invalid value: ${JSON.stringify(value)}: ${reason}; the default is used`]);
    });
  }

  it('enable-brotli without NGINX\'s brotli module is ignored with a warning', () => {
    assert.deepEqual(messages({ 'enable-brotli': 'true' }, { brotli: false }), ["data[enable-brotli]: ignored: NGINX has no brotli module (Debian's libnginx-mod-http-brotli-filter)"]);
    assert.deepEqual(messages({ 'enable-brotli': 'true' }, { brotli: true }), []);
  });
});

describe('ConfigMap keys: what a change re-renders', () => {
  const cases: [string, Record<string, string>, boolean][] = [
    ['use-gzip only changes _main', { 'use-gzip': 'true' }, false],
    ['ssl-ciphers only changes _main', { 'ssl-ciphers': 'HIGH' }, false],
    ['worker-processes only changes _main (the agent\'s file)', { 'worker-processes': '2' }, false],
    ['log-format-upstream only changes _main (the agent\'s file)', { 'log-format-upstream': '$status' }, false],
    ['hsts-max-age changes every host', { 'hsts-max-age': '60' }, true],
  ];
  for (const [name, data, hosts] of cases) {
    it(name, () => {
      const { state } = stateFromObjects([ingress('a', [rule('a.com', path('/'))]), service('svc'), configMap({})]);
      const index = new RoutingIndex(defaultControllerSettings, state);
      const affected = index.upsert(parsed(data));
      assert.equal(affected.global, true);
      assert.deepEqual(affected.hosts, hosts ? ['a.com'] : []);
      assert.equal(affected.defaultServer, hosts);
    });
  }
});
