// TCP and UDP service ports → the stream fragments the agent includes in its stream {} block
// (stream-fragments/_stream-tcp-9000.conf): one server per port, through templates/stream-server.liquid.
// Pure, like the rest of the render.
import type { RoutingModel } from '../model/types.ts';
import { loadTemplate, renderTemplate } from './engine.ts';
import { streamListenFile } from './stream-listen.ts';
import type { Fragment } from './index.ts';

const serverTemplate = loadTemplate('stream-server.liquid');

/** The fragment name of a service port: `_stream-tcp-9000`, `_stream-udp-53` (the agent puts `_stream-` fragments in the stream block). */
export function streamFragmentName(protocol: 'TCP' | 'UDP', port: number): string {
  return `_stream-${protocol.toLowerCase()}-${port}`;
}

/** Every stream fragment of the model, by name. */
export function renderStreams(streams: RoutingModel['streams']): Fragment[] {
  return (streams ?? []).map((r) => {
    const protocol = r.protocol === 'TCP' ? (r.proxyProtocol.fromClient ? 'tcp-pp' : 'tcp') : 'udp';
    const config = renderTemplate(serverTemplate, {
      protocol: r.protocol,
      port: r.port,
      upstream: r.upstream,
      listenFile: streamListenFile({ protocol, port: r.port }),
      proxyProtocolToBackend: r.proxyProtocol.toBackend,
      udp: r.protocol === 'UDP',
    });
    return { name: streamFragmentName(r.protocol, r.port), config, files: {} };
  });
}
