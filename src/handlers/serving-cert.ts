// The handler's serving certificate (--tls-cert, --tls-key), checked and kept current. In a cluster
// the files come from a Secret that cert-manager renews in place and the kubelet swaps atomically
// (a new directory behind the `..data` symlink) some time later; a handler that never read them
// again would present the old certificate until it expired, and then every admission call from the
// API server would fail. ServingCertWatch polls the files (fs.watch misses the symlink swap in many
// setups), and gives the running https.Server a new pair only once it is whole and valid: a pair
// caught mid-rotation, a parse error or a missing file keeps the current certificate serving.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { SecureContextOptions } from 'node:tls';
import type { Logger } from '../log.ts';

/** A certificate (chain, leaf first) and its private key, as PEM text. */
export interface ServingPair {
  cert: string;
  key: string;
}

/** Where the pair is read from: the files of --tls-cert and --tls-key. */
export interface ServingCertFiles {
  cert: string;
  key: string;
}

/** What the logs and the expiry metric say about a certificate. */
export interface ServingCertificate {
  subject: string;
  /** subjectAltName as X509Certificate gives it, e.g. "DNS:wharf-handler.wharf.svc"; '' without. */
  subjectAltName: string;
  notAfter: Date;
  fingerprint256: string;
}

/** What is wrong with a pair, and in which of the two files. */
export interface PairProblem {
  file: 'cert' | 'key';
  reason: string;
}

export type PairCheck = { ok: true; certificate: ServingCertificate } | { ok: false; problem: PairProblem };

const FLAG = { cert: '--tls-cert', key: '--tls-key' } as const;

/** The first line of an OpenSSL error: enough to say what is wrong, without its stack of codes. */
const why = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0];

/** Checks that the certificate parses and the key belongs to it. Pure: no I/O. */
export function checkServingPair(pair: ServingPair): PairCheck {
  const fail = (file: PairProblem['file'], reason: string): PairCheck => ({ ok: false, problem: { file, reason } });
  if (!pair.cert.trim()) return fail('cert', 'the file is empty');
  if (!pair.cert.includes('-----BEGIN CERTIFICATE-----')) return fail('cert', 'no PEM certificate (-----BEGIN CERTIFICATE-----) in the file');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(pair.cert);
  } catch (e) {
    return fail('cert', `the certificate does not parse: ${why(e)}`);
  }
  if (!pair.key.trim()) return fail('key', 'the file is empty');
  let key;
  try {
    key = createPrivateKey(pair.key);
  } catch (e) {
    return fail('key', `the private key does not parse (an unencrypted PEM key is expected): ${why(e)}`);
  }
  if (!x509.checkPrivateKey(key)) return fail('key', `the key does not match the certificate in ${FLAG.cert} (subject ${subjectOf(x509)}); a pair from two different issuances?`);
  return {
    ok: true,
    certificate: { subject: subjectOf(x509), subjectAltName: x509.subjectAltName ?? '', notAfter: new Date(x509.validTo), fingerprint256: x509.fingerprint256 },
  };
}

function subjectOf(x509: X509Certificate): string {
  return x509.subject.split('\n').join(', ');
}

/** A problem as one line for logs and usage errors: `--tls-key: Invalid value: "/etc/tls/tls.key": reason`. */
export function describeProblem(files: ServingCertFiles, problem: PairProblem): string {
  return `${FLAG[problem.file]}: Invalid value: ${JSON.stringify(files[problem.file])}: ${problem.reason}`;
}

export type PairRead = { ok: true; pair: ServingPair; certificate: ServingCertificate } | { ok: false; problem: PairProblem };

