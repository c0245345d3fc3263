// One Ingress → what it contributes to the routing model: candidate locations per host, canary
// backends, TLS per host, and its own Problems. Depends only on the Ingress and the objects it
// references, so the index can keep one Translation per Ingress and redo it when one of them changes.
// Conflicts between Ingresses are resolved later, per host (merge-host.ts).
import { ANNOTATION_PREFIX, annotationField, parseAnnotations, type IngressAnnotations } from './annotations.ts';
import { objectKey, type ControllerSettings, type ObjectKey } from './cluster-state.ts';
import { findServicePort } from './endpoints.ts';
import { captureGroups, checkHost, checkPlainPath, checkRegexPath, highestCaptureRef, wwwTwin } from './grammar.ts';
import { servedWith, useDefault, type DefaultCertificate } from './default-certificate.ts';
import { isHandled } from './ingress-class.ts';
import { runSteps } from './steps.ts';
import { defaultObjectLimits, limitProblems } from './object-limits.ts';
import { ProblemList } from './problems.ts';
import { translatePassthrough } from './passthrough.ts';
import type { Ingress, IngressBackend, IngressClass, Secret, Service } from './schemas.ts';
import type { clientCaOf, htpasswdOf, ProxySslMaterial, TlsMaterial } from './secrets.ts';
import type { UpstreamRef } from './upstreams.ts';
import type { SnippetPolicy } from './snippet-rules.ts';
import type { Location, ObjectRef, Problem, ServiceBackend, SnippetDirective, StreamRoute, Tls } from './types.ts';

/** The default server's key among hosts. */
export const DEFAULT_HOST = '';

/** A location an Ingress asks for on a host; it may lose to an older Ingress's claim. */
export interface Candidate {
  /** The host, or DEFAULT_HOST. */
  host: string;
  /** sslRedirect and the backend's upstream name are filled in when the host is merged. */
  location: Location;
  /** ssl-redirect as annotated (undefined: the global default). */
  sslRedirect: boolean | undefined;
  /** Where the path is written, for messages. */
  field: string;
  /** From spec.defaultBackend: used only when no Ingress claims "/" Prefix on the host. */
  fallback: boolean;
  /** A TLSRoute's: names the Service its host's TLS is passed through to, and is no HTTP location. */
  passthroughOnly?: boolean;
}

/** A canary Ingress's backend for one host+path of another (primary) Ingress. */
export interface CanaryCandidate {
  host: string;
  path: string;
  match: Location['match'];
  backend: ServiceBackend;
  weight: number;
  weightTotal: number;
  header?: string;
  headerValue?: string;
  field: string;
}

/** What one Ingress contributes. */
export interface Translation {
  key: ObjectKey;
  ref: ObjectRef;
  /** Age for conflicts: creationTimestamp in ms (Infinity when not created yet), then uid. */
  created: number;
  uid: string;
  /** wharf's class selected this Ingress. */
  handled: boolean;
  /** An error Problem: nothing of this Ingress is used. */
  rejected: boolean;
  problems: Problem[];
  candidates: Candidate[];
  canaries: CanaryCandidate[];
  /** TLS of this Ingress for its hosts. */
  tls: Map<string, { tls: Tls; field: string }>;
  /** Hosts it contributes to (DEFAULT_HOST for the default server), sorted. */
  hosts: string[];
  /** Secrets and Services it references (also when rejected, so their changes re-translate it). */
  secrets: ObjectKey[];
  services: ObjectKey[];
  /** Service ports its candidates and canaries use. */
  upstreamRefs: UpstreamRef[];
  /** server-alias for the servers of its hosts (sorted; empty: none). */
  serverAliases: string[];
  /** from-to-www-redirect for its hosts. */
  fromToWww: boolean;
  /**
   * Every name its server-alias and from-to-www-redirect may claim for its hosts (sorted): whether a
   * host gets it depends on other Ingresses too (server-names.ts); the index keeps name → Ingresses.
   */
  names: string[];
  /**
   * The CA bundle and depth this Ingress verifies client certificates with (auth-tls-secret with a
   * valid ca.crt); null when it asks for none or its Secret is refused (its locations answer 403).
   */
  clientAuth: { ca: string; depth: number; secret: ObjectRef; field: string } | null;
  /** server-snippet's directives for the servers of its hosts; null when none (most). */
  serverSnippet: SnippetDirective[] | null;
  /** Its wildcard hosts match names of any depth (Gateway API routes); absent for Ingresses. */
  deepWildcards?: boolean;
  /** ssl-passthrough with --enable-ssl-passthrough: its hosts' TLS goes to their "/" Service (passthrough.ts). */
  passthrough?: boolean;
  /** A TCPRoute's or UDPRoute's stream ports (translate-l4route.ts); absent for every other kind. */
  streams?: StreamRoute[];
}

