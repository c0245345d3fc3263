// server-alias and from-to-www-redirect in the model: the names a server gets, who wins a name
// several Ingresses ask for (a host beats any claim, then the oldest Ingress), the warnings that
// name the winner, and whether HTTPS can serve the name (the host's certificate covers it).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { routeRequest, type RoutingModel, type Server } from '../../src/model/index.ts';
import { AN, build, ingress, messages, path, rule, tlsSecret } from './fixtures.ts';
import { CERT, KEY } from './tls-fixture.ts';

const ALIAS = `metadata.annotations[${AN}server-alias]`;
const WWW = `metadata.annotations[${AN}from-to-www-redirect]`;

/** An Ingress serving `/` of `host` with service `svc-<name>` and the given annotations (without the prefix). */
const site = (name: string, host: string, annotations: Record<string, string> = {}, o: { created?: string; uid?: string; tls?: boolean } = {}) =>
  ingress(name, [rule(host, path('/', 'Prefix', `svc-${name}`))], {
    annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [AN + k, v])),
    created: o.created ?? '2024-01-01T00:00:00Z',
    ...(o.uid ? { uid: o.uid } : {}),
    ...(o.tls ? { tls: [{ hosts: [host], secretName: 'cert' }] } : {}),
  });

const serverOf = (model: RoutingModel, host: string): Server | undefined => model.servers.find((s) => s.host === host);
/** Problems about these annotations (the missing Services are not the point here). */
const nameProblems = (model: RoutingModel) => model.problems.filter((p) => p.reason !== 'ServiceNotFound');
const served = (model: RoutingModel, host: string) => routeRequest(model, host, '/')?.backend?.service ?? null;

