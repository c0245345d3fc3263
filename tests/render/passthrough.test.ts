// The stream-side files of a passthrough host (src/render/passthrough.ts): the one place its
// endpoints reach NGINX (the seam a reload-free stream mechanism replaces), and its SNI map line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { passthroughFiles, passthroughUpstreamName, renderPassthroughMapLine, renderPassthroughUpstream } from '../../src/render/passthrough.ts';
import { UnsafeValueError } from '../../src/render/filters.ts';

test('the upstream holds the ready endpoints; without any, a server marked down closes connections at once', () => {
  const name = passthroughUpstreamName('a.example.com');
  assert.match(name, /^wharf_passthrough_[0-9a-f]{16}$/);
  assert.equal(renderPassthroughUpstream('a.example.com', ['10.0.0.1:8443', '[fd00::1]:8443', '10.0.0.1:8443']), `upstream ${name} {\n    server 10.0.0.1:8443;\n    server [fd00::1]:8443;\n}\n`);
  assert.equal(renderPassthroughUpstream('a.example.com', []), `upstream ${name} {\n    server 127.0.0.1:1 down; # no ready endpoint\n}\n`);
  assert.notEqual(passthroughUpstreamName('b.example.com'), name, 'one upstream per host: two hosts of one Service never declare it twice');
});

test('an endpoint or a host NGINX would read as syntax is refused', () => {
  assert.throws(() => renderPassthroughUpstream('a.example.com', ['10.0.0.1:8443; include /etc/passwd']), UnsafeValueError);
  assert.throws(() => renderPassthroughMapLine('a.example.com default'), UnsafeValueError);
});

test('map lines: a name as is, an Ingress wildcard one label deep, a Gateway API wildcard any depth', () => {
  const up = (h: string) => passthroughUpstreamName(h);
  assert.equal(renderPassthroughMapLine('a.example.com'), `a.example.com ${up('a.example.com')};\n`);
  assert.equal(renderPassthroughMapLine('*.example.com'), `"~^[^.]+\\.example\\.com$" ${up('*.example.com')};\n`);
  assert.equal(renderPassthroughMapLine('*.example.com', true), `*.example.com ${up('*.example.com')};\n`);
  assert.deepEqual(Object.keys(passthroughFiles('a.example.com', null)), ['passthrough.map', 'passthrough-upstream.conf']);
});
