// bench/load.ts's closed-loop generator as a process of its own, so that it never shares an event
// loop with what it measures (bench/metrics-overhead.ts): a 300 ms warm-up, then the measured window.
//   node bench/http-load.ts PORT[,PORT...] HOST PATH CONNECTIONS SECONDS
// With several ports, each gets CONNECTIONS of its own and all are driven at the same time.
// Prints one JSON object: {"requests": N, "seconds": S, "rps": R, "errors": E, "warmup_requests": W}
// (the warm-up's answers apart, so that a caller timing NGINX's CPU over the whole process can
// divide by every request NGINX answered), or with several ports {"targets": [one such object
// per port]}.
import { closedLoop } from './load.ts';

const [ports, host, path, connections, seconds] = process.argv.slice(2);
const one = async (port: string) => {
  const target = { port: Number(port), hostHeader: host!, path: path! };
  const warm = await closedLoop(target, { connections: Number(connections), durationMs: 300 });
  const r = await closedLoop(target, { connections: Number(connections), durationMs: Number(seconds) * 1000 });
  return { requests: r.requests, seconds: r.seconds, rps: r.rps, errors: r.errors, warmup_requests: warm.requests + warm.errors };
};
const list = ports!.split(',');
const results = await Promise.all(list.map(one));
console.log(JSON.stringify(list.length === 1 ? results[0] : { targets: results }));
