// Which Ingresses are wharf's: spec.ingressClassName, the IngressClass marked default, or the
// legacy kubernetes.io/ingress.class annotation. Others are ignored and get no status.
import type { ControllerSettings } from './cluster-state.ts';
import type { Ingress, IngressClass } from './schemas.ts';

export const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';
export const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';

/** The class an Ingress asks for: spec.ingressClassName, else the legacy annotation, else null. */
export function ingressClassOf(ingress: Ingress): string | null {
  return ingress.spec.ingressClassName ?? ingress.metadata.annotations[LEGACY_CLASS_ANNOTATION] ?? null;
}

/** True when an IngressClass is wharf's (its controller is ours). */
export function isOurClass(cls: IngressClass, settings: ControllerSettings): boolean {
  return cls.spec.controller === settings.controllerName;
}

/** True when some IngressClass of ours is marked default (Ingresses without a class are ours). */
export function haveDefaultClass(classes: ReadonlyMap<string, IngressClass>, settings: ControllerSettings): boolean {
  for (const cls of classes.values()) {
    if (isOurClass(cls, settings) && cls.metadata.annotations[DEFAULT_CLASS_ANNOTATION] === 'true') return true;
  }
  return false;
}

/**
 * Whether wharf handles an Ingress. `spec.ingressClassName` names wharf's class (an IngressClass
 * with our controller, or, when no IngressClass of that name exists, the configured class name);
 * the legacy annotation must equal the configured class name; no class at all is ours when one of
 * our IngressClasses is marked default, or when the settings say so.
 */
export function isHandled(ingress: Ingress, classes: ReadonlyMap<string, IngressClass>, settings: ControllerSettings): boolean {
  const named = ingress.spec.ingressClassName;
  if (named != null) {
    const cls = classes.get(named);
    return cls ? isOurClass(cls, settings) : named === settings.ingressClassName;
  }
  const legacy = ingress.metadata.annotations[LEGACY_CLASS_ANNOTATION];
  if (legacy !== undefined) return legacy === settings.ingressClassName;
  return settings.watchIngressWithoutClass || haveDefaultClass(classes, settings);
}
