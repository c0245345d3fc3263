// Local mode: the whole system on one machine. A folder of manifests stands in for the API server;
// the same handler tier (over HTTP, through its admission webhook and its CloudEvents receiver)
// drives the same agent, which runs a real NGINX. Nothing else differs from a cluster.
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent } from '../src/agent/agent.ts';
import { waitOneGeneration } from '../src/agent/nginx-workers.ts';
import { EventSender } from '../src/cluster/event-sender.ts';
import { ManifestSource } from '../src/cluster/manifest-source.ts';
import { defaultControllerSettings, parseObject } from '../src/model/index.ts';
import { brotliModule, headersMoreModule } from '../src/agent/nginx-install.ts';
import { httpAgentClient } from '../src/handlers/agent-client.ts';
import { startHandler, type RunningHandler } from '../src/handlers/serve.ts';
import { AdmittedReader } from './admitted-reader.ts';
import { startEchoServer, type EchoServer } from './echo-servers.ts';
import { FolderApply } from './folder-apply.ts';
import { ParseWorkers } from './parse-workers.ts';
import { Terminal } from './terminal.ts';

export interface LocalOptions {
  manifests: string;
  workDir: string;
  /** Address NGINX listens on (127.0.0.1 keeps it on this machine). */
  address: string;
  httpPort: number;
  httpsPort: number;
  /** 0: any free port. */
  handlerPort: number;
  agentPort: number;
  /** --default-ssl-certificate: `namespace/name` of a TLS Secret among the manifests. */
  defaultSslCertificate?: string;
  /** Echo servers to start as backends, e.g. the cafe example's. */
  backends: { name: string; port: number }[];
  out: (line: string) => void;
  /** Aborting it stops start-up where it is: what started so far is stopped, and startLocal rejects. */
  signal?: AbortSignal;
  /** `namespace/name` of the Service that answers what no rule matches (--default-backend-service). */
  defaultBackendService?: string;
  /** --enable-ssl-passthrough, for the agent and the handler alike. */
  sslPassthrough?: boolean;
  /** The TCP and UDP services ConfigMaps of the folder (`namespace/name`), as the handler's flags name them. */
  streams?: { tcpServicesConfigMap?: string; udpServicesConfigMap?: string };
  /** Worker threads for the first read of the folder, when the caller started them earlier. */
  parseWorkers?: ParseWorkers;
}