/** Reads both files and checks them: what the handler does at start and on every poll. */
export async function readServingPair(files: ServingCertFiles): Promise<PairRead> {
  const pair: Partial<ServingPair> = {};
  for (const file of ['cert', 'key'] as const) {
    try {
      pair[file] = await readFile(files[file], 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return { ok: false, problem: { file, reason: `cannot read the file: ${code === 'ENOENT' ? 'no such file' : why(e)}` } };
    }
  }
  const whole = pair as ServingPair;
  const check = checkServingPair(whole);
  return check.ok ? { ok: true, pair: whole, certificate: check.certificate } : check;
}

/** The fields the logs carry for a certificate. */
export function certificateFields(c: ServingCertificate): Record<string, unknown> {
  return { subject: c.subject, subjectAltName: c.subjectAltName, notAfter: c.notAfter.toISOString(), fingerprint256: c.fingerprint256 };
}

export interface ServingCertWatchOptions {
  /** The running server (an https.Server or tls.Server): new connections get what it is given. */
  server: { setSecureContext(options: SecureContextOptions): void };
  files: ServingCertFiles;
  /** The pair the server started with (read and checked by the flags). */
  current: ServingPair;
  /** How often the files are read (default 10 s). */
  intervalMs?: number;
  log: Logger;
  /** Called with each certificate taken (the expiry metric). */
  onCertificate?: (certificate: ServingCertificate) => void;
}

export type PollResult = 'unchanged' | 'applied' | 'rejected';

/**
 * Polls the two files and hands a changed, valid pair to the server. Content is compared, not
 * mtimes (the kubelet's swap keeps them). Never throws: a bad pair is logged once per distinct
 * problem and tried again at the next poll, while the current certificate keeps serving.
 */
export class ServingCertWatch {
  readonly #o: ServingCertWatchOptions;
  readonly #intervalMs: number;
  #current: ServingPair;
  #lastProblem: string | null = null;
  #timer: NodeJS.Timeout | null = null;
  #polling: Promise<PollResult> | null = null;
  #stopped = false;

  constructor(o: ServingCertWatchOptions) {
    this.#o = o;
    this.#current = o.current;
    this.#intervalMs = o.intervalMs ?? 10_000;
  }

  /** Polls every interval until stop(); the timer does not keep the process alive. */
  start(): void {
    if (this.#stopped || this.#timer) return;
    const next = () => {
      this.#timer = setTimeout(() => {
        void this.poll().finally(() => {
          if (!this.#stopped) next();
        });
      }, this.#intervalMs).unref();
    };
    next();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#polling;
  }

  /** One poll (the timer's, or a test's): reads, checks, and applies when changed and valid. */
  poll(): Promise<PollResult> {
    this.#polling ??= this.#poll().finally(() => (this.#polling = null));
    return this.#polling;
  }

  async #poll(): Promise<PollResult> {
    const { files, log } = this.#o;
    try {
      const read = await readServingPair(files);
      if (read.ok && read.pair.cert === this.#current.cert && read.pair.key === this.#current.key) {
        this.#lastProblem = null;
        return 'unchanged';
      }
      if (!read.ok) {
        this.#reject(describeProblem(files, read.problem), files[read.problem.file]);
        return 'rejected';
      }
      try {
        this.#o.server.setSecureContext({ cert: read.pair.cert, key: read.pair.key });
      } catch (e) {
        this.#reject(`${FLAG.cert}/${FLAG.key}: the TLS stack refused the pair: ${why(e)}`, files.cert);
        return 'rejected';
      }
      this.#current = read.pair;
      this.#lastProblem = null;
      const fields = certificateFields(read.certificate);
      log.info('serving certificate renewed: new connections get it', { ...fields, certFile: files.cert });
      if (read.certificate.notAfter.getTime() <= Date.now()) log.warn('the new serving certificate has already expired', fields);
      this.#o.onCertificate?.(read.certificate);
      return 'applied';
    } catch (e) {
      // Not expected (every failure above is caught); the timer must survive whatever happens.
      this.#reject(`checking the serving certificate failed: ${why(e)}`, files.cert);
      return 'rejected';
    }
  }

  #reject(problem: string, file: string): void {
    if (problem === this.#lastProblem) return;
    this.#lastProblem = problem;
    this.#o.log.warn('the serving certificate files are not a valid pair: keeping the current certificate, trying again at the next poll', {
      problem,
      file,
      retryInMs: this.#intervalMs,
    });
  }
}
