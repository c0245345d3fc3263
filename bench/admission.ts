// npm run bench:admission — the admission webhook's latency and throughput with 10,000 Ingresses in
// the view, over real HTTP against one `wharf handler` process (a child process; this process is
// the load generator, keep-alive HTTP at a fixed concurrency). Reviews mix valid Ingresses, host
// conflicts (warnings) and invalid ones (denials). Prints one JSON object as the last line.
//
// Then the large reviews (issue 14): `large_review_ms`, the median time to review one Ingress with
// 10,000 rules (one host each) alone, and the handler's CPU time for one (`large_review_handler_cpu_ms`),
// beside `large_review_parse_ms`, the least any reviewer does with it (JSON.parse of the same body, in
// this process); and `small_review_during_large_p99_ms`, the
// p99 of one-rule reviews sent one after another (4 at a time) while four large ones are in flight
// (BENCH_LARGE_ROUNDS rounds, 5), beside `small_review_alone_p99_ms`, the same reviews with nothing
// else in flight.
//
// Environment: BENCH_INGRESSES (10000), BENCH_CONCURRENCY (16), BENCH_SECONDS (10),
// BENCH_HANDLER_NODE_ARGS: Node flags for the handler process; by default none, so that it runs as
// `wharf handler` runs anywhere, with the heap settings it gives itself (src/handlers/heap-defaults.ts).
// The JSON also says how much CPU the handler and the load generator used: both share the machine.
// The floor, in the same run: bench/admission-floor.ts, a bare node:http server on the same Node
// that parses the same reviews and answers them allowed, measured by the same generator in turns
// with the handler (floor_p99_ms, p99_over_floor, reviews_per_s_over_floor). A third turn sends the
// handler the same reviews with every Ingress of another IngressClass (foreign_class_*): its own path,
// the AdmissionReview and the Ingress's schema without the model's check, so that the gap to the
// floor splits into the webhook's path and the check.
// The design it replaces, in the same run: ingress-nginx's webhook renders the whole configuration
// with the object and runs `nginx -t` on it; bench/nginx-t-review.ts does that with 1,000 Ingresses
// in a temporary prefix (no NGINX runs), BENCH_NGINX_T_REVIEWS (5) times: `nginx_t_review_p50_ms`
// and `nginx_t_review_over_p50` (how many times the webhook's own p50). The run's record
// (bench/machine.ts: load average before and after, cores, versions, CPU used) closes the JSON, as
// in every benchmark.
// The Gateway API variant (bench/routes.ts) follows, over the same HTTP against the same handler:
// 5,000 HTTPRoutes, their Gateway and Services are posted as CloudEvents into the view beside the
// Ingresses, then one route at a time is reviewed at the same concurrency (`route_admission_p99_ms`,
// `route_admission_p50_ms`), beside the floor measured the same way in the same run
// (`route_admission_floor_p99_ms`: routes of another controller's Gateway, which the webhook parses
// and passes untouched) and the in-process figure (`route_admission_in_process_p99_ms`). The
// handler's CPU time per review (`route_admission_handler_cpu_us`, `route_admission_floor_handler_cpu_us`)
// says what the latencies mean when the machine is busy.
import { randomBytes } from 'node:crypto';
import { cpuSecondsOf, memoryOf, nodeFlagsOf, percentile, postObjects, send, startFloor, startHandlerProcess, tokenFile } from './handler-process.ts';
import { admissionReview, benchIngress, benchService, foreignClassReview, INGRESS_KIND, ingressReview, nextResourceVersion, SERVICES } from './admission-reviews.ts';
import { runRecord } from './machine.ts';
import { nginxTReviewer } from './nginx-t-review.ts';
import { foreignRouteReview, gatewayObjects, httpRoute, routeAdmissionBench, routeReview, routeService, ROUTES } from './routes.ts';

// `--ingresses N` or BENCH_INGRESSES: the Ingresses in the view.
const sizeAt = process.argv.indexOf('--ingresses');
const ingresses = Number(sizeAt > 0 ? process.argv[sizeAt + 1] : (process.env.BENCH_INGRESSES ?? 10_000));
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const services = SERVICES;
const largeRounds = Number(process.env.BENCH_LARGE_ROUNDS ?? 5);
const LARGE_RULES = 10_000;
const ingress = benchIngress;
const review = (i: number) => ingressReview(i, ingresses);

