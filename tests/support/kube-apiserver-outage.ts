// The fake API server's outages, as clients of a real one meet them: the server goes away (every
// open connection is reset, watches included) and, until it is back, either nothing listens on its
// port (connections refused, as while the process restarts) or connections are accepted and reset at
// once (as through a load balancer whose backend is gone). It comes back on the same port, so a
// client's kubeconfig keeps working.
import type http from 'node:http';
import type { Socket } from 'node:net';

/** How the server is away: nothing listens (`refuse`) or every connection is reset (`reset`). */
export type OutageMode = 'refuse' | 'reset';

/** Takes one http.Server down and brings it back on the same address. */
export class ServerOutage {
  readonly #server: http.Server;
  readonly #sockets = new Set<Socket>();
  #mode: OutageMode | null = null;
  #address: { port: number; host: string } | null = null;
  #closed = false;

  constructor(server: http.Server) {
    this.#server = server;
    server.on('connection', (socket: Socket) => {
      if (this.#mode === 'reset') return void socket.resetAndDestroy();
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  /** How the server is away now (null: it is up). */
  get mode(): OutageMode | null {
    return this.#mode;
  }

  /** Resets every open connection and stays away (see OutageMode) until `up()`. */
  down(mode: OutageMode): void {
    if (this.#closed) throw new Error('the fake API server is closed');
    if (this.#mode === 'refuse' && mode === 'reset') throw new Error('the fake API server is down (refusing): bring it up first');
    if (this.#mode === null && mode === 'refuse') {
      const address = this.#server.address();
      if (!address || typeof address === 'string') throw new Error('the fake API server is not listening');
      this.#address = { port: address.port, host: address.address };
      this.#server.close();
    }
    this.#mode = mode;
    for (const socket of this.#sockets) socket.resetAndDestroy();
    this.#sockets.clear();
  }

  /** Serves again, on the same port. */
  async up(): Promise<void> {
    if (this.#closed || this.#mode === null) return;
    if (this.#mode === 'refuse') {
      const { port, host } = this.#address!;
      await new Promise<void>((resolve, reject) => {
        this.#server.once('error', reject);
        this.#server.listen(port, host, () => {
          this.#server.off('error', reject);
          resolve();
        });
      });
    }
    this.#mode = null;
  }

  /** The server is closing for good: a pending `up()` does nothing. */
  dispose(): void {
    this.#closed = true;
  }
}
