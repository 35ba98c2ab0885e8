/**
 * Liveness on a port of its own, answered by a thread of its own. On the request port `/healthz` is never shed,
 * but it still waits for its turn of the event loop, and one turn answers every readable connection: with
 * hundreds of connections a turn lasts tens of milliseconds even when all of it is shed, so a probe's latency is
 * the request load's. Here a worker thread serves `GET /healthz` from heartbeats in shared memory: each request
 * loop (the process's own, or each cluster worker's through the primary) stamps its slot every BEAT_MS, and
 * the probe is 200 while every slot is younger than `stallMs`, 503 SERVER_STALLED naming the loop otherwise. A
 * busy loop still beats between turns; a loop stuck for seconds (an endless computation, a deadlock) does not,
 * and that is what a liveness probe is for.
 */
import { Worker } from 'node:worker_threads';
import { SimrecError } from '../core/errors.ts';

/** How often a request loop stamps its heartbeat, ms. */
export const BEAT_MS = 100;
/** Default age of a heartbeat past which its loop counts as stalled, ms. */
export const DEFAULT_HEALTH_STALL_MS = 10_000;

const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const beats = new BigInt64Array(workerData.beats);
const json = (res, status, body) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
};
const server = http.createServer((req, res) => {
  const path = (req.url || '/').split('?')[0];
  if ((req.method !== 'GET' && req.method !== 'HEAD') || path !== '/healthz') {
    json(res, 404, { error: { code: 'ROUTE_NOT_FOUND', message: req.method + ' ' + path + ' is not served on the health port (GET /healthz is)' } });
    return;
  }
  const now = Date.now();
  let oldest = 0;
  let stalled = -1;
  for (let i = 0; i < beats.length; i++) {
    const age = now - Number(Atomics.load(beats, i));
    if (age > oldest) oldest = age;
    if (age > workerData.stallMs && stalled < 0) stalled = i;
  }
  if (stalled >= 0) {
    json(res, 503, { error: { code: 'SERVER_STALLED', message: 'request loop ' + stalled + ' has not run for ' + (now - Number(Atomics.load(beats, stalled))) + ' ms (limit ' + workerData.stallMs + ' ms)' } });
    return;
  }
  json(res, 200, { status: 'ok', loops: beats.length, oldestBeatMs: oldest });
});
server.on('error', (e) => parentPort.postMessage({ error: { code: e.code, message: String(e.message) } }));
server.listen({ host: workerData.host, port: workerData.port }, () => parentPort.postMessage({ port: server.address().port }));
parentPort.on('message', (m) => { if (m === 'close') server.close(() => parentPort.postMessage({ closed: true })); });
`;

export interface HealthPort {
  readonly port: number;
  readonly url: string;
  /** Stamps loop `slot`'s heartbeat with the current time. */
  beat(slot: number): void;
  /** Stops answering and ends the thread. */
  close(): Promise<void>;
}

export interface HealthPortOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Request loops watched, one heartbeat slot each (1, or the cluster's worker count). */
  loops: number;
  stallMs?: number;
}

/**
 * Starts the health thread listening on host:port. Every slot starts stamped now, so a loop that is still
 * starting is not reported stalled. @throws CONFIG_INVALID when the port cannot be listened on
 */
export function startHealthPort(o: HealthPortOptions): Promise<HealthPort> {
  const beats = new BigInt64Array(new SharedArrayBuffer(8 * o.loops));
  beats.fill(BigInt(Date.now()));
  const stallMs = o.stallMs ?? DEFAULT_HEALTH_STALL_MS;
  // No execArgv: the source is plain CommonJS, whatever loader or --input-type this process was started with.
  const worker = new Worker(SOURCE, {
    eval: true,
    execArgv: [],
    workerData: { beats: beats.buffer, host: o.host, port: o.port, stallMs },
  });
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (m: { port?: number; error?: { code?: string; message: string } }) => {
      if (m.error || m.port === undefined) {
        void worker.terminate();
        reject(
          new SimrecError(
            'CONFIG_INVALID',
            `cannot listen on ${o.host}:${o.port} for health checks: ${m.error?.message ?? 'no port'}`,
            { field: 'health-port' },
          ),
        );
        return;
      }
      // Once listening, the thread must not keep a process alive that has nothing else to do.
      worker.unref();
      const port = m.port;
      let closing: Promise<void> | undefined;
      resolve({
        port,
        url: `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`,
        beat(slot: number) {
          Atomics.store(beats, slot, BigInt(Date.now()));
        },
        close() {
          closing ??= new Promise<void>((done) => {
            const timer = setTimeout(() => void worker.terminate().then(() => done()), 1000);
            worker.once('message', () => {
              clearTimeout(timer);
              void worker.terminate().then(() => done());
            });
            worker.postMessage('close');
          });
          return closing;
        },
      });
    });
  });
}

/** Stamps `slot` every BEAT_MS from this thread's event loop until the returned function is called. */
export function beatFromThisLoop(beat: () => void): () => void {
  beat();
  const timer = setInterval(beat, BEAT_MS);
  timer.unref();
  return () => clearInterval(timer);
}
