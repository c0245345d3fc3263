// The rollout benchmark's load generator: open loop at a fixed rate over keep-alive HTTP/1.1, in a
// worker thread so that nothing the benchmark does elsewhere (spawning pods, posting events) delays a
// send. Open loop: request i is due at start + i / rate whether or not earlier ones answered, and its
// latency counts from when it was due, so a stall shows as latency instead of as fewer requests.
//
// Per request it keeps: when it was due and sent, latency, status, which backend answered and when
// that backend saw it (backends put both in their answer), or the error.
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

/** One request as the load generator saw it. Times are ms of the machine's monotonic clock. */
export interface LoadSample {
  /** Sequence number; also the request path (/r/<i>), which joins it with NGINX's access log. */
  i: number;
  /** When it was due. */
  due: number;
  /** When it was handed to the socket (due + the generator's own lag). */
  sent: number;
  /** From due to the end of the answer (or the error). */
  ms: number;
  /** HTTP status; 0 for a transport error or a timeout. */
  status: number;
  /** The backend that answered (its name), when one did. */
  backend: string | null;
  /** When that backend received the request. */
  servedAt: number | null;
  /** Error code (ECONNRESET, timeout, …) when there was no answer. */
  error: string | null;
  /** Sent again on a new connection after the reused one was closed under it (see `send`). */
  retried: boolean;
}

export interface LoadOptions {
  port: number;
  host: string;
  rate: number;
  timeoutMs: number;
  /** Send again, once, a request whose reused keep-alive connection was closed under it. */
  retryReused: boolean;
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

function run(o: LoadOptions): void {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512, scheduling: 'lifo' });
  const samples: LoadSample[] = [];
  const period = 1000 / o.rate;
  const start = nowMs();
  let next = 0;
  let outstanding = 0;
  let stopping = false;
  let finish: (() => void) | null = null;

  /**
   * Sends request i. A keep-alive connection that the server closed while this request was being
   * written fails without any answer (ECONNRESET / "socket hang up" on a reused socket); HTTP clients
   * (Go's net/http, browsers; RFC 9110 §9.2.2 for idempotent methods) send such a request again on a
   * new connection, and so does this one, once, marking the sample `retried`. Every other failure —
   * a timeout, an error on a new connection, any answer that is not 2xx — counts as it is.
   */
  const send = (s: LoadSample, retry: boolean): void => {
    let done = false;
    let answered = false;
    // The retry goes on a new connection of its own: the pool's other idle connections may have been
    // closed by the same retiring worker at the same moment.
    const req = http.request({ host: '127.0.0.1', port: o.port, path: `/r/${s.i}`, method: 'GET', headers: { host: o.host }, agent: s.retried ? false : agent }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        s.status = res.statusCode ?? 0;
        s.ms = nowMs() - s.due;
        const name = res.headers['x-backend'];
        if (typeof name === 'string') {
          s.backend = name;
          try {
            s.servedAt = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { at: number }).at;
          } catch {
            s.servedAt = null;
          }
        }
        settle();
      });
      res.on('error', (e) => fail(e as NodeJS.ErrnoException));
    });
    const fail = (e: NodeJS.ErrnoException) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (retry && !answered && req.reusedSocket && (e.code === 'ECONNRESET' || e.message === 'socket hang up')) {
        s.retried = true;
        send(s, false);
        return;
      }
      s.status = 0;
      s.error = e.code ?? e.message;
      s.ms = nowMs() - s.due;
      settle();
    };
    const timer = setTimeout(() => {
      req.destroy();
      if (done) return;
      done = true;
      s.status = 0;
      s.error = 'timeout';
      s.ms = nowMs() - s.due;
      settle();
    }, Math.max(1, s.due + o.timeoutMs - nowMs()));
    req.on('error', fail);
    req.end();
  };

  const settle = () => {
    outstanding--;
    if (stopping && outstanding === 0) finish?.();
  };

  const tick = () => {
    const now = nowMs();
    while (!stopping && start + next * period <= now) {
      const s: LoadSample = { i: next, due: start + next * period, sent: nowMs(), ms: 0, status: 0, backend: null, servedAt: null, error: null, retried: false };
      next++;
      samples.push(s);
      outstanding++;
      send(s, o.retryReused);
    }
  };
  const interval = setInterval(tick, 1);

  parentPort!.on('message', (m: { type: string }) => {
    if (m.type !== 'stop') return;
    stopping = true;
    clearInterval(interval);
    const deliver = () => {
      agent.destroy();
      parentPort!.postMessage({ type: 'samples', samples, start });
    };
    if (outstanding === 0) deliver();
    else finish = deliver;
  });
  parentPort!.postMessage({ type: 'started', start });
}

if (parentPort && workerData?.rolloutLoad) run(workerData.rolloutLoad as LoadOptions);
