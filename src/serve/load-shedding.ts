/**
 * Shedding load before latency explodes. An overloaded Node server does not slow down gracefully: requests
 * queue in socket buffers, every one of them is eventually served, and each waits behind all that came first,
 * so latency grows without bound while throughput stays flat. Answering the excess at once with 503
 * SERVER_OVERLOADED and `Retry-After` (in the usual error shape) keeps the latency of what is accepted bounded.
 *
 * Two signals, both checked in an onRequest hook before any body is parsed:
 *  - queue time: the event loop handles the requests that became readable together in one batch, one after
 *    the other. How long the current batch has been running is a lower bound on how long the request at hand
 *    has waited. It is read when the request is parsed and again just before its handler (Fastify may run the
 *    handler later, behind other requests of the batch, or in a later batch once the body has arrived; time
 *    spent waiting for the client's body is not held against the server). Past `maxQueueMs` the request is
 *    shed. This reacts within a batch, which a sampled signal cannot: at 2× capacity one unshed batch holds a
 *    second of work.
 *  - @fastify/under-pressure: the V8 heap in use (memory running out) and, when asked (`maxEventLoopDelayMs`),
 *    the event loop's mean delay over the last sample. That delay is off by default: a server at full capacity
 *    has a mean delay near one batch's length anyway, and a model load on a hot reload stalls the loop for
 *    hundreds of milliseconds, after which the sample sheds everything for its whole interval (seen: a request
 *    right after a reload refused; 23 of 2,400 served with a 30 ms limit under load). The queue time above is
 *    the event-loop delay each request actually met, measured per request.
 * Routes marked `alwaysAnswer` (health, readiness, metrics) are never shed: a liveness probe must see a busy
 * server as alive.
 */
import { getHeapStatistics } from 'node:v8';
import underPressure from '@fastify/under-pressure';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { make } from './errors.ts';
import type { SimrecFastify } from './route-context.ts';

/** When to shed load instead of queueing it. */
export interface PressureOptions {
  /** Longest a request may have waited in the current batch before it is shed, ms (default 20). */
  maxQueueMs?: number;
  /** Mean event-loop delay over the last sample above which requests are shed, ms (default 0: not checked). */
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
  maxEventLoopDelayMs: 0,
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
  const check = (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    if (request.routeOptions.config.alwaysAnswer || clock.elapsed() <= o.maxQueueMs) return done();
    reply.send(shed(reply, busy));
  };
  app.addHook('onRequest', check);
  app.addHook('preHandler', check);
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
