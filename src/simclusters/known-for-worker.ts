/** Worker entry of the parallel KnownFor sweep (see known-for.ts, which starts it and documents the protocol). */
import { parentPort, workerData } from 'node:worker_threads';
import { type MhWorkerData, mhWorkerMain } from './known-for.ts';

mhWorkerMain(workerData as MhWorkerData, (m) => parentPort!.postMessage(m));