/** A review of one Ingress with `rules` rules, one fresh host and one path each, to existing Services. */
function largeReview(tag: string, rules = LARGE_RULES): string {
  return reviewOf({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: `large-${tag}`, namespace: 'default' },
    spec: {
      ingressClassName: 'wharf',
      rules: Array.from({ length: rules }, (_, i) => ({
        host: `large-${tag}-${i}.example.com`,
        http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: `svc-${i % services}`, port: { number: 80 } } } }] },
      })),
    },
  }, `large-${tag}`);
}

const reviewOf = (object: { metadata: { name: string; namespace?: string }; [k: string]: unknown }, uid: string): string => admissionReview(uid, INGRESS_KIND, 'CREATE', object);

const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);

/** Reviews `bodies` in turn at `concurrency` for `ms`; sorted latencies. Every answer must be 200 and pass `check`. */
async function reviewLoad(url: string, bodies: string[], ms: number, check: (body: string) => void): Promise<number[]> {
  const headers = { 'content-type': 'application/json' };
  const latencies: number[] = [];
  let next = 0;
  const deadline = performance.now() + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now();
        const r = await send(`${url}/admission`, 'POST', headers, bodies[next++ % bodies.length]!);
        latencies.push(performance.now() - t);
        if (r.status !== 200) throw new Error(`review answered ${r.status}: ${r.body.slice(0, 300)}`);
        check(r.body);
      }
    }),
  );
  return latencies.sort((a, b) => a - b);
}

/**
 * The Gateway API over HTTP: the bench routes, their Gateway and the Services they name put into the
 * handler's view, then route reviews and the floor (another controller's routes), warmed up, at the
 * same concurrency and for the same time each.
 */
async function routeReviews(url: string, token: string, handlerPid: number): Promise<Record<string, number>> {
  const services = new Map<string, object>();
  const routes: object[] = [];
  for (let i = 0; i < ROUTES; i++) {
    const r = httpRoute(i) as { metadata: { namespace: string }; spec: { rules: { backendRefs: { name: string }[] }[] } };
    routes.push(r);
    const n = Number(r.metadata.namespace.slice(3));
    for (const b of r.spec.rules.flatMap((rule) => rule.backendRefs)) services.set(`${n}/${b.name}`, routeService(Number(b.name.slice(4)), n));
  }
  const stamped = [...gatewayObjects(), ...services.values(), ...routes].map((o) => ({ ...o, metadata: { ...(o as { metadata: object }).metadata, resourceVersion: nextResourceVersion() } }));
  const started = performance.now();
  await postObjects(url, token, stamped);
  const ready = JSON.parse((await send(`${url}/readyz`, 'GET', {})).body) as { objects: { HTTPRoute?: number } };
  if (ready.objects.HTTPRoute !== ROUTES) throw new Error(`the view holds ${ready.objects.HTTPRoute} HTTPRoutes, not ${ROUTES}`);
  console.log(`loaded ${ROUTES} HTTPRoutes and ${services.size} Services beside the Ingresses in ${Math.round(performance.now() - started)} ms`);
  const ours = Array.from({ length: 1000 }, (_, k) => routeReview(k));
  const foreign = Array.from({ length: 1000 }, (_, k) => foreignRouteReview(k));
  const allowed = (body: string) => {
    if (!body.includes('"allowed":true')) throw new Error(`bench route not allowed: ${body.slice(0, 300)}`);
  };
  const ms = Math.max(2000, (seconds * 1000) / 2);
  await reviewLoad(url, ours, 1000, allowed); // warm-up
  await reviewLoad(url, foreign, 1000, allowed);
  // The handler's own CPU time per review: what the latencies mean on a machine where it waits for a CPU.
  const cpuPer = async (bodies: string[]) => {
    const before = cpuSecondsOf(handlerPid);
    const latencies = await reviewLoad(url, bodies, ms, allowed);
    return { latencies, cpuUs: Math.round(((cpuSecondsOf(handlerPid) - before) * 1e6) / latencies.length) };
  };
  const { latencies: route, cpuUs: routeCpu } = await cpuPer(ours);
  const { latencies: floor, cpuUs: floorCpu } = await cpuPer(foreign);
  return {
    httproutes: ROUTES,
    route_reviews: route.length,
    route_admission_p50_ms: Number(percentile(route, 50).toFixed(2)),
    route_admission_p99_ms: Number(percentile(route, 99).toFixed(2)),
    route_admission_floor_p50_ms: Number(percentile(floor, 50).toFixed(2)),
    route_admission_floor_p99_ms: Number(percentile(floor, 99).toFixed(2)),
    route_admission_handler_cpu_us: routeCpu,
    route_admission_floor_handler_cpu_us: floorCpu,
  };
}

/**
 * Large reviews: alone (median of a few), then one-rule reviews, 4 at a time one after another,
 * with nothing else in flight and while four large ones are.
 */