/** What translating an Ingress reads besides the Ingress. */
export interface TranslateContext {
  settings: ControllerSettings;
  ingressClasses: ReadonlyMap<string, IngressClass>;
  services: ReadonlyMap<ObjectKey, Service>;
  secrets: ReadonlyMap<ObjectKey, Secret>;
  /** TLS material of a Secret (the index memoizes it per Secret object). */
  tlsOf(secret: Secret): TlsMaterial;
  htpasswdOf(secret: Secret): ReturnType<typeof htpasswdOf>;
  clientCaOf(secret: Secret): ReturnType<typeof clientCaOf>;
  proxySslOf(secret: Secret): ProxySslMaterial;
  /** How snippet annotations are treated now (the handler's flag and the ConfigMap). */
  snippetPolicy(): SnippetPolicy;
  /** --default-ssl-certificate, when given (absent or null: none). */
  defaultCertificate?(): DefaultCertificate | null;
}

/** The reference of an Ingress in Problems and sources. */
export function ingressRef(ingress: Ingress): ObjectRef {
  const { namespace, name, uid } = ingress.metadata;
  return uid ? { kind: 'Ingress', namespace, name, uid } : { kind: 'Ingress', namespace, name };
}

/** Prefix paths without their trailing slash ("/" stays). */
export function normalizePrefix(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}

/** Translates one Ingress. */
export function translateIngress(ingress: Ingress, ctx: TranslateContext): Translation {
  return runSteps(translationSteps(ingress, ctx));
}

/** Rules translated between two steps of translationSteps (some milliseconds of work). */
const RULES_PER_STEP = 500;

