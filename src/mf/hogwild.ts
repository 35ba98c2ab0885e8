/**
 * The chunk protocol shared by the coordinating thread and the workers. Work is numbered globally as
 * g = epoch·nChunks + chunk; a thread claims the next g below LIMIT with a compare-and-swap on CURSOR, runs it
 * with that chunk's own random stream, and counts it in DONE. The coordinator raises LIMIT by one epoch only
 * once DONE shows the previous epoch finished, so the shuffled order of an epoch is never rewritten under a
 * thread still reading it. Threads that start late simply claim fewer chunks; a run with one thread processes
 * chunks in order and is exactly reproducible.
 */
import { CHUNK_SIZE, chunkRng, type MfKernel } from './kernel.ts';

export const CTL_CURSOR = 0;
export const CTL_LIMIT = 1;
export const CTL_DONE = 2;
export const CTL_ERROR = 3;
export const CTL_LENGTH = 4;

export interface ChunkPlan {
  seed: number;
  /** Global index of this run's first epoch (epochs already trained before it). */
  epochBase: number;
  nChunks: number;
  /** Examples per epoch. */
  nExamples: number;
}

/**
 * Runs claimable chunks until none is left below LIMIT. Returns the LIMIT it last saw (to wait on), or −1
 * when the coordinator has asked every thread to stop.
 */
export function drainChunks(kernel: MfKernel, ctl: Int32Array, plan: ChunkPlan): number {
  for (;;) {
    const limit = Atomics.load(ctl, CTL_LIMIT);
    if (limit < 0) return -1;
    const g = Atomics.load(ctl, CTL_CURSOR);
    if (g >= limit) return limit;
    if (Atomics.compareExchange(ctl, CTL_CURSOR, g, g + 1) !== g) continue;
    const chunk = g % plan.nChunks;
    const epoch = (g - chunk) / plan.nChunks;
    const from = chunk * CHUNK_SIZE;
    const to = Math.min(plan.nExamples, from + CHUNK_SIZE);
    try {
      kernel.runRange(chunkRng(plan.seed, plan.epochBase + epoch, chunk), from, to);
    } catch (e) {
      Atomics.store(ctl, CTL_ERROR, 1);
      throw e;
    } finally {
      // Counted even when it threw, so nobody waits forever on a chunk that will never finish.
      Atomics.add(ctl, CTL_DONE, 1);
      Atomics.notify(ctl, CTL_DONE);
    }
  }
}
