// The client's real address, scheme and port in a real NGINX (issue 17, item 2): what backends get as
// X-Real-IP and X-Forwarded-*, with and without use-forwarded-headers, proxy-real-ip-cidr,
// compute-full-forwarded-for, forwarded-for-header and use-proxy-protocol; forged headers from an
// untrusted peer ignored; allowlists and redirects to HTTPS deciding on the real client. Clients are
// raw sockets bound to 127.0.0.1 (untrusted) or 127.0.0.2 (the trusted "load balancer"), writing the
// PROXY protocol header themselves.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { startNginx, type TestNginx } from '../support/nginx.ts';
import { startBackend, type Backend } from '../support/backend.ts';
import { ingressObject, loadFragments, renderObjects, routeUpstreams, selfSigned, tlsSecretObject, type IngressSpec } from './helpers.ts';
import { parseGlobalSettings } from '../../src/model/global-settings.ts';

const TRUSTED = '127.0.0.2';
const UNTRUSTED = '127.0.0.1';
const cert = selfSigned('app.test', ['secure.test']);
const ingresses: IngressSpec[] = [
  {
    name: 'app',
    annotations: { 'ssl-redirect': 'false' },
    tls: [{ hosts: ['app.test'], secretName: 'tls' }],
    rules: [{ host: 'app.test', paths: [{ pathType: 'Prefix', path: '/', service: 'app' }] }],
  },
  {
    name: 'allow',
    annotations: { 'whitelist-source-range': '203.0.113.0/24', 'ssl-redirect': 'false' },
    rules: [{ host: 'app.test', paths: [{ pathType: 'Prefix', path: '/allow', service: 'app' }] }],
  },
  { name: 'secure', tls: [{ hosts: ['secure.test'], secretName: 'tls' }], rules: [{ host: 'secure.test', paths: [{ pathType: 'Prefix', path: '/', service: 'app' }] }] },
];

let nginx: TestNginx;
let app: Backend;

/** Renders the Ingresses with this ConfigMap data (none: no ConfigMap) and loads them. */
async function configure(data?: Record<string, string>): Promise<void> {
  const configMap = data ? [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'wharf', namespace: 'wharf', uid: 'uid-cm' }, data }] : [];
  const { model, fragments, certificates } = renderObjects([...ingresses.map(ingressObject), tlsSecretObject('tls', cert), ...configMap]);
  await loadFragments(nginx, fragments, certificates);
  await routeUpstreams(nginx, model, { app });
}

interface Sent {
  /** Source address of the connection. */
  from: string;
  host: string;
  path?: string;
  headers?: Record<string, string>;
  tls?: boolean;
  /** Written first on the TCP connection (a PROXY protocol header). */
  proxyHeader?: string;
}

/** One request on a fresh connection; resolves with the status and what the backend saw (JSON body). */
function send(o: Sent): Promise<{ status: number; location: string | undefined; seen: Record<string, string> | null; raw: string }> {
  return new Promise((resolve, reject) => {
    const port = o.tls ? nginx.httpsPort : nginx.httpPort;
    const raw = net.connect({ host: '127.0.0.1', port, localAddress: o.from });
    raw.setTimeout(5000, () => raw.destroy(new Error('timed out')));
    raw.on('error', reject);
    raw.once('connect', () => {
      if (o.proxyHeader) raw.write(o.proxyHeader);
      const socket: net.Socket = o.tls ? tls.connect({ socket: raw, servername: o.host, rejectUnauthorized: false }) : raw;
      const lines = [`GET ${o.path ?? '/'} HTTP/1.1`, `Host: ${o.host}`, 'Connection: close', ...Object.entries(o.headers ?? {}).map(([k, v]) => `${k}: ${v}`)];
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('error', reject);
      socket.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
        const location = /\r\nlocation: ([^\r]*)/i.exec(text)?.[1];
        const body = text.slice(text.indexOf('\r\n\r\n') + 4);
        let seen: Record<string, string> | null = null;
        if (status === 200) seen = (JSON.parse(body) as { headers: Record<string, string> }).headers;
        resolve({ status, location, seen, raw: text });
      });
    });
  });
}

