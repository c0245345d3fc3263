// The endpoint lane's requests to an agent over plain HTTP/1.1 on kept-alive sockets, written and
// read here rather than through node:http's ClientRequest and IncomingMessage. An endpoint push is a
// request of a few hundred bytes whose answer is a few dozen: node:http's client spends about 85 us
// of CPU on each (its agent, header objects, streams), this about 20 (a ping-pong against a node:http
// server, one process each), and the push is on the path of every endpoint change (bench:events).
// Only what the agent API needs: string bodies with a length, answers with a Content-Length or
// chunked, no pipelining (one request per socket at a time), no TLS (an https:// agent keeps
// node:https: agent-client.ts).
import net from 'node:net';

/** An answer: its status and its body as text. */
export interface WireAnswer {
  status: number;
  text: string;
}

export interface WireOptions {
  hostname: string;
  port: number;
  /** Header lines sent with every request (Host, Authorization), each ending in CRLF. */
  headers: string;
  timeoutMs: number;
  maxSockets: number;
}

/** An error with a Node-style `code` (ECONNRESET, ETIMEDOUT, ECLOSED …), as node:http reports them. */
const failure = (message: string, code: string): NodeJS.ErrnoException => Object.assign(new Error(message), { code });

interface Exchange {
  method: string;
  path: string;
  body: string | undefined;
  resolve(a: WireAnswer): void;
  reject(e: NodeJS.ErrnoException): void;
  /** Already sent once on a kept-alive socket that turned out closed. */
  retried: boolean;
}

/** An endpoint lane's answer is a result per upstream (about 100 bytes each): anything past this is not one. */
const MAX_ANSWER_BYTES = 16 << 20;

/** One socket: idle in the pool, or carrying one exchange. */
class Connection {
  readonly socket: net.Socket;
  /** Served a request before: a failure before any answer may be the agent closing it meanwhile. */
  reused = false;
  current: Exchange | null = null;
  #chunks: Buffer[] = [];
  #size = 0;
  #timer: NodeJS.Timeout | null = null;
  readonly #pool: WirePool;

