// bench:admission's ingress-nginx-style review (bench/nginx-t-review.ts): the whole configuration
// rendered with the reviewed object and tested by `nginx -t` in a temporary prefix. Its time is only
// the design it replaces if NGINX really parsed every host, so the test makes sure it did.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { nginxTReviewer } from '../../bench/nginx-t-review.ts';

const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'app', namespace: 'default' }, spec: { ports: [{ port: 80 }] } };
const ingress = (i: number, annotations: Record<string, string> = {}) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name: `app-${i}`, namespace: 'default', creationTimestamp: '2026-01-01T00:00:00Z', annotations },
  spec: { ingressClassName: 'wharf', rules: [{ host: `app-${i}.test`, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'app', port: { number: 80 } } } }] } }] },
});

test('an nginx -t review renders every host with the reviewed object, passes nginx -t, and leaves no prefix behind', async () => {
  const before = new Set(readdirSync(tmpdir()));
  const reviewer = nginxTReviewer();
  const made = readdirSync(tmpdir()).filter((d) => !before.has(d) && d.startsWith('wharf-bench-nginx-t-'));
  try {
    const r = await reviewer.review([service, ...Array.from({ length: 20 }, (_, i) => ingress(i))]);
    // 20 hosts, `_main` and `_default`.
    assert.equal(r.fragments, 22);
    assert.ok(r.ms > 0);
    // A host the reviewed object adds is in the next review's configuration.
    const next = await reviewer.review([service, ...Array.from({ length: 21 }, (_, i) => ingress(i))]);
    assert.equal(next.fragments, 23);
  } finally {
    reviewer.remove();
  }
  assert.equal(made.length, 1);
  assert.equal(existsSync(`${tmpdir()}/${made[0]}`), false);
});