/** translateIngress in steps (one every RULES_PER_STEP rules, and between its later parts), for callers that let other work run in between. */
export function* translationSteps(ingress: Ingress, ctx: TranslateContext): Generator<void, Translation> {
  const ref = ingressRef(ingress);
  const ns = ingress.metadata.namespace;
  const created = ingress.metadata.creationTimestamp ? Date.parse(ingress.metadata.creationTimestamp) : NaN;
  const t: Translation = {
    key: objectKey(ns, ingress.metadata.name),
    ref,
    created: Number.isNaN(created) ? Infinity : created,
    uid: ingress.metadata.uid ?? '',
    handled: isHandled(ingress, ctx.ingressClasses, ctx.settings),
    rejected: false,
    problems: [],
    candidates: [],
    canaries: [],
    tls: new Map(),
    hosts: [],
    secrets: [],
    services: [],
    upstreamRefs: [],
    serverAliases: [],
    fromToWww: false,
    names: [],
    clientAuth: null,
    serverSnippet: null,
  };
  if (!t.handled) return t;
  const over = limitProblems(ingress, ctx.settings.limits ?? defaultObjectLimits, ref);
  if (over.length) return { ...t, problems: over, rejected: true };

  const problems = new ProblemList(ref);
  const parsed = parseAnnotations(ingress.metadata.annotations, ref, ctx.snippetPolicy());
  problems.items.push(...parsed.problems);
  const ann = parsed.value;
  const settings = { ...ann.settings } as Location['settings'];
  settings.sslRedirect = false;

  if (ann.basicAuth) {
    const secretKey = objectKey(ns, ann.basicAuth.secretName);
    t.secrets.push(secretKey);
    const secret = ctx.secrets.get(secretKey);
    const result = secret ? ctx.htpasswdOf(secret) : { ok: false as const, reason: 'does not exist (create it before the Ingress)' };
    if (result.ok) {
      settings.basicAuth = { realm: ann.basicAuth.realm, htpasswd: result.htpasswd, secret: { kind: 'Secret', namespace: ns, name: ann.basicAuth.secretName } };
    } else {
      problems.invalid('InvalidAuthSecret', ann.basicAuth.field, ann.basicAuth.secretName, `Secret ${result.reason}`);
    }
  }

  if (ann.clientAuth) {
    const { secretName, field, depth, ...checks } = ann.clientAuth;
    const secretKey = objectKey(ns, secretName);
    if (!t.secrets.includes(secretKey)) t.secrets.push(secretKey);
    const secret = ctx.secrets.get(secretKey);
    const result = secret ? ctx.clientCaOf(secret) : { ok: false as const, reason: 'does not exist (create it before the Ingress)' };
    settings.clientAuth = { ...checks, refused: !result.ok };
    if (result.ok) {
      t.clientAuth = { ca: result.ca, depth, secret: { kind: 'Secret', namespace: ns, name: secretName }, field };
    } else {
      // ingress-nginx drops the Ingress's client auth (and answers 403 on the server); wharf refuses
      // only the locations that asked for it, until the Secret holds a valid ca.crt.
      problems.invalid('InvalidAuthTlsSecret', field, secretName, `Secret ${result.reason}; the locations of this Ingress answer 403 until it is fixed`, 'warning');
    }
  }

  if (ann.proxySsl) {
    const { settings: ssl, secretName, field } = ann.proxySsl;
    settings.proxySsl = { ...ssl, refused: false };
    if (secretName !== null) {
      const secretKey = objectKey(ns, secretName);
      if (!t.secrets.includes(secretKey)) t.secrets.push(secretKey);
      const secret = ctx.secrets.get(secretKey);
      const result = secret ? ctx.proxySslOf(secret) : { ok: false as const, reason: 'does not exist (create it before the Ingress)' };
      // Never weaker than asked: a backend is not proxied unverified, nor without its client certificate.
      if (!result.ok) {
        settings.proxySsl.refused = true;
        problems.invalid('InvalidProxySslSecret', field, secretName, `Secret ${result.reason}; the locations of this Ingress answer 502 until it is fixed`, 'warning');
      } else {
        settings.proxySsl.secret = { kind: 'Secret', namespace: ns, name: secretName };
        if (result.cert !== null && result.key !== null) settings.proxySsl.clientCertificate = { cert: result.cert, key: result.key };
        if (result.ca !== null) settings.proxySsl.ca = result.ca;
        if (ssl.verify && result.ca === null) {
          settings.proxySsl.refused = true;
          problems.invalid('InvalidProxySslSecret', field, secretName, 'Secret has no "ca.crt" to verify the backend\'s certificate with (proxy-ssl-verify is "on"); the locations of this Ingress answer 502 until it is fixed', 'warning');
        }
      }
    }
  }

  const serviceKeys = new Set(t.services); // t.services without a scan per path
  const backendOf = (b: IngressBackend, field: string): ServiceBackend | null => {
    if (!b.service) {
      problems.forbidden('UnsupportedBackend', `${field}.resource`, 'resource backends are not supported: wharf routes to Services');
      return null;
    }
    const key = objectKey(ns, b.service.name);
    if (!serviceKeys.has(key)) {
      serviceKeys.add(key);
      t.services.push(key);
    }
    const external = checkService(ctx.services.get(key), b.service.name, b.service.port, `${field}.service`, problems);
    return { upstream: '', namespace: ns, service: b.service.name, port: b.service.port, ...(external ? { external } : {}) };
  };

  const defaultBackend = ann.defaultBackend ? defaultBackendOf(ann.defaultBackend, ns, ctx, t, problems) : null;
  if (!defaultBackend && settings.customHttpErrors && (ann.defaultBackend || !ctx.settings.defaultBackendService)) {
    delete settings.customHttpErrors;
    const field = annotationField(`${ANNOTATION_PREFIX}custom-http-errors`);
    const why = ann.defaultBackend
      ? 'ignored until the default-backend Service exists and has a port'
      : 'ignored: default-backend is not set and wharf runs without --default-backend-service (nothing renders the pages)';
    problems.add('warning', 'IgnoredAnnotation', field, `${field}: ${why}`);
  }
  const withDefault = defaultBackend ? { defaultBackend } : {};

  const ruleHosts: string[] = [];
  const seenHosts = new Set<string>(); // ruleHosts without a scan per rule
  const rewriteRefs = settings.rewriteTarget ? highestCaptureRef(settings.rewriteTarget) : 0;
  const translateRule = (rule: Ingress['spec']['rules'][number], i: number): void => {
    const host = rule.host ?? DEFAULT_HOST;
    if (host !== DEFAULT_HOST) {
      const reason = checkHost(host);
      if (reason) {
        problems.invalid('InvalidHost', `spec.rules[${i}].host`, host, reason);
        return;
      }
    }
    if (!seenHosts.has(host)) {
      seenHosts.add(host);
      ruleHosts.push(host);
    }
    if (!rule.http && !ingress.spec.defaultBackend) {
      problems.required('NoPaths', `spec.rules[${i}].http`, 'no paths and no spec.defaultBackend: nothing is routed for this rule', 'warning');
    }
    rule.http?.paths.forEach((p, j) => {
      const field = `spec.rules[${i}].http.paths[${j}]`;
      const location = locationOf(p.path ?? '', p.pathType, ann, rewriteRefs, `${field}.path`, problems);
      const backend = backendOf(p.backend, `${field}.backend`);
      if (!location || !backend) return;
      t.candidates.push({
        host,
        location: { ...location, backend, ...withDefault, settings, source: ref },
        sslRedirect: ann.sslRedirect,
        field: `${field}.path`,
        fallback: false,
      });
    });
  };
  for (let i = 0; i < ingress.spec.rules.length; i++) {
    translateRule(ingress.spec.rules[i]!, i);
    if (i % RULES_PER_STEP === RULES_PER_STEP - 1) yield;
  }

  if (ingress.spec.defaultBackend) {
    const backend = backendOf(ingress.spec.defaultBackend, 'spec.defaultBackend');
    if (backend) {
      for (const host of [DEFAULT_HOST, ...ruleHosts.filter((h) => h !== DEFAULT_HOST)]) {
        t.candidates.push({
          host,
          location: { path: '/', match: 'Prefix', backend, ...withDefault, settings, source: ref },
          sslRedirect: ann.sslRedirect,
          field: 'spec.defaultBackend',
          fallback: true,
        });
      }
    }
  }

  yield;
  translateTls(ingress, ruleHosts, ctx, t, problems);
  if (ann.sslPassthrough) translatePassthrough(t, ctx.settings.sslPassthrough === true, problems);

  if (ann.canary) {
    for (const c of t.candidates) {
      if (c.fallback || !c.location.backend) continue;
      t.canaries.push({ host: c.host, path: c.location.path, match: c.location.match, backend: c.location.backend, ...ann.canary, field: c.field });
    }
    t.candidates = [];
    t.tls.clear();
  }

  yield;
  if (ann.serverAliases.length > 0 || ann.fromToWww) {
    const serverHosts = [...new Set(t.candidates.map((c) => c.host))].filter((h) => h !== DEFAULT_HOST);
    if (serverHosts.length === 0) {
      for (const [name, set] of [['server-alias', ann.serverAliases.length > 0], ['from-to-www-redirect', ann.fromToWww]] as const) {
        if (!set) continue;
        const field = annotationField(ANNOTATION_PREFIX + name);
        problems.add('warning', 'IgnoredAnnotation', field, `${field}: ignored: no rule of this Ingress names a host`);
      }
    } else {
      t.serverAliases = ann.serverAliases;
      t.fromToWww = ann.fromToWww;
      const twins = ann.fromToWww ? serverHosts.map(wwwTwin).filter((n) => n !== null) : [];
      t.names = [...new Set([...ann.serverAliases, ...twins])].sort();
    }
  }
  if (ann.serverSnippet) t.serverSnippet = ann.serverSnippet;

  t.problems = problems.items;
  t.rejected = problems.hasErrors;
  if (t.rejected) {
    t.candidates = [];
    t.canaries = [];
    t.tls.clear();
    t.serverAliases = [];
    t.fromToWww = false;
    t.names = [];
    t.clientAuth = null;
    t.serverSnippet = null;
    delete t.passthrough;
  }
  yield;
  const hosts = new Set<string>();
  const refs = new Map<string, UpstreamRef>();
  const use = (b: ServiceBackend) => {
    const key = `${b.namespace}/${b.service}/${typeof b.port}/${b.port}`;
    if (!refs.has(key)) refs.set(key, { namespace: b.namespace, service: b.service, port: b.port });
  };
  for (const c of t.candidates) {
    hosts.add(c.host);
    use(c.location.backend!);
  }
  for (const c of t.canaries) {
    hosts.add(c.host);
    use(c.backend);
  }
  t.hosts = [...hosts].sort();
  if (defaultBackend && t.candidates.length > 0) use(defaultBackend);
  t.upstreamRefs = [...refs.values()];
  return t;
}

