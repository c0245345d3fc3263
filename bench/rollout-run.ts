// One run of the rollout benchmark: the whole path a cluster has, on one machine. A `wharf handler`
// and a `wharf agent` with its NGINX (child processes), pods as processes, an open-loop load through
// NGINX, and a Deployment rollout of the Service from `replicas` old pods to as many new ones in
// Kubernetes' order, each EndpointSlice change posted to the handler as a CloudEvent. Meanwhile an
// unrelated Ingress keeps changing, so a slow reload (thousands of TLS servers) is always in progress.
// The two endpoint modes run exactly this; only the agent's --endpoint-mode differs.
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../tests/support/backend.ts';
import { send, startHandlerProcess, tokenFile } from './handler-process.ts';
import { startAgent, type AccessLine, type ReloadSeen } from './rollout-agent.ts';
import { APP_HOST, EventSource, UPSTREAM, endpointSlice, ingress, nowMs, service, tlsSecret, type SliceEndpoint } from './rollout-cluster.ts';
import type { LoadOptions, LoadSample } from './rollout-load.ts';
import { killPods, startPod, terminatePod, type Pod } from './rollout-pods.ts';

export interface RolloutOptions {
  endpointMode: 'lua' | 'reload';
  /** Requests per second through NGINX. */
  rate: number;
  /** Unrelated TLS Ingresses (each its own server, certificate and key): what makes a reload slow. */
  tlsServers: number;
  certificate: { cert: string; key: string } | null;
  replicas: number;
  /** From SIGTERM to the old pod's exit. */
  graceMs: number;
  /** From a new pod's process listening to its readiness (probe). */
  readyDelayMs: number;
  /** An unrelated Ingress changes this often while the rollout runs (0: never). */
  changeEveryMs: number;
  /**
   * What the unrelated changes are: `ingress` (an annotation of one TLS Ingress: a reload each) or
   * `certificates` (a renewal of one TLS Secret after another, alternating with `renewal`: no reload).
   */
  changes?: 'ingress' | 'certificates';
  renewal?: { cert: string; key: string } | null;
  /** Steady load before the first unrelated change. */
  warmupMs: number;
  /** From the first unrelated change to the rollout's first step. */
  leadMs: number;
  /** Load after the agent serves the final endpoints and no reload is queued. */
  tailMs: number;
  workerProcesses: string;
  retryReused: boolean;
  timeoutMs: number;
  log: (msg: string) => void;
}

/** A pod's story, in ms relative to the rollout's start. */
export interface PodRecord {
  name: string;
  ip: string;
  generation: 'old' | 'new';
  addedAt: number | null;
  removeSentAt: number | null;
  removedAt: number | null;
  exitedAt: number | null;
}

export interface RolloutRun {
  endpointMode: 'lua' | 'reload';
  /** Monotonic ms of the rollout's first step: time 0 of every relative time here. */
  origin: number;
  port: number;
  samples: LoadSample[];
  pods: PodRecord[];
  /** Unrelated Ingress changes: when the handler accepted them (relative ms). */
  changes: number[];
  reloads: ReloadSeen[];
  access: AccessLine[];
  /** Relative ms: load start, rollout end (last old pod gone), agent converged, load end. */
  loadStart: number;
  rolloutEnd: number;
  convergedAt: number;
  loadEnd: number;
  /** /metrics of the handler and the agent just before the rollout and after the load ended. */
  metrics: { handler: [string, string]; agent: [string, string] };
}

async function settled(agent: Awaited<ReturnType<typeof startAgent>>, what: string, timeoutMs: number, done: (s: Awaited<ReturnType<typeof agent.state>>) => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await agent.state();
    if (s.queueDepth === 0 && s.appliedVersion === s.desiredVersion && done(s)) return;
    if (Date.now() > deadline) {
      throw new Error(`${what}: the agent did not settle within ${timeoutMs / 1000} s (queue ${s.queueDepth}, applied ${s.appliedVersion} of ${s.desiredVersion}); its last log lines:\n${agent.logTail()}`);
    }
    await sleep(100);
  }
}

/**
 * Starts the load generator's worker. `stop()` ends the sending, waits for the requests still out
 * (each bounded by the timeout) and returns every sample; `kill()` ends the worker at once (cleanup).
 */