describe('server-alias', () => {
  it('names the server too: lowercase, sorted, duplicates and empty items dropped; wildcards of one label', () => {
    const model = build([site('a', 'a.example.net', { 'server-alias': 'Www.Example.net, b.example.net,  , b.example.net, *.w.example.net' })]);
    assert.deepEqual(serverOf(model, 'a.example.net')?.aliases, ['*.w.example.net', 'b.example.net', 'www.example.net']);
    assert.deepEqual(nameProblems(model), []);
    assert.equal(served(model, 'WWW.example.net'), 'svc-a');
    assert.equal(served(model, 'x.w.example.net'), 'svc-a');
    assert.equal(served(model, 'x.y.w.example.net'), null, 'a wildcard alias covers one label, as wildcard hosts do');
  });
  it('a server without the annotation has no aliases field at all', () => {
    assert.equal('aliases' in serverOf(build([site('a', 'a.example.net')]), 'a.example.net')!, false);
  });
  it('an alias equal to the host itself is dropped without a word (as ingress-nginx)', () => {
    const model = build([site('a', 'a.example.net', { 'server-alias': 'a.example.net, b.example.net' })]);
    assert.deepEqual(serverOf(model, 'a.example.net')?.aliases, ['b.example.net']);
    assert.deepEqual(nameProblems(model), []);
  });
  it('an alias that another Ingress has as a host is ignored with a warning naming that Ingress; the host keeps its server', () => {
    const model = build([site('a', 'a.example.net', { 'server-alias': 'b.example.net, c.example.net' }), site('b', 'b.example.net', {}, { created: '2025-01-01T00:00:00Z' })]);
    assert.deepEqual(serverOf(model, 'a.example.net')?.aliases, ['c.example.net']);
    assert.deepEqual(messages(nameProblems(model)), [`${ALIAS}: Invalid value: "b.example.net": ignored: b.example.net is a host of Ingress default/b`]);
    assert.equal(nameProblems(model)[0]!.object.name, 'a');
    assert.equal(served(model, 'b.example.net'), 'svc-b', 'a host beats an alias, even of an older Ingress');
  });
  it('two Ingresses asking for the same alias: the older gets it, whatever the order; the newer is told who has it', () => {
    const objects = [site('new', 'n.example.net', { 'server-alias': 'x.example.net' }, { created: '2025-01-01T00:00:00Z' }), site('old', 'o.example.net', { 'server-alias': 'x.example.net' })];
    for (const order of [objects, [...objects].reverse()]) {
      const model = build(order);
      assert.deepEqual(serverOf(model, 'o.example.net')?.aliases, ['x.example.net']);
      assert.equal(serverOf(model, 'n.example.net')?.aliases, undefined);
      assert.deepEqual(messages(nameProblems(model)), [`${ALIAS}: Invalid value: "x.example.net": ignored: x.example.net is already an alias of host o.example.net (older Ingress default/old)`]);
      assert.equal(nameProblems(model)[0]!.object.name, 'new');
      assert.equal(served(model, 'x.example.net'), 'svc-old');
    }
  });
  it('same creationTimestamp: the lower UID wins', () => {
    const model = build([site('p', 'p.example.net', { 'server-alias': 'x.example.net' }, { uid: 'b' }), site('q', 'q.example.net', { 'server-alias': 'x.example.net' }, { uid: 'a' })]);
    assert.deepEqual(serverOf(model, 'q.example.net')?.aliases, ['x.example.net']);
    assert.deepEqual(nameProblems(model).map((p) => p.object.name), ['p']);
  });
  it('two Ingresses on one host: the oldest one that sets server-alias names the host (ingress-nginx: "aliases already configured")', () => {
    const model = build([
      site('first', 'h.example.net'),
      ingress('second', [rule('h.example.net', path('/b', 'Prefix', 'svc-b'))], { annotations: { [`${AN}server-alias`]: 'b.example.net' }, created: '2024-06-01T00:00:00Z' }),
      ingress('third', [rule('h.example.net', path('/c', 'Prefix', 'svc-c'))], { annotations: { [`${AN}server-alias`]: 'c.example.net' }, created: '2025-01-01T00:00:00Z' }),
    ]);
    assert.deepEqual(serverOf(model, 'h.example.net')?.aliases, ['b.example.net']);
    assert.deepEqual(messages(nameProblems(model)), [`${ALIAS}: Invalid value: "c.example.net": ignored for host h.example.net: older Ingress default/second sets the aliases of this host`]);
  });
  it('one Ingress with two hosts: the alias goes to the first host, the second is told', () => {
    const model = build([ingress('two', [rule('b.example.net', path('/')), rule('a.example.net', path('/'))], { annotations: { [`${AN}server-alias`]: 'x.example.net' } })]);
    assert.deepEqual(serverOf(model, 'a.example.net')?.aliases, ['x.example.net']);
    assert.equal(serverOf(model, 'b.example.net')?.aliases, undefined);
    assert.deepEqual(messages(nameProblems(model)), [`${ALIAS}: Invalid value: "x.example.net": ignored: x.example.net is already an alias of host a.example.net (this Ingress)`]);
  });
  it('an Ingress whose rules name no host: ignored with a warning', () => {
    const model = build([ingress('nohost', [rule(undefined, path('/'))], { annotations: { [`${AN}server-alias`]: 'x.example.net', [`${AN}from-to-www-redirect`]: 'true' } })]);
    assert.deepEqual(messages(nameProblems(model)), [`${ALIAS}: ignored: no rule of this Ingress names a host`, `${WWW}: ignored: no rule of this Ingress names a host`].sort());
    assert.deepEqual(model.servers, []);
  });
  it('a canary Ingress: ignored with a warning (its primary configures the server)', () => {
    const model = build([site('main', 'm.example.net'), site('can', 'm.example.net', { canary: 'true', 'server-alias': 'x.example.net', 'from-to-www-redirect': 'true' })]);
    assert.equal(serverOf(model, 'm.example.net')?.aliases, undefined);
    assert.equal(serverOf(model, 'm.example.net')?.wwwRedirect, undefined);
    assert.deepEqual(
      messages(nameProblems(model)),
      [WWW, ALIAS].map((f) => `${f}: ignored: canary Ingresses add backends to the paths of other Ingresses and do not configure servers`),
    );
  });
});

