// The fake API server refuses what a real one refuses and answers as a real one answers, checked on
// the wire (plain fetch): otherwise the adapter's tests would pass against semantics no cluster has.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeApiServer } from '../support/kube-apiserver.ts';
import { endpointSlice, ingress } from '../support/kube-apiserver-fixtures.ts';

async function call(api: FakeApiServer, method: string, path: string, body?: unknown, contentType = 'application/json') {
  const res = await fetch(api.url + path, { method, headers: { authorization: 'Bearer t', 'content-type': contentType }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

const ING = '/apis/networking.k8s.io/v1/namespaces/default/ingresses';

test('lists carry their resourceVersion and leave kind and apiVersion off the items', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.put(ingress('cafe'));
  const { json } = await call(api, 'GET', ING);
  assert.equal(json.kind, 'IngressList');
  assert.equal(json.metadata.resourceVersion, String(api.revision));
  assert.equal(json.items[0].kind, undefined);
  assert.equal(json.items[0].metadata.name, 'cafe');
});

test('refusals a real API server makes', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  const cafe = api.put(ingress('cafe'));
  const cases: Record<string, { method: string; path: string; body?: unknown; type?: string; status: number; message: RegExp }> = {
    'a patch with an outdated resourceVersion': {
      method: 'PATCH',
      path: `${ING}/cafe/status`,
      body: { metadata: { resourceVersion: '1' }, status: {} },
      type: 'application/merge-patch+json',
      status: 409,
      message: /the object has been modified/,
    },
    'a status that is not an IP': {
      method: 'PATCH',
      path: `${ING}/cafe/status`,
      body: { status: { loadBalancer: { ingress: [{ ip: 'lb.example.com' }] } } },
      type: 'application/merge-patch+json',
      status: 422,
      message: /status\.loadBalancer\.ingress\[0\]\.ip: Invalid value: "lb\.example\.com": must be a valid IP address/,
    },
    'a patch type it does not know': { method: 'PATCH', path: `${ING}/cafe/status`, body: {}, type: 'application/json', status: 415, message: /unknown format/ },
    'a field selector it does not support': { method: 'GET', path: `${ING}?fieldSelector=spec.ingressClassName%3Dwharf`, status: 400, message: /field label not supported: spec\.ingressClassName/ },
    'a Lease time without microseconds': {
      method: 'POST',
      path: '/apis/coordination.k8s.io/v1/namespaces/wharf/leases',
      body: { metadata: { name: 'x' }, spec: { holderIdentity: 'x', renewTime: '2026-01-01T00:00:00.000Z' } },
      status: 400,
      message: /renewTime: parsing time/,
    },
    'an Event about an object of another namespace': {
      method: 'POST',
      path: '/api/v1/namespaces/default/events',
      body: { metadata: { name: 'e' }, involvedObject: { kind: 'Ingress', name: 'cafe', namespace: 'shop' }, reason: 'X', type: 'Normal' },
      status: 422,
      message: /involvedObject\.namespace: Invalid value: "shop": does not match event\.namespace/,
    },
    'a continue token with a resourceVersion': { method: 'GET', path: `${ING}?continue=abc&resourceVersion=5`, status: 400, message: /not allowed when using continue/ },
  };
  for (const [name, c] of Object.entries(cases)) {
    const r = await call(api, c.method, c.path, c.body, c.type);
    assert.equal(r.status, c.status, `${name}: ${JSON.stringify(r.json)}`);
    assert.equal(r.json.kind, 'Status', name);
    assert.match(r.json.message, c.message, name);
  }
  assert.equal(api.get('Ingress', 'default', 'cafe')!.metadata.resourceVersion, cafe.metadata.resourceVersion, 'nothing was written');
});

test('the status subresource changes status only; an update that changes nothing is not written', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  const cafe = api.put(ingress('cafe'));
  const patch = { spec: { ingressClassName: 'other' }, status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } } };
  const first = await call(api, 'PATCH', `${ING}/cafe/status`, patch, 'application/merge-patch+json');
  assert.equal(first.status, 200);
  assert.equal(first.json.spec.ingressClassName, 'wharf', 'spec is not changed through /status');
  assert.deepEqual(first.json.status, patch.status);
  assert.equal(first.json.metadata.generation, cafe.metadata.generation);
  const again = await call(api, 'PATCH', `${ING}/cafe/status`, [{ op: 'replace', path: '/status/loadBalancer/ingress/0/ip', value: '192.0.2.1' }], 'application/json-patch+json');
  assert.equal(again.json.metadata.resourceVersion, first.json.metadata.resourceVersion, 'a no-op write gets no new version');
  assert.equal(api.statusWrites.length, 1);
});

