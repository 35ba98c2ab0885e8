import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Worker } from 'node:worker_threads';

/**
 * The SHA-256 of a file as lowercase hex, read in 1 MiB pieces so any size hashes in constant memory. Used for
 * the input checksums in build manifests.
 */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const piece of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(piece as Buffer);
  return hash.digest('hex');
}

// Plain JS so the worker needs no TypeScript loader.
const WORKER_SOURCE = `
const { createHash } = require('node:crypto');
const { createReadStream } = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const out = [];
  for (const path of workerData) {
    const hash = createHash('sha256');
    for await (const piece of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(piece);
    out.push(hash.digest('hex'));
  }
  parentPort.postMessage(out);
})().catch((e) => parentPort.postMessage({ error: String(e && e.message || e) }));
`;

/**
 * SHA-256 of several files on a worker thread, so hashing large inputs overlaps with loading them instead of
 * taking turns with it on the main thread. Same results as {@link sha256File}.
 */
export function sha256FilesInBackground(paths: readonly string[]): Promise<string[]> {
  if (paths.length === 0) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: [...paths] });
    worker.once('message', (msg: string[] | { error: string }) => {
      if (Array.isArray(msg)) resolve(msg);
      else reject(new Error(`checksum failed: ${msg.error}`));
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}
