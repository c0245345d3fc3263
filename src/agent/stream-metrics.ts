// Metrics of TCP and UDP services and of TLS passthrough hosts, per service port: connections (by NGINX's session status), bytes
// each way and session duration. NGINX's stream block logs each finished session to the agent over
// syslog on a loopback UDP socket this class opens (stream.conf.liquid: access_log syslog:…); the
// agent counts them. A session's line is `SERVED_PORT PROTOCOL UPSTREAM STATUS RECEIVED SENT SECONDS`;
// the served port is turned back into the port clients were told (P + (HTTP port − 80)).
import { createSocket, type Socket } from 'node:dgram';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../log.ts';

const LINE = /: (\d{1,5}) (TCP|UDP) ([a-z0-9][a-z0-9.-]{0,252}) (\d{3}) (\d+) (\d+) (\d+(?:\.\d+)?)$/;

export class StreamMetrics {
  private socket: Socket | null = null;
  private readonly offset: number;
  private readonly log: Logger;
  private connections: Counter<'protocol' | 'port' | 'upstream' | 'status'> | null = null;
  private bytes: Counter<'protocol' | 'port' | 'upstream' | 'direction'> | null = null;
  private duration: Histogram<'protocol' | 'port' | 'upstream'> | null = null;
  /** Lines that were not a session's (never expected; counted so that a format drift shows). */
  unparsed = 0;

  /** `offset`: the HTTP port − 80, what NGINX added to each service port. */
  constructor(offset: number, log: Logger) {
    this.offset = offset;
    this.log = log;
  }

  /** Opens the loopback socket NGINX logs to; returns its port. */
  async open(): Promise<number> {
    const socket = createSocket('udp4');
    socket.on('message', (msg) => this.take(msg.toString('utf8')));
    socket.on('error', (e) => this.log.warn('stream metrics socket error', { error: e }));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    socket.unref();
    this.socket = socket;
    return socket.address().port;
  }

  /** Registers the series on the agent's registry. */
  register(registry: Registry): void {
    const registers = [registry];
    this.connections = new Counter({
      name: 'wharf_stream_connections_total',
      help: 'Finished TCP connections and UDP sessions of TCP and UDP services and TLS passthrough hosts, by service port, upstream and NGINX session status (200 done, 502 no endpoint reachable, 403 no endpoints).',
      labelNames: ['protocol', 'port', 'upstream', 'status'],
      registers,
    });
    this.bytes = new Counter({
      name: 'wharf_stream_bytes_total',
      help: 'Bytes of TCP and UDP services and TLS passthrough hosts by direction: received from clients, sent to clients.',
      labelNames: ['protocol', 'port', 'upstream', 'direction'],
      registers,
    });
    this.duration = new Histogram({
      name: 'wharf_stream_session_duration_seconds',
      help: 'How long TCP connections and UDP sessions of TCP and UDP services and TLS passthrough hosts lasted.',
      labelNames: ['protocol', 'port', 'upstream'],
      buckets: [0.005, 0.05, 0.5, 5, 60, 600, 3600],
      registers,
    });
  }

  /** One syslog datagram. */
  take(text: string): void {
    const m = LINE.exec(text.trimEnd());
    if (!m) {
      this.unparsed++;
      return;
    }
    const labels = { protocol: m[2]!, port: String(Number(m[1]) - this.offset), upstream: m[3]! };
    this.connections?.inc({ ...labels, status: m[4]! });
    this.bytes?.inc({ ...labels, direction: 'received' }, Number(m[5]));
    this.bytes?.inc({ ...labels, direction: 'sent' }, Number(m[6]));
    this.duration?.observe(labels, Number(m[7]));
  }

  close(): void {
    this.socket?.close();
    this.socket = null;
  }
}