test('a watch from a compacted version gets 410 Gone as an ERROR event; a watch from a kept version replays', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  const start = api.revision;
  api.put(ingress('cafe'));
  api.put(ingress('tea'));
  const read = async (rv: number) => {
    const res = await fetch(`${api.url}${ING}?watch=true&resourceVersion=${rv}&timeoutSeconds=1`, { headers: { authorization: 'Bearer t' } });
    const reader = res.body!.getReader();
    const { value } = await reader.read();
    await reader.cancel();
    return { status: res.status, lines: new TextDecoder().decode(value).trim().split('\n').map((l) => JSON.parse(l)) };
  };
  const replay = await read(start);
  assert.deepEqual(replay.lines.map((l) => `${l.type} ${l.object.metadata.name}`), ['ADDED cafe', 'ADDED tea']);
  assert.equal(replay.lines[0].object.kind, 'Ingress');
  api.compact();
  const gone = await read(start);
  assert.equal(gone.status, 200);
  assert.equal(gone.lines[0].type, 'ERROR');
  assert.equal(gone.lines[0].object.code, 410);
  assert.match(gone.lines[0].object.message, /too old resource version/);
});

test('a group/version the server does not serve answers 404 on discovery and resource paths alike, and is served again without a restart', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.put(endpointSlice('cafe-1', 'cafe'));
  const SLICES = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';
  const groups = async () => ((await call(api, 'GET', '/apis')).json.groups as { name: string }[]).map((g) => g.name);
  assert.deepEqual(await groups(), ['coordination.k8s.io', 'discovery.k8s.io', 'gateway.networking.k8s.io', 'networking.k8s.io']);
  assert.equal((await call(api, 'GET', '/apis/discovery.k8s.io/v1')).json.resources[0].name, 'endpointslices');
  // An open watch of the withdrawn kind ends, as when a cluster loses the API.
  const watch = await fetch(`${api.url}${SLICES}?watch=true`, { headers: { authorization: 'Bearer t' } });
  const ended = (async () => {
    for await (const _ of watch.body!) void _;
  })();
  api.withdrawApi('discovery.k8s.io/v1');
  await ended;
  assert.deepEqual(await groups(), ['coordination.k8s.io', 'gateway.networking.k8s.io', 'networking.k8s.io']);
  for (const path of ['/apis/discovery.k8s.io', '/apis/discovery.k8s.io/v1', SLICES, '/apis/discovery.k8s.io/v1/endpointslices', `${SLICES}/cafe-1`]) {
    const r = await call(api, 'GET', path);
    assert.equal(r.status, 404, path);
    assert.equal(r.json.reason, 'NotFound', path);
    assert.equal(r.json.message, 'the server could not find the requested resource', path);
  }
  // Other groups are untouched.
  assert.equal((await call(api, 'GET', ING)).status, 200);
  api.restoreApi('discovery.k8s.io/v1');
  const back = await call(api, 'GET', SLICES);
  assert.equal(back.status, 200);
  assert.deepEqual(back.json.items.map((i: { metadata: { name: string } }) => i.metadata.name), ['cafe-1']);
});
