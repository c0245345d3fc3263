// One "pod" of the rollout benchmark: its own process, as a pod is, listening on its own loopback
// address (127.0.x.y, the pod IP) and the Service's target port. Every answer says who served it and
// when (the machine's monotonic clock, shared by every process here), so the benchmark can tell which
// pod answered a request and whether that pod had already left the EndpointSlice.
//
// Kubernetes' termination: SIGTERM arrives while the pod leaves the EndpointSlice; the application
// keeps serving for a grace period (in-flight work, a preStop sleep) and then exits. Exiting is what
// makes the pod gone for real: the kernel closes the listening socket (connections are refused) and
// every open connection.
//
//   node bench/rollout-backend.ts NAME HOST PORT GRACE_MS
// Prints "listening" on stdout once it accepts connections.
import http from 'node:http';

const [name, host, portText, graceText] = process.argv.slice(2);
if (!name || !host || !portText || !graceText) {
  console.error('usage: node bench/rollout-backend.ts NAME HOST PORT GRACE_MS');
  process.exit(2);
}
const graceMs = Number(graceText);
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

const server = http.createServer((req, res) => {
  const at = nowMs();
  req.resume();
  req.on('end', () => {
    const body = `{"backend":"${name}","at":${at.toFixed(3)}}`;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-backend': name });
    res.end(body);
  });
});
// Longer than NGINX's upstream keepalive_timeout (60 s): the proxy, not the pod, closes idle
// connections, so no request races a close the pod made on its own.
server.keepAliveTimeout = 75_000;
server.on('error', (e) => {
  console.error(`backend ${name} on ${host}:${portText}: ${e.message}`);
  process.exit(1);
});
server.listen(Number(portText), host, () => process.stdout.write('listening\n'));

process.on('SIGTERM', () => {
  setTimeout(() => process.exit(0), graceMs);
});
