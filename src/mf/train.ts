/**
 * Epoch loop and Hogwild coordination. Parameters live in one shared WebAssembly memory (memory.ts) that every
 * thread maps; each epoch the coordinator writes a seeded shuffle of the interactions, opens that epoch's
 * chunks, and every thread (workers, and by default the calling thread too) claims chunks until the epoch is
 * done. Updates are applied without locks (Hogwild, Recht et al. 2011): with sparse rows collisions are rare
 * and harmless.
 *
 * With the calling thread training alongside, the workers' start-up (loading the TypeScript loader, ~0.2 s)
 * overlaps useful work instead of delaying it. Workers are started per call and ended with it.
 */
import type { Worker } from 'node:worker_threads';
import { SimrecError } from '../core/errors.ts';
import { Rng } from '../core/prng.ts';
import { toShared as shared, startWorker } from '../core/workers.ts';
import { type ChunkPlan, CTL_DONE, CTL_ERROR, CTL_LENGTH, CTL_LIMIT, drainChunks } from './hogwild.ts';
import {
  CHUNK_SIZE,
  chunkRng,
  type KernelConfig,
  MfKernel,
  type SideRows,
  type TrainData,
} from './kernel.ts';
import type { ParamLayout, ParamStore } from './memory.ts';
import type { WasmMemory } from './simd.ts';

export interface WorkerInit {
  layout: ParamLayout;
  memory: WasmMemory;
  data: TrainData;
  cfg: KernelConfig;
  ctl: Int32Array;
  plan: ChunkPlan;
  /** This thread's scratch slot in the store. */
  slot: number;
}

export interface TrainJob {
  store: ParamStore;
  data: TrainData;
  cfg: KernelConfig;
  seed: number;
  /** Epochs trained before this job: the global index of its first epoch. */
  epochBase: number;
  epochs: number;
  threads: number;
  /** Whether the calling thread trains too (default) or only coordinates, leaving its event loop free. */
  inline: boolean;
  /** Fraction every parameter shrinks by after each epoch (applied while no thread is training). */
  decay: number;
  /** Called after each epoch with the number of this job's epochs done. */
  onEpoch?: (done: number) => void;
}

/** Scales every parameter (embeddings and biases; not the optimiser state) by 1 − decay. */
export function applyDecay(store: ParamStore, decay: number): void {
  if (decay === 0) return;
  const l = store.layout;
  store.ops.scale(4 * l.userParams, 4 * l.nUserRows * l.stride, 1 - decay);
  store.ops.scale(4 * l.itemParams, 4 * l.nItemRows * l.stride, 1 - decay);
}

/** Writes epoch `epoch`'s shuffle of 0..n−1 into order. */
export function epochOrder(seed: number, epoch: number, order: Int32Array): void {
  new Rng(`mf:${seed}:order:${epoch}`).permutation(order.length, order);
}

/** Runs the job's epochs; resolves when the parameters hold the result. */
export async function train(job: TrainJob): Promise<void> {
  const n = job.data.order.length;
  if (n === 0 || job.epochs === 0) return;
  const plan: ChunkPlan = {
    seed: job.seed,
    epochBase: job.epochBase,
    nChunks: Math.ceil(n / CHUNK_SIZE),
    nExamples: n,
  };
  const nWorkers = job.inline ? job.threads - 1 : job.threads;
  if (nWorkers === 0) {
    // One thread, no coordination: chunks in order, the same draws a single worker would make.
    const kernel = new MfKernel(job.store, job.data, job.cfg, 0);
    for (let e = 0; e < job.epochs; e++) {
      epochOrder(job.seed, job.epochBase + e, job.data.order);
      for (let c = 0; c < plan.nChunks; c++) {
        const from = c * CHUNK_SIZE;
        kernel.runRange(chunkRng(plan.seed, plan.epochBase + e, c), from, Math.min(n, from + CHUNK_SIZE));
      }
      applyDecay(job.store, job.decay);
      job.onEpoch?.(e + 1);
    }
    return;
  }
  await trainThreaded(job, plan, nWorkers);
}

