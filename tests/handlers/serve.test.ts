// `wharf handler` under Node: its flags, HTTPS (the API server calls webhooks over HTTPS only), and
// the CLI entry point.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseHandlerArgs, startHandler, UsageError, type HandlerOptions } from '../../src/handlers/serve.ts';
import { selfSigned } from '../render/helpers.ts';
import { request } from '../support/http.ts';
import { TOKEN, admissionReview, ingress } from './fixtures.ts';
import { handlerOptions } from './support.ts';

/** A kubeconfig for an API server nobody calls (parsing only). */
const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:1
users:
- name: u
  user:
    token: t
contexts:
- name: c
  context:
    cluster: c
    user: u
    namespace: ingress
current-context: c
`;

function files(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-handler-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, content: string) => {
    writeFileSync(join(dir, name), content);
    return join(dir, name);
  };
  return { dir, write };
}

test('flags are checked with a message naming the flag and the fix', async (t) => {
  const f = files(t);
  const token = f.write('token', `${TOKEN}\n`);
  const short = f.write('short', 'abc');
  const cases: [string, string[], RegExp][] = [
    ['no agent token', ['--no-list'], /--agent-token-file: Required value/],
    ['a short token', ['--no-list', '--agent-token-file', short], /--agent-token-file: the token in .* is 3 characters; use at least 16/],
    ['a missing token file', ['--no-list', '--agent-token-file', join(f.dir, 'nope')], /--agent-token-file: cannot read/],
    ['a bad listen address', ['--no-list', '--agent-token-file', token, '--listen', '8080'], /--listen: Invalid value: "8080": expected HOST:PORT/],
    ['a certificate without key', ['--no-list', '--agent-token-file', token, '--tls-cert', token], /--tls-cert and --tls-key: Required value: give both or neither/],
    ['a bad agent URL', ['--no-list', '--agent-token-file', token, '--agent', 'ftp://x'], /--agent: agent URL ftp:\/\/x: use http:\/\/ or https:\/\//],
    ['a bad agent service', ['--no-list', '--agent-token-file', token, '--agent-service', 'agents'], /--agent-service: Invalid value: "agents": expected namespace\/name/],
    ['a bad duration', ['--no-list', '--agent-token-file', token, '--relist-interval', 'soon'], /--relist-interval: Invalid value: "soon": expected a duration/],
    ['no credentials and no --no-list', ['--agent-token-file', token, '--kubeconfig', join(f.dir, 'nope')], /reading the kubeconfig .*nope.*; or pass --no-list to run fed by events only/],
    ['cluster flags with --no-list', ['--no-list', '--agent-token-file', token, '--publish-service', 'wharf/wharf-nginx'], /--publish-service: needs the cluster, and --no-list runs without it/],
    ['both publish flags', ['--no-list', '--agent-token-file', token, '--publish-service', 'wharf/x', '--publish-address', '203.0.113.7'], /--publish-service and --publish-address: give one or neither/],
    ['both auth secret flags', ['--no-list', '--agent-token-file', token, '--no-auth-secrets', '--auth-secret-selector', 'a=b'], /give one or neither/],
    ['a bad namespace', ['--no-list', '--agent-token-file', token, '--namespace', 'Not_A_Namespace'], /--namespace: Invalid value: "Not_A_Namespace"/],
    [
      'agents in a namespace the handler does not read',
      ['--agent-token-file', token, '--kubeconfig', f.write('kc3', KUBECONFIG), '--namespace', 'shop', '--agent-service', 'wharf/wharf-agents'],
      /--agent-service: Invalid value: "wharf\/wharf-agents": the handler reads only namespace shop \(--namespace\), so it cannot see the agents' EndpointSlices in wharf/,
    ],
    ['a bad publish address', ['--agent-token-file', token, '--kubeconfig', f.write('kc', KUBECONFIG), '--publish-address', 'not an address'], /--publish-address: Invalid value: "not an address"/],
    ['a bad publish Service', ['--agent-token-file', token, '--kubeconfig', f.write('kc2', KUBECONFIG), '--publish-service', 'nginx'], /--publish-service: Invalid value: "nginx": expected namespace\/name/],
    ['a renewal too short', ['--no-list', '--agent-token-file', token, '--status-renew-interval', '10ms'], /--status-renew-interval: Invalid value: at least 100ms/],
    ['an event answer wait that is not a duration', ['--no-list', '--agent-token-file', token, '--event-ack-wait', 'long'], /--event-ack-wait: Invalid value: "long": expected a duration/],
    ['an event answer wait over 30s', ['--no-list', '--agent-token-file', token, '--event-ack-wait', '1m'], /--event-ack-wait: Invalid value: at most 30s/],
    ['an unknown flag', ['--agent-token-file', token, '--frobnicate'], /Unknown option '--frobnicate'/],
    ['a snippet mode wharf does not have', ['--no-list', '--agent-token-file', token, '--snippets', 'all'], /--snippets: Unsupported value: "all": supported values: "off", "safe"/],
    ['a default backend without its namespace', ['--no-list', '--agent-token-file', token, '--default-backend-service', 'errors'], /--default-backend-service: Invalid value: "errors": expected namespace\/name/],
    ['a limit that is not a number', ['--no-list', '--agent-token-file', token, '--max-rules-per-ingress', 'many'], /--max-rules-per-ingress: Invalid value: "many": expected a whole number of at least 1/],
    ['a limit of zero', ['--no-list', '--agent-token-file', token, '--max-hosts-per-ingress', '0'], /--max-hosts-per-ingress: Invalid value: "0"/],
    ['a default certificate that is not NS/NAME', ['--no-list', '--agent-token-file', token, '--default-ssl-certificate', 'wildcard'], /--default-ssl-certificate: Invalid value: "wildcard": expected NAMESPACE\/NAME of a kubernetes\.io\/tls Secret/],
    [
      'a default certificate in a namespace the handler does not read',
      ['--agent-token-file', token, '--kubeconfig', f.write('kc4', KUBECONFIG), '--namespace', 'shop', '--default-ssl-certificate', 'wharf/wildcard'],
      /--default-ssl-certificate: Invalid value: "wharf\/wildcard": the handler reads only namespace shop \(--namespace\); put the Secret there/,
    ],
    ['NGINX ports that are not two ports', ['--no-list', '--agent-token-file', token, '--nginx-ports', '8080'], /--nginx-ports: Invalid value: "8080": expected HTTP,HTTPS/],
  ];
  for (const [name, argv, message] of cases) {
    await assert.rejects(parseHandlerArgs(argv), (e: Error) => e instanceof UsageError && message.test(e.message), name);
  }
  const ok = await parseHandlerArgs(['--no-list', '--agent-token-file', token, '--agent', 'http://10.0.0.5:7071', '--relist-interval', '90s', '--configmap', 'wharf/wharf-config', '--ingress-class', 'edge', '--max-paths-per-ingress', '500']);
  assert.equal(ok!.agentToken, TOKEN);
  assert.equal(ok!.eventsToken, null);
  assert.equal(ok!.relistIntervalMs, 90_000);
  assert.deepEqual(ok!.agents, ['http://10.0.0.5:7071']);
  assert.equal(ok!.controller.ingressClassName, 'edge');
  assert.equal(ok!.controller.configMap, 'wharf/wharf-config');
  assert.equal(ok!.controller.snippets, 'safe', 'snippets are parsed against the allowlist by default');
  assert.equal(ok!.controller.headersMore, existsSync('/usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so'));
  assert.equal(ok!.controller.defaultBackendService, undefined);
  assert.equal(ok!.eventAckWaitMs, undefined, 'POST /events answers once its pushes are written, by default');
  assert.equal((await parseHandlerArgs(['--no-list', '--agent-token-file', token, '--event-ack-wait', '200ms']))!.eventAckWaitMs, 200);
  const withBackend = await parseHandlerArgs(['--no-list', '--agent-token-file', token, '--default-backend-service', 'wharf/errors']);
  assert.equal(withBackend!.controller.defaultBackendService, 'wharf/errors');
  const off = await parseHandlerArgs(['--no-list', '--agent-token-file', token, '--snippets', 'off']);
  assert.equal(off!.controller.snippets, 'off');
  assert.equal(ok!.controller.defaultSslCertificate, undefined);
  const withCertificate = await parseHandlerArgs(['--no-list', '--agent-token-file', token, '--default-ssl-certificate', 'wharf/wildcard-tls']);
  assert.equal(withCertificate!.controller.defaultSslCertificate, 'wharf/wildcard-tls');
  // Where the agents serve Gateway listeners: 80 and 443 unless told (the chart tells 8080,8443).
  assert.deepEqual(ok!.controller.nginxPorts, { httpPort: 80, httpsPort: 443 });
  assert.deepEqual((await parseHandlerArgs(['--no-list', '--agent-token-file', token, '--nginx-ports', '8080,8443']))!.controller.nginxPorts, { httpPort: 8080, httpsPort: 8443 });
  assert.deepEqual(ok!.controller.limits, { rules: 10_000, paths: 500, hosts: 10_000 });
});

test('with a kubeconfig the handler lists, watches and writes status with the flags it was given', async (t) => {
  const f = files(t);
  const token = f.write('token', `${TOKEN}\n`);
  const kc = f.write('kubeconfig', KUBECONFIG);
  const base = ['--agent-token-file', token, '--kubeconfig', kc];
  const cases: Record<string, { argv: string[]; env?: Record<string, string>; want: (o: HandlerOptions) => void }> = {
    'defaults: all namespaces, TLS and Opaque Secrets, watches on, no status without a publish flag': {
      argv: [],
      want: (o) => {
        assert.ok(o.reader);
        assert.deepEqual(o.watch?.scope, {});
        assert.equal(o.status, null);
      },
    },
    'one namespace, the ConfigMap, auth Secrets by label, no watches': {
      argv: ['--namespace', 'shop', '--configmap', 'wharf/wharf-config', '--auth-secret-selector', 'wharf.io/auth=true', '--no-watch'],
      want: (o) => {
        assert.equal(o.watch, null);
        assert.equal(o.controller.configMap, 'wharf/wharf-config');
        const reader = o.reader as { streams?: { kind: string; namespace: string; fieldSelector?: string; labelSelector?: string }[] };
        assert.deepEqual(
          reader.streams?.map((s) => `${s.kind} ${s.namespace} ${s.fieldSelector ?? ''} ${s.labelSelector ?? ''}`.trim()),
          [
            'Ingress shop',
            'IngressClass',
            'Service shop',
            'EndpointSlice shop',
            'Secret shop type=kubernetes.io/tls',
            'Secret shop type=Opaque wharf.io/auth=true',
            'ConfigMap wharf metadata.name=wharf-config',
            // The Gateway API where it is installed, and the one Namespace's labels.
            'GatewayClass',
            'Gateway shop',
            'HTTPRoute shop',
            'GRPCRoute shop',
            'TLSRoute shop',
            'TCPRoute shop',
            'UDPRoute shop',
            'ReferenceGrant shop',
            'Namespace  metadata.name=shop',
          ],
        );
      },
    },
    'no auth Secrets': {
      argv: ['--no-auth-secrets'],
      want: (o) => assert.deepEqual(o.watch?.scope, { authSecrets: false }),
    },
    'no Gateway API (the chart with gatewayAPI.enabled false grants none of it)': {
      argv: ['--no-gateway-api'],
      want: (o) => {
        assert.deepEqual(o.watch?.scope, { gatewayApi: false });
        const reader = o.reader as { streams?: { kind: string }[] };
        assert.deepEqual([...new Set(reader.streams?.map((s) => s.kind))], ['Ingress', 'IngressClass', 'Service', 'EndpointSlice', 'Secret']);
      },
    },
    'status from the publish Service, Leases in POD_NAMESPACE, named after POD_NAME': {
      argv: ['--publish-service', 'wharf/wharf-nginx', '--status-renew-interval', '2s', '--namespace', 'shop'],
      env: { POD_NAMESPACE: 'wharf', POD_NAME: 'wharf-handler-7d9c-x2' },
      want: (o) => {
        assert.deepEqual(o.status?.publish, { service: { namespace: 'wharf', name: 'wharf-nginx' } });
        assert.equal(o.status?.leaseNamespace, 'wharf');
        assert.equal(o.status?.identity, 'wharf-handler-7d9c-x2');
        assert.equal(o.status?.namespace, 'shop');
        assert.equal(o.status?.renewIntervalMs, 2000);
        assert.equal(o.status?.leaseDurationMs, 8000);
      },
    },
    'status at fixed addresses; out of a Pod, Leases in the kubeconfig context namespace': {
      argv: ['--publish-address', 'lb.example.com,203.0.113.7'],
      want: (o) => {
        assert.deepEqual(o.status?.publish, { addresses: [{ ip: '203.0.113.7' }, { hostname: 'lb.example.com' }] });
        assert.equal(o.status?.leaseNamespace, 'ingress');
      },
    },
  };
  for (const [name, c] of Object.entries(cases)) {
    const o = await parseHandlerArgs([...base, ...c.argv], c.env ?? {});
    assert.ok(o, name);
    c.want(o);
  }
});

test('with a certificate the handler serves HTTPS, and answers reviews over it', async (t) => {
  const pair = selfSigned('wharf-handler.wharf.svc');
  const running = await startHandler(handlerOptions({ tls: pair }));
  t.after(() => running.close());
  assert.match(running.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const port = Number(new URL(running.url).port);
  const r = await request({
    port,
    tls: true,
    host: 'wharf-handler.wharf.svc',
    method: 'POST',
    path: '/admission',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(admissionReview(ingress('x', 'x.example.com'), { uid: 'over-tls' })),
  });
  assert.equal(r.status, 200);
  const response = JSON.parse(r.body).response;
  assert.equal(response.uid, 'over-tls');
  assert.equal(response.allowed, true);
});

test('`wharf handler --help` prints the flags; a usage error exits 2 with the reason', () => {
  const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
  const help = spawnSync(process.execPath, [cli, 'handler', '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--agent-token-file FILE/);
  const bad = spawnSync(process.execPath, [cli, 'handler', '--listen', 'nowhere'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /wharf handler: --listen: Invalid value: "nowhere"/);
});
