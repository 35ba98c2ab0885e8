/**
 * Worker entry used by workers.test.ts: proves the worker loads TypeScript (including a `.ts` import) and sees
 * shared memory. Modes: 'sum' adds its index into a shared array and posts a checksum; 'throw' fails.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SimrecError } from './errors.ts';
import { Rng } from './prng.ts';

interface FixtureData {
  mode: 'sum' | 'throw' | 'exit';
  shared: Int32Array;
  workerIndex: number;
  workerCount: number;
}

const data = workerData as FixtureData;
if (data.mode === 'throw')
  throw new SimrecError('INPUT_EMPTY', `worker ${data.workerIndex} failed on purpose`);
if (data.mode === 'exit') process.exit(3);
Atomics.add(data.shared, 0, data.workerIndex + 1);
const typed: number = new Rng(data.workerIndex).int(1000);
parentPort?.postMessage({ workerIndex: data.workerIndex, draw: typed });