async function largeReviews(url: string, handlerPid: number): Promise<Record<string, number>> {
  const headers = { 'content-type': 'application/json' };
  const post = async (body: string) => {
    const r = await send(`${url}/admission`, 'POST', headers, body);
    if (r.status !== 200 || !r.body.includes('"allowed":true')) throw new Error(`review answered ${r.status}: ${r.body.slice(0, 300)}`);
  };
  const bodies = Array.from({ length: 4 }, (_, i) => largeReview(String(i)));
  const parse: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    JSON.parse(bodies[0]!);
    parse.push(performance.now() - t);
  }
  await post(bodies[0]!); // warm-up
  const alone: number[] = [];
  const cpuBefore = cpuSecondsOf(handlerPid);
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await post(bodies[i % 4]!);
    alone.push(performance.now() - t);
  }
  // On a shared machine the handler waits for a CPU too: what it used itself, per review.
  const cpuPerReview = ((cpuSecondsOf(handlerPid) - cpuBefore) * 1000) / alone.length;
  let n = 0;
  const small = () => reviewOf(ingress(`small-${n}`, `small-${n}.example.com`), `small-${n++}`);
  /** One-rule reviews, `streams` at a time one after another, until `until()`; their latencies. */
  const smallReviews = async (until: () => boolean, streams = 4): Promise<number[]> => {
    const out: number[] = [];
    await Promise.all(
      Array.from({ length: streams }, async () => {
        while (!until()) {
          const t = performance.now();
          await post(small());
          if (!until()) out.push(performance.now() - t);
        }
      }),
    );
    return out;
  };
  const quiet = performance.now() + 2000;
  const smallAlone = await smallReviews(() => performance.now() > quiet);
  const during: number[] = [];
  const rounds: number[] = [];
  for (let round = 0; round < largeRounds; round++) {
    let done = 0;
    const t = performance.now();
    const large = Promise.all(bodies.map((b) => post(b).then(() => done++)));
    during.push(...(await smallReviews(() => done === bodies.length)));
    await large;
    rounds.push(performance.now() - t);
  }
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  console.log(`large reviews alone: ${alone.map((x) => Math.round(x)).join(', ')} ms; four in flight took ${rounds.map((x) => Math.round(x)).join(', ')} ms; ${during.length} small reviews meanwhile`);
  return {
    large_review_rules: LARGE_RULES,
    large_review_bytes: Buffer.byteLength(bodies[0]!),
    large_review_ms: Number(median(alone).toFixed(1)),
    large_review_handler_cpu_ms: Math.round(cpuPerReview),
    large_review_parse_ms: Number(median(parse).toFixed(1)),
    small_review_during_large_p99_ms: Number(percentile(sorted(during), 99).toFixed(2)),
    small_review_during_large_max_ms: Number(Math.max(...during).toFixed(2)),
    small_reviews_during_large: during.length,
    small_review_alone_p99_ms: Number(percentile(sorted(smallAlone), 99).toFixed(2)),
  };
}

const FLOOR_ROUNDS = 4;
const NGINX_T_INGRESSES = 1000;
const NGINX_T_REVIEWS = Number(process.env.BENCH_NGINX_T_REVIEWS ?? 5);

/**
 * The design this webhook replaces, in the same run: ingress-nginx reviews an Ingress by rendering
 * the whole configuration with it and running `nginx -t` on the result (bench/nginx-t-review.ts).
 * With 1,000 Ingresses and the Services in the view, a few reviews of the same objects the webhook
 * reviews; their median.
 */
async function nginxTReviews(view: readonly object[], bodies: readonly string[]): Promise<{ ms: number; fragments: number }> {
  const reviewer = nginxTReviewer();
  try {
    const times: number[] = [];
    let fragments = 0;
    for (let k = 0; k < NGINX_T_REVIEWS; k++) {
      // The allowed ones (review(i) with i % 10 < 7): those ingress-nginx renders in full.
      const object = (JSON.parse(bodies[k * 10]!) as { request: { object: { metadata: object } } }).request.object;
      const r = await reviewer.review([...view, { ...object, metadata: { ...object.metadata, creationTimestamp: '2026-01-02T00:00:00Z' } }]);
      times.push(r.ms);
      fragments = r.fragments;
    }
    console.log(`nginx -t reviews at ${NGINX_T_INGRESSES} Ingresses (${fragments} fragments): ${times.map((x) => Math.round(x)).join(', ')} ms`);
    return { ms: median(times), fragments };
  } finally {
    reviewer.remove();
  }
}

