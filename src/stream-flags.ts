// --tcp-services-configmap and --udp-services-configmap (ingress-nginx's flags), shared by the
// handler and `wharf source`: what to watch, and the controller settings that name them.
import { parseNamespacedName, UsageError } from './cli-flags.ts';

/** The two flags' ConfigMaps: refs to watch, and the settings' `namespace/name` keys. */
export function streamConfigMapFlags(tcp: string | undefined, udp: string | undefined): {
  refs: { namespace: string; name: string }[];
  settings: { tcpServicesConfigMap?: string; udpServicesConfigMap?: string };
} {
  const refs: { namespace: string; name: string }[] = [];
  const settings: { tcpServicesConfigMap?: string; udpServicesConfigMap?: string } = {};
  if (tcp !== undefined) {
    const r = parseNamespacedName('--tcp-services-configmap', tcp);
    refs.push(r);
    settings.tcpServicesConfigMap = `${r.namespace}/${r.name}`;
  }
  if (udp !== undefined) {
    const r = parseNamespacedName('--udp-services-configmap', udp);
    if (settings.tcpServicesConfigMap === `${r.namespace}/${r.name}`) {
      throw new UsageError(`--udp-services-configmap: Invalid value: ${JSON.stringify(udp)}: the TCP services ConfigMap too; give each its own ConfigMap`);
    }
    refs.push(r);
    settings.udpServicesConfigMap = `${r.namespace}/${r.name}`;
  }
  return { refs, settings };
}
