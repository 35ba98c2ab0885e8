/**
 * Shedding load before latency explodes. An overloaded Node server does not slow down gracefully: requests
 * queue in socket buffers, every one of them is eventually served, and each waits behind all that came first,
 * so latency grows without bound while throughput stays flat. Answering the excess at once with 503
 * SERVER_OVERLOADED and `Retry-After` (in the usual error shape) keeps the latency of what is accepted bounded.
 *
 * Two signals, both checked in an onRequest hook before any body is parsed:
 *  - queue time: the event loop handles the requests that became readable together in one batch, one after
 *    the other. How long the current batch has been running is a lower bound on how long the request at hand
 *    has waited when it is parsed; Fastify then runs the handler later still, behind other parsed requests. A
 *    request is shed when that wait, measured again just before its handler, passes `maxQueueMs`. This reacts
 *    within a batch, which a sampled signal cannot: at 2× capacity one unshed batch holds a second of work.
 *  - @fastify/under-pressure: the event loop's mean delay over the last sample and the V8 heap in use. A
 *    server at full capacity has a mean delay near one batch's length anyway, so the delay limit is a stall
 *    guard (a collector thrashing, a starved container), set well above what queue-time shedding lets through;
 *    a limit near it sheds nearly everything for a whole sample (seen: 23 of 2,400 requests served at 30 ms).
 * Routes marked `alwaysAnswer` (health, readiness, metrics) are never shed: a liveness probe must see a busy
 * server as alive.
 */
import { getHeapStatistics } from 'node:v8';
import underPressure from '@fastify/under-pressure';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SimrecFastify } from './app.ts';
import { make } from './errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** performance.now() when the request's batch began: the earliest it can have been waiting since. */
    queuedSince: number;
  }
}

/** When to shed load instead of queueing it. */
export interface PressureOptions {
  /** Longest a request may have waited in the current batch before it is shed, ms (default 20). */
  maxQueueMs?: number;
  /** Mean event-loop delay over the last sample above which requests are shed, ms (default 200). */
  maxEventLoopDelayMs?: number;
  /** V8 heap in use above which requests are shed (default 90% of the heap limit). */
  maxHeapUsedBytes?: number;
  /** How often the delay and heap are sampled, ms (default 100). */
  sampleIntervalMs?: number;
  /** The Retry-After a shed request is given, seconds (default 1). */
  retryAfterSeconds?: number;
}

export const DEFAULT_PRESSURE = {
  maxQueueMs: 20,
  maxEventLoopDelayMs: 200,
  sampleIntervalMs: 100,
  retryAfterSeconds: 1,
} as const;

/**
 * Milliseconds since the event loop started the batch the caller runs in: the first call of a batch starts
 * the clock and schedules its reset for the loop's check phase, which follows the poll phase that handles
 * sockets. Nothing runs while the loop is idle.
 */
export class BatchClock {
  private start = -1;
  private readonly reset = () => {
    this.start = -1;
  };

  elapsed(now = performance.now()): number {
    if (this.start < 0) {
      this.start = now;
      setImmediate(this.reset);
      return 0;
    }
    return now - this.start;
  }
}

/** Registers both shedding signals on app (before its routes). */
export function registerLoadShedding(app: SimrecFastify, options: PressureOptions = {}): void {
  const o = { ...DEFAULT_PRESSURE, ...options };
  const retryAfter = String(o.retryAfterSeconds);
  const shed = (reply: FastifyReply, why: string) => {
    reply.code(503).header('retry-after', retryAfter).type('application/json; charset=utf-8');
    return make(503, 'SERVER_OVERLOADED', why).body;
  };
  const clock = new BatchClock();
  const busy = `the server is busy (this request waited over ${o.maxQueueMs} ms); retry later`;
  app.decorateRequest('queuedSince', 0);
  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done) => {
    if (request.routeOptions.config.alwaysAnswer) return done();
    const now = performance.now();
    const waited = clock.elapsed(now);
    request.queuedSince = now - waited;
    if (waited <= o.maxQueueMs) return done();
    reply.send(shed(reply, busy));
  });
  app.addHook('preHandler', (request: FastifyRequest, reply: FastifyReply, done) => {
    if (request.routeOptions.config.alwaysAnswer || performance.now() - request.queuedSince <= o.maxQueueMs)
      return done();
    reply.send(shed(reply, busy));
  });
  void app.register(underPressure, {
    maxEventLoopDelay: o.maxEventLoopDelayMs,
    maxHeapUsedBytes: options.maxHeapUsedBytes ?? Math.floor(0.9 * getHeapStatistics().heap_size_limit),
    sampleInterval: o.sampleIntervalMs,
    retryAfter: o.retryAfterSeconds,
    pressureHandler: (request, reply, type) => {
      if (request.routeOptions.config.alwaysAnswer) return;
      const why =
        type === 'heapUsedBytes'
          ? 'the server is short of memory; retry later'
          : 'the server is busy; retry later';
      // under-pressure sends what the handler returns; returning nothing would let the request through.
      return shed(reply, why) as unknown as undefined;
    },
  });
}
