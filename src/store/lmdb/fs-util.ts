/**
 * Durable small-file writes for the store's pointers and manifests. A rename is atomic on POSIX file systems,
 * but only durable once the data and then the directory entry reach the disk, hence the fsyncs around it.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { SimrecError } from '../../core/errors.ts';

/** fsyncs a directory so entries created or renamed in it survive a crash; a no-op where unsupported. */
export function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // Windows cannot fsync a directory; its rename is already durable enough for this use.
  } finally {
    closeSync(fd);
  }
}

/** fsyncs a file's data. */
export function fsyncFile(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes data to a fresh file and fsyncs it; fails when the file exists. */
export function writeFileDurable(path: string, data: string | Uint8Array): void {
  const fd = openSync(path, 'wx');
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < bytes.byteLength) off += writeSync(fd, bytes, off, bytes.byteLength - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Replaces path with data so that any reader, at any moment, sees either the old or the new content in full:
 * temp file in the same directory, fsync, rename over, fsync the directory.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    writeFileDurable(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(dirname(path));
}

export function errnoCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * Turns a failure of the file system (or of LMDB writing to it) into ARTIFACT_IO naming the path and what was
 * being done, so a full disk, a file-size limit or an `--out` that is a file reach the user as a coded error
 * rather than a stack trace. SimrecErrors pass through unchanged.
 */
export function ioError(e: unknown, path: string, doing: string): SimrecError {
  if (e instanceof SimrecError) return e;
  const code = errnoCode(e);
  const why = (e as Error | undefined)?.message ?? String(e);
  return new SimrecError(
    'ARTIFACT_IO',
    `cannot ${doing} ${path}: ${code && !why.includes(code) ? `${code}: ` : ''}${why}`,
    { file: path },
    { cause: e },
  );
}

/** Runs fn, reporting any failure as ioError(path, doing). */
export function withIo<T>(path: string, doing: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw ioError(e, path, doing);
  }
}
