// Pods of the rollout benchmark: each one a process running bench/rollout-backend.ts on its own
// loopback address (its pod IP) and the Service's target port. Starting one waits until it accepts
// connections; terminating one sends SIGTERM, after which it serves for the grace period and exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nowMs } from './rollout-cluster.ts';

const backendScript = fileURLToPath(new URL('./rollout-backend.ts', import.meta.url));

/** One pod and what happened to it, in monotonic ms. */
export interface Pod {
  name: string;
  ip: string;
  generation: 'old' | 'new';
  process: ChildProcess;
  startedAt: number;
  listeningAt: number;
  /** The handler accepted the EndpointSlice event that lists it as ready. */
  addedAt: number | null;
  /** The EndpointSlice event marking it terminating (out of the ready set) was sent / accepted. */
  removeSentAt: number | null;
  removedAt: number | null;
  /** SIGTERM sent. */
  terminatedAt: number | null;
  /** The process is gone: from now on connections to it are refused. */
  exitedAt: number | null;
  exited: Promise<void>;
}

/** Starts a pod process and resolves once it listens. */
export async function startPod(o: { name: string; ip: string; port: number; generation: 'old' | 'new'; graceMs: number }): Promise<Pod> {
  const startedAt = nowMs();
  const child = spawn(process.execPath, [backendScript, o.name, o.ip, String(o.port), String(o.graceMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const pod: Pod = {
    name: o.name, ip: o.ip, generation: o.generation, process: child, startedAt, listeningAt: 0,
    addedAt: null, removeSentAt: null, removedAt: null, terminatedAt: null, exitedAt: null,
    exited: new Promise((resolve) => child.once('exit', () => {
      pod.exitedAt = nowMs();
      resolve();
    })),
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pod ${o.name} did not listen on ${o.ip}:${o.port} within 20 s: ${err}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (!d.toString().includes('listening')) return;
      clearTimeout(timer);
      pod.listeningAt = nowMs();
      resolve();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`pod ${o.name} exited with ${code} before listening: ${err.trim()}`));
    });
  });
  return pod;
}

/** Kubernetes' SIGTERM: the pod serves for its grace period, then its process exits. */
export function terminatePod(pod: Pod): void {
  pod.terminatedAt = nowMs();
  pod.process.kill('SIGTERM');
}

/** Kills whatever pod processes are left (cleanup, also after a failure). */
export async function killPods(pods: Pod[]): Promise<void> {
  await Promise.all(pods.map(async (p) => {
    if (p.process.exitCode !== null || p.process.signalCode !== null) return;
    p.process.kill('SIGKILL');
    await p.exited;
  }));
}