function startLoad(o: LoadOptions): { started: Promise<number>; stop(): Promise<LoadSample[]>; kill(): Promise<void> } {
  const worker = new Worker(new URL('./rollout-load.ts', import.meta.url), { workerData: { rolloutLoad: o } });
  let gone: Error | null = null;
  let onSamples: ((s: LoadSample[]) => void) | null = null;
  let onGone: ((e: Error) => void) | null = null;
  const started = new Promise<number>((resolve, reject) => {
    worker.on('message', (m: { type: string; start: number; samples?: LoadSample[] }) => {
      if (m.type === 'started') resolve(m.start);
      if (m.type === 'samples') onSamples?.(m.samples!);
    });
    worker.on('error', (e) => {
      gone = new Error(`the load generator failed: ${e.message}`, { cause: e });
      reject(gone);
      onGone?.(gone);
    });
    worker.on('exit', (code) => {
      gone ??= new Error(`the load generator exited (${code})`);
      reject(gone);
      onGone?.(gone);
    });
  });
  return {
    started,
    stop: () =>
      new Promise<LoadSample[]>((resolve, reject) => {
        if (gone) return reject(gone);
        onSamples = (samples) => {
          onGone = null;
          resolve(samples);
          void worker.terminate();
        };
        onGone = reject;
        worker.postMessage({ type: 'stop' });
      }),
    kill: async () => {
      await worker.terminate();
    },
  };
}

