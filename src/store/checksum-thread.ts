/**
 * Size and CRC-32 of a file computed on a short-lived worker thread, so that a server can load a version's model
 * on its own thread while the version's checksum is checked: the open then costs about the longer of the two
 * instead of their sum. The worker is a few lines of plain JavaScript given as source (`eval`), so it starts
 * without the TypeScript loader and needs no separately compiled entry file.
 */
import { Worker } from 'node:worker_threads';

const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { openSync, readSync, closeSync } = require('node:fs');
const { crc32 } = require('node:zlib');
try {
  const fd = openSync(workerData.path, 'r');
  try {
    const buf = Buffer.allocUnsafe(workerData.chunk);
    let crc = 0;
    let bytes = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      crc = crc32(buf.subarray(0, n), crc);
      bytes += n;
    }
    parentPort.postMessage({ bytes, crc32: crc });
  } finally {
    closeSync(fd);
  }
} catch (e) {
  parentPort.postMessage({ error: { code: e && e.code, message: String(e && e.message) } });
}
`;

/** What {@link fileCrc32OffThread} rejects with: the file system's error code and message. */
export class ChecksumReadError extends Error {
  constructor(
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** Size and CRC-32 (zlib's, as the manifest records them) of `path`, read on a worker thread. */
export function fileCrc32OffThread(path: string, chunk = 4 << 20): Promise<{ bytes: number; crc32: number }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(SOURCE, { eval: true, workerData: { path, chunk } });
    let settled = false;
    worker.once(
      'message',
      (m: { bytes: number; crc32: number } | { error: { code?: string; message: string } }) => {
        settled = true;
        if ('error' in m) reject(new ChecksumReadError(m.error.code, m.error.message));
        else resolve(m);
      },
    );
    worker.once('error', (e) => {
      settled = true;
      reject(e);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`checksum worker exited with code ${code} before answering`));
    });
  });
}
