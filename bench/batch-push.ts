// node bench/batch-push.ts [--fragments N] — what the agent's API costs to take one large batch, as
// the handler pushes the full snapshot to a new agent: N fragments of about 2.8 KB (a host of one
// Ingress; 110,000 is a 309 MB batch, the snapshot of about 100,000 Ingresses) streamed to
// bench/push-receiver.ts (the agent's own API module without NGINX) in one POST /v1/batch, beside
// the least memory that can hold it (the batch's own bytes). Prints one JSON object as the last line:
//   batch_bytes, status       the body's size and the answer (202)
//   agent_api_peak_rss_mb     the receiving process's peak RSS (VmHWM), its start-up included
//   peak_rss_over_batch       that over the batch's size in MB
//   transfer_ms               the receiver's first byte to its last
//   answered_after_last_byte_ms  its last byte to the answer (what is left of reading and checking it)
import http from 'node:http';
import { parseArgs } from 'node:util';
import { runRecord } from './machine.ts';
import { tokenFile } from './handler-process.ts';
import { startReceiver } from './scale-push.ts';

const { values } = parseArgs({ options: { fragments: { type: 'string', default: '110000' } } });
const count = Number(values.fragments);
const record = runRecord();
const token = 'batch-push-token';
const tf = tokenFile(token);
const port = 20_000 + Math.floor(Math.random() * 20_000);
const receiver = await startReceiver('127.0.0.1', port, tf.path).catch((e: unknown) => {
  tf.remove();
  throw e;
});
try {
  // A fragment as the handler renders one host of one Ingress with two paths (about 2.8 KB).
  const config = (host: string) => `server {\n  server_name ${host};\n  listen 80;\n${'  location /x { proxy_pass http://upstream_balancer; set $wharf_upstream "default-svc-80"; }\n'.repeat(28)}}\n`;
  const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/batch', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
  const answered = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
  });
  let bytes = 0;
  const write = async (text: string) => {
    bytes += Buffer.byteLength(text);
    if (!req.write(text)) await new Promise((r) => req.once('drain', r));
  };
  await write('{"fragments":[');
  for (let i = 0; i < count; i++) await write(`${i ? ',' : ''}${JSON.stringify({ name: `host-${i}.example.com`, revision: 5, config: config(`host-${i}.example.com`) })}`);
  await write('],"complete":true}');
  req.end();
  const status = await answered;
  while (receiver.requests.length === 0) await new Promise((r) => setTimeout(r, 20));
  const request = receiver.requests[0]!;
  console.log(
    JSON.stringify({
      fragments: count,
      batch_bytes: bytes,
      status,
      agent_api_peak_rss_mb: request.peak_rss_mb,
      peak_rss_over_batch: Number((request.peak_rss_mb / (bytes / 2 ** 20)).toFixed(2)),
      transfer_ms: Math.round(request.last_byte_at! - request.first_byte_at!),
      answered_after_last_byte_ms: Math.round(request.answered_at - request.last_byte_at!),
      ...record.end(),
    }),
  );
} finally {
  await receiver.stop();
  tf.remove();
}