async function trainThreaded(job: TrainJob, plan: ChunkPlan, nWorkers: number): Promise<void> {
  const ctl = new Int32Array(new SharedArrayBuffer(CTL_LENGTH * 4));
  const data = shareData(job.data);
  if (job.threads > job.store.layout.slots)
    throw new SimrecError('INTERNAL', `${job.threads} threads but ${job.store.layout.slots} scratch slots`);
  const base = { layout: job.store.layout, memory: job.store.memory, data, cfg: job.cfg, ctl, plan };
  const errors: Error[] = [];
  let wake: (() => void) | null = null;
  const workers: Worker[] = [];
  const exited: Promise<void>[] = [];
  for (let w = 0; w < nWorkers; w++) {
    const init: WorkerInit = { ...base, slot: job.inline ? w + 1 : w };
    const worker = startWorker(new URL('./train-worker.ts', import.meta.url), init);
    workers.push(worker);
    exited.push(
      new Promise<void>((resolve) => {
        worker.once('error', (e) => {
          errors.push(e);
          Atomics.store(ctl, CTL_ERROR, 1);
          Atomics.notify(ctl, CTL_DONE);
          wake?.();
        });
        worker.once('exit', () => resolve());
      }),
    );
  }
  const kernel = job.inline ? new MfKernel(job.store, data, job.cfg, 0) : null;
  let failure: unknown = null;
  try {
    for (let e = 0; e < job.epochs; e++) {
      epochOrder(job.seed, job.epochBase + e, data.order);
      const limit = (e + 1) * plan.nChunks;
      Atomics.store(ctl, CTL_LIMIT, limit);
      Atomics.notify(ctl, CTL_LIMIT);
      if (kernel) {
        drainChunks(kernel, ctl, plan);
        // The calling thread may block here: the others are finishing their last chunks of this epoch.
        for (let done = Atomics.load(ctl, CTL_DONE); done < limit; done = Atomics.load(ctl, CTL_DONE)) {
          if (Atomics.load(ctl, CTL_ERROR)) break;
          Atomics.wait(ctl, CTL_DONE, done, 1000);
        }
      } else {
        for (let done = Atomics.load(ctl, CTL_DONE); done < limit; done = Atomics.load(ctl, CTL_DONE)) {
          if (Atomics.load(ctl, CTL_ERROR)) break;
          await waitChange(ctl, CTL_DONE, done, (f) => {
            wake = f;
          });
        }
      }
      if (Atomics.load(ctl, CTL_ERROR)) break;
      // Every thread is idle between epochs, so this pass races with nothing.
      applyDecay(job.store, job.decay);
      job.onEpoch?.(e + 1);
    }
  } catch (e) {
    failure = e;
  } finally {
    Atomics.store(ctl, CTL_LIMIT, -1);
    Atomics.notify(ctl, CTL_LIMIT);
  }
  await Promise.all(workers.map((w) => w.terminate()));
  await Promise.all(exited);
  if (failure) throw failure;
  if (errors.length > 0 || Atomics.load(ctl, CTL_ERROR))
    throw new SimrecError(
      'INTERNAL',
      `MF training thread failed: ${errors[0]?.message ?? 'unknown error'}`,
      {},
      { cause: errors[0] },
    );
}

type WaitAsync = (
  ta: Int32Array,
  index: number,
  value: number,
  timeout?: number,
) => { async: boolean; value: Promise<string> | string };

/** Resolves when ctl[index] may differ from value (or `wake` is called, or a second passes). */
function waitChange(
  ctl: Int32Array,
  index: number,
  value: number,
  setWake: (f: () => void) => void,
): Promise<void> {
  const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
  const r = waitAsync(ctl, index, value, 1000);
  if (!r.async) return Promise.resolve();
  return new Promise<void>((resolve) => {
    setWake(resolve);
    (r.value as Promise<string>).then(() => resolve());
  });
}

/** The data with every array moved into shared memory (a copy only for arrays not already shared). */
function shareData(d: TrainData): TrainData {
  return {
    ...d,
    indptr: shared(d.indptr),
    indices: shared(d.indices),
    weights: d.weights && shared(d.weights),
    entryUser: shared(d.entryUser),
    user: shareRows(d.user),
    item: shareRows(d.item),
    order: shared(d.order),
  };
}

function shareRows(r: SideRows): SideRows {
  return {
    indptr: r.indptr && shared(r.indptr),
    indices: r.indices && shared(r.indices),
    weights: r.weights && shared(r.weights),
  };
}
