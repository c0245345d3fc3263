// bench:scale's push phase: the handler that lists every Ingress gets new agents, as a Deployment's
// pods appear behind the agents' Service (--agent-service: the handler finds them in that Service's
// EndpointSlices), and must push each of them the full snapshot (`complete: true`, streamed by
// agent-client.ts). The agents are bench/push-receiver.ts processes (the agent's own API module, no
// NGINX) on 127.0.0.2, 127.0.0.3, … at one port, as pod IPs at the Service's port.
//
// Measured: from the EndpointSlice's write (the agents' appearance) until each agent has answered
// the snapshot (`snapshot_push_ms`), its bytes and fragments, whether the agent's API took it whole,
// and the handler's RSS sampled every 50 ms during the push and its peak (VmHWM, reset before the
// push through /proc/PID/clear_refs so that the first list's peak does not hide it).
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { FakeApiServer } from '../tests/support/kube-apiserver.ts';
import { cpuSecondsOf, memoryOf, send, type Child } from './handler-process.ts';

const receiverPath = fileURLToPath(new URL('./push-receiver.ts', import.meta.url));
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The agents' Service, as the handler is told with --agent-service. */
export const AGENT_SERVICE = { namespace: 'wharf', name: 'wharf-agents' };

/** The flags that make a handler find its agents as this phase adds them. */
export const agentServiceArgs = (port: number) => ['--agent-service', `${AGENT_SERVICE.namespace}/${AGENT_SERVICE.name}`, '--agent-port', String(port)];

interface RequestLine {
  kind: 'request';
  outcome: 'answered' | 'cut';
  transfer_encoding: string | null;
  started: number;
  first_byte_at: number | null;
  last_byte_at: number | null;
  answered_at: number;
  status: number;
  body_ended: boolean;
  bytes: number;
  chunks: number;
  max_chunk: number;
  peak_rss_mb: number;
}
interface AppliedLine {
  kind: 'applied';
  at: number;
  parse_ms: number | null;
  fragments: number;
  endpoints: number;
  complete: boolean;
  revision: number | null;
}

export interface Receiver {
  ip: string;
  url: string;
  child: ChildProcess;
  requests: RequestLine[];
  applied: AppliedLine[];
  stop(): Promise<void>;
}

/**
 * A bench/push-receiver.ts process on ip:port, once it listens; its request and applied lines are
 * collected as it prints them.
 */
