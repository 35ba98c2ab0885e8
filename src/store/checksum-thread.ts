/**
 * Size and fast checksum of a file computed on a worker thread, so that a server can load a version's model on
 * its own thread while the version's checksum is checked: the open then costs about the longer of the two
 * instead of their sum. One worker is kept for the life of the process and takes one file at a time: starting a
 * worker costs the loading thread about as much as checking a 200 MiB file, so a server pays it once, not on every
 * version switch. It is unref'd while idle, so it never keeps a process alive. The worker is a few lines of plain
 * JavaScript given as source (`eval`), so it starts without the TypeScript loader and needs no separately compiled
 * entry file; the XXH3 module is passed as a resolved path, since an eval'd worker resolves bare names from the
 * working directory.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { QuickSum } from './manifest.ts';

const XXHASH_PATH = createRequire(import.meta.url).resolve('@node-rs/xxhash');

const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { openSync, readSync, closeSync } = require('node:fs');
const { crc32 } = require('node:zlib');
const { xxh3 } = require(workerData.xxhash);
let buf = Buffer.allocUnsafe(0);
parentPort.on('message', ({ id, path, kind, chunk }) => {
  try {
    if (buf.length !== chunk) buf = Buffer.allocUnsafe(chunk);
    const fd = openSync(path, 'r');
    try {
      const h = kind === 'xxh3' ? xxh3.Xxh3.withSeed(0n) : null;
      let crc = 0;
      let bytes = 0;
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        const b = buf.subarray(0, n);
        if (h) h.update(b);
        else crc = crc32(b, crc);
        bytes += n;
      }
      parentPort.postMessage(
        h ? { id, bytes, xxh3: h.digest().toString(16).padStart(16, '0') } : { id, bytes, crc32: crc },
      );
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    parentPort.postMessage({ id, error: { code: e && e.code, message: String(e && e.message) } });
  }
});
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

type Reply = (QuickSum | { error: { code?: string; message: string } }) & { id: number };

interface Pending {
  resolve(sum: QuickSum): void;
  reject(e: Error): void;
}

let worker: Worker | null = null;
const pending = new Map<number, Pending>();
let nextId = 0;

function checksumWorker(): Worker {
  if (worker) return worker;
  // No execArgv: the source is plain CommonJS, whatever loader or --input-type this process was started with.
  const w = new Worker(SOURCE, { eval: true, execArgv: [], workerData: { xxhash: XXHASH_PATH } });
  w.on('message', (m: Reply) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (pending.size === 0) w.unref();
    if ('error' in m) p.reject(new ChecksumReadError(m.error.code, m.error.message));
    else {
      const { id: _, ...sum } = m;
      p.resolve(sum);
    }
  });
  const fail = (e: Error) => {
    if (worker === w) worker = null;
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  w.on('error', fail);
  w.on('exit', (code) => fail(new Error(`checksum worker exited with code ${code} before answering`)));
  worker = w;
  return w;
}

/** Size and XXH3-64 or CRC-32 (as the manifest records them) of `path`, read on the checksum worker. */
export function fileQuickSumOffThread(
  path: string,
  kind: 'xxh3' | 'crc32',
  chunk = 4 << 20,
): Promise<QuickSum> {
  return new Promise((resolve, reject) => {
    const w = checksumWorker();
    const id = nextId++;
    pending.set(id, { resolve, reject });
    // Kept alive while it owes an answer; unref'd again once idle.
    w.ref();
    w.postMessage({ id, path, kind, chunk });
  });
}