/** The headers a backend gets about the client. */
function forwarded(seen: Record<string, string> | null): Record<string, string | undefined> {
  assert.ok(seen, 'the request reached the backend');
  const pick = ['x-real-ip', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-port', 'x-forwarded-host', 'x-original-forwarded-for'];
  return Object.fromEntries(pick.map((h) => [h, seen[h]]));
}

const FORGED = { 'X-Forwarded-For': '203.0.113.7', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Port': '8888', 'X-Forwarded-Host': 'forged.test' };

before(async () => {
  app = await startBackend('app');
  // Clients reach NGINX through a "Service" on 80 and 443: NGINX's own ports are random.
  nginx = await startNginx({ publicPorts: { http: 80, https: 443 } });
});
after(async () => {
  await nginx?.stop();
  await app?.close();
});

describe('without a ConfigMap (ingress-nginx defaults)', () => {
  before(() => configure());

  test('backends get the peer as the client and the port the client used, whatever headers it sends', async () => {
    const plain = await send({ from: TRUSTED, host: 'app.test', headers: FORGED });
    assert.deepEqual(forwarded(plain.seen), {
      'x-real-ip': TRUSTED, 'x-forwarded-for': TRUSTED, 'x-forwarded-proto': 'http', 'x-forwarded-port': '80', 'x-forwarded-host': 'app.test', 'x-original-forwarded-for': '203.0.113.7',
    });
    const secure = await send({ from: UNTRUSTED, host: 'app.test', tls: true });
    assert.deepEqual(forwarded(secure.seen), {
      'x-real-ip': UNTRUSTED, 'x-forwarded-for': UNTRUSTED, 'x-forwarded-proto': 'https', 'x-forwarded-port': '443', 'x-forwarded-host': 'app.test', 'x-original-forwarded-for': undefined,
    });
  });

  test('a forged X-Forwarded-For does not pass an allowlist, and X-Forwarded-Proto does not stop the redirect to HTTPS', async () => {
    assert.equal((await send({ from: TRUSTED, host: 'app.test', path: '/allow', headers: FORGED })).status, 403);
    const r = await send({ from: TRUSTED, host: 'secure.test', headers: FORGED });
    assert.equal(r.status, 308);
    assert.equal(r.location, 'https://secure.test/');
  });
});

describe('use-forwarded-headers with proxy-real-ip-cidr', () => {
  before(() => configure({ 'use-forwarded-headers': 'true', 'proxy-real-ip-cidr': `${TRUSTED}/32, 2001:db8::/32` }));

  test('a trusted peer says who the client is, and how and where it connected', async () => {
    const r = await send({ from: TRUSTED, host: 'app.test', headers: FORGED });
    assert.deepEqual(forwarded(r.seen), {
      'x-real-ip': '203.0.113.7', 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https', 'x-forwarded-port': '8888', 'x-forwarded-host': 'forged.test', 'x-original-forwarded-for': '203.0.113.7',
    });
  });

  test('the same headers from an untrusted peer are ignored', async () => {
    const r = await send({ from: UNTRUSTED, host: 'app.test', headers: FORGED });
    assert.deepEqual(forwarded(r.seen), {
      'x-real-ip': UNTRUSTED, 'x-forwarded-for': UNTRUSTED, 'x-forwarded-proto': 'http', 'x-forwarded-port': '80', 'x-forwarded-host': 'app.test', 'x-original-forwarded-for': '203.0.113.7',
    });
  });

  test('the allowlist sees the client a trusted peer names, never one an untrusted peer claims', async () => {
    assert.equal((await send({ from: TRUSTED, host: 'app.test', path: '/allow', headers: FORGED })).status, 200);
    assert.equal((await send({ from: TRUSTED, host: 'app.test', path: '/allow', headers: { 'X-Forwarded-For': '198.51.100.1' } })).status, 403);
    assert.equal((await send({ from: UNTRUSTED, host: 'app.test', path: '/allow', headers: FORGED })).status, 403);
  });

  test('a load balancer that ended TLS is not redirected to HTTPS again; an untrusted claim is', async () => {
    assert.equal((await send({ from: TRUSTED, host: 'secure.test', headers: { 'X-Forwarded-Proto': 'https' } })).status, 200);
    assert.equal((await send({ from: TRUSTED, host: 'secure.test', headers: { 'X-Forwarded-Proto': 'http' } })).status, 308);
    assert.equal((await send({ from: UNTRUSTED, host: 'secure.test', headers: { 'X-Forwarded-Proto': 'https' } })).status, 308);
  });
});

describe('compute-full-forwarded-for and forwarded-for-header', () => {
  test('compute-full-forwarded-for: backends get the whole chain with the peer appended', async () => {
    await configure({ 'use-forwarded-headers': 'true', 'compute-full-forwarded-for': 'true', 'proxy-real-ip-cidr': `${TRUSTED}/32` });
    const r = await send({ from: TRUSTED, host: 'app.test', headers: { 'X-Forwarded-For': '198.51.100.1, 203.0.113.7' } });
    assert.equal(forwarded(r.seen)['x-forwarded-for'], `198.51.100.1, 203.0.113.7, ${TRUSTED}`);
    assert.equal(forwarded(r.seen)['x-real-ip'], '203.0.113.7');
    const alone = await send({ from: UNTRUSTED, host: 'app.test' });
    assert.equal(forwarded(alone.seen)['x-forwarded-for'], UNTRUSTED);
  });

  test('forwarded-for-header: the client address comes from the header named', async () => {
    await configure({ 'use-forwarded-headers': 'true', 'forwarded-for-header': 'CF-Connecting-IP', 'proxy-real-ip-cidr': `${TRUSTED}/32` });
    const r = await send({ from: TRUSTED, host: 'app.test', path: '/allow', headers: { 'CF-Connecting-IP': '203.0.113.9', 'X-Forwarded-For': '198.51.100.1' } });
    assert.equal(r.status, 200);
    assert.equal(forwarded(r.seen)['x-real-ip'], '203.0.113.9');
    assert.equal(forwarded(r.seen)['x-original-forwarded-for'], '203.0.113.9');
  });

  test('enable-real-ip: the address is believed, the other X-Forwarded-* headers are not', async () => {
    await configure({ 'enable-real-ip': 'true', 'proxy-real-ip-cidr': `${TRUSTED}/32` });
    const r = await send({ from: TRUSTED, host: 'app.test', headers: FORGED });
    assert.deepEqual(forwarded(r.seen), {
      'x-real-ip': '203.0.113.7', 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'http', 'x-forwarded-port': '80', 'x-forwarded-host': 'app.test', 'x-original-forwarded-for': '203.0.113.7',
    });
  });
});

describe('use-proxy-protocol', () => {
  before(() => configure({ 'use-proxy-protocol': 'true', 'proxy-real-ip-cidr': `${TRUSTED}/32` }));

  test('a client behind a PROXY protocol load balancer is the backend\'s client, over HTTPS and plain HTTP', async () => {
    const secure = await send({ from: TRUSTED, host: 'app.test', tls: true, proxyHeader: 'PROXY TCP4 198.51.100.20 192.0.2.1 51234 443\r\n', headers: FORGED });
    assert.deepEqual(forwarded(secure.seen), {
      'x-real-ip': '198.51.100.20', 'x-forwarded-for': '198.51.100.20', 'x-forwarded-proto': 'https', 'x-forwarded-port': '443', 'x-forwarded-host': 'app.test', 'x-original-forwarded-for': '203.0.113.7',
    });
    const plain = await send({ from: TRUSTED, host: 'app.test', proxyHeader: 'PROXY TCP6 2001:db8::5 2001:db8::1 51234 80\r\n' });
    assert.equal(forwarded(plain.seen)['x-real-ip'], '2001:db8::5');
    assert.equal(forwarded(plain.seen)['x-forwarded-port'], '80');
  });

  test('the allowlist sees the PROXY protocol\'s client; an untrusted peer\'s PROXY header is not believed', async () => {
    assert.equal((await send({ from: TRUSTED, host: 'app.test', path: '/allow', proxyHeader: 'PROXY TCP4 203.0.113.50 192.0.2.1 5000 80\r\n' })).status, 200);
    assert.equal((await send({ from: UNTRUSTED, host: 'app.test', path: '/allow', proxyHeader: 'PROXY TCP4 203.0.113.50 192.0.2.1 5000 80\r\n' })).status, 403);
    const r = await send({ from: UNTRUSTED, host: 'app.test', proxyHeader: 'PROXY TCP4 203.0.113.50 192.0.2.1 5000 80\r\n' });
    assert.equal(forwarded(r.seen)['x-real-ip'], UNTRUSTED);
  });

  test('a connection without the PROXY header gets no answer from a server', async () => {
    const r = await send({ from: TRUSTED, host: 'app.test' });
    assert.equal(r.status, 0, r.raw);
  });
});

describe('the ConfigMap keys\' grammar', () => {
  const parse = (data: Record<string, string>) => parseGlobalSettings({ kind: 'ConfigMap', metadata: { name: 'wharf', namespace: 'wharf' }, data } as never);

  test('invalid values are refused with the key and the reason, and keep the default', () => {
    const { settings, problems } = parse({
      'proxy-real-ip-cidr': '10.0.0.0/8, 10.0.0.0/33', 'forwarded-for-header': 'X-Real-IP;', 'use-proxy-protocol': 'yes', 'use-forwarded-headers': 'true',
    });
    assert.deepEqual(settings.proxyRealIpCidr, ['0.0.0.0/0']);
    assert.equal(settings.forwardedForHeader, 'X-Forwarded-For');
    assert.equal(settings.useProxyProtocol, false);
    assert.deepEqual(problems.map((p) => [p.severity, p.message]), [
      ['error', 'data[forwarded-for-header]: Invalid value: "X-Real-IP;": must be a header name of A-Z a-z 0-9 and - (at most 64 characters), such as X-Forwarded-For or CF-Connecting-IP; the default is used'],
      ['error', 'data[proxy-real-ip-cidr]: Invalid value: "10.0.0.0/8, 10.0.0.0/33": item "10.0.0.0/33" must be an IPv4 or IPv6 address or CIDR such as 10.0.0.0/8 or 2001:db8::/32; the default is used'],
      ['error', 'data[use-proxy-protocol]: Invalid value: "yes": must be "true" or "false"; the default is used'],
      ['warning', "data[proxy-real-ip-cidr]: Required value: unset, any IPv4 peer may give the client's address (X-Forwarded-For); list your load balancers' CIDRs"],
    ]);
  });

  test('trusted ranges are normalized; no warning once they are set', () => {
    const { settings, problems } = parse({ 'use-proxy-protocol': 'true', 'proxy-real-ip-cidr': '10.0.0.0/8,2001:DB8::/32 , 10.0.0.0/8' });
    assert.deepEqual(settings.proxyRealIpCidr, ['10.0.0.0/8', '2001:db8::/32']);
    assert.deepEqual(problems, []);
  });
});
