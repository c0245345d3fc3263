// The stream-side file of a passthrough host (src/render/passthrough.ts): its SNI map line, whose
// value is the model's upstream name (the agent keeps that upstream's endpoints; the fragment holds none).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { passthroughFiles, passthroughUpstreamOf, renderPassthroughMapLine } from '../../src/render/passthrough.ts';
import { UnsafeValueError } from '../../src/render/filters.ts';

test('map lines: a name as is, an Ingress wildcard one label deep, a Gateway API wildcard any depth; the value is the upstream', () => {
  assert.equal(renderPassthroughMapLine('a.example.com', 'default-pass-a-443'), 'a.example.com default-pass-a-443;\n');
  assert.equal(renderPassthroughMapLine('*.example.com', 'default-pass-a-443'), '"~^[^.]+\\.example\\.com$" default-pass-a-443;\n');
  assert.equal(renderPassthroughMapLine('*.example.com', 'default-pass-a-443', true), '*.example.com default-pass-a-443;\n');
  assert.deepEqual(Object.keys(passthroughFiles('a.example.com', 'default-pass-a-443')), ['passthrough.map'], 'no endpoint in the fragment');
});

test('the agent reads the upstream back from the line, whatever the key', () => {
  for (const [host, deep] of [['a.example.com', false], ['*.example.com', false], ['*.example.com', true]] as const) {
    assert.equal(passthroughUpstreamOf(renderPassthroughMapLine(host, 'ns-svc-8443', deep)), 'ns-svc-8443');
  }
  assert.equal(passthroughUpstreamOf('a.example.com ../../etc/passwd;\n'), null, 'a value that is no upstream name is not a file name either');
});

test('a host or an upstream NGINX would read as syntax is refused', () => {
  assert.throws(() => renderPassthroughMapLine('a.example.com default', 'x'), UnsafeValueError);
  assert.throws(() => renderPassthroughMapLine('a.example.com', 'x; include /etc/passwd'), UnsafeValueError);
  assert.throws(() => renderPassthroughMapLine('a.example.com', 'X'), UnsafeValueError);
});