export async function startReceiver(ip: string, port: number, tokenPath: string): Promise<Receiver> {
  // An old space larger than any reading of a batch needs: what is measured is what it takes, not a limit.
  const child = spawn(process.execPath, ['--max-old-space-size=8192', receiverPath, `${ip}:${port}`, tokenPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  const r: Receiver = {
    ip,
    url: `http://${ip}:${port}`,
    child,
    requests: [],
    applied: [],
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((x) => child.once('exit', x));
      child.kill('SIGTERM');
      // One busy parsing a body answers SIGTERM only after it.
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`push receiver ${ip} exited with ${code ?? signal}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'listening') return resolve();
      const parsed = JSON.parse(line) as RequestLine | AppliedLine;
      if (parsed.kind === 'request') r.requests.push(parsed);
      else r.applied.push(parsed);
    });
  });
  return r;
}

/** The request that carried the complete snapshot and was answered 2xx, and what the API let through of it. */
function delivered(r: Receiver): { request: RequestLine; applied: AppliedLine } | null {
  const applied = r.applied.find((a) => a.complete);
  if (!applied) return null;
  const request = r.requests.find((q) => q.outcome === 'answered' && q.status >= 200 && q.status < 300 && q.answered_at >= applied.at);
  return request ? { request, applied } : null;
}

const labelled = (text: string, name: string, labels: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
};

/**
 * One push: `count` agents appear at once; waits until every one has the snapshot (or `limitMs`).
 * `prefix` names the JSON fields (`snapshot_push` for one agent).
 */
export async function snapshotPush(o: { handler: Child; api: FakeApiServer; tokenPath: string; port: number; count: number; firstIp: number; expectFragments: number; limitMs?: number; say(msg: string): void }): Promise<Record<string, unknown>> {
  const pid = o.handler.process.pid!;
  const receivers: Receiver[] = [];
  const sliceName = `${AGENT_SERVICE.name}-x${o.firstIp}`;
  try {
    for (let k = 0; k < o.count; k++) receivers.push(await startReceiver(`127.0.0.${o.firstIp + k}`, o.port, o.tokenPath));
    const before = memoryOf(pid);
    const cpuBefore = cpuSecondsOf(pid);
    // VmHWM back to the current RSS (Linux: 5 > clear_refs), so the peak read after is this push's.
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    const t0 = now();
    o.api.put({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: sliceName, namespace: AGENT_SERVICE.namespace, labels: { 'kubernetes.io/service-name': AGENT_SERVICE.name } },
      addressType: 'IPv4',
      // Not ready yet, as a new agent without its configuration: the handler pushes to it all the same.
      endpoints: receivers.map((r) => ({ addresses: [r.ip], conditions: { ready: false } })),
      ports: [{ name: 'api', port: o.port, protocol: 'TCP' }],
    });
    // The handler's other work during the push: /healthz asked one at a time (a kubelet's liveness
    // probe, and a sign of whether reviews and events are answered meanwhile).
    let pushing = true;
    const probes: number[] = [];
    const probing = (async () => {
      while (pushing) {
        const t = now();
        await send(`${o.handler.url}/healthz`, 'GET', {}).catch(() => null);
        probes.push(now() - t);
        await sleep(20);
      }
    })();
    let peakSampled = before.rssMb;
    let peakAt = t0;
    let samples = 0;
    const limit = t0 + (o.limitMs ?? 600_000);
    const tooManyTries = () => receivers.some((r) => r.requests.filter((q) => q.outcome === 'cut' || q.status >= 300).length >= 3);
    try {
      while (!receivers.every((r) => delivered(r))) {
        if (o.handler.process.exitCode !== null || o.handler.process.signalCode !== null) throw new Error(`the handler exited during the push (${o.handler.process.exitCode ?? o.handler.process.signalCode})`);
        if (now() > limit || tooManyTries()) break;
        const rss = memoryOf(pid).rssMb;
        samples += 1;
        if (rss > peakSampled) {
          peakSampled = rss;
          peakAt = now();
        }
        await sleep(50);
      }
    } finally {
      pushing = false;
      await probing;
    }
    probes.sort((a, b) => a - b);
    const after = memoryOf(pid);
    const cpu = cpuSecondsOf(pid) - cpuBefore;
    const got = receivers.map(delivered);
    const metrics = (await send(`${o.handler.url}/metrics`, 'GET', {})).body;
    const per = receivers.map((r, i) => {
      const d = got[i] ?? null;
      const attempts = r.requests.length;
      return {
        agent: r.url,
        accepted: d !== null && d.applied.fragments >= o.expectFragments,
        ms: d ? Math.round(d.request.answered_at - t0) : null,
        first_byte_ms: d?.request.first_byte_at ? Math.round(d.request.first_byte_at - t0) : null,
        transfer_ms: d?.request.first_byte_at && d.request.last_byte_at ? Math.round(d.request.last_byte_at - d.request.first_byte_at) : null,
        parse_ms: d && d.applied.parse_ms !== null ? Math.round(d.applied.parse_ms) : null,
        bytes: d?.request.bytes ?? null,
        fragments: d?.applied.fragments ?? null,
        endpoint_sets: d?.applied.endpoints ?? null,
        chunked: d ? d.request.transfer_encoding === 'chunked' : null,
        reads: d?.request.chunks ?? null,
        attempts,
        failed: r.requests.filter((q) => q.outcome === 'cut' || q.status >= 300).map((q) => `${q.outcome} ${q.status} after ${q.bytes} bytes`),
        agent_api_peak_rss_mb: Math.max(0, ...r.requests.map((q) => q.peak_rss_mb)),
        handler_agent_up: labelled(metrics, 'wharf_handler_agent_up', `agent="${r.url}"`),
        handler_push_seconds: labelled(metrics, 'wharf_handler_push_duration_seconds_sum', `agent="${r.url}",lane="fragments"`),
      };
    });
    o.say(`snapshot push to ${o.count} agent(s): ${JSON.stringify(per)}; handler RSS ${before.rssMb} MB before, sampled peak ${peakSampled} MB (${samples} samples), VmHWM ${after.peakMb} MB; /healthz max ${Math.round(probes.at(-1) ?? NaN)} ms of ${probes.length}`);
    return {
      agents: o.count,
      accepted: per.every((p) => p.accepted),
      ms: per.every((p) => p.ms !== null) ? Math.max(...per.map((p) => p.ms!)) : null,
      handler_rss_before_mb: before.rssMb,
      handler_peak_rss_sampled_mb: peakSampled,
      handler_peak_rss_at_ms: Math.round(peakAt - t0),
      handler_vmhwm_mb: after.peakMb,
      handler_rss_after_mb: after.rssMb,
      handler_cpu_s: Math.round(cpu * 100) / 100,
      rss_samples: samples,
      healthz_probes: probes.length,
      healthz_ms_p50: Math.round(probes[Math.floor(probes.length / 2)] ?? NaN),
      healthz_ms_max: Math.round(probes.at(-1) ?? NaN),
      per_agent: per,
    };
  } finally {
    // The agents leave (the handler forgets them), then their processes stop.
    o.api.remove('EndpointSlice', AGENT_SERVICE.namespace, sliceName);
    await sleep(500);
    for (const r of receivers) await r.stop();
  }
}
