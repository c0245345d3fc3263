// What a benchmark's JSON records about the run besides its figures: the machine, its load before
// and after, the versions, and the CPU each process used. Absolute times on a shared machine swing
// from run to run; these say how busy it was while the figures were taken.
import { cpus, loadavg, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { findNginx } from '../src/agent/nginx-install.ts';

const round2 = (x: number) => Math.round(x * 100) / 100;

/** Children of a process (for NGINX: its master's workers), from /proc. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Starts recording the run; `end()` gives the fields for the benchmark's JSON. */
export function runRecord(): { end(cpu?: Record<string, number>): Record<string, unknown> } {
  const before = loadavg().map(round2);
  const ownCpu = process.cpuUsage();
  return {
    end(cpu = {}) {
      const own = process.cpuUsage(ownCpu);
      return {
        machine: { cpus: cpus().length, memory_gib: Math.round(totalmem() / 2 ** 30) },
        loadavg_before: before,
        loadavg_after: loadavg().map(round2),
        node_version: process.version,
        nginx_version: findNginx().version,
        cpu_s: { bench: round2((own.user + own.system) / 1e6), ...Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, round2(v)])) },
      };
    },
  };
}
