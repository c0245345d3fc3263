// The request metrics' labels each location carries into NGINX ($wharf_metrics): what they hold,
// and that no path, however long or odd, can make the value one NGINX refuses (it reads at most
// 4096 bytes as one token) or one the filter refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { metricsLabels } from '../../src/render/view.ts';
import { filters } from '../../src/render/filters.ts';
import { location } from './helpers.ts';

const decode = (v: string): unknown => JSON.parse(Buffer.from(v.replace(/^\./, ''), 'base64').toString('utf8'));

test('a location carries its kind, namespace, name, service, path pattern and host; a "." marks a canary', () => {
  assert.deepEqual(decode(metricsLabels(location('/api', 'Prefix', 'api'), 'shop.example.com')), ['Ingress', 'default', 'app', 'api', '/api', 'shop.example.com']);
  const canary = location('/', 'Prefix', 'stable', {}, { canary: { backend: { upstream: 'default-preview-80', namespace: 'default', service: 'preview', port: 80 }, weight: 10, weightTotal: 100 } as never });
  assert.ok(metricsLabels(canary, 'a.test').startsWith('.'));
  assert.ok(!metricsLabels(location('/', 'Prefix', 'stable'), 'a.test').startsWith('.'));
  const redirect = location('/old', 'Exact', null);
  assert.deepEqual(decode(metricsLabels(redirect, '')), ['Ingress', 'default', 'app', '', '/old', '']);
});

test('a long path keeps its first characters and a hash of the whole; every value passes the filter and stays far below NGINX\'s token limit', () => {
  for (const path of ['/' + 'a'.repeat(4095), '^/(' + '\\"'.repeat(2000) + ')', '/' + '\u0001'.repeat(4000), '/' + 'é'.repeat(4000)]) {
    const value = metricsLabels(location(path, 'Regex', 'api'), 'x.example.com');
    assert.ok(value.length <= 3000, `${value.length} characters`);
    assert.doesNotThrow(() => filters.nginx_base64!(value));
    const labels = decode(value) as string[];
    assert.ok(labels[4]!.length <= 200, `path label of ${labels[4]!.length} characters`);
    // Two long paths that start alike are still two series.
    assert.notEqual(labels[4], (decode(metricsLabels(location(path + 'b', 'Regex', 'api'), 'x.example.com')) as string[])[4]);
  }
});
