// Helpers for the render tests: routing-model builders for hand-made models, loading rendered
// fragments into the test NGINX, and self-signed certificates made with the openssl CLI.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { builtinDefaultServer } from '../../src/render/skeleton.ts';
import https from 'node:https';
import tls from 'node:tls';
import type { GlobalSettings, Location, LocationSettings, ObjectRef, RoutingModel, Server, ServiceBackend } from '../../src/model/types.ts';
import { renderModel, type Certificate, type Fragment } from '../../src/render/index.ts';
import { certificateInclude } from '../../src/agent/certificate-files.ts';
import { buildModel, defaultControllerSettings, defaultGlobalSettings, stateFromObjects } from '../../src/model/index.ts';
import type { TestNginx } from '../support/nginx.ts';

/** The settings a cluster without wharf's ConfigMap gets. */
export const global: GlobalSettings = { ...defaultGlobalSettings };

export const ingress = (name = 'app', namespace = 'default'): ObjectRef => ({ kind: 'Ingress', namespace, name });

/** A backend whose upstream is `default-<service>-80`. */
export const backend = (service: string): ServiceBackend => ({ upstream: `default-${service}-80`, namespace: 'default', service, port: 80 });

export const settings = (s: Partial<LocationSettings> = {}): LocationSettings => ({
  backendProtocol: 'HTTP',
  sslRedirect: false,
  forceSslRedirect: false,
  ...s,
});

export function location(path: string, match: Location['match'], service: string | null, s: Partial<LocationSettings> = {}, extra: Partial<Location> = {}): Location {
  return { path, match, backend: service === null ? null : backend(service), settings: settings(s), source: ingress(), ...extra };
}

export function server(host: string, locations: Location[], extra: Partial<Server> = {}): Server {
  return { host, locations, tls: null, sslRedirect: false, sources: [ingress()], ...extra };
}

export function model(servers: Server[], defaultLocations: Location[] = []): RoutingModel {
  const upstreams = new Map<string, ServiceBackend>();
  for (const l of [...servers.flatMap((s) => s.locations), ...defaultLocations]) {
    if (l.backend) upstreams.set(l.backend.upstream, l.backend);
    if (l.canary) upstreams.set(l.canary.backend.upstream, l.canary.backend);
  }
  return {
    servers: [...servers].sort((a, b) => (a.host < b.host ? -1 : 1)),
    defaultServer: { locations: defaultLocations, sources: [] },
    global,
    upstreams: [...upstreams.values()].sort((a, b) => (a.upstream < b.upstream ? -1 : 1)),
    problems: [],
  };
}

/**
 * Loads fragments into the test NGINX the way the agent writes them: `fragments/<name>.conf`, files
 * under `files/<name>/`. The test NGINX names its built-in default server `default`; `_default`
 * replaces it. `extraFiles`: more files by path in the prefix (the agent's listener port files).
 */
export async function loadFragments(nginx: TestNginx, fragments: Fragment[], certificates: Certificate[] = [], extraFiles: Record<string, string> = {}): Promise<void> {
  const configs: Record<string, string> = {};
  const files: Record<string, string> = { ...certificateFiles(certificates), ...extraFiles };
  for (const f of fragments) {
    configs[f.name === '_default' ? 'default' : f.name] = f.config;
    for (const [file, { content }] of Object.entries(f.files)) files[`files/${f.name}/${file}`] = content;
  }
  await nginx.load(configs, files);
  // NGINX's workers (not the master) read htpasswd files, on every request with credentials; the
  // test NGINX writes every file 0600 as root, so the workers (user nobody) could not. The agent
  // must make them readable to the worker user too.
  for (const path of Object.keys(files)) if (/\/auth-[0-9a-f]+$/.test(path)) chmodSync(join(nginx.prefix, path), 0o644);
}

/**
 * The files the agent writes for certificates without the Lua module (the test NGINX takes them so):
 * `certificates/NAME.conf` with the directives, `NAME.crt`, `NAME.key`.
 */
export function certificateFiles(certificates: Certificate[]): Record<string, string> {
  const files: Record<string, string> = {};
  for (const c of certificates) {
    files[`certificates/${c.name}.conf`] = certificateInclude(c.name, true);
    files[`certificates/${c.name}.crt`] = c.cert;
    files[`certificates/${c.name}.key`] = c.key;
  }
  return files;
}

