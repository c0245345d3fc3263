// CustomResourceDefinitions as the fake API server serves them: each CRD file becomes a ResourceDef
// (group, plural, scope, every served version, the status subresource) whose validation is what
// the real API server does with a CRD's structural schema on every write, main resource and status
// alike: unknown fields pruned, defaults applied, then the OpenAPI v3 schema checked (types, enums,
// patterns, lengths, item and property counts, required fields, formats, and the list types
// `map` and `set`: duplicate keys are refused). Messages follow the API server's wording
// (`spec.hostnames[0]: Invalid value: "x": spec.hostnames[0] in body should match '…'`).
//
// Not enforced, and why: the CEL rules (`x-kubernetes-validations`: would need a CEL interpreter;
// in the v1 schemas: GatewayClass 1, Gateway 16, HTTPRoute 50, GRPCRoute 19, e.g. "tls mode must be
// Terminate for protocol HTTPS", "Combination of port, protocol and hostname must be unique for each
// listener", "sectionName must be specified when parentRefs includes 2 or more references to the
// same parent", "Must have port for Service reference", "RequestRedirect filter must not be used
// together with backendRefs", the path value rules, "controllerName: Value is immutable"),
// ratcheting (the real server lets an unchanged invalid value through an update; here every write
// is checked in full), and `x-kubernetes-map-type` (a merge hint for server-side apply, which this
// server does not implement). Tests only: never imported from src/.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import type { ResourceDef } from './kube-apiserver-resources.ts';
import type { Obj } from './kube-apiserver-store.ts';

/** The Gateway API CRDs (standard channel, v1.6.1), beside the repository (`../shared`). */
export const GATEWAY_API_CRDS = join(import.meta.dirname, '..', '..', '..', 'shared', 'gateway-api', 'crds', 'standard');

/** The kinds wharf reads from the Gateway API, by CRD file. */
/** The Gateway API's group: `withdrawApi(GATEWAY_API_GROUP)` is a cluster without its CRDs. */
export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';
export const GATEWAY_API_FILES = ['gatewayclasses', 'gateways', 'httproutes', 'grpcroutes', 'tlsroutes', 'tcproutes', 'udproutes', 'referencegrants'].map((p) => `gateway.networking.k8s.io_${p}.yaml`);

type Schema = Obj;

const RFC3339 = /^\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$/;

function newAjv(): Ajv {
  // The API server's regular expressions are Go's (RE2): no `u` flag, which refuses escapes RE2 allows.
  const ajv = new Ajv({ strict: false, allErrors: true, useDefaults: true, code: { regExp: ((s: string, f: string) => new RegExp(s, f.replace('u', ''))) as never } });
  ajv.addFormat('date-time', RFC3339);
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  ajv.addFormat('ipv4', (s: string) => isIP(s) === 4);
  ajv.addFormat('ipv6', (s: string) => isIP(s) === 6);
  ajv.addKeyword({
    keyword: 'x-kubernetes-list-type',
    type: 'array',
    errors: true,
    validate: function listType(this: unknown, kind: string, data: unknown[], parent?: Schema) {
      if (kind !== 'map' && kind !== 'set') return true;
      const keys: string[] = parent?.['x-kubernetes-list-map-keys'] ?? [];
      const seen = new Set<string>();
      const errors: Partial<ErrorObject>[] = [];
      data.forEach((item, i) => {
        const id = JSON.stringify(kind === 'map' ? keys.map((k) => (item as Obj)?.[k]) : item);
        if (seen.has(id)) {
          const shown = kind === 'map' ? JSON.stringify(Object.fromEntries(keys.map((k) => [k, (item as Obj)?.[k]]))) : JSON.stringify(item);
          errors.push({ keyword: 'x-kubernetes-list-type', params: { index: i, shown }, message: 'Duplicate value' });
        }
        seen.add(id);
      });
      (listType as unknown as { errors: Partial<ErrorObject>[] }).errors = errors;
      return errors.length === 0;
    },
  });
  for (const k of ['x-kubernetes-list-map-keys', 'x-kubernetes-map-type', 'x-kubernetes-validations']) ajv.addKeyword(k);
  return ajv;
}

/** `/spec/rules/0/matches` → `spec.rules[0].matches`. */
function fieldPath(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(part) ? `[${part}]` : `${out ? '.' : ''}${part}`;
  }
  return out;
}

function valueAt(root: unknown, pointer: string): unknown {
  let node = root as Obj | undefined;
  for (const raw of pointer.split('/').slice(1)) node = node?.[raw.replace(/~1/g, '/').replace(/~0/g, '~')];
  return node;
}

const shown = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? 'null');

/** One ajv error in the API server's words. */
function message(e: ErrorObject, object: Obj): string {
  const f = fieldPath(e.instancePath);
  const v = valueAt(object, e.instancePath);
  const p = e.params as Obj;
  switch (e.keyword) {
    case 'required':
      return `${f ? `${f}.` : ''}${p.missingProperty}: Required value`;
    case 'enum':
      return `${f}: Unsupported value: ${shown(v)}: supported values: ${(p.allowedValues as unknown[]).map(shown).join(', ')}`;
    case 'pattern':
      return `${f}: Invalid value: ${shown(v)}: ${f} in body should match '${p.pattern}'`;
    case 'maxLength':
      return `${f}: Too long: may not be more than ${p.limit} bytes`;
    case 'minLength':
      return `${f}: Invalid value: ${shown(v)}: ${f} in body should be at least ${p.limit} chars long`;
    case 'maxItems':
      return `${f}: Too many: ${(v as unknown[]).length}: must have at most ${p.limit} items`;
    case 'minItems':
      return `${f}: Invalid value: ${(v as unknown[]).length}: ${f} in body should have at least ${p.limit} items`;
    case 'maxProperties':
      return `${f}: Too many: ${Object.keys(v as Obj).length}: must have at most ${p.limit} items`;
    case 'minimum':
    case 'maximum':
      return `${f}: Invalid value: ${shown(v)}: ${f} in body should be ${e.keyword === 'minimum' ? 'greater' : 'less'} than or equal to ${p.limit}`;
    case 'type':
      return `${f}: Invalid value: ${shown(v)}: ${f} in body must be of type ${p.type}: ${shown(typeof v)}`;
    case 'format':
      return `${f}: Invalid value: ${shown(v)}: ${f} in body must be of type ${p.format}: ${shown(v)}`;
    case 'x-kubernetes-list-type':
      return `${f}[${p.index}]: Duplicate value: ${p.shown}`;
    default:
      return `${f}: Invalid value: ${shown(v)}: ${e.message ?? e.keyword}`;
  }
}

