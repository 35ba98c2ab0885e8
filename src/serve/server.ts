/**
 * Running the HTTP application: one process, or a node:cluster primary with N workers sharing one port (the
 * primary accepts connections and hands them round-robin to workers, so N workers use N cores; every worker
 * maps the same LMDB files, so the artifacts are in memory once). Each worker watches `current` itself; SIGHUP
 * makes every worker check at once. SIGTERM/SIGINT stop accepting connections, let requests in flight finish,
 * then exit.
 */
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { FastifyServerOptions } from 'fastify';
import { isSimrecError, SimrecError } from '../core/errors.ts';
import type { InterestedInScore } from '../simclusters/interested-in.ts';
import {
  type AppOptions,
  buildApp,
  type EventOptions,
  type PressureOptions,
  type SimrecFastify,
} from './app.ts';
import { beatFromThisLoop, type HealthPort, startHealthPort } from './health-port.ts';
import { servePrimaryMetrics } from './metrics.ts';

/** Node's own default is 511: a burst of 1,000 connections to a busy server overflowed it (see ServerOptions.backlog). */
export const DEFAULT_BACKLOG = 4096;

export interface ServerOptions {
  /** Artifact directory (LMDB artifact store). */
  artifacts: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8080; 0 picks a free port (shared by all workers). */
  port?: number;
  /**
   * Length of the kernel's queue of connections not yet accepted (default DEFAULT_BACKLOG; Linux caps it at
   * net.core.somaxconn). Node accepts one connection per event-loop turn, and a loaded turn lasts as long as
   * the shedding budget allows, so a burst of new connections waits in this queue; past its length the kernel
   * drops them and clients retry after 1 s, 3 s, 7 s.
   */
  backlog?: number;
  /** Processes serving requests (default 1: no cluster). */
  workers?: number;
  userScore?: InterestedInScore;
  pollMs?: number;
  bodyLimit?: number;
  /** pino level for JSON log lines on stderr (default 'info'); 'silent' for none. */
  logLevel?: string;
  /** Load shedding (default on, with DEFAULT_PRESSURE); false turns it off. */
  pressure?: PressureOptions | false;
  /** API keys: write routes (and with protectReads the /v1 read routes) need one (see auth.ts). */
  apiKeys?: readonly string[];
  protectReads?: boolean;
  /** Write limits and the log applier's cadence (plain values: they are passed to workers as JSON). */
  events?: Omit<EventOptions, 'onError' | 'onRebase'>;
  /**
   * A second port answering `GET /healthz` from a thread of its own (health-port.ts), so request load cannot
   * delay the probe (default: none; 0 picks a free port).
   */
  healthPort?: number;
  /** On the health port: how long a request loop may go without running before it counts as stalled, ms. */
  healthStallMs?: number;
}

export interface RunningServer {
  /** http://host:port */
  readonly url: string;
  readonly port: number;
  readonly workers: number;
  /** http://host:healthPort when a health port was asked for. */
  readonly healthUrl?: string;
  /** Makes every process check for a new artifact version now. */
  refresh(): Promise<void>;
  /** Stops accepting connections, finishes requests in flight, closes the artifacts (and stops workers). */
  close(): Promise<void>;
}

const WORKER_ENV = 'SIMREC_SERVE_WORKER';
const SHUTDOWN = 'simrec:shutdown';
const REFRESH = 'simrec:refresh';
const BEAT = 'simrec:beat';
/** How long a worker gets to finish its requests before it is killed. */
const SHUTDOWN_GRACE_MS = 15_000;
/** A worker that dies more often than this in a minute is not replaced any more. */
const MAX_RESTARTS_PER_MINUTE = 5;