export interface LocalMode {
  handlerUrl: string;
  agentUrl: string;
  agent: Agent;
  terminal: Terminal;
  /** Resolves when the changes seen so far are delivered to the handler. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

const WORKERS = 2;

// The model's schemas, so a broken object is reported with its file and document, not by the handler.
function schemaCheck(_kind: string, object: Record<string, unknown>): string | null {
  const parsed = parseObject(object);
  return parsed.ok ? null : parsed.problems.map((p) => p.message).join('; ');
}

/** Starts backends, the agent with NGINX, the handler and the manifest watcher, in that order. */
export async function startLocal(o: LocalOptions): Promise<LocalMode> {
  await mkdir(o.workDir, { recursive: true });
  const terminal = new Terminal(o.out, join(o.workDir, 'wharf.log'));
  const started = new StartedParts();
  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      await started.closeAll();
      await terminal.close();
    })());
  // A stop during start-up stops what runs now (the agent stops an NGINX still starting), and
  // whatever finishes starting later is stopped as it is added.
  const abort = () => void close();
  o.signal?.addEventListener('abort', abort, { once: true });
  const stillStarting = () => {
    if (o.signal?.aborted) throw new Error('stopped during start-up');
  };
  try {
    stillStarting();
    for (const b of o.backends) started.push(await startEchoServer(b.name, b.port));
    if (o.backends.length) terminal.say('backends', o.backends.map((b) => `${b.name} on 127.0.0.1:${b.port}`).join(', '));

    // The folder is read, and its Ingresses reviewed, while NGINX starts; the handler's first list
    // is this read, its YAML parsed by worker threads (ParseWorkers). The agent joins the handler's
    // fan-out only once the handler's view holds the whole folder, so that its first push is one
    // complete batch (every fragment and endpoint set: one reload) rather than thousands of
    // changes, one endpoint request each.
    const source = new ManifestSource(o.manifests, schemaCheck);
    const workers = o.parseWorkers ?? new ParseWorkers();
    started.push({ close: () => workers.close() });
    source.parser = workers.parse;
    const firstSync = source.sync().finally(() => {
      source.parser = null;
      void workers.close();
    });
    firstSync.catch(() => {}); // awaited below; a stop during start-up must not make it unhandled
    const agentToken = randomBytes(24).toString('hex');
    const eventsToken = randomBytes(24).toString('hex');
    const agent = new Agent({
      prefix: join(o.workDir, 'nginx'),
      listen: { host: '127.0.0.1', port: o.agentPort },
      token: agentToken,
      httpListen: [`${o.address}:${o.httpPort}`],
      httpsListen: [`${o.address}:${o.httpsPort}`],
      publicHttpsPort: o.httpsPort,
      publicHttpPort: o.httpPort,
      workerProcesses: WORKERS,
      workerShutdownTimeoutSeconds: 5,
      ...(o.sslPassthrough ? { sslPassthrough: true } : {}),
      logger: terminal.logger('agent'),
    });
    started.push({ close: () => agent.stop() });
    const agentUp = agent.start();
    agentUp.catch(() => {}); // awaited below

    const first = await firstSync;
    stillStarting();
    const reader = new AdmittedReader(source);
    const handler: RunningHandler = await startHandler({
      host: '127.0.0.1',
      port: o.handlerPort,
      tls: null,
      agents: [],
      agentService: null,
      agentToken,
      eventsToken,
      relistIntervalMs: 60_000,
      controller: {
        ...defaultControllerSettings,
        watchIngressWithoutClass: true,
        headersMore: headersMoreModule() !== null,
        ...(o.defaultSslCertificate ? { defaultSslCertificate: o.defaultSslCertificate } : {}),
        brotli: brotliModule() !== null,
        ...(o.defaultBackendService ? { defaultBackendService: o.defaultBackendService } : {}),
        nginxPorts: { httpPort: o.httpPort, httpsPort: o.httpsPort },
        ...(o.sslPassthrough ? { sslPassthrough: true } : {}),
        ...(o.streams ?? {}),
      },
      reader,
      log: terminal.logger('handler'),
    });
    started.push(handler);
    stillStarting();
    const sender = new EventSender({ url: `${handler.url}/events`, source: 'wharf/local', token: eventsToken, log: terminal.logger('events') });
    started.push({ close: async () => sender.close() });

    const applier = new FolderApply({ source, reader, admission: handler.handler.app.fetch, relist: () => handler.handler.relist(), sender, terminal });
    // Stopping ends the work in progress first (no new review or event), so that the handler's
    // server, stopped next, has no request in flight to wait for.
    let pending = Promise.resolve();
    started.push({
      close: async () => {
        source.close();
        applier.stop();
        await pending.catch(() => {});
      },
    });
    await (pending = applier.apply(first, true));
    stillStarting();
    await agentUp;
    stillStarting();
    // The agent's first push is the handler's complete snapshot; it is ready once NGINX serves that.
    handler.fanout.setClients([httpAgentClient({ url: agent.apiUrl, token: agentToken })]);
    source.watch(
      // One apply at a time; one that failed (reported by onError) does not stop the next.
      (r) => (pending = pending.catch(() => {}).then(() => applier.apply(r, false))),
      (e) => terminal.say('error', `watching ${o.manifests}: ${(e as Error).message}`),
    );
    await Promise.race([agent.whenReady, aborted(o.signal)]);
    stillStarting();
    o.signal?.removeEventListener('abort', abort);

    return {
      handlerUrl: handler.url,
      agentUrl: agent.apiUrl,
      agent,
      terminal,
      settled: async () => {
        await pending.catch(() => {}); // a failed apply was reported where it failed
        await sender.idle();
        await handler.fanout.idle();
        // Pushed is not applied: wait for the agent to confirm what it was given.
        for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
          const s = agent.state(true);
          if (s.appliedVersion === s.desiredVersion && s.queueDepth === 0) break;
        }
        // Confirmed is not yet exclusive: the old workers accept for another ~100 ms.
        if (agent.nginxPid) await waitOneGeneration(agent.nginxPid, WORKERS);
      },
      close,
    };
  } catch (e) {
    o.signal?.removeEventListener('abort', abort);
    await close();
    throw o.signal?.aborted ? new Error('stopped during start-up', { cause: e }) : e;
  }
}

// What startLocal started, stopped in reverse order; a part added once stopping began is stopped at once.
class StartedParts {
  private readonly parts: { close(): Promise<void> }[] = [];
  private closed = false;

  push(part: { close(): Promise<void> }): void {
    if (this.closed) void part.close().catch(() => {});
    else this.parts.push(part);
  }

  async closeAll(): Promise<void> {
    this.closed = true;
    for (const p of this.parts.reverse()) await p.close().catch(() => {});
  }
}

const aborted = (signal?: AbortSignal) => new Promise<void>((r) => (signal?.aborted ? r() : signal?.addEventListener('abort', () => r(), { once: true })));
