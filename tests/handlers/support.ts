// A handler app wired for tests: an in-memory API server (MemoryReader), the view, fake agents
// behind the real fan-out, and helpers to send events and reviews through app.request().
import { MemoryView } from '../../src/cluster/view-memory.ts';
import { MemoryReader } from '../../src/cluster/view-memory-reader.ts';
import { createApp, type HandlerApp, type HandlerSettings } from '../../src/handlers/app.ts';
import type { HandlerOptions } from '../../src/handlers/handler-flags.ts';
import { AgentFanout } from '../../src/handlers/fanout.ts';
import { createHandlerMetrics } from '../../src/handlers/metrics.ts';
import { relevantTo } from '../../src/handlers/relevance.ts';
import { createLogger } from '../../src/log.ts';
import { defaultControllerSettings } from '../../src/model/index.ts';
import { fakeAgent, type FakeAgent } from './fake-agent.ts';
import { TOKEN } from './fixtures.ts';

export interface TestHandler extends HandlerApp {
  api: MemoryReader;
  view: MemoryView;
  agents: FakeAgent[];
  fanout: AgentFanout;
  post(path: string, init: RequestInit): Promise<{ status: number; json: any; headers: Headers }>;
  close(): Promise<void>;
}

export const quietLog = createLogger({}, () => {});

/** `wharf handler`'s options for a test: loopback, any port, no TLS, no agents, no list (`extra` says otherwise). */
export function handlerOptions(extra: Partial<HandlerOptions> = {}): HandlerOptions {
  return {
    host: '127.0.0.1',
    port: 0,
    tls: null,
    agents: [],
    agentService: null,
    agentToken: TOKEN,
    eventsToken: TOKEN,
    relistIntervalMs: 3_600_000,
    controller: { ...defaultControllerSettings },
    reader: null,
    log: quietLog,
    ...extra,
  };
}

export function testSettings(extra: Partial<HandlerSettings> = {}): HandlerSettings {
  return { controller: { ...defaultControllerSettings, configMap: 'wharf/wharf-config' }, agentToken: TOKEN, eventsToken: TOKEN, ...extra };
}

/** A handler app over `api` (a fresh one by default) pushing to fake agents (new ones, or shared). */
export function testHandler(options: { api?: MemoryReader; agents?: number | FakeAgent[]; settings?: Partial<HandlerSettings> } = {}): TestHandler {
  const api = options.api ?? new MemoryReader();
  const settings = testSettings(options.settings);
  const view = new MemoryView({ keep: relevantTo(settings.controller) });
  const agents = Array.isArray(options.agents) ? options.agents : Array.from({ length: options.agents ?? 1 }, (_, i) => fakeAgent(`http://agent-${i}`));
  const metrics = createHandlerMetrics();
  const fanout = new AgentFanout({ clients: agents, log: quietLog, metrics, minBackoffMs: 2, maxBackoffMs: 10 });
  const handler = createApp({ view, reader: api, agents: fanout, settings, metrics, log: quietLog });
  return {
    ...handler,
    api,
    view,
    agents,
    fanout,
    async post(path, init) {
      const res = await handler.app.request(path, init);
      const text = await res.text();
      let json: unknown = text;
      try {
        json = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, json, headers: res.headers };
    },
    close: () => fanout.close(),
  };
}
