// POST /admission over HTTP, as one function: reviews in flight, the body limit, the Content-Type,
// the large-review lane, the review and its answer, metrics and the log line of a failure. Two
// callers, one behaviour: the node:http listener serves the route itself (`serve`, see raw-route.ts:
// the webhook's cost per review is measured against a bare node:http server), and the Hono app's
// route (`answer`) serves it in-process (`app.request()`, local mode's admission gate, any other
// Hono runtime). The review itself (parse, model) is the app's `steps`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from '../log.ts';
import { runSteps } from '../model/steps.ts';
import { MalformedReview, type AdmissionResponse, type Decision } from './admission.ts';
import { callerTimeoutMs, LargeReviewLane, type AdmissionControlOptions } from './admission-control.ts';
import type { HandlerMetrics } from './metrics.ts';
import { BodyTooLarge, readBody, sendJson } from './raw-route.ts';

/** One review request as the HTTP layer gives it: its headers, its ?timeout= and a way to read its body. */
export interface ReviewCall {
  contentType: string | undefined;
  contentLength: string | undefined;
  /** A Transfer-Encoding header: the body's length is known once it is read. */
  chunked: boolean;
  /** The `timeout` query parameter the API server adds (`10s`); read only for a large review. */
  timeout(): string | undefined;
  /** The body, at most `maxBytes` (BodyTooLarge past it). */
  read(maxBytes: number): Promise<Uint8Array>;
}

/** An answer to write: JSON `body` with `status` and any extra headers (Retry-After). */
export interface HttpAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface AdmissionEndpoint {
  /** Answers one review (never throws: failures are answers too). */
  answer(call: ReviewCall): Promise<HttpAnswer>;
  /** The same on node:http: reads `req`, writes the answer to `res` in one piece. */
  serve(req: IncomingMessage, res: ServerResponse): void;
}

export interface AdmissionEndpointOptions {
  control: AdmissionControlOptions;
  /** The largest review body accepted (413 past it). */
  maxBytes: number;
  metrics: HandlerMetrics;
  log: Logger;
  /** One review, from its body to its answer, in steps (so a large one can run sliced). */
  steps: (text: string) => Generator<void, { body: AdmissionResponse; decision: Decision }>;
}

const JSON_TYPE = /^application\/json\b/i;
// As Request.text() decodes: UTF-8, a byte-order mark dropped, bad bytes replaced.
const utf8 = new TextDecoder();

