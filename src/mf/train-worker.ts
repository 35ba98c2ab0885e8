/**
 * A Hogwild training thread: builds a kernel over the shared parameter and data arrays it was given, then
 * claims chunks until the coordinator says stop (see hogwild.ts). It never posts results: everything it
 * computes lands in the shared parameters.
 */
import { workerData } from 'node:worker_threads';
import { CTL_LIMIT, drainChunks } from './hogwild.ts';
import { MfKernel } from './kernel.ts';
import { ParamStore } from './memory.ts';
import type { WorkerInit } from './train.ts';

const init = workerData as WorkerInit;
const kernel = new MfKernel(ParamStore.attach(init.layout, init.memory), init.data, init.cfg, init.slot);
for (;;) {
  const limit = drainChunks(kernel, init.ctl, init.plan);
  if (limit < 0) break;
  Atomics.wait(init.ctl, CTL_LIMIT, limit);
}
