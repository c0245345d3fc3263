// node bench/admission-parts.ts [--ingresses N] [--rounds R] [--min-ms MS] — where an admission review's CPU goes once its
// body is read, in this process (no HTTP): the parts of one review of bench/admission.ts's mix,
// against a RoutingIndex of N Ingresses (10,000) built as the handler builds its view, beside the
// floor's own work (bench/admission-floor.ts: JSON.parse, then an allowed answer stringified).
// Thread CPU time per review, median of --rounds rounds that take turns part by part, so a burst of
// outside load hits every part alike. bench:admission measures the same over HTTP, where each
// review also pays the socket, Node's HTTP parser and the write (about as much as the floor's whole
// answer).
//   floor_us          JSON.parse of the body, the allowed answer stringified: the floor's work
//   envelope_us       JSON.parse and the AdmissionReview read (reviewTarget: schema, kind, operation)
//   schema_us         the Ingress's schema (parseIngress) alone
//   model_check_us    the model's whole check of the object (validateIngress: limits, schema,
//                     translation, the merge of its hosts against the view, names)
//   review_us         what the handler does between the body and the answer: the envelope, the
//                     check, the answer built and stringified
// Prints one JSON object as the last line, with review_over_floor and the run's record.
import { parseArgs } from 'node:util';
import { review } from '../src/handlers/admission.ts';
import { defaultControllerSettings, parseObject, RoutingIndex, validateIngress } from '../src/model/index.ts';
import { parseIngress } from '../src/model/schemas.ts';
import { benchIngress, benchService, ingressReview, SERVICES } from './admission-reviews.ts';
import { runRecord } from './machine.ts';

const { values } = parseArgs({ options: { ingresses: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '7' }, 'min-ms': { type: 'string', default: '300' } } });
const ingresses = Number(values.ingresses);
const ROUNDS = Number(values.rounds);
const REVIEWS = 1000;
// The thread CPU clock ticks in whole jiffies on some machines (10 ms): each part runs until it has
// used at least this much, in batches of the whole mix.
const MIN_US = Number(values['min-ms']) * 1000;

const record = runRecord();
const settings = defaultControllerSettings;
const index = new RoutingIndex(settings);
const load = (raw: object) => {
  const parsed = parseObject(raw);
  if (!parsed.ok) throw new Error(`bench object refused: ${JSON.stringify(parsed.problems).slice(0, 300)}`);
  index.upsert(parsed.value as Parameters<RoutingIndex['upsert']>[0]);
};
for (let s = 0; s < SERVICES; s++) load(benchService(s));
for (let i = 0; i < ingresses; i++) load(benchIngress(`ing-${i}`, `host-${i}.example.com`));

const bodies = Array.from({ length: REVIEWS }, (_, i) => ingressReview(i, ingresses));
const objects = bodies.map((b) => (JSON.parse(b) as { request: { object: object } }).request.object);
const validate = (object: unknown) => validateIngress(object, index, settings);

// Each part returns something that depends on its work, counted, so that none is optimized away.
const parts: Record<string, (i: number) => number> = {
  floor_us: (i) => {
    const uid = String((JSON.parse(bodies[i]!) as { request?: { uid?: unknown } }).request?.uid ?? '');
    return JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } }).length;
  },
  envelope_us: (i) => (review(JSON.parse(bodies[i]!), () => []).body.response.allowed ? 1 : 0),
  schema_us: (i) => (parseIngress(objects[i]).ok ? 1 : 0),
  model_check_us: (i) => validate(objects[i]).length,
  review_us: (i) => JSON.stringify(review(JSON.parse(bodies[i]!), (o) => validate(o)).body).length,
};

const decisions = { allowed: 0, warned: 0, denied: 0 };
for (const body of bodies) {
  const answer = review(JSON.parse(body), (o) => validate(o)).body.response;
  if (!answer.allowed) decisions.denied++;
  else if (answer.warnings?.length) decisions.warned++;
  else decisions.allowed++;
}
if (decisions.denied !== REVIEWS / 10 || decisions.warned === 0) throw new Error(`unexpected decisions: ${JSON.stringify(decisions)}`);

const samples: Record<string, number[]> = Object.fromEntries(Object.keys(parts).map((k) => [k, []]));
let sink = 0;
for (let round = 0; round < ROUNDS + 1; round++) {
  for (const [name, part] of Object.entries(parts)) {
    const started = process.threadCpuUsage();
    let reviews = 0;
    let usedUs = 0;
    while (usedUs < MIN_US) {
      for (let n = 0; n < REVIEWS; n++) sink += part(n);
      reviews += REVIEWS;
      const used = process.threadCpuUsage(started);
      usedUs = used.user + used.system;
    }
    if (round > 0) samples[name]!.push(usedUs / reviews); // round 0 warms the JIT
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const figures = Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, Number(median(xs).toFixed(2))]));
console.log(`decisions of the ${REVIEWS} reviews: ${JSON.stringify(decisions)}; per review, µs of thread CPU: ${JSON.stringify(figures)} (${sink > 0 ? 'checked' : ''})`);
console.log(
  JSON.stringify({
    ingresses_in_view: ingresses,
    rounds: ROUNDS,
    ...figures,
    review_over_floor: Number((figures.review_us! / figures.floor_us!).toFixed(2)),
    ...record.end({}),
  }),
);
