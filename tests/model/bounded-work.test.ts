// The work for one Ingress is linear in its size. It was quadratic: merging each host walked every
// candidate of the Translation, and the translation scanned its rule hosts (and, for TLS, every
// rule host per TLS host), so a review of one Ingress with 10,000 one-host rules took 1.4-2.1 s and
// 20,000 took 4 s, stalling the handler. Compared as a ratio between two sizes of the same Ingress
// (10x the rules: linear work costs 10-35x here, over 50x once on a busy machine, the garbage
// collector's share growing with the heap; the quadratic code cost 148-225x), in this thread's CPU
// time (the best of a few runs), so that the other processes of a loaded machine do not count.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultControllerSettings, parseIngress, RoutingIndex, validateIngress } from '../../src/model/index.ts';

/** One Ingress with `n` rules, one host each, and optionally one TLS entry naming every host. */
function wideIngress(n: number, tls: boolean) {
  const rules = Array.from({ length: n }, (_, i) => ({
    host: `h-${i}.example.com`,
    http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: `svc-${i}`, port: { number: 80 } } } }] },
  }));
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'wide', namespace: 'default', uid: 'u-wide', creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { ingressClassName: 'wharf', rules, ...(tls ? { tls: [{ hosts: rules.map((r) => r.host), secretName: 'wide-cert' }] } : {}) },
  };
}

/**
 * The least CPU time of this thread (ms) for one `work()`, over a few runs: other processes on the
 * machine do not count. The thread's clock may tick in whole jiffies (4 ms here: a 1,000-rule review
 * once read 0.0 ms), so each run repeats the work until 40 ms of it are counted.
 */
function best(runs: number, work: () => void): number {
  const cpuMs = (start: NodeJS.CpuUsage) => {
    const used = process.threadCpuUsage(start);
    return (used.user + used.system) / 1000;
  };
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = process.threadCpuUsage();
    let times = 0;
    do {
      work();
      times++;
    } while (cpuMs(start) < 40);
    min = Math.min(min, cpuMs(start) / times);
  }
  return min;
}

const SMALL = 1000;
const LARGE = 10_000;
const MAX_RATIO = 80;

function ratio(measure: (n: number) => number): { small: number; large: number; ratio: number } {
  measure(SMALL); // warm-up (JIT)
  const small = measure(SMALL);
  const large = measure(LARGE);
  return { small, large, ratio: large / small };
}

describe('work per object is linear in its size', () => {
  for (const tls of [false, true]) {
    it(`a review's cost does not grow with the square of its hosts${tls ? ' (with TLS for every host)' : ''}`, (t) => {
      const index = new RoutingIndex(defaultControllerSettings);
      const r = ratio((n) => {
        const raw = wideIngress(n, tls);
        return best(n === SMALL ? 7 : 3, () => validateIngress(raw, index, defaultControllerSettings));
      });
      t.diagnostic(`${r.ratio.toFixed(1)}x`);
    assert.ok(r.ratio < MAX_RATIO, `${SMALL} rules: ${r.small.toFixed(1)} ms, ${LARGE} rules: ${r.large.toFixed(1)} ms (${r.ratio.toFixed(1)}x for 10x the rules)`);
    });
  }

  it("an event's cost (apply the Ingress, rebuild each of its hosts) does not grow with the square of its hosts", (t) => {
    const r = ratio((n) => {
      const parsed = parseIngress(wideIngress(n, true));
      assert.ok(parsed.ok);
      return best(n === SMALL ? 7 : 3, () => {
        const index = new RoutingIndex(defaultControllerSettings);
        const affected = index.upsert(parsed.value);
        for (const h of affected.hosts) index.server(h);
        assert.equal(affected.hosts.length, n);
      });
    });
    t.diagnostic(`${r.ratio.toFixed(1)}x`);
    assert.ok(r.ratio < MAX_RATIO, `${SMALL} rules: ${r.small.toFixed(1)} ms, ${LARGE} rules: ${r.large.toFixed(1)} ms (${r.ratio.toFixed(1)}x for 10x the rules)`);
  });

  it('the model is the same as before the index by host (locations, TLS, conflicts)', () => {
    // Two Ingresses sharing some hosts, one older: conflicts and TLS resolved per host as before.
    const index = new RoutingIndex(defaultControllerSettings);
    const a = parseIngress(wideIngress(50, true));
    const b = parseIngress({ ...wideIngress(30, false), metadata: { name: 'newer', namespace: 'default', uid: 'u-newer', creationTimestamp: '2026-02-01T00:00:00Z' } });
    assert.ok(a.ok && b.ok);
    index.upsert(a.value);
    index.upsert(b.value);
    const server = index.server('h-7.example.com')!;
    assert.deepEqual(server.locations.map((l) => [l.path, l.source.name]), [['/', 'wide']]);
    assert.equal(server.tls?.secret.name, undefined); // the Secret does not exist: served without TLS
    const conflicts = index.problemsOf('default/newer').filter((p) => p.reason === 'HostPathConflict');
    assert.equal(conflicts.length, 30);
    assert.match(conflicts[0]!.message, /host h-0\.example\.com path is already served by older Ingress default\/wide/);
  });
});
