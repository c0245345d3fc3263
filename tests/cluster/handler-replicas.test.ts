// Two handler replicas (startHandler, as `wharf handler` runs them) against one fake API server, each
// with its own credentials so every request is attributed, pushing to an agent stand-in over HTTP.
// No event source: each replica's view must follow the API server through its own watches; every
// Ingress's status must be written by one replica only, while the publish address keeps changing;
// Events must say what the model and NGINX (through the agent's quarantine) concluded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeApiServer } from '../support/kube-apiserver.ts';
import { startHandlerAgainst } from '../support/handler-against-api.ts';
import { ingress, ingressClass, service } from '../support/kube-apiserver-fixtures.ts';
import type { Obj } from '../support/kube-apiserver-store.ts';
import { eventually } from '../support/http.ts';
import { type RunningHandler } from '../../src/handlers/serve.ts';

const NAMES = Array.from({ length: 12 }, (_, i) => `app-${i}`);

type Hooks = { after: (fn: () => Promise<unknown> | void) => void };

/** An agent's API stand-in: takes every push, and reports `quarantined` in GET /v1/state. */
async function agentStandIn(t: Hooks) {
  const quarantined = new Map<string, string>();
  let batches = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://agent');
      let body: unknown = {};
      if (req.method === 'POST' && url.pathname === '/v1/batch') {
        batches++;
        body = { version: batches, fragments: [], endpoints: [] };
      } else if (url.pathname.startsWith('/v1/endpoints/')) body = { upstream: '', revision: 0, status: 'applied', via: 'lua' };
      else if (url.pathname === '/v1/state') {
        const fragments = [...quarantined].map(([name, error]) => ({ name, revision: 1, status: 'quarantined', error, version: 1, deleted: false }));
        body = { counts: { quarantined: quarantined.size }, fragments: url.searchParams.get('summary') ? [] : fragments, endpoints: [] };
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(
    () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, quarantined, batches: () => batches };
}

async function replica(t: Hooks, api: FakeApiServer, identity: string, agent: string): Promise<RunningHandler> {
  const running = await startHandlerAgainst(api, { identity, agents: [agent], configMap: true, quarantinePollMs: 100 });
  t.after(() => running.close());
  return running;
}

const lb = (ip: string): Obj => ({ ...service('wharf-nginx', 'wharf', { type: 'LoadBalancer' }), status: { loadBalancer: { ingress: [{ ip }] } } });
const allAt = (api: FakeApiServer, ip: string) => NAMES.every((n) => api.get('Ingress', 'default', n)!.status?.loadBalancer?.ingress?.[0]?.ip === ip);
const eventsOf = (api: FakeApiServer, name: string) => api.list('Event').filter((e) => e.involvedObject.name === name);

/** Users that sent a status write (PATCH …/status) for each Ingress. */
function statusWriters(api: FakeApiServer): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  for (const r of api.requests) {
    if (r.method !== 'PATCH' || !r.path.endsWith('/status')) continue;
    const name = r.path.split('/').at(-2)!;
    m.set(name, (m.get(name) ?? new Set()).add(r.user));
  }
  return m;
}

test('two replicas fed by their own watches: both views follow the API server, each status has one writer, Events say what the model and NGINX concluded', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  const agent = await agentStandIn(t);
  api.put(ingressClass('wharf'));
  api.put(lb('192.0.2.1'));
  for (const name of NAMES) api.put(ingress(name));
  api.put(service('app-0'));

  const [a, b] = await Promise.all([replica(t, api, 'wharf-a', agent.url), replica(t, api, 'wharf-b', agent.url)]);
  await eventually(() => a.status!.membership.members().length === 2 && b.status!.membership.members().length === 2, 5000);

  // Both views follow the API server with no event at all: a new host appears in both replicas'
  // desired configuration, and leaves both when its Ingress is deleted.
  api.put(ingress('late', 'default', 'late.example.com'));
  assert.ok(await eventually(() => a.handler.desired.fragment('late.example.com') && b.handler.desired.fragment('late.example.com'), 5000), 'both replicas render the new host');
  api.remove('Ingress', 'default', 'late');
  assert.ok(await eventually(() => !a.handler.desired.fragment('late.example.com') && !b.handler.desired.fragment('late.example.com'), 5000), 'both replicas drop it');
  assert.ok(agent.batches() > 0, 'the agent got pushes');

  // Status: each Ingress written by one replica only, though the address keeps changing; the work
  // is shared between them.
  for (const ip of ['192.0.2.2', '192.0.2.3', '192.0.2.4']) {
    api.put(lb(ip));
    const shown = () => NAMES.map((n) => `${n}=${api.get('Ingress', 'default', n)!.status?.loadBalancer?.ingress?.[0]?.ip}`).join(' ');
    assert.ok(await eventually(() => allAt(api, ip), 10_000), `every Ingress shows ${ip}: ${shown()}`);
  }
  const writers = statusWriters(api);
  for (const name of NAMES) assert.equal(writers.get(name)?.size, 1, `${name} written by ${[...(writers.get(name) ?? [])].join(', ')}`);
  assert.deepEqual(new Set([...writers.values()].flatMap((s) => [...s])), new Set(['wharf-a', 'wharf-b']), 'both replicas write a share');
  for (const name of NAMES) assert.deepEqual(eventsOf(api, name).map((e) => e.count), [1], `${name}: said once, by its owner`);

  // An Ingress the model rejects gets a Rejected Event that says why.
  api.put({ ...ingress('bad', 'default', 'bad.example.com'), metadata: { name: 'bad', namespace: 'default', annotations: { 'nginx.ingress.kubernetes.io/configuration-snippet': 'return 200;' } } });
  const rejected = await eventually(() => eventsOf(api, 'bad').find((e) => e.reason === 'Rejected'), 5000);
  assert.match(rejected?.message ?? '', /configuration-snippet/);

  // NGINX refused the fragment that carries app-1 (the agent quarantined it): its Event says so,
  // with NGINX's error line; when the agent no longer reports it, the Event it had before (added, with
  // a warning: its Service does not exist) is said again.
  const line = 'nginx: [emerg] invalid number of arguments in "proxy_pass" directive in fragments/app-1.example.com.conf:7';
  agent.quarantined.set('app-1.example.com', line);
  const refused = await eventually(() => eventsOf(api, 'app-1').find((e) => e.reason === 'Rejected'), 5000);
  assert.equal(refused?.message, `default/app-1 was rejected: NGINX refused the configuration that carries it: ${line}`);
  agent.quarantined.clear();
  const again = await eventually(() => eventsOf(api, 'app-1').find((e) => e.reason === 'AddedOrUpdatedWithWarning' && e.count === 2), 5000);
  assert.ok(again, `said again once NGINX took it: ${JSON.stringify(eventsOf(api, 'app-1').map((e) => [e.reason, e.count]))}`);
});
