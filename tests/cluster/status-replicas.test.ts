// Two handler replicas writing Ingress status through the same fake API server, each with its own
// credentials so every write attempt is attributed: they split the Ingresses (each Ingress's status
// is written by one of them), and when one leaves, is cut off from the API server, or joins, an
// Ingress's writes pass from one to the other once and never interleave. The publish address flips
// all the time, so a replica that wrongly thought it owned an Ingress would show up at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeApiServer } from '../support/kube-apiserver.ts';
import { ingress, quietLog, service } from '../support/kube-apiserver-fixtures.ts';
import { eventually } from '../support/http.ts';
import { makeClients } from '../../src/cluster/kubernetes-client.ts';
import { ReplicaMembership } from '../../src/cluster/status-members.ts';
import { IngressStatusWriter } from '../../src/cluster/status-writer.ts';

const R = 100;
const L = 1500;
const NAMES = Array.from({ length: 16 }, (_, i) => `app-${i}`);

type Hooks = { after: (fn: () => Promise<void>) => void };

async function replica(t: Hooks, api: FakeApiServer, identity: string) {
  const clients = makeClients(api.kubeConfig(identity));
  const membership = new ReplicaMembership({ clients, namespace: 'wharf', identity, log: quietLog, renewIntervalMs: R, leaseDurationMs: L });
  const writer = new IngressStatusWriter({ clients, log: quietLog, publish: { service: { namespace: 'wharf', name: 'wharf' } }, ownership: membership, instance: identity, retryMs: 50, watch: { backoff: { baseMs: 20 } } });
  let stopped = false;
  const stop = async (release = true) => {
    if (stopped) return;
    stopped = true;
    await writer.stop();
    await membership.stop(release);
  };
  t.after(() => stop());
  const started = Date.now();
  await membership.start();
  await writer.start();
  // What the handler of this replica concluded: every Ingress is ours.
  for (const name of NAMES) writer.set({ namespace: 'default', name, handled: true, problems: [] });
  return { membership, writer, stop, started };
}

const lb = (ip: string) => ({ ...service('wharf', 'wharf', { type: 'LoadBalancer' }), status: { loadBalancer: { ingress: [{ ip }] } } });
const allAt = (api: FakeApiServer, ip: string) => NAMES.every((n) => api.get('Ingress', 'default', n)!.status?.loadBalancer?.ingress?.[0]?.ip === ip);

/** Every status write attempt (PATCH, whatever its answer), per Ingress, in arrival order. */
function attempts(api: FakeApiServer, since = 0): Map<string, { user: string; at: number }[]> {
  const m = new Map<string, { user: string; at: number }[]>();
  for (const r of api.requests) {
    if (r.method !== 'PATCH' || !r.path.endsWith('/status') || r.at < since) continue;
    const name = r.path.split('/').at(-2)!;
    m.set(name, [...(m.get(name) ?? []), { user: r.user, at: r.at }]);
  }
  return m;
}

/** Writers of one Ingress in order, runs collapsed: "a", "a b" (one hand-over), "a b a" (interleaved). */
const runs = (list: { user: string }[]) => list.map((x) => x.user.replace('wharf-', '')).filter((u, i, all) => i === 0 || all[i - 1] !== u).join(' ');

/** Flips the publish address every `everyMs` until stopped; returns the last address set. */
function flipping(api: FakeApiServer, everyMs = 60) {
  let n = 10;
  let last = '';
  const timer = setInterval(() => {
    last = `192.0.2.${n++}`;
    api.put(lb(last));
  }, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      return last;
    },
  };
}

async function cluster(t: Hooks) {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  for (const name of NAMES) api.put(ingress(name));
  return api;
}

