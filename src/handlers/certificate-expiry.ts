// When each TLS host's certificate expires, under ingress-nginx's metric name
// (nginx_ingress_controller_ssl_expire_time_seconds{class,host,namespace,secret_name}), so the
// certificate-expiry alerts and dashboard panels teams bring from ingress-nginx keep working. Set
// from the servers the handler renders: a host's series follows its certificate (a renewal moves
// it, a host without TLS or gone drops it). Every replica exports the same values, as gauges.
import { createHash, X509Certificate } from 'node:crypto';
import { Gauge, type Registry } from 'prom-client';
import type { Server } from '../model/types.ts';

type Labels = 'class' | 'host' | 'namespace' | 'secret_name';

/** One series per TLS host, kept in step with the servers rendered. */
export class CertificateExpiry {
  readonly #gauge: Gauge<Labels>;
  readonly #ingressClass: string;
  /** host → the labels of its series now, and the digest of the certificate it was read from. */
  readonly #held = new Map<string, { labels: Record<Labels, string>; digest: string }>();

  constructor(registry: Registry, ingressClass: string) {
    this.#ingressClass = ingressClass;
    this.#gauge = new Gauge({
      name: 'nginx_ingress_controller_ssl_expire_time_seconds',
      help: "When the certificate a TLS host is served with expires (notAfter), in seconds since the epoch (ingress-nginx's name)",
      labelNames: ['class', 'host', 'namespace', 'secret_name'],
      registers: [registry],
    });
  }

  /** `host` is now served as `server` (null: gone). */
  set(host: string, server: Server | null): void {
    const tls = server?.tls;
    const held = this.#held.get(host);
    if (!tls) {
      if (held) this.#gauge.remove(held.labels);
      this.#held.delete(host);
      return;
    }
    const labels = { class: this.#ingressClass, host, namespace: tls.secret.namespace, secret_name: tls.secret.name };
    const digest = createHash('sha256').update(tls.cert).digest('hex');
    if (held && held.digest === digest && sameLabels(held.labels, labels)) return;
    if (held) this.#gauge.remove(held.labels);
    // The leaf is the first certificate of the chain; the handler checked it parses (secrets.ts).
    const notAfter = Date.parse(new X509Certificate(tls.cert).validTo);
    this.#gauge.set(labels, Math.round(notAfter / 1000));
    this.#held.set(host, { labels, digest });
  }
}

const sameLabels = (a: Record<Labels, string>, b: Record<Labels, string>) => a.namespace === b.namespace && a.secret_name === b.secret_name && a.class === b.class;