/** Path and match type of one path, or null (with a Problem) when the path is refused. */
function locationOf(
  path: string,
  pathType: 'Exact' | 'Prefix' | 'ImplementationSpecific',
  ann: IngressAnnotations,
  rewriteRefs: number,
  field: string,
  problems: ProblemList,
): Pick<Location, 'path' | 'match'> | null {
  if (pathType === 'ImplementationSpecific' && path === '') path = '/';
  if (path === '') {
    problems.required('InvalidPath', field, `pathType ${pathType} needs a path`);
    return null;
  }
  const regex = pathType === 'ImplementationSpecific' && ann.regex;
  const reason = regex ? checkRegexPath(path) : checkPlainPath(path);
  if (reason) {
    problems.invalid('InvalidPath', field, path, reason);
    return null;
  }
  const groups = regex ? captureGroups(path) : 0;
  if (rewriteRefs > groups) {
    const why = regex
      ? `has ${groups} capture group(s) but rewrite-target uses $${rewriteRefs}`
      : `rewrite-target uses $${rewriteRefs}, which needs a regex path: use pathType ImplementationSpecific`;
    problems.invalid('InvalidPath', field, path, why);
    return null;
  }
  if (regex) return { path, match: 'Regex' };
  if (pathType === 'Exact') return { path, match: 'Exact' };
  return { path: normalizePrefix(path), match: 'Prefix' };
}

