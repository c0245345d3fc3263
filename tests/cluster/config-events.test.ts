// wharf's ConfigMap: a key wharf refuses or ignores was collected by the model and reported nowhere
// (the README promised a Warning Event). It must reach the user where they look: a Warning Event on
// the ConfigMap (`kubectl describe configmap`), once per distinct problem, not once per sync, and a
// log line. A handler (startHandler, as `wharf handler` runs it) against the test API server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeApiServer } from '../support/kube-apiserver.ts';
import { startHandlerAgainst } from '../support/handler-against-api.ts';
import { configMap, ingressClass, service } from '../support/kube-apiserver-fixtures.ts';
import { eventually } from '../support/http.ts';
import { createLogger } from '../../src/log.ts';


test('a refused or ignored ConfigMap key becomes a Warning Event on the ConfigMap and a log line, once per distinct problem, not per sync', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.put(ingressClass('wharf'));
  api.put({ ...service('wharf-nginx', 'wharf', { type: 'LoadBalancer' }), status: { loadBalancer: { ingress: [{ ip: '203.0.113.9' }] } } });
  api.put(configMap('wharf', 'wharf', { 'proxy-read-timeout': 'soon', 'enable-vts-status': 'true', 'ssl-redirect': 'false' }));
  const lines: Record<string, unknown>[] = [];
  const running = await startHandlerAgainst(api, { identity: 'handler-0', configMap: true, log: createLogger({}, (l) => lines.push(JSON.parse(l))) });
  t.after(() => running.close());

  const configEvents = () => api.list('Event').filter((e) => e.involvedObject.kind === 'ConfigMap');
  const said = (events = configEvents()) => events.map((e) => `${e.type} ${e.reason} ${e.message}`).sort();
  assert.ok(await eventually(() => configEvents().length === 2, 10_000), `Events: ${JSON.stringify(said())}`);
  assert.deepEqual(said(), [
    'Warning InvalidSetting data[proxy-read-timeout]: Invalid value: "soon": must be a whole number of seconds between 1 and 86400; the default is used',
    'Warning UnknownSetting data[enable-vts-status]: Unsupported key: wharf does not read it; it is ignored',
  ]);
  const [one] = configEvents();
  assert.deepEqual(
    { kind: one!.involvedObject.kind, name: one!.involvedObject.name, namespace: one!.involvedObject.namespace, uid: one!.involvedObject.uid, apiVersion: one!.involvedObject.apiVersion },
    { kind: 'ConfigMap', name: 'wharf', namespace: 'wharf', uid: api.get('ConfigMap', 'wharf', 'wharf')!.metadata.uid, apiVersion: 'v1' },
  );
  const logged = (text: string) => lines.filter((l) => l.level === 'warn' && String(l.msg).startsWith('ConfigMap wharf/wharf: ') && String(l.msg).includes(text)).length;
  assert.equal(logged('data[proxy-read-timeout]: Invalid value'), 1);
  assert.equal(logged('data[enable-vts-status]: Unsupported key'), 1);

  // More syncs: two relists and an edit that leaves both problems as they are. Nothing is said again.
  await running.handler.relist();
  await running.handler.relist();
  api.put(configMap('wharf', 'wharf', { 'proxy-read-timeout': 'soon', 'enable-vts-status': 'true', 'ssl-redirect': 'true' }));
  assert.ok(await eventually(() => running.handler.desired.index.global().sslRedirect === true, 5000), 'the edit was not read');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(configEvents().length, 2);
  assert.deepEqual(configEvents().map((e) => e.count), [1, 1]);
  const posts = api.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/events') && r.body.includes('"kind":"ConfigMap"'));
  assert.equal(posts.length, 2, 'one Event write per distinct problem');
  assert.equal(logged('data[proxy-read-timeout]: Invalid value'), 1);
  assert.equal(logged('data[enable-vts-status]: Unsupported key'), 1);

  // A new problem is said; the fixed one is not said again.
  api.put(configMap('wharf', 'wharf', { 'proxy-read-timeout': '30', 'enable-vts-status': 'true', hsts: 'maybe' }));
  assert.ok(await eventually(() => configEvents().length === 3, 5000), `Events: ${JSON.stringify(said())}`);
  assert.ok(said().includes('Warning InvalidSetting data[hsts]: Invalid value: "maybe": must be "true" or "false"; the default is used'));
  assert.equal(logged('data[hsts]: Invalid value'), 1);
  assert.equal(logged('data[enable-vts-status]: Unsupported key'), 1);
});

test('a refused tuning key (ssl-ciphers, log-format-upstream) is a Warning Event on the ConfigMap naming the key, the value and the reason', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.put(ingressClass('wharf'));
  api.put(configMap('wharf', 'wharf', { 'ssl-ciphers': 'HIGH;}', 'log-format-upstream': "$status'", 'gzip-level': '5' }));
  const running = await startHandlerAgainst(api, { identity: 'handler-0', configMap: true, log: createLogger({}, () => {}) });
  t.after(() => running.close());
  const said = () => api.list('Event').filter((e) => e.involvedObject.kind === 'ConfigMap').map((e) => `${e.type} ${e.reason} ${e.message}`).sort();
  assert.ok(await eventually(() => said().length === 2, 10_000), `Events: ${JSON.stringify(said())}`);
  assert.deepEqual(said(), [
    'Warning InvalidSetting data[log-format-upstream]: Invalid value: "$status\'": column 8: "\'" is not allowed: the format is printable ASCII without \' or \\; the default is used',
    'Warning InvalidSetting data[ssl-ciphers]: Invalid value: "HIGH;}": item "HIGH;}" must be an OpenSSL cipher name or alias (A-Z a-z 0-9 . _ -, joined by "+", optionally after ! - or +), @STRENGTH or @SECLEVEL=n, items separated by ":"; the default is used',
  ]);
  assert.equal(running.handler.desired.index.global().http?.gzipLevel, 5, 'the valid key applies');
});

test('a bad entry of the TCP services ConfigMap is a Warning Event on it naming the key and the reason; the good ones are served', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.put(ingressClass('wharf'));
  api.put(service('db', 'wharf'));
  api.put(configMap('tcp-services', 'wharf', { '5432': 'wharf/db:80', '443': 'wharf/db:80', ssh: 'wharf/db:22' }));
  const running = await startHandlerAgainst(api, { identity: 'handler-0', tcpServices: true, log: createLogger({}, () => {}) });
  t.after(() => running.close());
  const said = () => api.list('Event').filter((e) => e.involvedObject.kind === 'ConfigMap' && e.involvedObject.name === 'tcp-services').map((e) => `${e.type} ${e.reason} ${e.message}`).sort();
  assert.ok(await eventually(() => said().length === 2, 10_000), `Events: ${JSON.stringify(said())}`);
  assert.deepEqual(said(), [
    'Warning InvalidPort data[ssh]: Invalid value: "ssh": the key must be the port clients connect to (1-65535)',
    'Warning PortConflict data[443]: Invalid value: "443": port 443 is held by NGINX\'s HTTPS port: choose another port',
  ]);
  assert.deepEqual(running.handler.desired.index.streams().map((s) => `${s.protocol} ${s.port} ${s.upstream}`), ['TCP 5432 wharf-db-80']);
  const fragment = running.handler.desired.fragment('_stream-tcp-5432');
  assert.match(fragment && 'config' in fragment ? fragment.config : '', /include listen-tcp-5432\.conf;/);
  assert.equal(running.handler.desired.index.problems().filter((p) => p.reason === 'UnknownSetting').length, 0, 'not read as the settings ConfigMap');
});
