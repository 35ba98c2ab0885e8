/**
 * Size and fast checksum of a file computed on a short-lived worker thread, so that a server can load a
 * version's model on its own thread while the version's checksum is checked: the open then costs about the
 * longer of the two instead of their sum. The worker is a few lines of plain JavaScript given as source
 * (`eval`), so it starts without the TypeScript loader and needs no separately compiled entry file; the XXH3
 * module is passed as a resolved path, since an eval'd worker resolves bare names from the working directory.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { QuickSum } from './manifest.ts';

const XXHASH_PATH = createRequire(import.meta.url).resolve('@node-rs/xxhash');

const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { openSync, readSync, closeSync } = require('node:fs');
try {
  const fd = openSync(workerData.path, 'r');
  try {
    const buf = Buffer.allocUnsafe(workerData.chunk);
    let update;
    let result;
    if (workerData.kind === 'xxh3') {
      const h = require(workerData.xxhash).xxh3.Xxh3.withSeed(0n);
      update = (b) => h.update(b);
      result = () => ({ xxh3: h.digest().toString(16).padStart(16, '0') });
    } else {
      const { crc32 } = require('node:zlib');
      let crc = 0;
      update = (b) => { crc = crc32(b, crc); };
      result = () => ({ crc32: crc });
    }
    let bytes = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      update(buf.subarray(0, n));
      bytes += n;
    }
    parentPort.postMessage({ bytes, ...result() });
  } finally {
    closeSync(fd);
  }
} catch (e) {
  parentPort.postMessage({ error: { code: e && e.code, message: String(e && e.message) } });
}
`;

/** What {@link fileQuickSumOffThread} rejects with: the file system's error code and message. */
export class ChecksumReadError extends Error {
  constructor(
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** Size and XXH3-64 or CRC-32 (as the manifest records them) of `path`, read on a worker thread. */
export function fileQuickSumOffThread(
  path: string,
  kind: 'xxh3' | 'crc32',
  chunk = 4 << 20,
): Promise<QuickSum> {
  return new Promise((resolve, reject) => {
    // No execArgv: the source is plain CommonJS, whatever loader or --input-type this process was started with.
    const worker = new Worker(SOURCE, {
      eval: true,
      execArgv: [],
      workerData: { path, chunk, kind, xxhash: XXHASH_PATH },
    });
    let settled = false;
    worker.once('message', (m: QuickSum | { error: { code?: string; message: string } }) => {
      settled = true;
      if ('error' in m) reject(new ChecksumReadError(m.error.code, m.error.message));
      else resolve(m);
    });
    worker.once('error', (e) => {
      settled = true;
      reject(e);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`checksum worker exited with code ${code} before answering`));
    });
  });
}
