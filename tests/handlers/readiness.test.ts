// /readyz's meaning, table-driven: ready once the view is synced and no required API is missing; an
// optional API that is missing (the Gateway API on a cluster without its CRDs) is named, logged once
// as a warning with what wharf does without it, and does not make the handler unready.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiPresence } from '../../src/cluster/api-presence.ts';
import { createLogger } from '../../src/log.ts';
import { readinessReport } from '../../src/handlers/readiness.ts';

function presenceWith(needs: ConstructorParameters<typeof ApiPresence>[0]['needs']) {
  const lines: Record<string, unknown>[] = [];
  const changes: string[][] = [];
  const presence = new ApiPresence({ log: createLogger({}, (l) => lines.push(JSON.parse(l))), needs, onChange: (m, appeared) => changes.push([...m.map((x) => x.groupVersion), ...appeared.map((a) => `+${a.groupVersion}`)]) });
  return { presence, lines, changes };
}

test('a missing optional API is named in /readyz and logged once as a warning; it does not make the handler unready', () => {
  const { presence, lines, changes } = presenceWith({ EndpointSlice: { required: false, withoutIt: 'wharf serves Ingress only' } });
  presence.absent({ kind: 'EndpointSlice', namespace: '' });
  presence.absent({ kind: 'EndpointSlice', namespace: '' });
  const report = readinessReport({
    synced: true,
    missingApis: presence.missing(),
    streams: [{ stream: 'EndpointSlice', state: 'not-served', required: false, reason: 'the API server does not serve discovery.k8s.io/v1: wharf serves Ingress only' }],
  });
  assert.equal(report.ready, true);
  assert.deepEqual(report.waiting, []);
  assert.deepEqual(report.missingApis.map((m) => [m.groupVersion, m.required, m.withoutIt]), [['discovery.k8s.io/v1', false, 'wharf serves Ingress only']]);
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.level, 'warn');
  assert.match(String(lines[0]!.msg), /does not serve discovery\.k8s\.io\/v1 \(EndpointSlice\): wharf serves Ingress only/);
  presence.present({ kind: 'EndpointSlice', namespace: '' });
  assert.deepEqual(presence.missing(), []);
  assert.deepEqual(changes, [['discovery.k8s.io/v1'], ['+discovery.k8s.io/v1']]);
});

test('readiness: what makes /readyz answer 503, and what it names', () => {
  const missingRequired = { groupVersion: 'discovery.k8s.io/v1', kinds: ['EndpointSlice' as const], required: true, withoutIt: 'wharf cannot route', since: '' };
  const cases: Record<string, { input: Parameters<typeof readinessReport>[0]; ready: boolean; waiting: string[] }> = {
    'synced, everything served': { input: { synced: true, missingApis: [], streams: [{ stream: 'Ingress', state: 'listed' }] }, ready: true, waiting: [] },
    'a stream still listing': { input: { synced: false, missingApis: [], streams: [{ stream: 'Ingress', state: 'waiting', reason: 'listing Ingress: HTTP 403 Forbidden' }] }, ready: false, waiting: ['Ingress: listing Ingress: HTTP 403 Forbidden'] },
    'synced without a required API': {
      input: { synced: true, missingApis: [missingRequired], streams: [{ stream: 'EndpointSlice', state: 'not-served', required: true, reason: 'not served' }] },
      ready: false,
      waiting: ['EndpointSlice: not served'],
    },
    'no watches, first list failing': { input: { synced: false, missingApis: [], listError: 'listing Ingress: ECONNREFUSED' }, ready: false, waiting: ['cluster: listing Ingress: ECONNREFUSED'] },
  };
  for (const [name, c] of Object.entries(cases)) {
    const r = readinessReport(c.input);
    assert.equal(r.ready, c.ready, name);
    assert.deepEqual(r.waiting.map((w) => `${w.stream}: ${w.reason}`), c.waiting, name);
  }
});
