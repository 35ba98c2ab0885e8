/** Worker entry of the similarity pair enumeration (see similarity.ts, which starts it). */
import { parentPort, workerData } from 'node:worker_threads';
import { type SimilarityWorkerData, similarityWorkerMain } from './similarity.ts';

similarityWorkerMain(workerData as SimilarityWorkerData, (m, transfer) =>
  parentPort!.postMessage(m, transfer),
);
