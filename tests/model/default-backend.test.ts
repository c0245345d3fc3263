// --default-backend-service and the ConfigMap's custom-http-errors in the model: the default backend
// is an upstream like any Service's (its endpoints take the reload-free path, re-rendering nothing),
// and a ConfigMap change re-renders only the fragments that use what changed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultControllerSettings, RoutingIndex, stateFromObjects } from '../../src/model/index.ts';
import { ingress, path, rule, service, slice } from './fixtures.ts';

const settings = { ...defaultControllerSettings, defaultBackendService: 'default/errors' };
const configMap = (data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'wharf', namespace: 'default' }, data });

function indexOf(objects: unknown[]): RoutingIndex {
  const { state, problems } = stateFromObjects(objects);
  assert.deepEqual(problems, []);
  return new RoutingIndex(settings, state);
}
const parse = (o: unknown) => stateFromObjects([o]).state;
const only = <T>(m: ReadonlyMap<string, T>): T => [...m.values()][0]!;

describe('--default-backend-service', () => {
  it('is an upstream of the model on its Service\'s first port once the Service exists, and every server renders again then', () => {
    const index = indexOf([ingress('a', [rule('a.com', path('/'))]), service('svc')]);
    assert.equal(index.global().defaultBackend, undefined);
    assert.deepEqual(index.upstreams().map((u) => u.upstream), ['default-svc-80']);
    const affected = index.upsert(only(parse(service('errors', [{ port: 8080 }, { port: 9090 }])).services));
    assert.deepEqual(index.global().defaultBackend, { upstream: 'default-errors-8080', namespace: 'default', service: 'errors', port: 8080 });
    assert.deepEqual(index.upstreams().map((u) => u.upstream), ['default-errors-8080', 'default-svc-80']);
    assert.deepEqual(affected.hosts, ['a.com']);
    assert.equal(affected.defaultServer, true);
    assert.equal(affected.global, true);
    assert.deepEqual(affected.upstreams, ['default-errors-8080']);
  });

  it('its endpoints change through the endpoint path alone: no fragment renders again', () => {
    const index = indexOf([ingress('a', [rule('a.com', path('/'))]), service('svc'), service('errors', [{ port: 80, targetPort: 8080 }])]);
    const affected = index.upsert(only(parse(slice('errors-1', 'errors', [{ addresses: ['10.0.0.7'] }], [{ port: 8080 }])).endpointSlices));
    assert.deepEqual(affected, { hosts: [], defaultServer: false, global: false, upstreams: ['default-errors-80'], ingresses: [], gatewayObjects: [] });
    assert.deepEqual(index.endpoints('default-errors-80'), ['10.0.0.7:8080']);
  });

  it('goes away with its Service: 404 and 503 again', () => {
    const index = indexOf([service('errors')]);
    assert.equal(index.global().defaultBackend?.upstream, 'default-errors-80');
    const affected = index.remove('Service', 'default', 'errors');
    assert.equal(index.global().defaultBackend, undefined);
    assert.equal(affected.defaultServer, true);
    assert.deepEqual(affected.upstreams, ['default-errors-80']);
    assert.equal(index.endpoints('default-errors-80'), null);
  });
});

describe('custom-http-errors (ConfigMap)', () => {
  it('sorted codes without duplicates; a bad value is refused with the key, the value and the reason', () => {
    assert.deepEqual(indexOf([configMap({ 'custom-http-errors': '503,404, 404' })]).global().customHttpErrors, [404, 503]);
    const bad = indexOf([configMap({ 'custom-http-errors': '404,200' })]);
    assert.equal(bad.global().customHttpErrors, undefined);
    assert.deepEqual(bad.problems().map((p) => p.message), ['data[custom-http-errors]: Invalid value: "404,200": item "200" must be an HTTP status code between 400 and 599; the default is used']);
  });

  it('a per-Ingress custom-http-errors without default-backend is kept when there is a global default backend', () => {
    const index = indexOf([ingress('a', [rule('a.com', path('/'))], { annotations: { 'nginx.ingress.kubernetes.io/custom-http-errors': '502' } }), service('svc')]);
    assert.deepEqual(index.server('a.com')!.locations[0]!.settings.customHttpErrors, [502]);
    assert.deepEqual(index.problems(), []);
  });

  it('a ConfigMap change re-renders the hosts only when it changes a setting they use', () => {
    const index = indexOf([ingress('a', [rule('a.com', path('/'))]), service('svc'), configMap({})]);
    const bodySize = index.upsert(stateFromObjects([configMap({ 'proxy-body-size': '8m' })]).state.configMap!);
    assert.deepEqual([bodySize.global, bodySize.hosts, bodySize.defaultServer], [true, [], false], 'proxy-body-size is http-level: _main only');
    const errors = index.upsert(stateFromObjects([configMap({ 'proxy-body-size': '8m', 'custom-http-errors': '404' })]).state.configMap!);
    assert.deepEqual([errors.global, errors.hosts, errors.defaultServer], [true, ['a.com'], true]);
  });
});
