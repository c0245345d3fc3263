// The level-triggered half of the view: list every kind through a ClusterReader and replace the
// view's state with it. Called once at start (the handler is ready after it) and periodically, so
// that events lost on the way (Knative drops one after 5 failed tries) cannot leave a replica wrong
// for longer than the relist interval.
import { KINDS, type ClusterReader, type ClusterView, type Kind, type KindList, type KubeObject, type RelistResult } from './view.ts';

/** Turns a listed kind's raw items into what the view holds (parsing, dropping what does not parse). */
export type PrepareItems = (kind: Kind, items: KubeObject[]) => Promise<KubeObject[]>;

/** Lists every kind (concurrently) and replaces the view's state with the result. */
export async function relist(view: ClusterView, reader: ClusterReader, prepare?: PrepareItems): Promise<RelistResult> {
  const lists = await Promise.all(
    KINDS.map(async (kind): Promise<[Kind, KindList]> => {
      let list: KindList;
      try {
        list = await reader.list(kind);
      } catch (e) {
        throw new Error(`listing ${kind}: ${(e as Error).message}`, { cause: e });
      }
      return [kind, prepare ? { items: await prepare(kind, list.items), resourceVersion: list.resourceVersion } : list];
    }),
  );
  // Nothing is replaced unless every kind listed: a half-relisted view would mix two moments.
  return view.replace(Object.fromEntries(lists));
}
