// Draws the rollout benchmark's plot (SVG, written by hand: no plotting dependency) from the samples
// file bench/rollout.ts writes: one panel per endpoint mode, time on x (seconds from the rollout's
// start), requests per second by outcome (old pod, new pod, a pod already removed, failed) in
// 200 ms bins, each request's latency below (log scale, failures in red), the pod events and the
// reloads in progress behind them.
//
//   node bench/plot-rollout.ts [bench/out/rollout.json] [OUT.svg]
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { PlotRun, RunSummary } from './rollout-report.ts';

interface SamplesFile {
  generated: string;
  machine: { cpus: number; memory_gib: number };
  options: { rate: number; tlsServers: number; graceMs: number; readyDelayMs: number };
  result: Record<string, unknown>;
  runs: (PlotRun & { summary: RunSummary })[];
}

const W = 1100;
const LEFT = 70;
const RIGHT = 20;
const BIN = 0.2;
const COLORS = { old: '#9aa0a6', new: '#1a73e8', stale: '#f29900', failed: '#d93025', reload: '#fef7e0', reloadEdge: '#e8b923', change: '#8430ce' };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const f1 = (x: number) => (Math.round(x * 10) / 10).toString();

function title(run: PlotRun & { summary: RunSummary }): [string, string] {
  const s = run.summary;
  const name = run.endpoint_mode === 'lua' ? "wharf: endpoint changes through the Lua shared dict (--endpoint-mode lua)" : 'baseline: endpoint changes applied by reloads (--endpoint-mode reload): the incident';
  const routed = s.removed_routing_ms_max === 0
    ? 'no request reached a removed pod after its removal'
    : `a removed pod answered up to ${s.stale_routing_ms_max} ms after its removal, requests went to removed pods up to ${s.removed_routing_ms_max} ms after`;
  const stats = `${s.requests} requests, ${s.failed} failed, p99 ${s.p99_ms} ms; ${routed}; reloads of ${s.reload_ms.map((m) => (m / 1000).toFixed(1)).join(', ')} s`;
  return [name, stats];
}

