// The fault run of `npm run bench:events -- --fault`: how long NGINX routes from stale EndpointSlices
// when the handler's watch of the API server is cut, as on a real cluster. A `wharf handler` with a
// kubeconfig (the test API server, in this process) and a `wharf agent` with its NGINX, as child
// processes; no CloudEvents: every change reaches NGINX through the handler's own watches.
//   1. A busy EndpointSlice stream: other slices rewritten every 50 ms throughout.
//   2. The floor: the measured slice flipped between two backends, each flip timed from the write
//      in the API server until NGINX routes to the new backend (watch_change_to_nginx_ms_*).
//   3. An outage of BENCH_OUTAGE_S (15) seconds: nothing listens on the API server's port; then it
//      is back and one flip is timed (outage_recovery_ms: the backoff the outage ran up).
//   4. A healthy period of BENCH_HEALTHY_S (30) seconds, then BENCH_CUTS (5) cuts of the busy
//      EndpointSlice watch (a connection reset) 2 s apart, each followed at once by a flip, timed:
//      watch_recovery_ms (target: ≤ 1,000 for the longest).
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBackend, type Backend } from '../tests/support/backend.ts';
import { FakeApiServer } from '../tests/support/kube-apiserver.ts';
import { endpointSlice, ingress, ingressClass, service } from '../tests/support/kube-apiserver-fixtures.ts';
import { percentile, send, startAgentProcess, startHandlerProcess, tokenFile } from './handler-process.ts';

const NS = 'bench';
const HOST = 'fault.example.com';

export interface FaultRunOptions {
  outageS: number;
  healthyS: number;
  cuts: number;
  floorSamples: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the fault run; resolves with its figures (for the benchmark's JSON line). */
export async function runWatchFault(o: FaultRunOptions): Promise<Record<string, unknown>> {
  const token = randomBytes(24).toString('hex');
  const tf = tokenFile(token);
  const api = await FakeApiServer.start();
  const [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
  const kubeconfig = join(tf.dir, 'kubeconfig');
  writeFileSync(kubeconfig, api.kubeconfigYaml('handler'));
  api.put(ingressClass('wharf'));
  api.put(service('web', NS));
  api.put(ingress('web', NS, HOST, 'wharf'));
  api.put(service('noise', NS));
  const slice = (to: Backend) => api.put({ ...endpointSlice('web-x', 'web', NS, ['127.0.0.1']), ports: [{ port: to.port, protocol: 'TCP' }] });
  slice(a);
  const started: { stop(): Promise<void> }[] = [];
  let nginx = '';
  const routesTo = async (to: Backend): Promise<boolean> => {
    const r = await send(nginx, 'GET', { host: HOST });
    return r.status === 200 && (JSON.parse(r.body) as { backend: string }).backend === to.name;
  };
  let current = a;
  /** Points the slice at the other backend in the API server; ms until NGINX routes there. */
  const flip = async (limitMs = 120_000): Promise<number> => {
    current = current === a ? b : a;
    const started = performance.now();
    slice(current);
    while (!(await routesTo(current))) {
      if (performance.now() - started > limitMs) throw new Error(`NGINX did not route to ${current.name} within ${limitMs} ms`);
    }
    return performance.now() - started;
  };
  // The busy stream: 20 other slices, one rewritten every 50 ms, whatever else happens.
  let n = 0;
  const noise = setInterval(() => {
    const i = n++;
    api.put(endpointSlice(`noise-${i % 20}`, 'noise', NS, [`10.1.${(i >> 8) & 255}.${i & 255}`]));
  }, 50);
  try {
    const agent = await startAgentProcess({ tokenPath: tf.path });
    started.push(agent);
    started.push(await startHandlerProcess({ tokenPath: tf.path, agents: [agent.url], kubeconfig }));
    nginx = `http://127.0.0.1:${agent.httpPort}/`;
    const deadline = Date.now() + 30_000;
    while (!(await routesTo(a))) {
      if (Date.now() > deadline) throw new Error(`NGINX never routed ${HOST} to backend a`);
      await sleep(20);
    }
    const floor: number[] = [];
    for (let i = 0; i < o.floorSamples; i++) {
      floor.push(await flip());
      await sleep(50);
    }
    api.down('refuse');
    await sleep(o.outageS * 1000);
    await api.up();
    const outageRecovery = await flip();
    await sleep(o.healthyS * 1000);
    const recoveries: number[] = [];
    for (let i = 0; i < o.cuts; i++) {
      if (i > 0) await sleep(2000);
      const cut = api.cutWatches({ kind: 'EndpointSlice' });
      if (cut.cuts !== 1) throw new Error(`expected one EndpointSlice watch to cut, found ${cut.cuts}`);
      recoveries.push(await flip());
    }
    floor.sort((x, y) => x - y);
    return {
      fault_outage_s: o.outageS,
      fault_healthy_s: o.healthyS,
      watch_change_to_nginx_ms_p50: Number(percentile(floor, 50).toFixed(2)),
      watch_change_to_nginx_ms_p99: Number(percentile(floor, 99).toFixed(2)),
      outage_recovery_ms: Math.round(outageRecovery),
      watch_recovery_ms: recoveries.map((ms) => Math.round(ms)),
      watch_recovery_ms_max: Math.round(Math.max(...recoveries)),
    };
  } finally {
    clearInterval(noise);
    for (const child of started.reverse()) await child.stop();
    await Promise.all([a.close(), b.close(), api.close()]);
    tf.remove();
  }
}
