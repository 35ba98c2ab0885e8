/**
 * On-disk layout of an LMDB artifact store:
 *
 *   ROOT/CURRENT                      the current version id and a newline, replaced atomically
 *   ROOT/LOCK                         present while a build (or prune/activate) holds the store
 *   ROOT/versions/<id>/data.mdb       one LMDB environment per version (+ data.mdb-lock, LMDB's reader table)
 *   ROOT/versions/<id>/manifest.json  written last; its presence is what makes the version committed
 *
 * Inside data.mdb, two named databases: `data` maps an entry key (string) to its encoded value (codec.ts), and
 * `rows` holds sparse-rows entries row by row under binary keys utf8(entry key) · 0x00 · u32 big-endian row,
 * so one entry's rows are contiguous and in row order, and a row is found without building a string.
 */
import { type Database, open, type RootDatabase } from 'lmdb';
import { SimrecError } from '../../core/errors.ts';

export const CURRENT_FILE = 'CURRENT';
export const LOCK_FILE = 'LOCK';
export const VERSIONS_DIR = 'versions';
export const DATA_FILE = 'data.mdb';
export const MANIFEST_FILE = 'manifest.json';

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
  let env: RootDatabase;
  try {
    env = open({ path, noSubdir: true, readOnly, noSync: !readOnly, maxDbs: 4, compression: false });
  } catch (e) {
    throw new SimrecError(
      'ARTIFACT_CORRUPT',
      `cannot open ${path}: ${(e as Error).message}`,
      { file: path },
      { cause: e },
    );
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