/**
 * Starts serving and resolves once every process listens. The artifacts are loaded after listening, so
 * /healthz answers at once and /readyz turns 200 when the current version is loaded.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const workers = options.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1)
    throw new SimrecError('CONFIG_INVALID', `workers must be an integer ≥ 1, got ${workers}`, {
      field: 'workers',
    });
  return workers === 1 ? startSingle(options) : startCluster(options, workers);
}

function appOptions(o: ServerOptions): AppOptions {
  const level = o.logLevel ?? 'info';
  const logger: FastifyServerOptions['logger'] =
    level === 'silent' ? false : { level, stream: process.stderr, base: { pid: process.pid } };
  return {
    artifacts: o.artifacts,
    userScore: o.userScore,
    pollMs: o.pollMs,
    bodyLimit: o.bodyLimit,
    logger,
    processMetrics: true,
    awaitModel: false,
    pressure: o.pressure === false ? false : (o.pressure ?? {}),
    apiKeys: o.apiKeys,
    protectReads: o.protectReads,
    events: o.events,
  };
}

async function listen(o: ServerOptions): Promise<{ app: SimrecFastify; port: number }> {
  const app = await buildApp(appOptions(o));
  try {
    await app.listen({
      host: o.host ?? '127.0.0.1',
      port: o.port ?? 8080,
      backlog: o.backlog ?? DEFAULT_BACKLOG,
    });
  } catch (e) {
    await app.close();
    throw new SimrecError(
      'CONFIG_INVALID',
      `cannot listen on ${o.host ?? '127.0.0.1'}:${o.port ?? 8080}: ${(e as Error).message}`,
      { field: 'port' },
      { cause: e },
    );
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (o.port ?? 8080);
  return { app, port };
}

function urlOf(host: string | undefined, port: number): string {
  const h = host ?? '127.0.0.1';
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

/** The health port of `o`, when asked for (loops: the request loops it watches). */
async function healthPortOf(o: ServerOptions, loops: number): Promise<HealthPort | null> {
  if (o.healthPort === undefined) return null;
  return startHealthPort({
    host: o.host ?? '127.0.0.1',
    port: o.healthPort,
    loops,
    stallMs: o.healthStallMs,
  });
}

async function startSingle(o: ServerOptions): Promise<RunningServer> {
  const { app, port } = await listen(o);
  let health: HealthPort | null;
  try {
    health = await healthPortOf(o, 1);
  } catch (e) {
    await app.close();
    throw e;
  }
  const stopBeat = health ? beatFromThisLoop(() => health?.beat(0)) : () => undefined;
  return {
    url: urlOf(o.host, port),
    port,
    workers: 1,
    healthUrl: health?.url,
    async refresh() {
      await app.simrec.live.refresh().catch((e) => logRefreshFailure(app, e));
    },
    async close() {
      stopBeat();
      await Promise.all([app.close(), health?.close()]);
    },
  };
}

/** A version that cannot be loaded is the deployment's state (warn, no stack); anything else is a bug. */
function logRefreshFailure(app: SimrecFastify, e: unknown): void {
  if (isSimrecError(e) && e.code !== 'INTERNAL')
    app.log.warn({ code: e.code, file: e.detail.file }, `refresh failed: ${e.message}`);
  else app.log.error({ err: e }, 'refresh failed');
}

/** The code a cluster worker runs (see worker.ts): serve until the primary says stop. */
export async function runClusterWorker(): Promise<void> {
  const o = JSON.parse(process.env[WORKER_ENV] ?? '{}') as ServerOptions;
  const { app } = await listen(o);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  // The primary's health port (if any) hears from this loop through these beats.
  if (o.healthPort !== undefined)
    beatFromThisLoop(() => {
      if (process.connected) process.send?.({ type: BEAT });
    });
  process.on('message', (m: { type?: string }) => {
    if (m?.type === SHUTDOWN) stop();
    else if (m?.type === REFRESH) app.simrec.live.refresh().catch((e) => logRefreshFailure(app, e));
  });
  // The primary is gone (killed): nobody hands us connections any more.
  process.on('disconnect', stop);
  // Ctrl-C reaches the whole process group; the primary orchestrates, but a worker also stops cleanly alone.
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.on('SIGHUP', () => undefined);
}