/**
 * `nginx -t` on the skeleton plus `fragments`, written into the test NGINX's prefix without
 * reloading it (and removed again); returns NGINX's complaint, or '' when it accepts them.
 */
export function nginxTest(nginx: TestNginx, fragments: Fragment[], certificates: Certificate[] = []): string {
  const written: string[] = [];
  const write = (path: string, content: string) => {
    mkdirSync(dirname(join(nginx.prefix, path)), { recursive: true });
    writeFileSync(join(nginx.prefix, path), content);
    written.push(path);
  };
  try {
    for (const [path, content] of Object.entries(certificateFiles(certificates))) write(path, content);
    for (const f of fragments) {
      const name = f.name === '_default' ? 'default' : f.name;
      write(`fragments/${name}.conf`, f.config);
      for (const [file, { content }] of Object.entries(f.files)) write(`files/${f.name}/${file}`, content);
    }
    return nginx.test();
  } finally {
    for (const path of written) rmSync(join(nginx.prefix, path), { force: true });
    writeFileSync(join(nginx.prefix, 'fragments', 'default.conf'), builtinDefaultServer);
  }
}

/** A self-signed certificate for `host` and `more` names (its SANs), made with the openssl CLI. */
export function selfSigned(host: string, more: string[] = []): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-cert-'));
  try {
    const r = spawnSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', `/CN=${host}`, '-addext', `subjectAltName=${[host, ...more].map((n) => `DNS:${n}`).join(',')}`,
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl req failed: ${r.stderr}`);
    return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A CA and a client certificate it signs (subject CN `clientCn`), for client-certificate
 * authentication (auth-tls-*): PEM texts, made with the openssl CLI.
 */
export function clientCertificates(clientCn: string): { ca: string; cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-ca-'));
  const run = (args: string[]) => {
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    run(['req', '-x509', ...ec, '-days', '2', '-subj', `/CN=wharf test CA for ${clientCn}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.pem')]);
    run(['req', ...ec, '-subj', `/O=wharf/CN=${clientCn}`, '-keyout', join(dir, 'client.key'), '-out', join(dir, 'client.csr')]);
    run(['x509', '-req', '-in', join(dir, 'client.csr'), '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca.key'), '-set_serial', '2', '-days', '2', '-out', join(dir, 'client.pem')]);
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    return { ca: read('ca.pem'), cert: read('client.pem'), key: read('client.key') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An Opaque Secret holding a CA bundle under `ca.crt` (auth-tls-secret). */
export function caSecretObject(name: string, ca: string): object {
  return { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name, namespace: 'default', uid: `uid-secret-${name}` }, data: { 'ca.crt': Buffer.from(ca).toString('base64') } };
}

/** GET over HTTPS with SNI and Host `host` (and `headers`), presenting `client` (certificate and key) when given. */
export function httpsWithCertificate(
  port: number,
  host: string,
  path: string,
  client?: { cert: string; key: string },
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, path, servername: host, headers: { ...headers, host }, agent: false, rejectUnauthorized: false, timeout: 5000, ...(client ?? {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request to ${host}${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** The subject CN of the certificate NGINX presents for SNI `servername`, or the handshake error. */
export function peerCertificateCN(port: number, servername: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      const cn = socket.getPeerCertificate().subject?.CN;
      socket.end();
      resolve(String(cn));
    });
    socket.on('error', (e) => resolve(`error: ${e.message}`));
  });
}

// ---------------------------------------------------------------------------------------------
// Kubernetes objects, for tests that go from Ingress objects through src/model's buildModel.

export const ANNOTATION = 'nginx.ingress.kubernetes.io/';

export interface PathSpec {
  pathType: 'Exact' | 'Prefix' | 'ImplementationSpecific';
  path: string;
  /** Service name; its port is 80, so the upstream is `default-<service>-80`. */
  service: string;
}

export interface IngressSpec {
  name: string;
  rules?: { host?: string; paths: PathSpec[] }[];
  defaultBackend?: string;
  tls?: { hosts: string[]; secretName: string }[];
  /** Annotation names without the nginx.ingress.kubernetes.io/ prefix. */
  annotations?: Record<string, string>;
  /** Creation order: the oldest wins conflicts. */
  created?: string;
}