/**
 * default-backend's Service as an upstream on its first port (what ingress-nginx uses), or null with
 * a warning when it is missing, ExternalName or has no port: the annotation then applies once the
 * Service is fixed (the Service is recorded, so its change translates the Ingress again).
 */
function defaultBackendOf(d: { service: string; field: string }, ns: string, ctx: TranslateContext, t: Translation, problems: ProblemList): ServiceBackend | null {
  const key = objectKey(ns, d.service);
  if (!t.services.includes(key)) t.services.push(key);
  const service = ctx.services.get(key);
  if (!service) {
    problems.notFound('ServiceNotFound', d.field, d.service, 'no such Service in this namespace; there is no default backend until it exists');
    return null;
  }
  if (service.spec.type === 'ExternalName') {
    problems.forbidden('ExternalNameService', d.field, 'ExternalName Services are refused: wharf only routes to endpoints; there is no default backend', 'warning');
    return null;
  }
  const first = service.spec.ports[0];
  if (!first) {
    problems.invalid('ServicePortNotFound', d.field, d.service, 'the Service has no port; there is no default backend', 'warning');
    return null;
  }
  return { upstream: '', namespace: ns, service: d.service, port: first.port };
}

/**
 * Warnings for a backend whose Service is missing or has no such port; for an ExternalName Service,
 * the name and port NGINX proxies to (externalNameOf), or undefined with a warning.
 */
function checkService(service: Service | undefined, name: string, port: number | string, field: string, problems: ProblemList): ServiceBackend['external'] {
  if (!service) {
    problems.notFound('ServiceNotFound', `${field}.name`, name, 'no such Service in this namespace; requests get 503 until it exists');
    return undefined;
  }
  if (service.spec.type === 'ExternalName') return externalNameOf(service, port, field, problems);
  if (!findServicePort(service, port)) {
    const what = typeof port === 'number' ? 'number' : 'name';
    problems.notFound('ServicePortNotFound', `${field}.port.${what}`, port, `Service ${service.metadata.name} has no such port; requests get 503`);
  }
}

/**
 * An ExternalName Service as a backend: its externalName (a DNS name NGINX resolves at request time
 * through its resolver, re-resolved as answers expire, or an IPv4 address) and the port: the
 * Ingress's port number, or the number of the Service port it names. Its value reaches NGINX, so it
 * must pass checkHost; otherwise requests get 503 and the Ingress a warning.
 */