/** The admission endpoint of one app: one in-flight count and one large-review lane for both callers. */
export function admissionEndpoint(o: AdmissionEndpointOptions): AdmissionEndpoint {
  const { control, maxBytes, metrics, log, steps } = o;
  if (!Number.isSafeInteger(control.maxInFlight) || control.maxInFlight < 1) throw new Error('the in-flight limit of admission reviews must be a positive integer');
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw new Error('body limit for AdmissionReview must be a positive integer');
  const throttled = () => metrics.admissionDecisions.inc({ decision: 'throttled' });
  const largeLane = new LargeReviewLane(control, throttled);
  const tooLarge = (): HttpAnswer => ({ status: 413, body: { error: `AdmissionReview larger than ${maxBytes} bytes: send smaller requests (split a batch)` } });
  let inFlight = 0;

  /** The checks and the review, in the order the Hono middlewares made them (in flight, size, type). */
  async function review(call: ReviewCall): Promise<HttpAnswer> {
    let body: Uint8Array | null = null;
    if (call.contentLength !== undefined && !call.chunked) {
      if (!/^\d+$/.test(call.contentLength)) return { status: 400, body: { error: `Content-Length: Invalid value: ${JSON.stringify(call.contentLength)}` } };
      if (Number(call.contentLength) > maxBytes) return tooLarge();
    } else {
      // No declared length: counted as it is read, before anything else is looked at.
      body = await call.read(maxBytes);
    }
    const type = call.contentType ?? '';
    if (!JSON_TYPE.test(type)) return { status: 415, body: { error: `Content-Type ${JSON.stringify(type)}: expected application/json (an AdmissionReview)` } };
    const arrived = performance.now();
    // A declared large body is admitted to the large lane before it is read (a full lane reads nothing).
    let leave = Number(call.contentLength) >= control.largeBytes ? largeLane.admit() : null;
    try {
      const text = utf8.decode(body ?? (await call.read(maxBytes)));
      if (!leave && text.length >= control.largeBytes) leave = largeLane.admit();
      const started = performance.now();
      let reviewed;
      if (leave) {
        // The API server gives up after its timeout: a large review whose turn comes later is not run.
        const timeout = callerTimeoutMs(call.timeout());
        reviewed = await largeLane.run(steps(text), timeout === null ? Infinity : arrived + timeout);
      } else reviewed = runSteps(steps(text));
      const { body: answer, decision } = reviewed;
      metrics.admissionDecisions.inc({ decision });
      metrics.admissionSeconds.observe((performance.now() - started) / 1000);
      return { status: 200, body: answer };
    } finally {
      leave?.();
    }
  }

  async function answer(call: ReviewCall): Promise<HttpAnswer> {
    if (inFlight >= control.maxInFlight) {
      throttled();
      return { status: 429, body: { error: `${inFlight} admission reviews in progress (at most ${control.maxInFlight}); retry shortly` }, headers: { 'retry-after': '1' } };
    }
    inFlight++;
    try {
      return await review(call);
    } catch (e) {
      if (e instanceof BodyTooLarge) return tooLarge();
      if (e instanceof MalformedReview) return { status: 400, body: { error: e.message } };
      if (e instanceof HTTPException) {
        const headers: Record<string, string> = {};
        e.res?.headers.forEach((v, k) => (headers[k] = v));
        return { status: e.status, body: { error: e.message }, headers };
      }
      // As the app's onError: a client gone mid-body, or a bug.
      log.error('request failed', { method: 'POST', path: '/admission', error: e });
      return { status: 500, body: { error: `internal error: ${(e as Error).message} (a wharf bug: please report it with the handler's log)` } };
    } finally {
      inFlight--;
    }
  }

  return {
    answer,
    serve(req, res) {
      const url = req.url ?? '';
      const q = url.indexOf('?');
      const call: ReviewCall = {
        contentType: req.headers['content-type'],
        contentLength: req.headers['content-length'],
        chunked: req.headers['transfer-encoding'] !== undefined,
        timeout: () => (q < 0 ? undefined : (new URLSearchParams(url.slice(q + 1)).get('timeout') ?? undefined)),
        read: (max) => readBody(req, max),
      };
      void answer(call)
        .then((a) => sendJson(res, a.status, a.body, a.headers))
        .catch((e: unknown) => {
          // An answer that cannot be written (never seen): the connection goes, the process stays.
          log.error('request failed', { method: 'POST', path: '/admission', error: e });
          res.destroy();
        });
    },
  };
}

/** A review call from the Hono route's context (the body read from the Web Request's stream, Web APIs only). */
export function honoReviewCall(c: Context): ReviewCall {
  return {
    contentType: c.req.header('content-type'),
    contentLength: c.req.header('content-length'),
    chunked: c.req.header('transfer-encoding') !== undefined,
    timeout: () => c.req.query('timeout'),
    async read(max) {
      const stream = c.req.raw.body;
      if (!stream) return new Uint8Array(0);
      const chunks: Uint8Array[] = [];
      let size = 0;
      for await (const chunk of stream) {
        size += chunk.length;
        if (size > max) throw new BodyTooLarge(max);
        chunks.push(chunk);
      }
      if (chunks.length === 1) return chunks[0]!;
      // Web-standard only (no Buffer): the app runs in any Hono runtime.
      const body = new Uint8Array(size);
      let at = 0;
      for (const chunk of chunks) {
        body.set(chunk, at);
        at += chunk.length;
      }
      return body;
    },
  };
}
