// The endpoint sets on disk, for the next agent. With the Lua module they live only in NGINX's shared
// dict, which dies with NGINX: an agent whose container restarted (NGINX gone, the prefix kept) would
// serve its kept fragments without endpoints, 503 for every proxied location until the snapshot.
// So the agent writes them to private/endpoints.kept, a second after the last change (never on the
// endpoint path, which does not wait for the disk), and reads them back at start (kept-config.ts).
import type { Logger } from '../log.ts';
import type { EndpointStore } from './endpoint-store.ts';
import { KeptFile } from './kept-file.ts';
import type { PrefixLayout } from './layout.ts';

/** Writes the endpoint sets to the prefix after changes, coalesced. */
export class KeptEndpointsWriter extends KeptFile {
  constructor(o: { layout: PrefixLayout; store: EndpointStore; logger: Logger; delayMs?: number }) {
    super({
      ...o,
      path: o.layout.keptEndpoints,
      what: 'the endpoint sets',
      content: () => o.store.all().filter((s) => s.endpoints && s.endpoints.length > 0).map((s) => `${s.upstream} ${s.endpoints!.join(' ')}\n`).join(''),
    });
  }
}
