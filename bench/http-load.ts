// A small HTTP/1.1 load generator for the benchmarks (wrk is not in every CI image): `connections`
// keep-alive connections, each sending the next GET as soon as the previous response is complete,
// for `seconds` after a short warm-up. Run as a process of its own so that it never shares an event
// loop with what it measures:
//   node bench/http-load.ts PORT HOST PATH CONNECTIONS SECONDS
// Prints one JSON object: {"requests": N, "seconds": S, "rps": R, "errors": E}.
import net from 'node:net';

/** Reads complete responses off a byte stream (Content-Length bodies only, which NGINX sends here). */
class ResponseCounter {
  private buf: Buffer = Buffer.alloc(0);
  /** Feeds bytes; returns how many responses they completed. */
  feed(chunk: Buffer): number {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let done = 0;
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return done;
      const head = this.buf.subarray(0, end).toString('latin1');
      const m = /\r\ncontent-length: *(\d+)/i.exec(head);
      const total = end + 4 + (m ? Number(m[1]) : 0);
      if (this.buf.length < total) return done;
      this.buf = this.buf.subarray(total);
      done++;
    }
  }
}

/** Runs the load; resolves with the requests completed in the measured window. */
export async function runLoad(o: { port: number; host: string; path: string; connections: number; seconds: number; warmupMs?: number }): Promise<{ requests: number; seconds: number; rps: number; errors: number }> {
  const request = Buffer.from(`GET ${o.path} HTTP/1.1\r\nHost: ${o.host}\r\nUser-Agent: wharf-bench\r\n\r\n`);
  let counting = false;
  let requests = 0;
  let errors = 0;
  let stop = false;
  const sockets: net.Socket[] = [];
  const open = () => {
    const s = net.connect(o.port, '127.0.0.1');
    s.setNoDelay(true);
    const counter = new ResponseCounter();
    s.on('connect', () => s.write(request));
    s.on('data', (chunk: Buffer) => {
      const n = counter.feed(chunk);
      if (n === 0) return;
      if (counting) requests += n;
      if (!stop) s.write(request);
    });
    s.on('error', () => {
      errors++;
    });
    s.on('close', () => {
      if (!stop) open();
    });
    sockets.push(s);
  };
  for (let i = 0; i < o.connections; i++) open();
  await new Promise((r) => setTimeout(r, o.warmupMs ?? 300));
  counting = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, o.seconds * 1000));
  counting = false;
  const seconds = (performance.now() - t0) / 1000;
  stop = true;
  for (const s of sockets) s.destroy();
  return { requests, seconds, rps: requests / seconds, errors };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [port, host, path, connections, seconds] = process.argv.slice(2);
  const r = await runLoad({ port: Number(port), host: host!, path: path!, connections: Number(connections), seconds: Number(seconds) });
  console.log(JSON.stringify(r));
}
