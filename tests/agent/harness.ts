// Runs a real Agent (and so a real NGINX) in a temporary prefix for tests, with helpers to call its
// API and to send requests through its NGINX. WHARF_TEST_LOG=1 prints the agent's logs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Agent, type AgentOptions } from '../../src/agent/agent.ts';
import { createLogger } from '../../src/log.ts';
import { freePort } from '../support/backend.ts';
import { request, eventually, type Reply } from '../support/http.ts';
import { acceptingWorkers } from '../support/workers.ts';

export interface TestAgent {
  agent: Agent;
  prefix: string;
  token: string;
  httpPort: number;
  httpsPort: number;
  logs: string[];
  /** Calls the agent API with the token (or `token`, or none when null). */
  api(method: string, path: string, body?: unknown, o?: { token?: string | null; raw?: string; headers?: Record<string, string> }): Promise<{ status: number; json: any; text: string }>;
  /** Waits until only one generation of workers accepts connections (NGINX's master lets the old
   * ones accept for ~100 ms after the new ones answer the version socket; "applied" waits for that
   * itself, a reload the test did not wait for does not). */
  retired(): Promise<void>;
  /** A request through NGINX. */
  get(host: string, path?: string, o?: { tls?: boolean }): Promise<Reply>;
  stop(): Promise<void>;
}

export async function startTestAgent(opts: Partial<AgentOptions> = {}): Promise<TestAgent> {
  const prefix = mkdtempSync(join(tmpdir(), 'wharf-agent-'));
  const token = randomBytes(16).toString('hex');
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  const logs: string[] = [];
  const logger = createLogger({ component: 'agent' }, (line) => {
    logs.push(line);
    if (process.env.WHARF_TEST_LOG) process.stderr.write(line);
  });
  const agent = new Agent({
    prefix,
    token,
    listen: { host: '127.0.0.1', port: 0 },
    httpListen: [`127.0.0.1:${httpPort}`],
    httpsListen: [`127.0.0.1:${httpsPort}`],
    workerProcesses: 1,
    workerShutdownTimeoutSeconds: 2,
    reloadTimeoutMs: 20_000,
    logger,
    ...opts,
  });
  try {
    await agent.start();
  } catch (e) {
    rmSync(prefix, { recursive: true, force: true });
    throw new Error(`${(e as Error).message}\nagent logs:\n${logs.join('')}`, { cause: e });
  }
  const retired = async () => {
    const pid = agent.nginxPid;
    if (!pid) return;
    const limit = typeof opts.workerProcesses === 'number' ? opts.workerProcesses : 1;
    const ok = await eventually(() => acceptingWorkers(pid).length <= limit, 5000, 5);
    if (!ok) throw new Error(`old NGINX workers of master ${pid} still accept connections after 5 s`);
  };
  return {
    agent,
    prefix,
    token,
    httpPort,
    httpsPort,
    logs,
    async api(method, path, body, o = {}) {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      const t = o.token === undefined ? token : o.token;
      if (t !== null) headers.authorization = `Bearer ${t}`;
      if (body !== undefined || o.raw !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${agent.apiUrl}${path}`, { method, headers, body: o.raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
      const text = await res.text();
      let json: unknown = null;
      try {
        json = JSON.parse(text);
      } catch {
        // not JSON (metrics, readiness)
      }
      return { status: res.status, json, text };
    },
    retired,
    get(host, path = '/', o = {}) {
      return request({ port: o.tls ? httpsPort : httpPort, host, path, tls: o.tls });
    },
    async stop() {
      await agent.stop();
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}

/** A server fragment for `host` that proxies every path to `upstream`. */
export function proxyFragment(host: string, upstream: string, extra = ''): string {
  return `server {
    server_name ${host};
    include listen-http.conf;
    location / {
        set $wharf_upstream "${upstream}";
        proxy_http_version 1.1;
        proxy_set_header Connection $wharf_connection_upgrade;
        proxy_pass http://$wharf_backend;
    }
${extra}}
`;
}

/** The JSON body a backend answered with, or null. */
export function backendOf(r: Reply): string | null {
  try {
    return (JSON.parse(r.body) as { backend?: string }).backend ?? null;
  } catch {
    return null;
  }
}

/** A self-signed certificate and key made with the openssl CLI (RSA 2048, one day). */
export async function selfSignedCert(commonName = 'wharf.test'): Promise<{ cert: string; key: string }> {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const { readFile, mkdtemp, rm } = await import('node:fs/promises');
  const dir = await mkdtemp(join(tmpdir(), 'wharf-cert-'));
  try {
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${commonName}`,
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ]);
    return { cert: await readFile(join(dir, 'cert.pem'), 'utf8'), key: await readFile(join(dir, 'key.pem'), 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A TLS server fragment for `host` with its certificate shipped as the fragment's files. */
export function tlsFragment(host: string, upstream: string, pair: { cert: string; key: string }, name = host) {
  return {
    config: `server {
    server_name ${host};
    include listen-https.conf;
    ssl_certificate files/${name}/tls.crt;
    ssl_certificate_key files/${name}/tls.key;
    location / {
        set $wharf_upstream "${upstream}";
        proxy_pass http://$wharf_backend;
    }
}
`,
    files: { 'tls.crt': { content: pair.cert, secret: false }, 'tls.key': { content: pair.key, secret: true } },
  };
}

/** TLS servers, each with its own copy of one certificate, that make an NGINX reload take seconds. */
export const SLOW_RELOAD_SERVERS = 1500;

/**
 * The setting of the "while a slow reload is in progress" tests: SLOW_RELOAD_SERVERS TLS servers
 * (tls0.example.com …) with `extra` fragments and `endpoints`, in one batch, applied and served.
 */
export async function loadSlowReloadConfig(t: TestAgent, extra: object[], endpoints: object[]): Promise<void> {
  const pair = await selfSignedCert('slow.example.com');
  const fragments: object[] = Array.from({ length: SLOW_RELOAD_SERVERS }, (_, i) => ({ name: `tls${i}.example.com`, revision: 1, ...tlsFragment(`tls${i}.example.com`, 'default-tls-443', pair) }));
  const r = await t.api('POST', '/v1/batch?wait=1', { fragments: [...fragments, ...extra], endpoints });
  if (r.status !== 200 || !r.json.fragments.every((f: { status: string }) => f.status === 'applied')) throw new Error(`the slow-reload configuration was not applied: ${r.status} ${r.text.slice(0, 500)}`);
}

/** Changes tls0.example.com at `revision`: a reload of the slow configuration starts (the change is pending). Its desired version. */
export async function startSlowReload(t: TestAgent, revision: number): Promise<number> {
  const put = await t.api('PUT', '/v1/fragments/tls0.example.com', { revision, ...tlsFragment('tls0.example.com', `default-tls-${revision}`, await selfSignedCert('tls0.example.com')) });
  if (put.json.status !== 'pending') throw new Error(`the change of tls0.example.com is ${put.json.status}, not pending: ${put.text.slice(0, 300)}`);
  return put.json.version as number;
}
