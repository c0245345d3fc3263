// Local mode: the whole system on one machine. A folder of manifests stands in for the API server;
// the same handler tier (over HTTP, through its admission webhook and its CloudEvents receiver)
// drives the same agent, which runs a real NGINX. Nothing else differs from a cluster.
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent } from '../src/agent/agent.ts';
import { waitOneGeneration } from '../src/agent/nginx-workers.ts';
import { EventSender } from '../src/cluster/event-sender.ts';
import { ManifestSource, type ResourceChange, type SyncResult } from '../src/cluster/manifest-source.ts';
import { defaultControllerSettings, parseObject } from '../src/model/index.ts';
import { headersMoreModule } from '../src/agent/nginx-install.ts';
import { startHandler, type RunningHandler } from '../src/handlers/serve.ts';
import { reviewIngress } from './admission-gate.ts';
import { startEchoServer, type EchoServer } from './echo-servers.ts';
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
  /** Echo servers to start as backends, e.g. the cafe example's. */
  backends: { name: string; port: number }[];
  out: (line: string) => void;
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

const EVENT_TYPE = { add: 'io.wharf.resource.add', update: 'io.wharf.resource.update', delete: 'io.wharf.resource.delete' } as const;

// The model's schemas, so a broken object is reported with its file and document, not by the handler.
function schemaCheck(_kind: string, object: Record<string, unknown>): string | null {
  const parsed = parseObject(object);
  return parsed.ok ? null : parsed.problems.map((p) => p.message).join('; ');
}

const where = (c: { file: string; index: number }) => (c.index >= 0 ? `${c.file} #${c.index}` : c.file);

/** Starts backends, the agent with NGINX, the handler and the manifest watcher, in that order. */
export async function startLocal(o: LocalOptions): Promise<LocalMode> {
  await mkdir(o.workDir, { recursive: true });
  const terminal = new Terminal(o.out, join(o.workDir, 'wharf.log'));
  const started: { close(): Promise<void> }[] = [];
  const close = async () => {
    for (const s of started.reverse()) await s.close().catch(() => {});
    await terminal.close();
  };
  try {
    for (const b of o.backends) started.push(await startEchoServer(b.name, b.port));
    if (o.backends.length) terminal.say('backends', o.backends.map((b) => `${b.name} on 127.0.0.1:${b.port}`).join(', '));

    const agentToken = randomBytes(24).toString('hex');
    const eventsToken = randomBytes(24).toString('hex');
    const agent = new Agent({
      prefix: join(o.workDir, 'nginx'),
      listen: { host: '127.0.0.1', port: o.agentPort },
      token: agentToken,
      httpListen: [`${o.address}:${o.httpPort}`],
      httpsListen: [`${o.address}:${o.httpsPort}`],
      publicHttpsPort: o.httpsPort,
      workerProcesses: WORKERS,
      workerShutdownTimeoutSeconds: 5,
      logger: terminal.logger('agent'),
    });
    started.push({ close: () => agent.stop() });
    await agent.start();
    await agent.whenReady;

    const source = new ManifestSource(o.manifests, schemaCheck);
    const handler: RunningHandler = await startHandler({
      host: '127.0.0.1',
      port: o.handlerPort,
      tls: null,
      agents: [agent.apiUrl],
      agentService: null,
      agentToken,
      eventsToken,
      relistIntervalMs: 60_000,
      controller: { ...defaultControllerSettings, watchIngressWithoutClass: true, headersMore: headersMoreModule() !== null },
      reader: source,
      log: terminal.logger('handler'),
    });
    started.push(handler);
    const sender = new EventSender({ url: `${handler.url}/events`, source: 'wharf/local', token: eventsToken, log: terminal.logger('events') });
    started.push({ close: async () => sender.close() });

    const send = (c: ResourceChange) => sender.send({ key: `${c.kind}/${c.key}`, type: EVENT_TYPE[c.type], subject: `${c.kind}/${c.key}`, data: c.object });
    // Everything but Ingresses first, so the webhook judges Ingresses against their Services and
    // Secrets; then each Ingress through the webhook, as `kubectl apply` would.
    const apply = async (r: SyncResult, first: boolean) => {
      for (const p of r.problems) terminal.say(p.severity === 'error' ? 'broken' : 'note', `${p.index !== undefined ? `${p.file} #${p.index}` : p.file}: ${p.message}`);
      const verb = (c: ResourceChange) => (first ? 'loaded' : `${c.type === 'add' ? 'added' : c.type === 'update' ? 'updated' : 'deleted'}`);
      for (const c of r.changes.filter((c) => c.kind !== 'Ingress' || c.type === 'delete')) {
        terminal.say(verb(c), `${c.kind} ${c.key} (${where(c)})${c.kind === 'EndpointSlice' && !first ? ': endpoints only, no reload' : ''}`);
        send(c);
      }
      await sender.idle();
      for (const c of r.changes.filter((c) => c.kind === 'Ingress' && c.type !== 'delete')) {
        const verdict = await reviewIngress(handler.url, c.object, c.previous);
        if (!verdict.allowed) {
          source.reject(c);
          terminal.say('rejected', `Ingress ${c.key} (${where(c)}): ${verdict.message}${c.previous ? '; the previous version keeps serving' : ''}`);
          continue;
        }
        terminal.say(verb(c), `Ingress ${c.key} (${where(c)})`);
        for (const w of verdict.warnings) terminal.say('warning', `Ingress ${c.key}: ${w}`);
        send(c);
      }
      await sender.idle();
    };
    await apply(await source.sync(), true);
    let pending = Promise.resolve();
    source.watch(
      (r) => (pending = pending.then(() => apply(r, false))),
      (e) => terminal.say('error', `watching ${o.manifests}: ${(e as Error).message}`),
    );
    started.push({ close: async () => source.close() });

    return {
      handlerUrl: handler.url,
      agentUrl: agent.apiUrl,
      agent,
      terminal,
      settled: async () => {
        await pending;
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
    await close();
    throw e;
  }
}