async function startCluster(o: ServerOptions, n: number): Promise<RunningServer> {
  cluster.setupPrimary({
    exec: fileURLToPath(new URL('./worker.ts', import.meta.url)),
    execArgv: workerExecArgv(),
    args: [],
  });
  const stopMetrics = servePrimaryMetrics();
  const env = { [WORKER_ENV]: JSON.stringify(o) };
  let shuttingDown = false;
  const restarts: number[] = [];
  let port = o.port ?? 8080;

  // Health: one heartbeat slot per worker position; a replacement takes over its predecessor's slot, and a
  // worker that is not replaced leaves its slot to go stale, so the probe reports the lost capacity.
  const health = await healthPortOf(o, n).catch((e) => {
    stopMetrics();
    throw e;
  });
  const slotOf = new Map<number, number>();
  const freeSlots = Array.from({ length: n }, (_, i) => n - 1 - i);
  const onBeat = (worker: Worker, m: { type?: string }) => {
    const slot = m?.type === BEAT ? slotOf.get(worker.id) : undefined;
    if (slot !== undefined) health?.beat(slot);
  };
  if (health) cluster.on('message', onBeat);
  const fork = () => {
    const w = cluster.fork(env);
    const slot = freeSlots.pop();
    if (slot !== undefined) {
      slotOf.set(w.id, slot);
      health?.beat(slot);
    }
    return w;
  };
  const onExit = (worker: Worker, code: number | null, signal: string | null) => {
    const slot = slotOf.get(worker.id);
    slotOf.delete(worker.id);
    if (slot !== undefined) freeSlots.push(slot);
    if (shuttingDown || code === 0) return;
    const now = Date.now();
    while (restarts.length > 0 && now - restarts[0] > 60_000) restarts.shift();
    if (restarts.length >= MAX_RESTARTS_PER_MINUTE) {
      process.stderr.write(
        `simrec serve: worker ${worker.process.pid} died (${signal ?? code}); too many restarts, not replacing it\n`,
      );
      return;
    }
    restarts.push(now);
    process.stderr.write(
      `simrec serve: worker ${worker.process.pid} died (${signal ?? code}); starting another\n`,
    );
    fork();
  };

  // Every first-generation worker must listen; one that exits first means the server cannot start.
  await new Promise<Worker[]>((resolve, reject) => {
    const workers: Worker[] = [];
    let listening = 0;
    const onListening = (_w: Worker, address: { port: number }) => {
      port = address.port;
      if (++listening === n) {
        cleanup();
        resolve(workers);
      }
    };
    const onEarlyExit = (w: Worker, code: number | null, signal: string | null) => {
      cleanup();
      shuttingDown = true;
      for (const other of workers) if (other !== w && !other.isDead()) other.kill();
      reject(
        new SimrecError(
          'INTERNAL',
          `worker ${w.process.pid} exited (${signal ?? code}) before listening; see its log above`,
        ),
      );
    };
    const cleanup = () => {
      cluster.off('listening', onListening);
      cluster.off('exit', onEarlyExit);
    };
    cluster.on('listening', onListening);
    cluster.on('exit', onEarlyExit);
    for (let i = 0; i < n; i++) workers.push(fork());
  }).catch(async (e) => {
    stopMetrics();
    cluster.off('message', onBeat);
    await health?.close();
    throw e;
  });
  cluster.on('exit', onExit);

  const live = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && !w.isDead());
  let closing: Promise<void> | undefined;
  return {
    url: urlOf(o.host, port),
    port,
    workers: n,
    healthUrl: health?.url,
    async refresh() {
      for (const w of live()) if (w.isConnected()) w.send({ type: REFRESH });
    },
    close() {
      closing ??= (async () => {
        shuttingDown = true;
        cluster.off('exit', onExit);
        await Promise.all(
          live().map(
            (w) =>
              new Promise<void>((resolve) => {
                const kill = setTimeout(() => w.process.kill('SIGKILL'), SHUTDOWN_GRACE_MS);
                w.once('exit', () => {
                  clearTimeout(kill);
                  resolve();
                });
                if (w.isConnected()) w.send({ type: SHUTDOWN });
                else w.process.kill('SIGTERM');
              }),
          ),
        );
        stopMetrics();
        cluster.off('message', onBeat);
        await health?.close();
      })();
      return closing;
    },
  };
}

/**
 * Node options for workers: the primary's, less what makes node run something other than the worker file
 * (`-e`, `-p`, `--test`, ...), plus tsx's loader when the primary registered it by API (bin/simrec.js) rather
 * than by flag, since a worker is a fresh process that must load TypeScript too.
 */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-e' || a === '--eval' || a === '-p' || a === '--print') {
      i++;
      continue;
    }
    if (/^(--eval=|--print=|--input-type|--test|--watch|--check$|-c$|-i$|--interactive$)/.test(a)) continue;
    out.push(a);
  }
  if (!out.some((a) => a.includes('tsx'))) out.push('--import', import.meta.resolve('tsx'));
  return out;
}

/**
 * Serves until SIGTERM or SIGINT, then shuts down gracefully; SIGHUP checks for a new artifact version.
 * Resolves once the server is closed.
 */
export function untilSignalled(server: RunningServer): Promise<void> {
  return new Promise((resolve, reject) => {
    const onHup = () => {
      void server.refresh();
    };
    const onStop = () => {
      process.off('SIGTERM', onStop);
      process.off('SIGINT', onStop);
      process.off('SIGHUP', onHup);
      server.close().then(resolve, reject);
    };
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
    process.on('SIGHUP', onHup);
  });
}

/**
 * Polls a running server's /readyz every 100 ms until it answers 200 (the current version is loaded).
 * @throws SimrecError INTERNAL after `timeoutMs`
 */
export async function waitUntilReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(`${url}/readyz`).catch(() => null);
    if (res?.ok) return;
    await res?.body?.cancel();
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new SimrecError(
    'INTERNAL',
    `the server at ${url} did not load its artifacts within ${timeoutMs / 1000} s`,
  );
}
