/**
 * Starting worker_threads on TypeScript files. simrec runs from source through tsx, either as
 * `node --import tsx` (tests, benchmarks) or through tsx's `register()` (bin/simrec.js). Neither reaches a
 * Worker on Node 20: module hooks are per thread and `--import` is not replayed in workers, so a Worker on a
 * `.ts` file fails with "Unknown file extension". {@link startWorker} therefore starts every `.ts` worker on a
 * tiny ES module bootstrap (a data: URL) that registers tsx in the worker's own thread and then imports the
 * real entry file; `.js`/`.mjs` entries start directly.
 *
 * Also here: SharedArrayBuffer copies of typed arrays (inputs shared by all workers without copying per
 * worker) and a promise that settles when a worker ends.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { SimrecError } from './errors.ts';

let tsxApiUrl: string | undefined;

/** The file URL of tsx's ESM register API, resolved once from this module's location. */
function tsxApi(): string {
  if (tsxApiUrl === undefined) {
    try {
      tsxApiUrl = import.meta.resolve('tsx/esm/api');
    } catch (e) {
      throw new SimrecError(
        'INTERNAL',
        'cannot start a TypeScript worker: the tsx package is not resolvable',
        {},
        {
          cause: e,
        },
      );
    }
  }
  return tsxApiUrl;
}

/** The data: URL of a bootstrap module that loads tsx in the worker, then the entry file. */
function bootstrapUrl(entry: URL): URL {
  const code =
    `import { register } from ${JSON.stringify(tsxApi())};\n` +
    'register();\n' +
    `await import(${JSON.stringify(entry.href)});\n`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}

/**
 * Starts a Worker on `entry` (a file URL, typically `new URL('./x-worker.ts', import.meta.url)`), with
 * `workerData` and an optional transfer list. TypeScript entries are loaded through tsx inside the worker,
 * however the parent process itself was started. The entry reads `workerData`/`parentPort` from
 * node:worker_threads as usual.
 */
export function startWorker(
  entry: URL,
  workerData?: unknown,
  transferList?: WorkerOptions['transferList'],
  options: Omit<WorkerOptions, 'workerData' | 'transferList' | 'eval'> = {},
): Worker {
  if (entry.protocol !== 'file:')
    throw new SimrecError('INTERNAL', `worker entry must be a file: URL, got ${entry.href}`);
  const url = /\.[cm]?tsx?$/.test(entry.pathname) ? bootstrapUrl(entry) : entry;
  return new Worker(url, { ...options, workerData, transferList });
}

/**
 * Resolves when the worker exits with code 0; rejects with the worker's error (or an INTERNAL error for a
 * non-zero exit without one). `onMessage` receives every message the worker posts.
 */
export function workerDone(worker: Worker, onMessage?: (message: unknown) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let failure: unknown;
    if (onMessage) {
      worker.on('message', (m: unknown) => {
        try {
          onMessage(m);
        } catch (e) {
          failure ??= e;
          void worker.terminate();
        }
      });
    }
    worker.on('error', (e) => {
      failure ??= e;
    });
    worker.on('exit', (code) => {
      if (failure !== undefined) reject(failure);
      else if (code !== 0) reject(new SimrecError('INTERNAL', `worker exited with code ${code}`));
      else resolve();
    });
  });
}

/**
 * Runs `count` workers on the same entry (worker i gets `{ ...data, workerIndex: i, workerCount: count }`)
 * and waits for all of them. If one fails, the others are terminated and the first failure is thrown.
 */
export async function runWorkers(
  entry: URL,
  count: number,
  data: Record<string, unknown>,
  onMessage?: (workerIndex: number, message: unknown) => void,
): Promise<void> {
  const workers: Worker[] = [];
  const done: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const w = startWorker(entry, { ...data, workerIndex: i, workerCount: count });
    workers.push(w);
    done.push(workerDone(w, onMessage ? (m) => onMessage(i, m) : undefined));
  }
  try {
    await Promise.all(done);
  } catch (e) {
    await Promise.allSettled(workers.map((w) => w.terminate()));
    throw e;
  }
}

type TypedArray = Int32Array | Float32Array | Float64Array | Uint8Array | Uint32Array | Int8Array;

interface TypedArrayCtor<T> {
  new (buffer: SharedArrayBuffer, byteOffset?: number, length?: number): T;
  readonly BYTES_PER_ELEMENT: number;
}

/** A typed array of the same type and contents backed by a SharedArrayBuffer (returned as is if it already is). */
export function toShared<T extends TypedArray>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const Ctor = a.constructor as unknown as TypedArrayCtor<T>;
  const out = new Ctor(new SharedArrayBuffer(Math.max(1, a.length) * Ctor.BYTES_PER_ELEMENT), 0, a.length);
  (out as unknown as { set(src: T): void }).set(a);
  return out;
}

/** A zero-filled typed array of `length` elements over a new SharedArrayBuffer. */
export function sharedArray<T extends TypedArray>(Ctor: TypedArrayCtor<T>, length: number): T {
  return new Ctor(new SharedArrayBuffer(Math.max(1, length) * Ctor.BYTES_PER_ELEMENT), 0, length);
}
