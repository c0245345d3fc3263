// The handler sends an agent only what an EndpointSlice's addressType allows (an IPv4 slice's IPv4
// addresses, an IPv6 slice's IPv6 addresses) and says in its log what it leaves out: an FQDN slice
// (wharf does not resolve endpoint names) or an address its slice's type does not allow, naming the
// slice. Before, both were dropped without a word.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryView } from '../../src/cluster/view-memory.ts';
import type { KubeObject } from '../../src/cluster/view.ts';
import { DesiredConfig } from '../../src/handlers/desired-config.ts';
import { createHandlerMetrics } from '../../src/handlers/metrics.ts';
import { createLogger } from '../../src/log.ts';
import { defaultControllerSettings, parseObject, RoutingIndex, sliceProblems, type EndpointSlice } from '../../src/model/index.ts';
import { ingress, path, rule, service, slice } from '../model/fixtures.ts';

function parsed(raw: unknown): KubeObject {
  const p = parseObject(raw);
  assert.ok(p.ok, JSON.stringify(!p.ok && p.problems));
  return p.value as unknown as KubeObject;
}

function setup() {
  const lines: { level: string; msg: string }[] = [];
  const log = createLogger({}, (l) => lines.push(JSON.parse(l)));
  const desired = new DesiredConfig({ index: new RoutingIndex(defaultControllerSettings), view: new MemoryView(), log, metrics: createHandlerMetrics() });
  let version = 1;
  const apply = (raw: unknown) => {
    const o = parsed(raw);
    return desired.applied({ kind: o.kind as 'EndpointSlice', namespace: o.metadata.namespace ?? '', name: o.metadata.name }, o, version++);
  };
  apply(service('web', [{ name: 'http', port: 80 }]));
  apply(ingress('i', [rule('a.com', path('/', 'Prefix', 'web', 'http'))]));
  return { lines, apply };
}

test('an IPv4 slice sends only IPv4 addresses, an IPv6 slice only IPv6 ones, and the rest is logged naming the slice', () => {
  const { lines, apply } = setup();
  apply(slice('web-v4', 'web', [{ addresses: ['10.0.0.1', 'fd00::9', '010.0.0.2'] }], [{ name: 'http', port: 8080 }]));
  const update = apply(slice('web-v6', 'web', [{ addresses: ['fd00::1', '10.0.0.3', 'fe80::1%eth0'] }], [{ name: 'http', port: 8080 }], { addressType: 'IPv6' }));
  assert.deepEqual(update.endpoints.map((e) => ('endpoints' in e ? e.endpoints : null)), [['10.0.0.1:8080', '[fd00::1]:8080']]);
  assert.deepEqual(lines.filter((l) => l.level === 'warn').map((l) => l.msg), [
    `EndpointSlice default/web-v4: endpoints[0].addresses[1]: Invalid value: "fd00::9": not an IPv4 address, as the slice's addressType IPv4 requires; ignored`,
    `EndpointSlice default/web-v4: endpoints[0].addresses[2]: Invalid value: "010.0.0.2": not an IPv4 address, as the slice's addressType IPv4 requires; ignored`,
    `EndpointSlice default/web-v6: endpoints[0].addresses[1]: Invalid value: "10.0.0.3": not an IPv6 address, as the slice's addressType IPv6 requires; ignored`,
    `EndpointSlice default/web-v6: endpoints[0].addresses[2]: Invalid value: "fe80::1%eth0": an IPv6 address with a zone index, which NGINX cannot connect to; ignored`,
  ]);
});

test('an FQDN slice is ignored with a warning naming it', () => {
  const { lines, apply } = setup();
  const update = apply(slice('web-names', 'web', [{ addresses: ['db.example.com'] }], [{ name: 'http', port: 8080 }], { addressType: 'FQDN' }));
  assert.deepEqual(update.endpoints, [], 'no endpoint set changes');
  assert.deepEqual(lines.filter((l) => l.level === 'warn').map((l) => l.msg), [
    'EndpointSlice default/web-names: addressType: Unsupported value: "FQDN": wharf routes only to IPv4 and IPv6 addresses, so this slice\'s endpoints are ignored',
  ]);
});

test('a usable slice has no problems and logs nothing', () => {
  const p = parseObject(slice('web-1', 'web', [{ addresses: ['10.0.0.1'] }], [{ name: 'http', port: 8080 }]));
  assert.ok(p.ok);
  assert.deepEqual(sliceProblems(p.value as EndpointSlice), []);
  const { lines, apply } = setup();
  apply(slice('web-1', 'web', [{ addresses: ['10.0.0.1'] }], [{ name: 'http', port: 8080 }]));
  assert.deepEqual(lines.filter((l) => l.level === 'warn'), []);
});
