// bench/load.ts's closed-loop generator as a process of its own, so that it never shares an event
// loop with what it measures (bench/metrics-overhead.ts): a 300 ms warm-up, then the measured window.
//   node bench/http-load.ts PORT[,PORT...] HOST PATH CONNECTIONS SECONDS [SLICE_MS]
// One port: prints {"requests": N, "seconds": S, "rps": R, "errors": E, "warmup_requests": W} (the
// warm-up's answers apart, so that a caller timing NGINX's CPU over the whole process can divide by
// every request NGINX answered).
// Several ports: each gets CONNECTIONS of its own and all are driven at the same time; prints
// {"targets": [one such object per port]}.
// Several ports and SLICE_MS: the ports take turns of SLICE_MS each (AB BA AB ...) for SECONDS;
// prints {"targets": [...], "slices": [[rps of each port in the pair], ...]}: two turns a slice apart
// see nearly the same machine, which turns of seconds on a busy machine do not.
import { closedLoop } from './load.ts';

const [ports, host, path, connections, seconds, sliceMs] = process.argv.slice(2);
const list = ports!.split(',');
const target = (port: string) => ({ port: Number(port), hostHeader: host!, path: path! });
const conns = Number(connections);

interface Totals { requests: number; errors: number; warmup_requests: number; seconds: number }
const totals: Totals[] = list.map(() => ({ requests: 0, errors: 0, warmup_requests: 0, seconds: 0 }));
const answer = (t: Totals) => ({ ...t, rps: t.requests / t.seconds });

async function warm(i: number): Promise<void> {
  const w = await closedLoop(target(list[i]!), { connections: conns, durationMs: 300 });
  totals[i]!.warmup_requests += w.requests + w.errors;
}

async function drive(i: number, durationMs: number): Promise<number> {
  const r = await closedLoop(target(list[i]!), { connections: conns, durationMs });
  const t = totals[i]!;
  t.requests += r.requests;
  t.errors += r.errors;
  t.seconds += r.seconds;
  return r.rps;
}

if (sliceMs && list.length > 1) {
  for (let i = 0; i < list.length; i++) await warm(i);
  const slices: number[][] = [];
  const deadline = performance.now() + Number(seconds) * 1000;
  for (let n = 0; performance.now() < deadline; n++) {
    const order = list.map((_, i) => i);
    if (n % 2) order.reverse();
    const rps: number[] = [];
    for (const i of order) rps[i] = await drive(i, Number(sliceMs));
    slices.push(rps);
  }
  console.log(JSON.stringify({ targets: totals.map(answer), slices }));
} else {
  await Promise.all(list.map(async (_, i) => {
    await warm(i);
    await drive(i, Number(seconds) * 1000);
  }));
  console.log(JSON.stringify(list.length === 1 ? answer(totals[0]!) : { targets: totals.map(answer) }));
}
