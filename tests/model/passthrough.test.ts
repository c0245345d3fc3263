// ssl-passthrough: which hosts are passed through to which Service, what the controller flag
// changes, and what admission refuses (a name NGINX would both terminate and pass through).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AN, build, ingress, messages, path, reasons, rule, service, tlsSecret } from './fixtures.ts';
import { CERT, KEY } from './tls-fixture.ts';
import { defaultControllerSettings, stateFromObjects, validateIngress } from '../../src/model/index.ts';

const ON = { ...defaultControllerSettings, sslPassthrough: true };
const PASS = { [`${AN}ssl-passthrough`]: 'true' };
const FIELD = 'metadata.annotations[nginx.ingress.kubernetes.io/ssl-passthrough]';

const passIngress = (name: string, host: string, o: { created?: string; tls?: boolean; paths?: ReturnType<typeof path>[] } = {}) =>
  ingress(name, [rule(host, ...(o.paths ?? [path('/', 'Prefix', 'argocd', 443)]))], {
    annotations: PASS,
    ...(o.created ? { created: o.created } : {}),
    ...(o.tls ? { tls: [{ hosts: [host], secretName: 'cert' }] } : {}),
  });
const tlsIngress = (name: string, host: string, created: string) =>
  ingress(name, [rule(host, path('/web', 'Prefix', 'web', 80))], { created, tls: [{ hosts: [host], secretName: 'cert' }] });
const objects = [service('argocd', [{ port: 443 }]), service('web'), tlsSecret('cert', CERT, KEY)];

describe('ssl-passthrough', () => {
  it('passes a host\'s TLS to the Service of its "/" path; its server serves plain HTTP', () => {
    const model = build([...objects, passIngress('argocd', 'argocd.example.com')], ON);
    const server = model.servers.find((s) => s.host === 'argocd.example.com')!;
    assert.deepEqual(server.passthrough, {
      backend: { upstream: 'default-argocd-443', namespace: 'default', service: 'argocd', port: 443 },
      source: { kind: 'Ingress', namespace: 'default', name: 'argocd' },
    });
    assert.equal(server.tls, null);
    assert.deepEqual(reasons(model.problems), []);
  });

  it('without --enable-ssl-passthrough: a warning that names the flag, the host served as before', () => {
    const model = build([...objects, passIngress('argocd', 'argocd.example.com')]);
    assert.equal(model.servers[0]!.passthrough, undefined);
    assert.deepEqual(messages(model.problems), [`${FIELD}: ignored: wharf runs without --enable-ssl-passthrough (the flag of ingress-nginx's controller; set it on the handler and the agent)`]);
  });

  it('refuses a value other than true or false', () => {
    const { state } = stateFromObjects(objects);
    const bad = ingress('argocd', [rule('argocd.example.com', path('/', 'Prefix', 'argocd', 443))], { annotations: { [`${AN}ssl-passthrough`]: 'yes' } });
    assert.deepEqual(messages(validateIngress(bad, state, ON)), [`${FIELD}: Invalid value: "yes": must be "true" or "false"`]);
  });

  it('ignores its own spec.tls for the host with a warning, as ingress-nginx does (NGINX never sees that TLS)', () => {
    const model = build([...objects, passIngress('argocd', 'argocd.example.com', { tls: true })], ON);
    const server = model.servers[0]!;
    assert.ok(server.passthrough);
    assert.equal(server.tls, null);
    assert.deepEqual(reasons(model.problems), ['warning IgnoredTls argocd spec.tls[0].secretName']);
  });

  it('admission refuses a passthrough host that an older Ingress serves over HTTPS, and the reverse', () => {
    const { state: withTls } = stateFromObjects([...objects, tlsIngress('web', 'shared.example.com', '2024-01-01T00:00:00Z')]);
    const late = passIngress('late', 'shared.example.com', { created: '2024-02-01T00:00:00Z' });
    assert.deepEqual(messages(validateIngress(late, withTls, ON)), [
      `${FIELD}: Invalid value: "true": host shared.example.com is an HTTPS host of older Ingress default/web (spec.tls[0].secretName); NGINX either terminates a name's TLS or passes it through`,
    ]);
    const { state: withPass } = stateFromObjects([...objects, passIngress('argocd', 'shared.example.com', { created: '2024-01-01T00:00:00Z' })]);
    const web = tlsIngress('web', 'shared.example.com', '2024-02-01T00:00:00Z');
    assert.deepEqual(messages(validateIngress(web, withPass, ON)), [
      'spec.tls[0].secretName: Invalid value: "shared.example.com": host shared.example.com is passed through unterminated by older Ingress default/argocd (ssl-passthrough); NGINX either terminates a name\'s TLS or passes it through',
    ]);
    // Both already there: the older keeps the name.
    const model = build([...objects, passIngress('argocd', 'shared.example.com', { created: '2024-01-01T00:00:00Z' }), web], ON);
    assert.ok(model.servers[0]!.passthrough);
    assert.equal(model.servers[0]!.tls, null);
  });

  it('says what cannot be passed through: a host without "/", rules without a host', () => {
    const noRoot = passIngress('api', 'api.example.com', { paths: [path('/v1', 'Prefix', 'argocd', 443)] });
    const model = build([...objects, noRoot, ingress('nohost', [rule(undefined, path('/', 'Prefix', 'argocd', 443))], { annotations: PASS })], ON);
    assert.equal(model.servers[0]!.passthrough, undefined);
    assert.deepEqual(messages(model.problems), [
      `${FIELD}: ignored for host api.example.com: it has no path "/" whose Service gets the TLS connections`,
      `${FIELD}: ignored for rules without a host: TLS is passed through by its SNI name`,
    ]);
  });
});