/** An Ingress object of class wharf in namespace default, as kubectl would send it. */
export function ingressObject(spec: IngressSpec): object {
  const backend = (service: string) => ({ service: { name: service, port: { number: 80 } } });
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: spec.name,
      namespace: 'default',
      uid: `uid-${spec.name}`,
      creationTimestamp: spec.created ?? '2025-01-01T00:00:00Z',
      annotations: Object.fromEntries(Object.entries(spec.annotations ?? {}).map(([k, v]) => [`${ANNOTATION}${k}`, v])),
    },
    spec: {
      ingressClassName: 'wharf',
      ...(spec.defaultBackend ? { defaultBackend: backend(spec.defaultBackend) } : {}),
      ...(spec.tls ? { tls: spec.tls } : {}),
      rules: (spec.rules ?? []).map((r) => ({
        ...(r.host !== undefined ? { host: r.host } : {}),
        http: { paths: r.paths.map((p) => ({ path: p.path, pathType: p.pathType, backend: backend(p.service) })) },
      })),
    },
  };
}

/** A Service with port 80 (named http). */
export function serviceObject(name: string): object {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', uid: `uid-svc-${name}` }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } };
}

/** A kubernetes.io/tls Secret. */
export function tlsSecretObject(name: string, pair: { cert: string; key: string }): object {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name, namespace: 'default', uid: `uid-secret-${name}` },
    data: { 'tls.crt': Buffer.from(pair.cert).toString('base64'), 'tls.key': Buffer.from(pair.key).toString('base64') },
  };
}

/** A proxy-ssl-secret: a client certificate (tls.crt, tls.key) and/or a CA bundle (ca.crt), Opaque unless told. */
export function proxySslSecretObject(name: string, keys: { cert?: string; key?: string; ca?: string }, type = 'Opaque'): object {
  const data: Record<string, string> = {};
  if (keys.cert !== undefined) data['tls.crt'] = Buffer.from(keys.cert).toString('base64');
  if (keys.key !== undefined) data['tls.key'] = Buffer.from(keys.key).toString('base64');
  if (keys.ca !== undefined) data['ca.crt'] = Buffer.from(keys.ca).toString('base64');
  return { apiVersion: 'v1', kind: 'Secret', type, metadata: { name, namespace: 'default', uid: `uid-secret-${name}` }, data };
}

/** An Opaque Secret with an htpasswd file under `auth` (basic auth). */
export function authSecretObject(name: string, htpasswd: string): object {
  return { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name, namespace: 'default', uid: `uid-secret-${name}` }, data: { auth: Buffer.from(htpasswd).toString('base64') } };
}

/** Points every upstream of `m` at the backend named by its service (`default-<name>-80` → backends[name]). */
export async function routeUpstreams(nginx: TestNginx, m: RoutingModel, backends: Record<string, { address: string }>): Promise<void> {
  for (const u of m.upstreams) {
    const b = backends[u.service];
    if (!b) throw new Error(`no test backend for service ${u.service}`);
    await nginx.setEndpoints(u.upstream, [b.address]);
  }
}

/** Objects → model → fragments, as the handler tier does it; fails on any error problem or refused fragment. */
export function renderObjects(objects: object[]): { model: RoutingModel; fragments: Fragment[]; certificates: Certificate[] } {
  const { state, problems } = stateFromObjects(objects);
  const errors = problems.filter((p) => p.severity === 'error');
  if (errors.length) throw new Error(`objects refused:\n${errors.map((p) => p.message).join('\n')}`);
  const m = buildModel(state, defaultControllerSettings);
  const modelErrors = m.problems.filter((p) => p.severity === 'error');
  if (modelErrors.length) throw new Error(`model problems:\n${modelErrors.map((p) => p.message).join('\n')}`);
  const { fragments, failures, certificates } = renderModel(m);
  if (failures.length) throw new Error(`fragments refused:\n${failures.map((f) => `${f.name}: ${f.error.message}`).join('\n')}`);
  return { model: m, fragments, certificates };
}