/** The SVG for a samples file. */
export function plotSvg(file: SamplesFile): string {
  const runs = file.runs;
  const t0 = Math.min(...runs.map((r) => r.load[0]));
  const t1 = Math.max(...runs.map((r) => r.load[1]));
  const plotW = W - LEFT - RIGHT;
  const x = (t: number) => LEFT + ((t - t0) / (t1 - t0)) * plotW;
  const rate = file.options.rate;
  const barsH = 150;
  const latH = 90;
  const panelH = 70 + barsH + 14 + latH + 40;
  const top = 74;
  const H = top + panelH * runs.length + 10;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="11">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${LEFT}" y="20" font-size="15" font-weight="bold">A Deployment rollout (4 old pods → 4 new) under ${rate} requests/s while reloads of ${file.options.tlsServers} TLS servers run</text>`);
  const legend: [string, string][] = [
    [COLORS.old, 'answered by an old pod'], [COLORS.new, 'answered by a new pod'], [COLORS.stale, 'answered by a pod already removed from the EndpointSlice'], [COLORS.failed, 'failed (non-2xx or error)'],
  ];
  legend.push([COLORS.reload, 'reload in progress']);
  let lx = LEFT;
  for (const [c, label] of legend) {
    out.push(`<rect x="${lx}" y="32" width="10" height="10" fill="${c}"${c === COLORS.reload ? ` stroke="${COLORS.reloadEdge}"` : ''}/><text x="${lx + 14}" y="41">${esc(label)}</text>`);
    lx += 30 + label.length * 6.1;
  }
  out.push(`<text x="${LEFT}" y="60" fill="#444"><tspan fill="#188038">▲ new pod ready, added to the EndpointSlice</tspan>   <tspan fill="${COLORS.stale}">▼ old pod terminating: removed, SIGTERM</tspan>   ✕ old pod's process exited (connections refused)   <tspan fill="${COLORS.change}">| unrelated Ingress change</tspan></text>`);

  runs.forEach((run, k) => {
    const y0 = top + k * panelH;
    const barsTop = y0 + 70;
    const barsBottom = barsTop + barsH;
    const latTop = barsBottom + 14;
    const latBottom = latTop + latH;
    const [name, stats] = title(run);
    out.push(`<text x="${LEFT}" y="${y0 + 14}" font-size="13" font-weight="bold">${esc(name)}</text>`);
    out.push(`<text x="${LEFT}" y="${y0 + 29}">${esc(stats)}</text>`);
    // Reloads in progress, behind everything.
    for (const [a, b] of run.reloads) {
      if (b < t0 || a > t1) continue;
      const xa = x(Math.max(a, t0));
      const xb = x(Math.min(b, t1));
      out.push(`<rect x="${f1(xa)}" y="${barsTop}" width="${f1(Math.max(1, xb - xa))}" height="${latBottom - barsTop}" fill="${COLORS.reload}" stroke="${COLORS.reloadEdge}" stroke-width="0.5"/>`);
    }
    // Requests per second by outcome, in bins of BIN seconds.
    const bins = new Map<number, { old: number; new: number; stale: number; failed: number }>();
    for (const s of run.samples) {
      const b = Math.floor((s[0] - t0) / BIN);
      const bin = bins.get(b) ?? { old: 0, new: 0, stale: 0, failed: 0 };
      if (s[2] < 200 || s[2] > 299) bin.failed++;
      else if (s[5] !== null) bin.stale++;
      else if (s[3]?.startsWith('new')) bin.new++;
      else bin.old++;
      bins.set(b, bin);
    }
    const yMax = rate * 1.5;
    const yBar = (v: number) => barsBottom - (v / yMax) * barsH;
    const bw = (BIN / (t1 - t0)) * plotW;
    for (const [b, bin] of bins) {
      let acc = 0;
      const bx = LEFT + b * bw;
      const width = Math.min(bw - 0.4, x(t1) - bx);
      if (width <= 0) continue;
      for (const key of ['new', 'old', 'stale', 'failed'] as const) {
        if (!bin[key]) continue;
        const v = bin[key] / BIN;
        out.push(`<rect x="${f1(bx)}" y="${f1(yBar(acc + v))}" width="${f1(Math.max(0.6, width))}" height="${f1(yBar(acc) - yBar(acc + v))}" fill="${COLORS[key]}"/>`);
        acc += v;
      }
    }
    for (const v of [0, rate / 2, rate]) {
      out.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${f1(yBar(v))}" y2="${f1(yBar(v))}" stroke="#ddd" stroke-width="0.5"/>`);
      out.push(`<text x="${LEFT - 6}" y="${f1(yBar(v) + 4)}" text-anchor="end">${v}</text>`);
    }
    out.push(`<text x="14" y="${(barsTop + barsBottom) / 2}" transform="rotate(-90 14 ${(barsTop + barsBottom) / 2})" text-anchor="middle">requests/s</text>`);
    // Latency of every request, log scale 0.1 ms – 10 s.
    const lo = Math.log10(0.1);
    const hi = Math.log10(10_000);
    const yLat = (ms: number) => latBottom - ((Math.log10(Math.min(10_000, Math.max(0.1, ms))) - lo) / (hi - lo)) * latH;
    for (const v of [1, 10, 100, 1000, 10_000]) {
      out.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${f1(yLat(v))}" y2="${f1(yLat(v))}" stroke="#eee" stroke-width="0.5"/>`);
      out.push(`<text x="${LEFT - 6}" y="${f1(yLat(v) + 4)}" text-anchor="end">${v >= 1000 ? `${v / 1000} s` : `${v} ms`}</text>`);
    }
    out.push(`<text x="14" y="${(latTop + latBottom) / 2}" transform="rotate(-90 14 ${(latTop + latBottom) / 2})" text-anchor="middle">latency</text>`);
    const ok: string[] = [];
    const bad: string[] = [];
    for (const s of run.samples) {
      const failed = s[2] < 200 || s[2] > 299;
      (failed ? bad : ok).push(`M${f1(x(s[0]))} ${f1(yLat(s[1]))}h0`);
    }
    out.push(`<path d="${ok.join('')}" stroke="#5f6368" stroke-opacity="0.35" stroke-width="2" stroke-linecap="round"/>`);
    if (bad.length) out.push(`<path d="${bad.join('')}" stroke="${COLORS.failed}" stroke-width="2.5" stroke-linecap="round"/>`);
    // Pod events, one row each above the bars, and the unrelated Ingress changes.
    for (const p of run.pods) {
      const n = p.name.split('-')[1];
      if (p.added !== null) out.push(`<text x="${f1(x(p.added))}" y="${barsTop - 30}" text-anchor="middle" fill="#188038">▲${n}</text>`);
      if (p.removed !== null) {
        out.push(`<line x1="${f1(x(p.removed))}" x2="${f1(x(p.removed))}" y1="${barsTop}" y2="${latBottom}" stroke="${COLORS.stale}" stroke-width="0.8" stroke-dasharray="3 2"/>`);
        out.push(`<text x="${f1(x(p.removed))}" y="${barsTop - 18}" text-anchor="middle" fill="${COLORS.stale}">▼${n}</text>`);
      }
      if (p.exited !== null && p.generation === 'old') {
        out.push(`<line x1="${f1(x(p.exited))}" x2="${f1(x(p.exited))}" y1="${barsTop}" y2="${latBottom}" stroke="#202124" stroke-width="0.8"/>`);
        out.push(`<text x="${f1(x(p.exited))}" y="${barsTop - 6}" text-anchor="middle">✕${n}</text>`);
      }
    }
    for (const c of run.changes) {
      if (c >= t0 && c <= t1) out.push(`<line x1="${f1(x(c))}" x2="${f1(x(c))}" y1="${barsTop - 4}" y2="${barsTop + 6}" stroke="${COLORS.change}" stroke-width="1.5"/>`);
    }
    // Axes.
    out.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${barsBottom}" y2="${barsBottom}" stroke="#202124" stroke-width="0.8"/>`);
    out.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${latBottom}" y2="${latBottom}" stroke="#202124" stroke-width="0.8"/>`);
    const step = t1 - t0 > 20 ? 2 : 1;
    for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
      out.push(`<line x1="${f1(x(t))}" x2="${f1(x(t))}" y1="${latBottom}" y2="${latBottom + 4}" stroke="#202124"/>`);
      out.push(`<text x="${f1(x(t))}" y="${latBottom + 15}" text-anchor="middle">${t}</text>`);
    }
    out.push(`<text x="${W - RIGHT}" y="${latBottom + 28}" text-anchor="end" fill="#555">seconds from the rollout's start</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const input = process.argv[2] ?? 'bench/out/rollout.json';
  const output = process.argv[3] ?? input.replace(/\.json$/, '') + '.svg';
  writeFileSync(output, plotSvg(JSON.parse(readFileSync(input, 'utf8')) as SamplesFile));
  process.stderr.write(`wrote ${output}\n`);
}
