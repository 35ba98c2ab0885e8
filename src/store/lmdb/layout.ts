/**
 * On-disk layout of an LMDB artifact store:
 *
 *   ROOT/CURRENT                      the current version id and a newline, replaced atomically
 *   ROOT/LOCK                         present while a build (or prune/activate) holds the store
 *   ROOT/versions/<id>/data.mdb       one LMDB environment per version (+ data.mdb-lock, LMDB's reader table)
 *   ROOT/versions/<id>/lazy.mdb       the entries written under the build's lazy prefixes, when there are any
 *   ROOT/versions/<id>/manifest.json  written last; its presence is what makes the version committed
 *   ROOT/events/data.mdb              the event log (lmdb-event-log.ts): one mutable LMDB environment shared by
 *                                     every process serving or importing into ROOT, apart from the versions
 *
 * Inside data.mdb, two named databases: `data` maps an entry key (string) to its encoded value (codec.ts), and
 * `rows` holds sparse-rows entries row by row under binary keys utf8(entry key) · 0x00 · u32 big-endian row,
 * so one entry's rows are contiguous and in row order, and a row is found without building a string.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { type Database, open, type RootDatabase } from 'lmdb';
import { SimrecError } from '../../core/errors.ts';

export const CURRENT_FILE = 'CURRENT';
export const LOCK_FILE = 'LOCK';
export const VERSIONS_DIR = 'versions';
export const DATA_FILE = 'data.mdb';
/** The part of a version written under its lazy prefixes (CreateVersionOptions), an LMDB file like data.mdb. */
export const LAZY_FILE = 'lazy.mdb';
export const MANIFEST_FILE = 'manifest.json';
export const EVENTS_DIR = 'events';

/** Read-only opens of a version are tried this many times before the version is reported unreadable. */
const OPEN_ATTEMPTS = 3;
const OPEN_RETRY_MS = 20;

/** Blocks the thread for ms milliseconds (openVersionEnv is synchronous, and so are its callers). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export interface VersionEnv {
  env: RootDatabase;
  data: Database<Uint8Array, string>;
  rows: Database<Uint8Array, Uint8Array>;
}

/**
 * Opens a version's environment. Writers skip fsync for every transaction (an uncommitted version is thrown
 * away after a crash anyway) and the commit fsyncs the file once; readers open read-only so many processes can
 * map the same immutable file.
 */
export function openVersionEnv(path: string, readOnly: boolean): VersionEnv {
  if (readOnly) checkDataFile(path);
  let env: RootDatabase | undefined;
  for (let attempt = 1; env === undefined; attempt++) {
    try {
      env = open({ path, noSubdir: true, readOnly, noSync: !readOnly, maxDbs: 4, compression: false });
    } catch (e) {
      // A committed version is immutable, so a reader's open failing once is not yet corruption: CI saw one
      // "Invalid argument" among four processes opening the same version at the same moment (LMDB's lock-file
      // setup for a process that is not the first opener). A damaged file fails every attempt.
      if (readOnly && attempt < OPEN_ATTEMPTS) {
        sleepSync(OPEN_RETRY_MS * attempt);
        continue;
      }
      throw new SimrecError(
        'ARTIFACT_CORRUPT',
        `cannot open ${path}: ${(e as Error).message}`,
        { file: path },
        { cause: e },
      );
    }
  }
  try {
    const data = env.openDB<Uint8Array, string>({ name: 'data', encoding: 'binary' });
    const rows = env.openDB<Uint8Array, Uint8Array>({
      name: 'rows',
      encoding: 'binary',
      keyEncoding: 'binary',
    });
    return { env, data, rows };
  } catch (e) {
    void env.close();
    throw new SimrecError(
      'ARTIFACT_CORRUPT',
      `${path} lacks its databases: ${(e as Error).message}`,
      { file: path },
      { cause: e },
    );
  }
}

/** LMDB's meta page stamp and data format version (liblmdb's MDB_MAGIC, MDB_DATA_VERSION). */
const MDB_MAGIC = 0xbeefc0de;
const MDB_DATA_VERSION = 2;
/** Offsets inside a meta page of lmdb-js's liblmdb on 64-bit hosts: a 24-byte page header, then MDB_meta. */
const META = { magic: 24, version: 28, pageSize: 48, lastPage: 144, txnId: 152, end: 160 } as const;

/**
 * Checks what lmdb-js would otherwise find out by crashing the process: on a data file that is not LMDB it
 * frees its environment twice (SIGSEGV), and on a truncated one it reads mapped pages past the end of the
 * file (SIGBUS). Both meta pages must carry LMDB's stamp and version, and the file must reach the last page
 * the newer meta page says is in use. Damage past that point is left to verify()'s checksums.
 * @throws SimrecError ARTIFACT_CORRUPT naming the file
 */
export function checkDataFile(path: string): void {
  const bad = (why: string): never => {
    throw new SimrecError('ARTIFACT_CORRUPT', `${path} is not a usable LMDB data file: ${why}`, {
      file: path,
    });
  };
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new SimrecError(
      'ARTIFACT_CORRUPT',
      `cannot open ${path}: ${(e as Error).message}`,
      { file: path },
      { cause: e },
    );
  }
  try {
    const size = fstatSync(fd).size;
    const meta = (at: number): DataView => {
      const buf = Buffer.alloc(META.end);
      if (at + META.end > size || readSync(fd, buf, 0, META.end, at) !== META.end)
        bad(`${size} bytes end before the meta page at byte ${at}`);
      const view = new DataView(buf.buffer, buf.byteOffset, META.end);
      if (view.getUint32(META.magic, true) !== MDB_MAGIC) bad(`no LMDB stamp in the meta page at byte ${at}`);
      if (view.getUint32(META.version, true) !== MDB_DATA_VERSION)
        bad(`data format ${view.getUint32(META.version, true)} in the meta page at byte ${at}`);
      return view;
    };
    const first = meta(0);
    const pageSize = first.getUint32(META.pageSize, true);
    if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) bad(`page size ${pageSize}`);
    const second = meta(pageSize);
    const newer =
      first.getBigUint64(META.txnId, true) >= second.getBigUint64(META.txnId, true) ? first : second;
    const need = (Number(newer.getBigUint64(META.lastPage, true)) + 1) * pageSize;
    if (size < need) bad(`${size} bytes, but its pages reach byte ${need} (truncated)`);
  } finally {
    closeSync(fd);
  }
}

/** utf8(key) · 0x00 followed by 4 spare bytes for the row index. */
export function rowKeyBuffer(key: string): Buffer {
  const name = Buffer.from(key, 'utf8');
  const buf = Buffer.alloc(name.length + 5);
  name.copy(buf);
  return buf;
}

/** Writes row r into a buffer from rowKeyBuffer and returns it. */
export function setRow(buf: Buffer, r: number): Buffer {
  buf.writeUInt32BE(r, buf.length - 4);
  return buf;
}

/** [start, end) of every row key of an entry. */
export function rowKeyRange(key: string): { start: Buffer; end: Buffer } {
  const name = Buffer.from(key, 'utf8');
  return { start: Buffer.concat([name, Buffer.from([0])]), end: Buffer.concat([name, Buffer.from([1])]) };
}
