// Local mode's stand-in for the API server: a folder of manifests read into objects, every problem
// named by file, document and reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readManifests, parseManifestText, endpointsToSlices } from '../../src/cluster/manifests.ts';

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-manifests-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const svc = (name: string, ns?: string) =>
  `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n${ns ? `  namespace: ${ns}\n` : ''}spec:\n  ports: [{port: 80}]\n`;

test('multi-document files, sub-folders and List objects are read; namespace defaults to "default"', async () => {
  const dir = folder({
    'a.yaml': `${svc('tea')}---\n${svc('coffee', 'cafe')}`,
    'sub/b.yml': `apiVersion: v1\nkind: List\nitems:\n- ${svc('milk').replace(/\n/g, '\n  ').trimEnd()}\n`,
    'notes.txt': 'not a manifest',
    '.hidden.yaml': svc('hidden'),
  });
  const r = await readManifests(dir);
  assert.deepEqual(r.problems, []);
  assert.deepEqual(
    r.objects.map((o) => [o.kind, o.key, o.file, o.index]),
    [
      ['Service', 'default/tea', 'a.yaml', 0],
      ['Service', 'cafe/coffee', 'a.yaml', 1],
      ['Service', 'default/milk', 'sub/b.yml', 0],
    ],
  );
});

test('a YAML syntax error names the file, the document and the line, and the other documents still load', async () => {
  const dir = folder({ 'cafe.yaml': `${svc('tea')}---\nkind: Service\nmetadata: {name: [broken\n---\n${svc('coffee')}` });
  const r = await readManifests(dir);
  assert.equal(r.problems.length, 1);
  assert.equal(r.problems[0]!.file, 'cafe.yaml');
  assert.equal(r.problems[0]!.index, 1);
  assert.match(r.problems[0]!.message, /^YAML syntax error at line \d+, column \d+/);
  assert.deepEqual(r.objects.map((o) => o.key), ['default/tea', 'default/coffee']);
  assert.ok(r.brokenFiles.has('cafe.yaml'));
});

test('objects without kind, name or apiVersion are refused with the missing field', () => {
  const out = parseManifestText('kind: Service\nmetadata: {name: x}\n---\napiVersion: v1\nkind: Service\nmetadata: {}\n---\n- 1\n', 'f.yaml');
  assert.deepEqual(
    out.map((p) => ('message' in p ? [p.index, p.message] : null)),
    [
      [0, 'apiVersion: Required value'],
      [1, 'metadata.name: Required value'],
      [2, 'not a Kubernetes object: expected a mapping with apiVersion, kind and metadata'],
    ],
  );
});

test('kinds wharf does not read are a warning, not an error', () => {
  const [p] = parseManifestText('apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n', 'd.yaml');
  assert.ok(p && 'message' in p);
  assert.equal(p.severity, 'warning');
  assert.match(p.message, /^Deployment web: ignored/);
});

test('a duplicate object keeps its first definition and reports the second with both places', async () => {
  const dir = folder({ 'a.yaml': svc('tea'), 'b.yaml': svc('tea') });
  const r = await readManifests(dir);
  assert.equal(r.objects.length, 1);
  assert.equal(r.objects[0]!.file, 'a.yaml');
  assert.match(r.problems[0]!.message, /duplicate Service default\/tea: already defined in a\.yaml \(document 0\)/);
  assert.equal(r.problems[0]!.file, 'b.yaml');
});

test('core v1 Endpoints become one EndpointSlice per subset, ready and not-ready kept apart', () => {
  const slices = endpointsToSlices({
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'tea', namespace: 'default' },
    subsets: [
      { addresses: [{ ip: '127.0.0.1' }], notReadyAddresses: [{ ip: '127.0.0.2' }], ports: [{ name: 'http', port: 9001 }] },
      { addresses: [{ ip: '::1' }], ports: [{ name: 'http', port: 9002 }] },
    ],
  });
  assert.deepEqual(slices, [
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'tea-endpoints-0', namespace: 'default', labels: { 'kubernetes.io/service-name': 'tea' } },
      addressType: 'IPv4',
      endpoints: [
        { addresses: ['127.0.0.1'], conditions: { ready: true } },
        { addresses: ['127.0.0.2'], conditions: { ready: false } },
      ],
      ports: [{ name: 'http', port: 9001, protocol: 'TCP' }],
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'tea-endpoints-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'tea' } },
      addressType: 'IPv6',
      endpoints: [{ addresses: ['::1'], conditions: { ready: true } }],
      ports: [{ name: 'http', port: 9002, protocol: 'TCP' }],
    },
  ]);
});

test('the cafe example reads without problems', async () => {
  const r = await readManifests(new URL('../../examples/cafe', import.meta.url).pathname);
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.objects.map((o) => `${o.kind} ${o.key}`).sort(), [
    'EndpointSlice default/coffee-endpoints-0',
    'EndpointSlice default/coffee-endpoints-1',
    'EndpointSlice default/tea-local',
    'EndpointSlice default/tea-local-2',
    'Ingress default/cafe',
    'Ingress default/cafe-menu',
    'Ingress default/old-cafe',
    'IngressClass wharf',
    'Secret default/cafe-tls',
    'Service default/coffee',
    'Service default/tea',
  ]);
});
