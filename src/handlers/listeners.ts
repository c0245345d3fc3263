// Which routes each of the handler's listeners serves. With `--events-listen` the handler has two
// ports, so that a NetworkPolicy can say who reaches which: the admission port (`--listen`) serves
// the webhook, for the API server alone; the events port serves CloudEvents, the agents' snapshot
// and metrics, for the event source, the NGINX pods and the scrapers. Both answer the probes.
// Without `--events-listen` one port serves everything.

export type Listener = 'all' | 'admission' | 'events';

const PROBES = new Set(['/healthz', '/readyz']);

/** True when `listener` serves `path`. */
export function serves(listener: Listener, path: string): boolean {
  if (listener === 'all' || PROBES.has(path)) return true;
  return listener === 'admission' ? path === '/admission' : path !== '/admission';
}

type Fetch = (request: Request, ...rest: never[]) => Response | Promise<Response>;

/** The app's fetch as one listener serves it: other routes get 404 naming the port that serves them. */
export function fetchFor<F extends Fetch>(listener: Listener, fetch: F): F {
  if (listener === 'all') return fetch;
  const elsewhere = listener === 'admission' ? 'the events port (--events-listen)' : 'the admission port (--listen)';
  return ((request: Request, ...rest: never[]) => {
    const path = new URL(request.url).pathname;
    if (serves(listener, path)) return fetch(request, ...rest);
    return Response.json({ error: `${request.method} ${path} is served on ${elsewhere}, not on this port` }, { status: 404 });
  }) as F;
}
