// bench/load.ts's closed-loop generator as a process of its own, so that it never shares an event
// loop with what it measures (bench/metrics-overhead.ts): a 300 ms warm-up, then the measured window.
//   node bench/http-load.ts PORT HOST PATH CONNECTIONS SECONDS
// Prints one JSON object: {"requests": N, "seconds": S, "rps": R, "errors": E}.
import { closedLoop } from './load.ts';

const [port, host, path, connections, seconds] = process.argv.slice(2);
const target = { port: Number(port), hostHeader: host!, path: path! };
await closedLoop(target, { connections: Number(connections), durationMs: 300 });
const r = await closedLoop(target, { connections: Number(connections), durationMs: Number(seconds) * 1000 });
console.log(JSON.stringify({ requests: r.requests, seconds: r.seconds, rps: r.rps, errors: r.errors }));
