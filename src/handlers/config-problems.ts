// The refused and ignored keys of wharf's ConfigMap, told where a user looks: a log line and a
// Warning Event on the ConfigMap (`kubectl describe configmap`), once per distinct problem. The
// model finds them (model/global-settings.ts) each time the ConfigMap is read; this remembers what
// was said, so a relist or an unrelated edit of the ConfigMap says nothing again, and a problem
// that went away and came back is said again. With several replicas, the one that owns the
// ConfigMap (status ownership, by its UID) records the Event; every replica logs.
import type { KubeObject } from '../cluster/view.ts';
import type { Logger } from '../log.ts';
import { parseConfigMap, parseGlobalSettings } from '../model/index.ts';
import type { ConfigMap } from '../model/schemas.ts';
import type { Problem } from '../model/types.ts';

/** Records a Warning Event about an object (the status writer's EventRecorder). */
export interface ObjectEventRecorder {
  record(object: KubeObject, event: { reason: string; type: 'Warning'; message: string }): Promise<string>;
}

export interface ConfigMapProblemsOptions {
  log: Logger;
  /** Absent: problems are logged only (no publish flag, so no Events at all). */
  events?: { recorder: ObjectEventRecorder; owns: (uid: string) => boolean };
  /** The ConfigMap's problems; absent: those of the global settings (a TCP or UDP services ConfigMap has its own). */
  problemsOf?: (configMap: ConfigMap) => Problem[];
}

const keyOf = (uid: string, p: Problem) => `${uid}\0${p.reason}\0${p.message}`;

export class ConfigMapProblems {
  readonly #o: ConfigMapProblemsOptions;
  #object: KubeObject | null = null;
  #problems: Problem[] = [];
  /** Problems logged (and to be recorded) for the current ConfigMap. */
  readonly #said = new Set<string>();
  readonly #recorded = new Set<string>();
  readonly #recording = new Set<string>();

  constructor(options: ConfigMapProblemsOptions) {
    this.#o = options;
  }

  /** The ConfigMap as the view holds it now (null: absent or deleted). */
  update(configMap: KubeObject | null): void {
    this.#object = configMap;
    const parsed = configMap ? parseConfigMap(configMap) : null;
    this.#problems = parsed?.ok ? (this.#o.problemsOf ? this.#o.problemsOf(parsed.value) : parseGlobalSettings(parsed.value).problems) : [];
    const uid = configMap?.metadata.uid ?? '';
    const now = new Set(this.#problems.map((p) => keyOf(uid, p)));
    // A problem that went away is forgotten: said again if it comes back.
    for (const k of [...this.#said]) if (!now.has(k)) this.#said.delete(k);
    for (const k of [...this.#recorded]) if (!now.has(k)) this.#recorded.delete(k);
    for (const p of this.#problems) {
      const k = keyOf(uid, p);
      if (this.#said.has(k)) continue;
      this.#said.add(k);
      this.#o.log.warn(`ConfigMap ${configMap!.metadata.namespace}/${configMap!.metadata.name}: ${p.message}`, { reason: p.reason, field: p.field });
    }
    this.record();
  }

  /** Records the Events not recorded yet, if this replica owns the ConfigMap (call again when ownership changes). */
  record(): void {
    const object = this.#object;
    const events = this.#o.events;
    if (!object || !events || !object.metadata.uid || !events.owns(object.metadata.uid)) return;
    for (const p of this.#problems) {
      const k = keyOf(object.metadata.uid, p);
      if (this.#recorded.has(k) || this.#recording.has(k)) continue;
      this.#recording.add(k);
      events.recorder.record(object, { reason: p.reason, type: 'Warning', message: p.message }).then(
        () => {
          this.#recording.delete(k);
          if (this.#said.has(k)) this.#recorded.add(k);
        },
        (e) => {
          this.#recording.delete(k);
          this.#o.log.warn('the Event about a ConfigMap problem could not be recorded; tried again on the next change', { error: e });
        },
      );
    }
  }
}