describe('from-to-www-redirect', () => {
  it('example.net gets www.example.net as its twin, and www.example.net gets example.net', () => {
    const model = build([site('bare', 'example.net', { 'from-to-www-redirect': 'true' }), site('www', 'www.example.org', { 'from-to-www-redirect': 'True' })]);
    assert.deepEqual(serverOf(model, 'example.net')?.wwwRedirect, { from: 'www.example.net', tls: false });
    assert.deepEqual(serverOf(model, 'www.example.org')?.wwwRedirect, { from: 'example.org', tls: false });
    assert.deepEqual(nameProblems(model), []);
  });
  it('"false" asks for nothing', () => {
    assert.equal(serverOf(build([site('a', 'example.net', { 'from-to-www-redirect': 'false' })]), 'example.net')?.wwwRedirect, undefined);
  });
  it('is ignored with a warning when an Ingress holds the twin (ingress-nginx: "Already exists an Ingress with ... hostname")', () => {
    const model = build([site('bare', 'example.net', { 'from-to-www-redirect': 'true' }), site('www', 'www.example.net', {}, { created: '2025-01-01T00:00:00Z' })]);
    assert.equal(serverOf(model, 'example.net')?.wwwRedirect, undefined);
    assert.deepEqual(messages(nameProblems(model)), [`${WWW}: for host example.net: ignored: www.example.net is a host of Ingress default/www`]);
    assert.equal(served(model, 'www.example.net'), 'svc-www');
  });
  it('both twins with the annotation: each is a host, so neither redirects', () => {
    const model = build([site('bare', 'example.net', { 'from-to-www-redirect': 'true' }), site('www', 'www.example.net', { 'from-to-www-redirect': 'true' })]);
    assert.equal(model.servers.some((s) => s.wwwRedirect), false);
    assert.equal(nameProblems(model).length, 2);
  });
  it('an alias of an older Ingress keeps the name; the redirect is ignored with a warning naming it', () => {
    const model = build([site('aliasing', 'other.example.net', { 'server-alias': 'www.example.net' }), site('bare', 'example.net', { 'from-to-www-redirect': 'true' }, { created: '2025-01-01T00:00:00Z' })]);
    assert.deepEqual(serverOf(model, 'other.example.net')?.aliases, ['www.example.net']);
    assert.equal(serverOf(model, 'example.net')?.wwwRedirect, undefined);
    assert.deepEqual(messages(nameProblems(model)), [`${WWW}: for host example.net: ignored: www.example.net is already an alias of host other.example.net (older Ingress default/aliasing)`]);
  });
  it('a wildcard host has no twin: ignored with a warning', () => {
    const model = build([site('wild', '*.example.net', { 'from-to-www-redirect': 'true' })]);
    assert.equal(model.servers[0]?.wwwRedirect, undefined);
    assert.deepEqual(messages(nameProblems(model)), [`${WWW}: ignored for host *.example.net: a wildcard host has no www twin`]);
  });
  it('asked for by any Ingress with a location on the host (ingress-nginx: RedirectFromToWWW of the server)', () => {
    const model = build([site('plain', 'example.net'), ingress('more', [rule('example.net', path('/more'))], { annotations: { [`${AN}from-to-www-redirect`]: 'true' }, created: '2025-01-01T00:00:00Z' })]);
    assert.deepEqual(serverOf(model, 'example.net')?.wwwRedirect, { from: 'www.example.net', tls: false });
  });
});

describe('HTTPS for the extra names: the host\'s certificate must cover them', () => {
  // CERT covers example.com and *.example.com.
  const secret = tlsSecret('cert', CERT, KEY);
  it('the redirect works over HTTPS when the certificate covers the twin (exactly or by a wildcard)', () => {
    const model = build([site('www', 'www.example.com', { 'from-to-www-redirect': 'true' }, { tls: true }), secret]);
    assert.deepEqual(serverOf(model, 'www.example.com')?.wwwRedirect, { from: 'example.com', tls: true });
    const bare = build([site('bare', 'example.com', { 'from-to-www-redirect': 'true' }, { tls: true }), secret]);
    assert.deepEqual(serverOf(bare, 'example.com')?.wwwRedirect, { from: 'www.example.com', tls: true });
    assert.deepEqual(nameProblems(bare), []);
  });
  it('over HTTP only, with a warning, when the certificate does not cover the twin', () => {
    const model = build([site('deep', 'shop.example.com', { 'from-to-www-redirect': 'true' }, { tls: true }), secret]);
    assert.deepEqual(serverOf(model, 'shop.example.com')?.wwwRedirect, { from: 'www.shop.example.com', tls: false });
    assert.deepEqual(messages(nameProblems(model)), [
      `${WWW}: for host shop.example.com: www.shop.example.com is redirected over HTTP only: the certificate of the host (Secret cert) does not cover it`,
    ]);
  });
  it('an alias the certificate covers gets no warning; one it does not is kept with a warning', () => {
    const model = build([site('a', 'example.com', { 'server-alias': 'api.example.com, other.test' }, { tls: true }), secret]);
    assert.deepEqual(serverOf(model, 'example.com')?.aliases, ['api.example.com', 'other.test']);
    assert.deepEqual(messages(nameProblems(model)), [
      `${ALIAS}: Invalid value: "other.test": the certificate of host example.com (Secret cert) does not cover this name: HTTPS clients will refuse it`,
    ]);
    assert.equal(nameProblems(model)[0]!.severity, 'warning');
  });
});