test('two replicas split the Ingresses: each status is written by one of them; one that leaves hands its share over at once', async (t) => {
  const api = await cluster(t);
  const a = await replica(t, api, 'wharf-a');
  const b = await replica(t, api, 'wharf-b');
  await eventually(() => a.membership.members().length === 2 && b.membership.members().length === 2, 5000);
  for (const ip of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) {
    api.put(lb(ip));
    await eventually(() => allAt(api, ip), 5000);
  }
  const writers = attempts(api);
  assert.equal(writers.size, NAMES.length);
  for (const [name, list] of writers) assert.equal(new Set(list.map((x) => x.user)).size, 1, `${name} written by ${runs(list)}`);
  const users = new Set([...writers.values()].map((l) => l[0]!.user));
  assert.deepEqual([...users].sort(), ['wharf-a', 'wharf-b'], 'the work is shared');
  // Leases: one per replica, labelled for the group, renewed with microsecond times.
  const leases = api.list('Lease');
  assert.deepEqual(leases.map((l) => l.spec.holderIdentity).sort(), ['wharf-a', 'wharf-b']);
  assert.match(leases[0]!.spec.renewTime, /\.\d{6}Z$/);

  const left = Date.now();
  await a.stop();
  assert.equal(api.list('Lease').length, 1, 'the leaving replica released its Lease');
  api.put(lb('192.0.2.4'));
  await eventually(() => allAt(api, '192.0.2.4'), 5000);
  assert.ok(Date.now() - left < L, `taken over in ${Date.now() - left} ms, before a Lease would have expired`);
  for (const [name, list] of attempts(api, left)) assert.deepEqual(new Set(list.map((x) => x.user)), new Set(['wharf-b']), name);
});

test('a replica cut off from the API server stops writing by itself before the other takes its Ingresses over', async (t) => {
  const api = await cluster(t);
  api.put(lb('192.0.2.1'));
  const a = await replica(t, api, 'wharf-a');
  const b = await replica(t, api, 'wharf-b');
  await eventually(() => a.membership.members().length === 2 && b.membership.members().length === 2 && allAt(api, '192.0.2.1'), 5000);
  const flips = flipping(api);
  await new Promise((r) => setTimeout(r, 300));
  // Replica A can no longer renew its Lease (nor list its peers), but keeps running and watching.
  const cut = Date.now();
  api.fail((r) => r.user === 'wharf-a' && r.path.includes('/leases'), 503, 1_000_000);
  await eventually(() => b.membership.members().join() === 'wharf-b', 10_000);
  await new Promise((r) => setTimeout(r, 400));
  const last = flips.stop();
  await eventually(() => allAt(api, last), 5000);
  assert.equal(a.membership.active, false);

  const byIngress = attempts(api);
  const handedOver = [...byIngress.entries()].filter(([, l]) => runs(l) === 'a b');
  for (const [name, list] of byIngress) assert.ok(['a', 'b', 'a b'].includes(runs(list)) && runs(list) !== 'a', `${name}: ${runs(list)}`);
  assert.ok(handedOver.length > 0, "A's Ingresses were taken over");
  const lastA = Math.max(...[...byIngress.values()].flat().filter((x) => x.user === 'wharf-a').map((x) => x.at));
  assert.ok(lastA < cut + L - R + 50, `A wrote ${lastA - cut} ms after being cut off`);
  await a.stop(false);
});

test('a replica that joins takes its share only after every writer has seen it, and each Ingress changes hands once', async (t) => {
  const api = await cluster(t);
  api.put(lb('192.0.2.1'));
  const a = await replica(t, api, 'wharf-a');
  await eventually(() => allAt(api, '192.0.2.1'), 5000);
  assert.equal(new Set([...attempts(api).values()].flat().map((x) => x.user)).size, 1, 'alone, A writes everything');
  const flips = flipping(api);
  await new Promise((r) => setTimeout(r, 200));
  const b = await replica(t, api, 'wharf-b');
  await eventually(() => a.membership.members().length === 2 && b.membership.members().length === 2, 5000);
  await new Promise((r) => setTimeout(r, 400));
  const last = flips.stop();
  await eventually(() => allAt(api, last), 5000);

  const byIngress = attempts(api);
  for (const [name, list] of byIngress) assert.ok(['a', 'a b'].includes(runs(list)), `${name}: ${runs(list)}`);
  const moved = [...byIngress.values()].filter((l) => runs(l) === 'a b');
  assert.ok(moved.length > 0 && moved.length < NAMES.length, `${moved.length} of ${NAMES.length} moved to B`);
  const firstB = Math.min(...moved.map((l) => l.find((x) => x.user === 'wharf-b')!.at));
  assert.ok(firstB - b.started >= 3 * R, `B wrote ${firstB - b.started} ms after starting`);
});