/** Runs one rollout under load and returns everything measured (raw; see rollout-report.ts). */
export async function runRollout(o: RolloutOptions): Promise<RolloutRun> {
  if (o.tlsServers > 0 && !o.certificate) throw new Error('runRollout: tlsServers > 0 needs a certificate (certificate())');
  const token = randomBytes(24).toString('hex');
  const tf = tokenFile(token);
  const port = await freePort();
  const pods: Pod[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  let load: ReturnType<typeof startLoad> | null = null;
  try {
    const olds = await Promise.all(Array.from({ length: o.replicas }, (_, i) => startPod({ name: `old-${i}`, ip: `127.0.10.${i + 1}`, port, generation: 'old', graceMs: o.graceMs })));
    pods.push(...olds);
    const agent = await startAgent({ tokenPath: tf.path, token, endpointMode: o.endpointMode, workerProcesses: o.workerProcesses });
    cleanups.push(() => agent.stop());
    const handler = await startHandlerProcess({ tokenPath: tf.path, agents: [agent.url] });
    cleanups.push(() => handler.stop());
    const events = new EventSource({ handlerUrl: handler.url, token });

    // The cluster before the rollout.
    const slice: SliceEndpoint[] = olds.map((p) => ({ ip: p.ip, pod: p.name, state: 'ready' }));
    const objects = [service('web', port), service('site', 8443)];
    for (let i = 0; i < o.tlsServers; i++) objects.push(tlsSecret(`site-${i}-tls`, o.certificate!));
    for (let i = 0; i < o.tlsServers; i++) objects.push(ingress(`site-${i}`, `site${i}.rollout.test`, 'site', { tlsSecret: `site-${i}-tls` }));
    objects.push(ingress('web', APP_HOST, 'web'), endpointSlice(slice, port));
    o.log(`${o.endpointMode}: loading ${objects.length} objects (${o.tlsServers} TLS Ingresses) into the handler`);
    const t0 = nowMs();
    await events.addAll(objects);
    await settled(agent, 'initial configuration', 300_000, (s) => s.endpoints.some((e) => e.upstream === UPSTREAM && (e.appliedRevision ?? -1) >= e.revision));
    const viaNginx = async () => send(`http://127.0.0.1:${agent.httpPort}/`, 'GET', { host: APP_HOST }).catch(() => null);
    for (let i = 0; (await viaNginx())?.status !== 200; i++) {
      if (i > 200) throw new Error(`NGINX does not route ${APP_HOST} to the old pods`);
      await sleep(50);
    }
    o.log(`${o.endpointMode}: NGINX serves the initial configuration after ${((nowMs() - t0) / 1000).toFixed(1)} s; ${agent.reloads.length} reloads so far`);
    await sleep(1500); // old worker generations retire

    // Steady load, then the unrelated changes, then the rollout.
    load = startLoad({ port: agent.httpPort, host: APP_HOST, rate: o.rate, timeoutMs: o.timeoutMs, retryReused: o.retryReused });
    const loadStartAbs = await load.started;
    await sleep(o.warmupMs);
    const changes: number[] = [];
    let changing = o.changeEveryMs > 0;
    let changeN = 0;
    const changeLoop = (async () => {
      while (changing) {
        const n = changeN++;
        const r = o.changes === 'certificates'
          ? await events.update(tlsSecret(`site-${n % o.tlsServers}-tls`, Math.floor(n / o.tlsServers) % 2 === 0 ? o.renewal! : o.certificate!))
          : await events.update(ingress('site-0', 'site0.rollout.test', 'site', { tlsSecret: 'site-0-tls', annotations: { 'nginx.ingress.kubernetes.io/proxy-read-timeout': String(61 + n) } }));
        changes.push(r.acceptedAt);
        await sleep(o.changeEveryMs);
      }
    })();
    if (o.changeEveryMs > 0) await sleep(o.leadMs);

    const scrape = async () => Promise.all([handler.url, agent.url].map(async (u) => (await send(`${u}/metrics`, 'GET', {})).body));
    const [handlerBefore, agentBefore] = await scrape();
    const origin = nowMs();
    o.log(`${o.endpointMode}: rollout starts`);
    const deletions: Promise<unknown>[] = [];
    for (let i = 0; i < o.replicas; i++) {
      const fresh = await startPod({ name: `new-${i}`, ip: `127.0.20.${i + 1}`, port, generation: 'new', graceMs: o.graceMs });
      pods.push(fresh);
      await sleep(o.readyDelayMs);
      slice.push({ ip: fresh.ip, pod: fresh.name, state: 'ready' });
      fresh.addedAt = (await events.update(endpointSlice(slice, port))).acceptedAt;
      // The old pod leaves the ready set and gets SIGTERM at the same moment, as in Kubernetes.
      const old = olds[i]!;
      slice.find((e) => e.pod === old.name)!.state = 'terminating';
      const removal = events.update(endpointSlice(slice, port));
      terminatePod(old);
      const { sentAt, acceptedAt } = await removal;
      old.removeSentAt = sentAt;
      old.removedAt = acceptedAt;
      deletions.push(old.exited.then(() => {
        slice.splice(slice.findIndex((e) => e.pod === old.name), 1);
        return events.update(endpointSlice(slice, port));
      }));
    }
    await Promise.all(deletions);
    const rolloutEndAbs = nowMs();
    changing = false;
    await changeLoop;
    o.log(`${o.endpointMode}: rollout done in ${((rolloutEndAbs - origin) / 1000).toFixed(1)} s; waiting for the agent to serve the new pods`);
    await settled(agent, 'after the rollout', 120_000, (s) => s.endpoints.some((e) => e.upstream === UPSTREAM && e.endpoints === o.replicas && (e.appliedRevision ?? -1) >= e.revision));
    const convergedAbs = nowMs();
    await sleep(o.tailMs);
    const samples = await load.stop();
    const loadEndAbs = nowMs();
    const [handlerAfter, agentAfter] = await scrape();
    await sleep(200); // the last access log lines
    const rel = (t: number | null) => (t === null ? null : t - origin);
    return {
      endpointMode: o.endpointMode,
      origin,
      port,
      samples,
      pods: pods.map((p) => ({ name: p.name, ip: p.ip, generation: p.generation, addedAt: rel(p.addedAt), removeSentAt: rel(p.removeSentAt), removedAt: rel(p.removedAt), exitedAt: rel(p.exitedAt) })),
      changes: changes.map((t) => t - origin),
      reloads: agent.reloads.map((r) => ({ ...r, endAt: r.endAt - origin })),
      access: agent.access(),
      loadStart: loadStartAbs - origin,
      rolloutEnd: rolloutEndAbs - origin,
      convergedAt: convergedAbs - origin,
      loadEnd: loadEndAbs - origin,
      metrics: { handler: [handlerBefore!, handlerAfter!], agent: [agentBefore!, agentAfter!] },
    };
  } finally {
    await load?.kill();
    for (const c of cleanups.reverse()) await c().catch((e) => o.log(`cleanup: ${(e as Error).message}`));
    await killPods(pods);
    tf.remove();
  }
}