  constructor(pool: WirePool, socket: net.Socket) {
    this.#pool = pool;
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.#data(d));
    socket.on('error', (e: NodeJS.ErrnoException) => this.#gone(e));
    socket.on('end', () => this.#gone(failure('the agent closed the connection', 'ECONNRESET')));
    socket.on('close', () => this.#gone(failure('the connection closed', 'ECONNRESET')));
  }

  send(x: Exchange, timeoutMs: number): void {
    this.current = x;
    this.#chunks = [];
    this.#size = 0;
    this.#timer = setTimeout(() => this.#gone(failure(`no answer within ${timeoutMs} ms`, 'ETIMEDOUT')), timeoutMs);
    this.#timer.unref();
    const head = `${x.method} ${x.path} HTTP/1.1\r\n${this.#pool.o.headers}`;
    this.socket.write(x.body === undefined ? `${head}\r\n` : `${head}content-type: application/json\r\ncontent-length: ${Buffer.byteLength(x.body)}\r\n\r\n${x.body}`);
  }

  #data(d: Buffer): void {
    if (!this.current) {
      // Nothing asked: an agent that talks out of turn is not one to keep.
      this.socket.destroy();
      return;
    }
    this.#chunks.push(d);
    this.#size += d.length;
    if (this.#size > MAX_ANSWER_BYTES) return this.#gone(failure(`an answer over ${MAX_ANSWER_BYTES} bytes`, 'EPROTO'));
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#size);
    this.#chunks = [all];
    const answer = parseAnswer(all);
    if (answer === null) return;
    if (answer instanceof Error) return this.#gone(answer);
    const x = this.current;
    this.current = null;
    this.#chunks = [];
    this.#size = 0;
    if (this.#timer) clearTimeout(this.#timer);
    this.reused = true;
    if (answer.close || answer.rest > 0) this.socket.destroy();
    else this.#pool.release(this);
    x.resolve({ status: answer.status, text: answer.text });
  }

  /** The socket failed or closed: the exchange on it (if any) fails, or is sent once more on a new one. */
  #gone(e: NodeJS.ErrnoException): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const x = this.current;
    this.current = null;
    if (!this.socket.destroyed) this.socket.destroy();
    const first = this.#pool.forget(this);
    if (!x || !first) return;
    // Every agent call is idempotent (revisions): one the agent may have closed the socket under
    // before it answered anything is sent again, once, on a new connection (as agent-client.ts does).
    if (this.reused && this.#size === 0 && !x.retried && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) {
      x.retried = true;
      this.#pool.submit(x, true);
    } else x.reject(e);
  }
}

interface Parsed {
  status: number;
  text: string;
  close: boolean;
  /** Bytes after the answer (none expected: no pipelining). */
  rest: number;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** One HTTP/1.1 answer from the start of `b`: null while incomplete, an Error when malformed. */
function parseAnswer(b: Buffer): Parsed | null | NodeJS.ErrnoException {
  const end = b.indexOf(HEAD_END);
  if (end < 0) return b.length > 65536 ? failure('an answer head over 64 KiB', 'EPROTO') : null;
  const head = b.toString('latin1', 0, end);
  const lines = head.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!);
  if (!m) return failure(`not an HTTP/1.1 answer: ${JSON.stringify(lines[0]!.slice(0, 60))}`, 'EPROTO');
  const status = Number(m[1]);
  let length = -1;
  let chunked = false;
  let close = lines[0]!.startsWith('HTTP/1.0');
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim().toLowerCase();
    if (name === 'content-length') length = Number(value);
    else if (name === 'transfer-encoding') chunked = value.split(',').some((v) => v.trim() === 'chunked');
    else if (name === 'connection') close = value.split(',').some((v) => v.trim() === 'close');
  }
  const start = end + 4;
  if (status < 200) return failure(`an interim answer (${status}) the agent API never sends`, 'EPROTO');
  if (status === 204 || status === 304) return { status, text: '', close, rest: b.length - start };
  if (chunked) {
    const parts: Buffer[] = [];
    let at = start;
    for (;;) {
      const eol = b.indexOf('\r\n', at, 'latin1');
      if (eol < 0) return null;
      const size = parseInt(b.toString('latin1', at, eol).split(';')[0]!, 16);
      if (!Number.isFinite(size) || size < 0) return failure('a malformed chunk size', 'EPROTO');
      if (size === 0) {
        // Trailers (none expected) end with an empty line.
        const fin = b.indexOf(HEAD_END, eol, 'latin1');
        const after = b.length >= eol + 4 && b[eol + 2] === 0x0d && b[eol + 3] === 0x0a ? eol + 4 : fin < 0 ? -1 : fin + 4;
        if (after < 0) return null;
        return { status, text: Buffer.concat(parts).toString('utf8'), close, rest: b.length - after };
      }
      if (b.length < eol + 2 + size + 2) return null;
      parts.push(b.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
  }
  if (length < 0) return failure('an answer without a length (the agent API always sends one)', 'EPROTO');
  if (!Number.isSafeInteger(length)) return failure('a malformed Content-Length', 'EPROTO');
  if (b.length < start + length) return null;
  return { status, text: b.toString('utf8', start, start + length), close, rest: b.length - start - length };
}

/** Kept-alive sockets to one agent, at most `maxSockets` at once; requests beyond wait for one. */
export class WirePool {
  readonly o: WireOptions;
  readonly #idle: Connection[] = [];
  readonly #all = new Set<Connection>();
  readonly #waiting: Exchange[] = [];
  #closed = false;

  constructor(o: WireOptions) {
    this.o = o;
  }

  /** One request; rejects with a Node-style error (its `code`) when the exchange fails. */
  request(method: string, path: string, body: string | undefined): Promise<WireAnswer> {
    return new Promise((resolve, reject) => this.submit({ method, path, body, resolve, reject, retried: false }, false));
  }

  /** Sends `x` on an idle socket, a new one, or queues it; `fresh`: on a new socket (a retry). */
  submit(x: Exchange, fresh: boolean): void {
    if (this.#closed) return x.reject(failure('the client is closed', 'ECLOSED'));
    const idle = fresh ? undefined : this.#idle.pop();
    if (idle) return idle.send(x, this.o.timeoutMs);
    if (this.#all.size >= this.o.maxSockets && !fresh) {
      this.#waiting.push(x);
      return;
    }
    const c = new Connection(this, net.connect({ host: this.o.hostname, port: this.o.port }));
    this.#all.add(c);
    c.send(x, this.o.timeoutMs);
  }

  /** A connection answered and is free again. */
  release(c: Connection): void {
    const next = this.#waiting.shift();
    if (next) c.send(next, this.o.timeoutMs);
    else this.#idle.push(c);
  }

  /** A connection is gone; false if it was already. A waiting request gets a new one. */
  forget(c: Connection): boolean {
    if (!this.#all.delete(c)) return false;
    const i = this.#idle.indexOf(c);
    if (i >= 0) this.#idle.splice(i, 1);
    const next = this.#waiting.shift();
    if (next) this.submit(next, false);
    return true;
  }

  /** Closes every socket; requests in flight or waiting fail with ECLOSED. */
  close(): void {
    this.#closed = true;
    for (const x of this.#waiting.splice(0)) x.reject(failure('the client is closed', 'ECLOSED'));
    for (const c of [...this.#all]) {
      const x = c.current;
      c.current = null;
      c.socket.destroy();
      this.forget(c);
      x?.reject(failure('the client is closed', 'ECLOSED'));
    }
  }
}