async function main(): Promise<void> {
  const record = runRecord();
  const token = randomBytes(24).toString('hex');
  const tf = tokenFile(token);
  const nodeArgs = (process.env.BENCH_HANDLER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const handler = await startHandlerProcess({ tokenPath: tf.path, nodeArgs });
  try {
    const objects: object[] = [];
    for (let s = 0; s < services; s++) {
      objects.push(benchService(s));
    }
    for (let i = 0; i < ingresses; i++) objects.push(ingress(`ing-${i}`, `host-${i}.example.com`));
    const loadStarted = performance.now();
    await postObjects(handler.url, token, objects);
    const ready = JSON.parse((await send(`${handler.url}/readyz`, 'GET', {})).body) as { objects: { Ingress: number } };
    if (ready.objects.Ingress !== ingresses) throw new Error(`the view holds ${ready.objects.Ingress} Ingresses, not ${ingresses}`);
    const loaded = memoryOf(handler.process.pid!);

    console.log(`loaded ${ingresses} Ingresses and ${services} Services in ${Math.round(performance.now() - loadStarted)} ms; handler RSS ${loaded.rssMb} MB (peak ${loaded.peakMb} MB)`);

    const headers = { 'content-type': 'application/json' };
    const bodies = Array.from({ length: 1000 }, (_, i) => review(i));
    const foreignBodies = Array.from({ length: 1000 }, (_, i) => foreignClassReview(i, ingresses));
    // Warm-up: JIT and connections.
    for (let i = 0; i < 2000; i += concurrency) await Promise.all(bodies.slice(i % 1000, (i % 1000) + concurrency).map((b) => send(`${handler.url}/admission`, 'POST', headers, b)));

    // The handler and its floor (bench/admission-floor.ts) take turns, FLOOR_ROUNDS each, so a burst
    // of outside load hits both.
    const floor = await startFloor();
    for (let i = 0; i < 500; i += concurrency) await Promise.all(bodies.slice(i, i + concurrency).map((b) => send(`${floor.url}/admission`, 'POST', headers, b)));
    const latencies: number[] = [];
    const floorLatencies: number[] = [];
    const foreignLatencies: number[] = [];
    const decisions = { allowed: 0, warned: 0, denied: 0 };
    let next = 0;
    let elapsedMs = 0;
    let floorElapsedMs = 0;
    let foreignElapsedMs = 0;
    let foreignCpu = 0;
    let foreignRefused = 0;
    const cpuBefore = { handler: cpuSecondsOf(handler.process.pid!), floor: cpuSecondsOf(floor.pid), generator: cpuSecondsOf('self') };
    const segment = async (url: string, into: number[], from: readonly string[], count: (body: string) => void): Promise<number> => {
      const deadline = performance.now() + (seconds * 1000) / FLOOR_ROUNDS;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (performance.now() < deadline) {
            const body = from[next++ % from.length]!;
            const t = performance.now();
            const r = await send(`${url}/admission`, 'POST', headers, body);
            into.push(performance.now() - t);
            if (r.status !== 200) throw new Error(`review answered ${r.status}: ${r.body.slice(0, 300)}`);
            count(r.body);
          }
        }),
      );
      return performance.now() - started;
    };
    // Substring checks, not JSON.parse: the load generator shares the machine with the handler.
    const decided = (body: string) => {
      if (body.includes('"allowed":false')) decisions.denied++;
      else if (body.includes('"warnings"')) decisions.warned++;
      else decisions.allowed++;
    };
    const foreignDecided = (body: string) => {
      if (!body.includes('"allowed":true') || body.includes('"warnings"')) foreignRefused++;
    };
    for (let round = 0; round < FLOOR_ROUNDS; round++) {
      floorElapsedMs += await segment(floor.url, floorLatencies, bodies, () => {});
      elapsedMs += await segment(handler.url, latencies, bodies, decided);
      // The handler's own path without the model's check (another class's Ingresses): its CPU
      // counted apart, so handler_cpu_* stay the reviews' own.
      const cpu = cpuSecondsOf(handler.process.pid!);
      foreignElapsedMs += await segment(handler.url, foreignLatencies, foreignBodies, foreignDecided);
      foreignCpu += cpuSecondsOf(handler.process.pid!) - cpu;
    }
    if (foreignRefused > 0) throw new Error(`${foreignRefused} reviews of another class's Ingresses were not allowed without warnings`);
    const floorCpuUs = Math.round(((cpuSecondsOf(floor.pid) - cpuBefore.floor) * 1e6) / floorLatencies.length);
    await floor.stop();
    const elapsed = elapsedMs / 1000;
    floorLatencies.sort((a, b) => a - b);
    // CPU over the handler's own segments (the floor's and the other class's run in between).
    const handlerCpu = Math.round(((cpuSecondsOf(handler.process.pid!) - cpuBefore.handler - foreignCpu) / elapsed) * 100);
    // Per review, as route_admission_handler_cpu_us (the Ingress reviews mix warnings and denials).
    const handlerCpuUs = Math.round(((cpuSecondsOf(handler.process.pid!) - cpuBefore.handler - foreignCpu) * 1e6) / latencies.length);
    foreignLatencies.sort((a, b) => a - b);
    const generatorCpu = Math.round(((cpuSecondsOf('self') - cpuBefore.generator) / ((elapsedMs + floorElapsedMs + foreignElapsedMs) / 1000)) * 100);
    latencies.sort((a, b) => a - b);
    const mem = memoryOf(handler.process.pid!);
    const routeAdmission = routeAdmissionBench();
    const after = (await send(`${handler.url}/metrics`, 'GET', {})).body;
    console.log(after.split('\n').filter((l) => /^nodejs_heap_size_(used|total)_bytes|^nodejs_gc_duration_seconds_(sum|count)/.test(l)).join('\n'));
    console.log(`decisions: ${JSON.stringify(decisions)}; handler peak RSS ${mem.peakMb} MB`);
    const large = await largeReviews(handler.url, handler.process.pid!);
    const routesOverHttp = await routeReviews(handler.url, token, handler.process.pid!);
    const nginxT = await nginxTReviews(objects.slice(0, services + NGINX_T_INGRESSES), bodies);
    const p50 = percentile(latencies, 50);
    console.log(
      JSON.stringify({
        ingresses_in_view: ingresses,
        concurrency,
        reviews: latencies.length,
        reviews_per_s: Math.round(latencies.length / elapsed),
        p50_ms: Number(p50.toFixed(2)),
        p99_ms: Number(percentile(latencies, 99).toFixed(2)),
        floor_reviews_per_s: Math.round(floorLatencies.length / (floorElapsedMs / 1000)),
        floor_p50_ms: Number(percentile(floorLatencies, 50).toFixed(2)),
        floor_p99_ms: Number(percentile(floorLatencies, 99).toFixed(2)),
        p99_over_floor: Number((percentile(latencies, 99) / percentile(floorLatencies, 99)).toFixed(2)),
        reviews_per_s_over_floor: Number((latencies.length / elapsed / (floorLatencies.length / (floorElapsedMs / 1000))).toFixed(2)),
        handler_rss_mb: mem.rssMb,
        handler_peak_rss_mb: mem.peakMb,
        handler_cpu_pct: handlerCpu,
        handler_cpu_us_per_review: handlerCpuUs,
        // The floor's CPU per review over the same HTTP: what answering costs without a review.
        floor_cpu_us_per_review: floorCpuUs,
        // The same handler reviewing Ingresses of another class, in turns with the two above: its
        // HTTP path, the AdmissionReview and the Ingress's schema, without the model's check. Beside
        // the floor it says how much of the gap is the check's.
        foreign_class_reviews_per_s: Math.round(foreignLatencies.length / (foreignElapsedMs / 1000)),
        foreign_class_p99_ms: Number(percentile(foreignLatencies, 99).toFixed(2)),
        foreign_class_reviews_per_s_over_floor: Number((foreignLatencies.length / (foreignElapsedMs / 1000) / (floorLatencies.length / (floorElapsedMs / 1000))).toFixed(2)),
        foreign_class_p99_over_floor: Number((percentile(foreignLatencies, 99) / percentile(floorLatencies, 99)).toFixed(2)),
        foreign_class_handler_cpu_us_per_review: Math.round((foreignCpu * 1e6) / foreignLatencies.length),
        load_generator_cpu_pct: generatorCpu,
        handler_node_flags: nodeFlagsOf(handler.process.pid!).join(' '),
        ...large,
        ...routeAdmission,
        ...routesOverHttp,
        nginx_t_review_ingresses: NGINX_T_INGRESSES,
        nginx_t_review_reviews: NGINX_T_REVIEWS,
        nginx_t_review_p50_ms: Math.round(nginxT.ms),
        // How many times longer a review validated with `nginx -t` (at 1,000 Ingresses) takes than
        // the webhook's p50 (at ingresses_in_view, 10,000 by default).
        nginx_t_review_over_p50: Math.round(nginxT.ms / p50),
        ...record.end({ handler: cpuSecondsOf(handler.process.pid!) }),
      }),
    );
  } finally {
    await handler.stop();
    tf.remove();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
