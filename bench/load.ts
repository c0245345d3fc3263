// A closed-loop HTTP/1.1 load generator on raw sockets, for benchmarks that compare two targets in
// the same run (wharf against its floor). node:http's client costs several times what NGINX spends
// on a small request, so with it the generator, not NGINX, would be what is measured; this one
// writes one prepared request per connection, reads the answer's headers for Content-Length, and
// sends the next request when the body is complete. It handles what NGINX sends a keep-alive client:
// fixed-length bodies and a closed connection (keepalive_requests), after which it connects again.
import net from 'node:net';
import { percentile } from './handler-process.ts';

export interface LoadTarget {
  port: number;
  host?: string;
  /** The Host header. */
  hostHeader: string;
  path?: string;
}

export interface LoadResult {
  requests: number;
  /** Answers other than 200, broken connections and unparsable answers. */
  errors: number;
  /** What the errors were: `status 503`, `ECONNRESET`, … with their counts. */
  errorKinds: Record<string, number>;
  seconds: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');

interface Answer { length: number; status: number; close: boolean }

/** The length of a complete answer at the start of `buf`, its status and whether the server closes
 * the connection after it, or null when incomplete. */
function answerLength(buf: Buffer): Answer | null {
  const end = buf.indexOf(HEADER_END);
  if (end < 0) return null;
  const head = buf.toString('latin1', 0, end);
  const status = Number(head.slice(9, 12));
  const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (!m) throw new Error(`answer without Content-Length (status ${status})`);
  const length = end + 4 + Number(m[1]);
  return buf.length >= length ? { length, status, close: /\r\nconnection:\s*close/i.test(head) } : null;
}

/** Runs `connections` keep-alive connections against the target for `durationMs`, each sending its
 * next request as soon as the previous answer is complete. */
export function closedLoop(target: LoadTarget, o: { connections: number; durationMs: number }): Promise<LoadResult> {
  const request = Buffer.from(`GET ${target.path ?? '/'} HTTP/1.1\r\nHost: ${target.hostHeader}\r\nUser-Agent: wharf-bench\r\n\r\n`);
  const latencies: number[] = [];
  let errors = 0;
  const errorKinds: Record<string, number> = {};
  const fail = (kind: string) => {
    errors++;
    errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
  };
  const started = performance.now();
  const deadline = started + o.durationMs;
  const one = () => new Promise<void>((done) => {
    const connect = () => {
      if (performance.now() >= deadline) return done();
      let pending: Buffer = Buffer.alloc(0);
      let sentAt = 0;
      const socket = net.connect({ port: target.port, host: target.host ?? '127.0.0.1', noDelay: true });
      const send = () => {
        sentAt = performance.now();
        socket.write(request);
      };
      socket.on('connect', send);
      socket.on('data', (chunk: Buffer) => {
        pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        for (;;) {
          let answer: Answer | null;
          try {
            answer = answerLength(pending);
          } catch (e) {
            fail((e as Error).message);
            socket.destroy();
            return;
          }
          if (!answer) return;
          const now = performance.now();
          if (answer.status === 200) latencies.push(now - sentAt);
          else fail(`status ${answer.status}`);
          pending = pending.subarray(answer.length);
          if (now >= deadline || answer.close) {
            // keepalive_requests reached: NGINX closes, and 'close' connects again.
            socket.destroy();
            return;
          }
          send();
        }
      });
      socket.on('error', (e: NodeJS.ErrnoException) => fail(e.code ?? e.message));
      // NGINX closes a connection after keepalive_requests answers: connect again.
      socket.on('close', () => setImmediate(connect));
    };
    connect();
  });
  return Promise.all(Array.from({ length: o.connections }, one)).then(() => {
    latencies.sort((a, b) => a - b);
    const seconds = (performance.now() - started) / 1000;
    return {
      requests: latencies.length,
      errors,
      errorKinds,
      seconds,
      rps: latencies.length / seconds,
      p50_ms: percentile(latencies, 50),
      p99_ms: percentile(latencies, 99),
    };
  });
}
