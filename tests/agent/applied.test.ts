// "applied" means a new connection is certain to get the new configuration, in every worker: NGINX's
// master starts the new workers on a reload and lets the old ones accept for about 100 ms more, so an
// answer given as soon as one new worker serves the new version sends the next client to an old one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from '../support/http.ts';
import { startTestAgent, type TestAgent } from './harness.ts';

const ROUNDS = 100;

let t: TestAgent;
before(async () => {
  t = await startTestAgent({ workerProcesses: 2 });
});
after(async () => {
  await t?.stop();
});

/** A server for `host` that answers which generation of the configuration served the request. */
const generationFragment = (host: string, generation: number) => `server {
    server_name ${host};
    include listen-http.conf;
    location / { return 200 "generation ${generation}\\n"; }
}
`;

test('a request sent right after "applied" is never served by the old configuration (100 reloads, 2 workers)', async () => {
  const stale: string[] = [];
  for (let i = 1; i <= ROUNDS; i++) {
    // Not the harness's api(): it waits for the old workers to retire after ?wait=1, which is the very
    // thing the agent must do itself.
    const res = await fetch(`${t.agent.apiUrl}/v1/fragments/gen.example.com?wait=1`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ revision: i, config: generationFragment('gen.example.com', i) }),
    });
    const result = (await res.json()) as { status: string };
    assert.equal(result.status, 'applied', `round ${i}: ${JSON.stringify(result)}`);
    // At once, on a new connection: whichever worker accepts it must have generation i.
    const r = await request({ port: t.httpPort, host: 'gen.example.com' });
    if (r.body !== `generation ${i}\n`) stale.push(`round ${i}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  assert.deepEqual(stale, [], `${stale.length} of ${ROUNDS} requests got an older configuration after "applied"`);
});
