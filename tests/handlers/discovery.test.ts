// Agents found through the view (--agent-service): the EndpointSlices of the agents' Service say
// where they are; a new agent gets the full snapshot, a terminating one is dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryReader } from '../../src/cluster/view-memory-reader.ts';
import { startHandler } from '../../src/handlers/serve.ts';
import { startTestAgent } from '../agent/harness.ts';
import { eventually } from '../support/http.ts';
import { TOKEN, binary, ingress, service } from './fixtures.ts';
import { handlerOptions } from './support.ts';

const agentSlice = (terminating: boolean) => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: 'wharf-agents-x1', namespace: 'wharf', labels: { 'kubernetes.io/service-name': 'wharf-agents' } },
  addressType: 'IPv4',
  // Not ready yet (no config): still an agent to push to.
  endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: false, terminating } }],
  ports: [{ name: 'api', port: 7071, protocol: 'TCP' }],
});

test('agents are discovered from their Service, get the snapshot, then every change; terminating ones are dropped', async (t) => {
  const agent = await startTestAgent({ token: TOKEN });
  t.after(() => agent.stop());
  const api = new MemoryReader();
  api.put(service('web'));
  api.put(ingress('cafe', 'cafe.example.com'));
  api.put(agentSlice(false));
  const running = await startHandler(handlerOptions({ agentService: { namespace: 'wharf', name: 'wharf-agents', port: Number(new URL(agent.agent.apiUrl).port) }, reader: api }));
  t.after(() => running.close());
  assert.deepEqual(running.fanout.status().map((s) => s.agent), [agent.agent.apiUrl]);
  const fragments = async () => {
    const res = await fetch(`${agent.agent.apiUrl}/v1/state`, { headers: { authorization: `Bearer ${TOKEN}` } });
    return ((await res.json()) as { fragments: { name: string; deleted: boolean }[] }).fragments.filter((f) => !f.deleted).map((f) => f.name).sort();
  };
  assert.ok(await eventually(async () => (await fragments()).includes('cafe.example.com')), 'the snapshot reached the discovered agent');

  const tea = api.put(ingress('tea', 'tea.example.com'));
  assert.equal((await fetch(`${running.url}/events`, binary('io.wharf.resource.add', tea.object))).status, 200);
  assert.ok(await eventually(async () => (await fragments()).includes('tea.example.com')), 'a later change reached it');

  const leaving = api.put(agentSlice(true));
  assert.equal((await fetch(`${running.url}/events`, binary('io.wharf.resource.update', leaving.object))).status, 200);
  assert.deepEqual(running.fanout.status(), []);
});
