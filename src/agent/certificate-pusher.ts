// Writes certificates into NGINX's Lua certificate store over the control socket in private/. Like
// the endpoint path, it shares nothing with reloads: no queue, no lock, no wait for a confirmation.
// Per name, sends are serialized and always carry the newest certificate, so two quick renewals
// cannot land in the wrong order. Errors name the certificate, never its content.
import type { Logger } from '../log.ts';
import { ControlLanes } from './control-lanes.ts';
import type { UnixReply } from './unix-http.ts';
import { sniName, type CertificateStore } from './certificate-store.ts';

/** What a full store answers; the API turns it into 507 naming the flag that sizes the store. */
export const STORE_FULL = 'NGINX\'s certificate store is full: raise --certificate-store-size (the previous certificate keeps serving)';

export class CertificatePusher {
  private readonly store: CertificateStore;
  private readonly log: Logger;
  private readonly lanes: ControlLanes;
  /** Called each time NGINX stored (or removed) a certificate: a new version, without an OCSP staple. */
  onStored: (name: string) => void = () => {};

  constructor(opts: { socketPath: string; store: CertificateStore; logger: Logger }) {
    this.store = opts.store;
    this.log = opts.logger;
    this.lanes = new ControlLanes(opts.socketPath, (name) => this.send(name));
  }

  /**
   * Sends the current certificate of `name` to NGINX; true once NGINX holds a revision at least as
   * new as the one current when this was called, false when it could not (the store says why).
   */
  push(name: string): Promise<boolean> {
    return this.lanes.push(name);
  }

  private async send(name: string): Promise<boolean> {
    const c = this.store.get(name);
    if (!c) return true;
    try {
      const revision = c.revision;
      const reply = await this.lanes.request(`/certificates/${sniName(name)}`, c.pem ? { method: 'PUT', body: c.pem.cert + c.pem.key } : { method: 'DELETE' });
      if (reply.status === 507) {
        this.store.markFailed(name, STORE_FULL);
        this.log.error('cannot store a certificate: NGINX\'s certificate store is full; raise --certificate-store-size', { certificate: name });
        return false;
      }
      if (reply.status !== 200) throw new Error(`NGINX answered ${reply.status}: ${reply.body.trim().slice(0, 200)}`);
      this.store.markApplied(name, revision);
      this.onStored(name);
      return true;
    } catch (e) {
      this.store.markFailed(name, `NGINX did not take it: ${(e as Error).message}`);
      this.log.warn('cannot write a certificate to NGINX; kept for when it is back', { certificate: name, error: (e as Error).message });
      return false;
    }
  }

  /** Sends every certificate (a restarted master starts with an empty store); resolves with the failures. */
  pushAll(concurrency = 16): Promise<string[]> {
    return this.lanes.pushAll(this.store.all().filter((c) => c.pem).map((c) => c.name), concurrency);
  }

  /** Another request to the certificate control socket (OCSP staples). */
  control(path: string, r: { method: string; body?: string }): Promise<UnixReply> {
    return this.lanes.request(path, r);
  }

  close(): void {
    this.lanes.close();
  }
}
