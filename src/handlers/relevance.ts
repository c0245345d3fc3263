// Which objects of the kinds wharf reads are worth holding in the view: the source sends every
// Secret and ConfigMap of the cluster, and most of them (Helm releases, service-account tokens,
// other applications' settings) can never change what wharf renders.
import type { KubeObject } from '../cluster/view.ts';
import type { ControllerSettings } from '../model/index.ts';

/** Secret types that never hold what wharf reads (a TLS certificate, an htpasswd file). */
const IGNORED_SECRET_TYPES = new Set([
  'helm.sh/release.v1',
  'kubernetes.io/service-account-token',
  'kubernetes.io/dockercfg',
  'kubernetes.io/dockerconfigjson',
  'bootstrap.kubernetes.io/token',
]);

/** The view's keep filter for these settings: only the global ConfigMap, only useful Secrets. */
export function relevantTo(controller: ControllerSettings): (object: KubeObject) => boolean {
  return (object) => {
    if (object.kind === 'ConfigMap') {
      const key = `${object.metadata.namespace ?? 'default'}/${object.metadata.name}`;
      // The TCP and UDP services ConfigMaps (--tcp-services-configmap, --udp-services-configmap) too.
      if (key === controller.tcpServicesConfigMap || key === controller.udpServicesConfigMap) return true;
      return !controller.configMap || key === controller.configMap;
    }
    if (object.kind === 'Secret') return !IGNORED_SECRET_TYPES.has(String((object as { type?: unknown }).type ?? 'Opaque'));
    return true;
  };
}