function externalNameOf(service: Service, port: number | string, field: string, problems: ProblemList): ServiceBackend['external'] {
  const host = (service.spec.externalName ?? '').toLowerCase().replace(/\.$/, '');
  const reason = IPV4.test(host) ? null : checkHost(host);
  if (host === '' || reason !== null || host.startsWith('*.')) {
    problems.invalid('ExternalNameService', `${field}.name`, service.spec.externalName ?? '', `the ExternalName Service's spec.externalName ${host === '' ? 'is empty' : reason ?? 'must not be a wildcard'}; requests get 503`, 'warning');
    return undefined;
  }
  const number = typeof port === 'number' ? port : findServicePort(service, port)?.port;
  if (number === undefined) {
    problems.notFound('ServicePortNotFound', `${field}.port.name`, port, `Service ${service.metadata.name} has no such port; requests get 503`);
    return undefined;
  }
  return { host, port: number };
}

const IPV4 = /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$/;

/** spec.tls → TLS per rule host of this Ingress (exact host, or a wildcard TLS host one label up). */
function translateTls(ingress: Ingress, ruleHosts: string[], ctx: TranslateContext, t: Translation, problems: ProblemList): void {
  const ns = ingress.metadata.namespace;
  if (ingress.spec.tls.length === 0) return;
  // The rule hosts a TLS host covers, looked up rather than scanned for each TLS host: itself, and
  // for `*.example.com` the non-wildcard rule hosts one label below it.
  const exact = new Set(ruleHosts);
  const below = new Map<string, string[]>();
  for (const r of ruleHosts) {
    if (r === DEFAULT_HOST || r.startsWith('*.')) continue;
    const parent = r.slice(r.indexOf('.'));
    const list = below.get(parent);
    if (list) list.push(r);
    else below.set(parent, [r]);
  }
  const coveredBy = (host: string): string[] => {
    const own = exact.has(host) ? [host] : [];
    return host.startsWith('*.') ? [...own, ...(below.get(host.slice(1)) ?? [])] : own;
  };
  // --default-ssl-certificate: for entries without a usable certificate of their own.
  const def = ctx.defaultCertificate?.() ?? null;
  const fallback = () => {
    const tls = useDefault(def, t.secrets);
    return tls ? { tls } : null;
  };
  ingress.spec.tls.forEach((entry, k) => {
    const field = `spec.tls[${k}]`;
    if (entry.hosts.length === 0) {
      problems.required('InvalidTls', `${field}.hosts`, 'lists no host; this entry is ignored', 'warning');
      return;
    }
    let material: { tls: Tls } | null = null;
    if (!entry.secretName) {
      // No secretName with a default certificate is how ingress-nginx users ask for it: no warning then.
      material = fallback();
      if (!material) problems.required('TlsSecretNotFound', `${field}.secretName`, `no Secret: ${servedWith(def)}`, 'warning');
    } else {
      const secretKey = objectKey(ns, entry.secretName);
      t.secrets.push(secretKey);
      const secret = ctx.secrets.get(secretKey);
      if (!secret) {
        material = fallback();
        problems.add('warning', 'TlsSecretNotFound', `${field}.secretName`, `${field}.secretName: Not found: ${JSON.stringify(entry.secretName)}: ${servedWith(def)}`);
      } else {
        const m = ctx.tlsOf(secret);
        if (!m.ok) {
          material = fallback();
          problems.invalid('InvalidTlsSecret', `${field}.secretName`, entry.secretName, `Secret ${m.reason}; ${servedWith(def)}`, 'warning');
        } else {
          if (m.refused) problems.invalid('InvalidTlsSecret', `${field}.secretName`, entry.secretName, `Secret ${m.refused}; its previous certificate keeps serving`, 'warning');
          material = { tls: { secret: { kind: 'Secret', namespace: ns, name: entry.secretName }, cert: m.cert, key: m.key, names: m.names } };
        }
      }
    }
    entry.hosts.forEach((host, h) => {
      const hostField = `${field}.hosts[${h}]`;
      const reason = checkHost(host);
      if (reason) {
        problems.invalid('InvalidHost', hostField, host, reason);
        return;
      }
      const covered = coveredBy(host);
      if (covered.length === 0) {
        problems.add('warning', 'TlsHostWithoutRule', hostField, `${hostField}: no rule of this Ingress has host ${JSON.stringify(host)}; ignored`);
        return;
      }
      if (!material) return;
      for (const r of covered) if (!t.tls.has(r)) t.tls.set(r, { tls: material.tls, field: `${field}.secretName` });
    });
  });
}
