// npm run bench:rollout — the rollout incident, end to end, with and without wharf's endpoint path.
//
// On one machine: `wharf handler`, `wharf agent` with a real NGINX, pods as processes, an open-loop
// load of --rate requests/s through NGINX, and a Deployment rollout of a Service from 4 old pods to 4
// new ones in Kubernetes' order (new pod ready → added to the EndpointSlice; old pod terminating →
// out of the ready set, SIGTERM; its process exits --grace-ms later and connections to it are then
// refused), every EndpointSlice change a CloudEvent to the handler. Throughout, an unrelated Ingress
// changes every --change-every-ms, so a reload of thousands of TLS servers (seconds each) is always
// in progress. The same run twice: endpoint mode lua (wharf's path) and reload (endpoint changes
// applied by reloads, as without the Lua module: the incident's behaviour). Only that differs.
//
// Prints one JSON object as the last line; writes every request to bench/out/rollout.json and the
// plot to bench/out/rollout.svg (`node bench/plot-rollout.ts IN.json OUT.svg` draws it again).
// Options: --quick, --rate N, --tls-servers N, --grace-ms N, --ready-ms N, --change-every-ms N,
// --workers N|auto, --modes lua,reload, --out FILE, --no-keepalive-retry, --changes ingress|certificates.
// `--changes certificates --modes lua`: the unrelated changes are certificate renewals (one TLS
// Secret after another), which wharf serves without a reload: `reloads` should stay 0.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { plotSvg } from './plot-rollout.ts';
import { runRecord } from './machine.ts';
import { certificate } from './rollout-cluster.ts';
import { plotData, summarize, type RunSummary } from './rollout-report.ts';
import { runRollout, type RolloutOptions } from './rollout-run.ts';

const say = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

async function main(): Promise<void> {
  const record = runRecord();
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      rate: { type: 'string', default: '200' },
      'tls-servers': { type: 'string' },
      'grace-ms': { type: 'string', default: '1000' },
      'ready-ms': { type: 'string', default: '1000' },
      'change-every-ms': { type: 'string', default: '1500' },
      workers: { type: 'string', default: 'auto' },
      modes: { type: 'string', default: 'lua,reload' },
      out: { type: 'string', default: 'bench/out/rollout.json' },
      'no-keepalive-retry': { type: 'boolean', default: false },
      changes: { type: 'string', default: 'ingress' },
    },
  });
  const quick = values.quick!;
  const modes = values.modes!.split(',').map((m) => m.trim());
  for (const m of modes) if (m !== 'lua' && m !== 'reload') throw new Error(`--modes: Invalid value: ${JSON.stringify(m)}: expected lua and/or reload`);
  const tlsServers = Number(values['tls-servers'] ?? (quick ? 1500 : 4000));
  const changes = values.changes;
  if (changes !== 'ingress' && changes !== 'certificates') throw new Error(`--changes: Invalid value: ${JSON.stringify(changes)}: expected ingress or certificates`);
  const started = performance.now();
  say(`making a certificate for ${tlsServers} TLS Ingresses`);
  const base: Omit<RolloutOptions, 'endpointMode'> = {
    rate: Number(values.rate),
    tlsServers,
    certificate: tlsServers > 0 ? certificate() : null,
    changes,
    renewal: changes === 'certificates' && tlsServers > 0 ? certificate() : null,
    replicas: 4,
    graceMs: Number(values['grace-ms']),
    readyDelayMs: Number(values['ready-ms']),
    changeEveryMs: tlsServers > 0 ? Number(values['change-every-ms']) : 0,
    warmupMs: quick ? 1500 : 3000,
    leadMs: 500,
    tailMs: quick ? 1500 : 3000,
    workerProcesses: values.workers!,
    retryReused: !values['no-keepalive-retry'],
    timeoutMs: 10_000,
    log: say,
  };

  const runs = [];
  const summaries: Partial<Record<'lua' | 'reload', RunSummary>> = {};
  for (const mode of modes as ('lua' | 'reload')[]) {
    const run = await runRollout({ ...base, endpointMode: mode });
    const summary = summarize(run);
    summaries[mode] = summary;
    say(`${mode}: ${JSON.stringify(summary)}`);
    runs.push({ summary, ...plotData(run) });
  }

  const wharf = summaries.lua;
  const baseline = summaries.reload;
  const pick = (r: RunSummary | undefined, prefix: string) => r ? {
    [`${prefix}requests`]: r.requests,
    [`${prefix}failed`]: r.failed,
    [`${prefix}p99_ms`]: r.p99_ms,
    [`${prefix}stale_routing_ms_max`]: r.stale_routing_ms_max,
    [`${prefix}rps`]: r.rps,
    [`${prefix}p50_ms`]: r.p50_ms,
    [`${prefix}max_ms`]: r.max_ms,
    [`${prefix}failures`]: r.failures,
    [`${prefix}failures_from_s`]: r.failures_from_s,
    [`${prefix}failures_to_s`]: r.failures_to_s,
    [`${prefix}failed_no_live_upstream`]: r.failed_no_live_upstream,
    [`${prefix}stale_routing_ms_by_pod`]: r.stale_routing_ms_by_pod,
    [`${prefix}removed_routing_ms_max`]: r.removed_routing_ms_max,
    [`${prefix}dead_endpoint_tries`]: r.dead_endpoint_tries,
    [`${prefix}keepalive_retries`]: r.keepalive_retries,
    [`${prefix}reloads`]: r.reloads,
    [`${prefix}reload_ms`]: r.reload_ms,
    [`${prefix}reload_busy_share`]: r.reload_busy_share,
    [`${prefix}converged_s`]: r.converged_s,
  } : {};
  const targets = changes === 'certificates'
    ? wharf ? { failed_is_0: wharf.failed === 0, reloads_0: wharf.reloads === 0 } : null
    : wharf && baseline
    ? { failed_is_0: wharf.failed === 0, stale_routing_le_50ms: wharf.stale_routing_ms_max <= 50, baseline_fails: baseline.failed > 0, reloads_ge_3s: Math.min(...wharf.reload_ms, ...baseline.reload_ms) >= 3000 }
    : null;
  const result = {
    quick,
    rate: base.rate,
    tls_servers: tlsServers,
    replicas: base.replicas,
    grace_ms: base.graceMs,
    ready_ms: base.readyDelayMs,
    change_every_ms: base.changeEveryMs,
    changes,
    workers: base.workerProcesses,
    keepalive_retry: base.retryReused,
    ...pick(wharf, ''),
    ...pick(baseline, 'baseline_'),
    targets,
    targets_met: targets ? Object.values(targets).every(Boolean) : null,
    duration_s: Math.round((performance.now() - started) / 1000),
    ...record.end(),
  };
  const file = {
    generated: new Date().toISOString(),
    machine: { cpus: cpus().length, memory_gib: Math.round(totalmem() / 2 ** 30), loadavg_at_end: loadavg().map((x) => Math.round(x * 100) / 100) },
    options: { ...base, certificate: undefined, renewal: undefined, log: undefined },
    result,
    runs,
  };
  mkdirSync(dirname(values.out!), { recursive: true });
  writeFileSync(values.out!, JSON.stringify(file));
  const svg = values.out!.replace(/\.json$/, '') + '.svg';
  writeFileSync(svg, plotSvg(file));
  say(`wrote ${values.out} and ${svg}`);
  console.log(JSON.stringify(result));
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