/**
 * Drops what the schema does not declare, as the API server prunes a structural schema's unknown
 * fields (objects with `properties` and no `additionalProperties`, and not marked to preserve them).
 */
export function prune(value: unknown, schema: Schema | undefined): void {
  if (!schema || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const item of value) prune(item, schema.items);
    return;
  }
  if (schema['x-kubernetes-preserve-unknown-fields']) return;
  const o = value as Obj;
  if (schema.properties) {
    for (const k of Object.keys(o)) {
      if (schema.properties[k]) prune(o[k], schema.properties[k]);
      else if (!schema.additionalProperties) delete o[k];
      else prune(o[k], typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    }
  } else if (typeof schema.additionalProperties === 'object') {
    for (const k of Object.keys(o)) prune(o[k], schema.additionalProperties);
  }
}

interface CrdVersion {
  name: string;
  schema?: Schema;
  validate?: ValidateFunction;
}

/**
 * What routing needs of a CRD file, read without parsing its YAML (megabytes of schema, seconds on
 * a loaded machine): group, kind, plural, scope, and each version with whether it is served and has
 * a status subresource. controller-gen's layout puts these at fixed indentations.
 */
export function scanCrd(text: string): { group: string; kind: string; plural: string; namespaced: boolean; versions: { name: string; served: boolean; status: boolean }[] } {
  const one = (re: RegExp) => re.exec(text)?.[1] ?? '';
  const versions: { name: string; served: boolean; status: boolean }[] = [];
  let current: (typeof versions)[number] | null = null;
  let inSubresources = false;
  for (const line of text.split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^ {4}name: (v\w+)$/.exec(line))) versions.push((current = { name: m[1]!, served: false, status: false }));
    else if (current && (m = /^ {4}served: (true|false)$/.exec(line))) current.served = m[1] === 'true';
    else if (current && /^ {4}subresources:$/.test(line)) inSubresources = true;
    else if (current && inSubresources && /^ {6}status: \{\}$/.test(line)) current.status = true;
    else if (/^ {0,4}\S/.test(line)) inSubresources = false;
  }
  return { group: one(/^ {2}group: (\S+)$/m), kind: one(/^ {4}kind: (\S+)$/m), plural: one(/^ {4}plural: (\S+)$/m), namespaced: one(/^ {2}scope: (\S+)$/m) === 'Namespaced', versions };
}

/** Reads a CRD file into the ResourceDef the fake API server serves (v1 first, where it serves it: objects are kept at it). */
export function crdResource(file: string): ResourceDef {
  const text = readFileSync(file, 'utf8');
  const crd = scanCrd(text);
  const served = crd.versions.filter((v) => v.served);
  served.sort((a, b) => (a.name === 'v1' ? -1 : b.name === 'v1' ? 1 : 0));
  const versions = new Map<string, CrdVersion>(served.map((v) => [v.name, { name: v.name }]));
  const { group, kind } = crd;
  /** The schemas, parsed when the first object of the kind is written. */
  const schemaOf = (version: CrdVersion): Schema => {
    if (!version.schema) {
      const parsed = parse(text) as Obj;
      for (const v of parsed.spec.versions as Obj[]) {
        const held = versions.get(v.name);
        if (held) held.schema = v.schema.openAPIV3Schema;
      }
    }
    return version.schema!;
  };
  return {
    kind,
    plural: crd.plural,
    group,
    namespaced: crd.namespaced,
    status: served.some((v) => v.status),
    versions: [...versions.keys()],
    validate(o: Obj): string[] {
      const name = String(o.apiVersion ?? '').split('/')[1] ?? '';
      const version = versions.get(name);
      if (!version) return [`apiVersion: Invalid value: ${shown(o.apiVersion)}: ${group} serves ${kind} as ${[...versions.keys()].join(', ')}`];
      const schema = schemaOf(version);
      const { apiVersion, kind: k, metadata, ...rest } = o;
      prune(rest, schema);
      version.validate ??= newAjv().compile({ ...schema, properties: { ...schema.properties, metadata: { type: 'object' } } });
      const candidate = { apiVersion, kind: k, metadata, ...rest };
      const ok = version.validate(candidate);
      // Defaults and pruning land in the object written.
      for (const key of Object.keys(o)) if (!(key in candidate)) delete o[key];
      Object.assign(o, candidate);
      if (ok) return [];
      const seen = new Set<string>();
      return (version.validate.errors ?? []).map((e) => message(e, candidate)).filter((m) => !seen.has(m) && seen.add(m));
    },
  };
}

/** GatewayClass, Gateway, HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, UDPRoute and ReferenceGrant, read once per process. */
let gatewayApi: ResourceDef[] | null = null;
export function gatewayApiResources(): ResourceDef[] {
  gatewayApi ??= GATEWAY_API_FILES.map((f) => crdResource(join(GATEWAY_API_CRDS, f)));
  return gatewayApi;
}
