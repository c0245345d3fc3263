// The agent's HTTP API, as data: the handler tier sends these bodies, the agent validates them with
// these schemas. One definition, so the two sides cannot drift apart.
import { z } from 'zod';
import { endpointProblem } from './endpoint-address.ts';

/** Fragment names: `_main`, `_default`, or a host name with a leading `*` written as `_`. */
export const FRAGMENT_NAME = /^[a-z0-9_][a-z0-9._-]{0,239}$/;
/** Files shipped with a fragment, written to `files/<fragment>/<file>` under the NGINX prefix. */
export const FILE_NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/;
/** Upstream names, `namespace-service-port` (the model keeps them unique). */
export const UPSTREAM_NAME = /^[a-z0-9][a-z0-9.-]{0,252}$/;

/**
 * Certificate names: the TLS name a certificate is served for (SNI), a leading `*` written as `_`
 * (`_.example.com`), or `_default` for names no certificate is stored for (and handshakes without SNI).
 */
export const CERTIFICATE_NAME = /^(?:_default|_\.[a-z0-9][a-z0-9.-]{0,250}|[a-z0-9][a-z0-9.-]{0,252})$/;

export const MAX_FRAGMENT_BYTES = 1 << 20;
/** A certificate chain and its key in PEM: a long chain of 4096-bit RSA certificates fits. */
export const MAX_CERTIFICATE_BYTES = 64 << 10;
export const MAX_ENDPOINTS = 10_000;

const revision = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** One endpoint, IPv4:port or [IPv6]:port, parsed for real (src/protocol/endpoint-address.ts). */
const endpoint = z.string().check((ctx) => {
  const problem = endpointProblem(ctx.value);
  if (problem) ctx.issues.push({ code: 'custom', message: problem, input: ctx.value, continue: true });
});

export const FragmentFile = z.object({
  content: z.string().max(MAX_FRAGMENT_BYTES),
  /** Written with mode 0600 (TLS keys, htpasswd files). */
  secret: z.boolean().default(false),
});

/** Body of PUT /v1/fragments/{name}. */
export const FragmentPut = z.object({
  revision,
  config: z.string().max(MAX_FRAGMENT_BYTES),
  files: z
    .record(z.string().regex(FILE_NAME, 'file names are [a-z0-9._-], starting with a letter or digit'), FragmentFile)
    .default({}),
});

/** Body of PUT /v1/endpoints/{upstream}. */
export const EndpointsPut = z.object({
  revision,
  endpoints: z.array(endpoint).max(MAX_ENDPOINTS),
});

/** Body of PUT /v1/certificates/{name}: a PEM certificate chain (leaf first) and its unencrypted PEM key. */
export const CertificatePut = z.object({
  revision,
  cert: z.string().min(1).max(MAX_CERTIFICATE_BYTES),
  key: z.string().min(1).max(MAX_CERTIFICATE_BYTES),
});

/** One fragment of a batch: its content, or its deletion. */
export const BatchFragment = z.union([
  FragmentPut.extend({ name: z.string().regex(FRAGMENT_NAME) }),
  z.object({ name: z.string().regex(FRAGMENT_NAME), revision, deleted: z.literal(true) }),
]);

/** One endpoint set of a batch, or its deletion. */
export const BatchEndpoints = z.union([
  EndpointsPut.extend({ upstream: z.string().regex(UPSTREAM_NAME) }),
  z.object({ upstream: z.string().regex(UPSTREAM_NAME), revision, deleted: z.literal(true) }),
]);

/** One certificate of a batch, or its deletion. */
export const BatchCertificate = z.union([
  CertificatePut.extend({ name: z.string().regex(CERTIFICATE_NAME) }),
  z.object({ name: z.string().regex(CERTIFICATE_NAME), revision, deleted: z.literal(true) }),
]);

/**
 * Body of POST /v1/batch, and of the handler tier's GET /snapshot: applied with one reload. The agent
 * reads it element by element as it arrives (src/agent/batch-reader.ts), each element checked with
 * the schema of its list, never the whole text at once.
 */
export const Batch = z.object({
  fragments: z.array(BatchFragment).default([]),
  endpoints: z.array(BatchEndpoints).default([]),
  /**
   * Applied before the batch's fragments (a fragment may serve a certificate the same batch brings).
   * A complete batch removes the certificates it does not name only when it has this list.
   */
  certificates: z.array(BatchCertificate).optional(),
  /** A snapshot is the whole desired state: fragments, endpoint sets and certificates it does not name are removed. */
  complete: z.boolean().default(false),
  /**
   * Optional, with `complete: true`: the revision the snapshot was built at (the handler tier sends
   * V × 4096, V the resourceVersion its view is complete as of). A fragment or endpoint set the
   * snapshot does not name is removed only when the agent holds it at a revision below this one;
   * one at this revision or above was made from a newer view than the snapshot's and stays. Without
   * it, every fragment and endpoint set the snapshot does not name is removed. Ignored without
   * `complete`.
   */
  revision: revision.optional(),
});

export type FragmentPut = z.infer<typeof FragmentPut>;
export type EndpointsPut = z.infer<typeof EndpointsPut>;
export type CertificatePut = z.infer<typeof CertificatePut>;
export type Batch = z.infer<typeof Batch>;

/** What happened to one fragment, as the agent reports it. */
export type FragmentStatus =
  | 'pending' // accepted, waiting for the next reload
  | 'applied' // confirmed through the config-version socket
  | 'quarantined' // nginx -t rejected it; the previous content (or nothing) is served
  | 'stale'; // an equal or newer revision was already accepted; ignored

export interface FragmentResult {
  name: string;
  revision: number;
  status: FragmentStatus;
  /** NGINX's error line when quarantined. */
  error?: string;
  /** Config version that carries this change (desired when pending, applied otherwise). */
  version: number;
}

export interface EndpointsResult {
  upstream: string;
  revision: number;
  status: 'applied' | 'stale' | 'pending';
  /** `lua`: in the workers at once; `reload`: waits for a coalesced reload (no Lua module). */
  via: 'lua' | 'reload';
}

export interface CertificateResult {
  name: string;
  revision: number;
  /** `failed`: NGINX could not store it (`error` says why); the previous certificate keeps serving. */
  status: 'applied' | 'stale' | 'pending' | 'failed';
  /** `lua`: served to new handshakes at once; `reload`: files, served after a coalesced reload. */
  via: 'lua' | 'reload';
  error?: string;
}
