/**
 * The artifact store: versioned, immutable outputs of offline builds, read by long-running servers.
 *
 * A build asks for a new version, writes named entries into it, and commits with a manifest. Commit flushes,
 * re-reads and checks every entry against what was written, writes the manifest, and only then switches the
 * store's `current` pointer, atomically. A version without a committed manifest is never current, and a build
 * that dies half-way leaves the previous version serving. One build at a time may write to a store
 * (ARTIFACT_LOCKED otherwise); any number of readers, in any number of processes, may read.
 *
 * This module holds only the backend-neutral contract; `lmdb/` implements it on an embedded LMDB file per
 * version, and every backend runs `contract.test-suite.ts`. Data access is asynchronous in the contract so a
 * network backend can implement it; the LMDB backend also offers synchronous fast paths.
 */
import type { CsrMatrix } from '../core/csr.ts';
import type { IdMap } from '../core/id-map.ts';

/** Element types a typed array entry keeps. */
export type DType = 'int32' | 'float32' | 'float64';

export interface DTypeArrays {
  int32: Int32Array;
  float32: Float32Array;
  float64: Float64Array;
}

export type StoredArray = DTypeArrays[DType];

/** One sparse vector: ascending ids and their values, of equal length. */
export interface SparseRow {
  ids: Int32Array;
  values: Float32Array;
}

/** A row-major rows×dim matrix: row r is data[r*dim .. (r+1)*dim). */
export interface DenseMatrix {
  rows: number;
  dim: number;
  data: Float32Array;
}

/** What an entry holds; fixes which reader method returns it. */
export type EntryKind = 'blob' | 'typed-array' | 'id-map' | 'csr' | 'sparse-rows' | 'dense' | 'json';

/** One named entry of a version, as listed in its manifest. */
export interface EntryRecord {
  key: string;
  kind: EntryKind;
  /** Bytes stored for the entry, headers included (sparse-rows: the whole-matrix blob plus every row value). */
  bytes: number;
  /**
   * SHA-256 (hex) of the stored bytes. For sparse-rows: of the whole-matrix blob, then of every stored row's key
   * suffix (row index, big-endian u32) and value, in row order.
   */
  sha256: string;
  /** typed-array only. */
  dtype?: DType;
  /**
   * typed-array [length]; dense [rows, dim]; csr and sparse-rows [nRows, nCols, nnz]; id-map [size];
   * blob and json [payload bytes].
   */
  shape: number[];
  /** sparse-rows only: how many rows were stored under their own key (rows without entries are not). */
  rowKeys?: number;
  /**
   * The data file holding the entry when it is not the version's main one: an entry written under one of the
   * build's lazy prefixes, whose file is checked when one of its entries is first read instead of at open.
   */
  file?: string;
}

/** An input file a build read, recorded so a version can be traced to its data. */
export interface InputRecord {
  kind: string;
  path: string;
  bytes: number;
  sha256: string;
  /** Data rows read from it, when known. */
  rows: number | null;
}

/** What a build supplies at commit; the store adds identity, code version, entries and totals. */
export interface ManifestFields {
  seed?: number | null;
  /** The effective configuration, JSON-serialisable. */
  config?: unknown;
  inputs?: InputRecord[];
  /** Entity counts (consumers, producers, clusters, ...). */
  counts?: Record<string, number>;
  /** Stage names in the order they ran. */
  stages?: string[];
  /** Milliseconds per stage. The store adds `store.commit` (flush + verify). */
  timings?: Record<string, number>;
  /** Anything else worth keeping, JSON-serialisable. */
  extra?: Record<string, unknown>;
  /** The data's "now" (Unix seconds) the model was decayed to; null when the data has no timestamps. */
  dataTime?: number | null;
}

/** A file of a version as a whole, recorded at commit so a reader can check every byte in one streaming pass. */
export interface FileRecord {
  /** File name inside the version's directory. */
  name: string;
  bytes: number;
  sha256: string;
  /** zlib CRC-32 of the file: what opening a version checks when it has no `xxh3` (versions before it). */
  crc32: number;
  /**
   * XXH3-64 (seed 0) of the file, 16 lowercase hex digits: what opening a version checks. It runs at memory
   * speed, several times faster than CRC-32, so checking a version costs about the time to read it.
   */
  xxh3?: string;
  /**
   * Checked on the first read of one of its entries rather than when the version is opened for serving (it holds
   * what a server may never read, or reads late: MF's indexes and its training state).
   */
  lazy?: boolean;
}

/** How a version is written. */
export interface CreateVersionOptions {
  /**
   * Keys starting with one of these go to a part of their own that a server checks on first read, not at open
   * (large entries read late or never while serving). Sparse-rows entries always stay in the main part.
   */
  lazyPrefixes?: readonly string[];
}

export const MANIFEST_FORMAT = 1;

/** The committed description of a version, stored beside its data. */
export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  id: string;
  /** When the version was started (ISO 8601). */
  createdAt: string;
  /** When it was verified and committed (ISO 8601). */
  committedAt: string;
  codeVersion: string;
  seed: number | null;
  config: unknown;
  inputs: InputRecord[];
  counts: Record<string, number>;
  stages: string[];
  timings: Record<string, number>;
  extra: Record<string, unknown>;
  /** The data's "now" (Unix seconds, see docs/data.md); null when unknown (also for versions older than it). */
  dataTime: number | null;
  /** Every entry, sorted by key: the checksums commit and `verify()` check against. */
  entries: EntryRecord[];
  totals: { entries: number; keys: number; bytes: number };
  /**
   * The backend's data files as written (absent in versions committed before it was recorded): opening a
   * version hashes them, which is far cheaper than re-reading every entry and row, and falls back to the
   * per-entry `verify()` to name the damaged entry.
   */
  files?: FileRecord[];
}

export interface VersionInfo {
  id: string;
  /** Has a committed manifest; only committed versions can be opened or made current. */
  committed: boolean;
  current: boolean;
}

export interface CommitOptions {
  /** Switch `current` to this version after it verified (default true). */
  activate?: boolean;
}

export interface OpenVersionOptions {
  /**
   * Re-read every entry and check it against the manifest's checksums before handing the reader out
   * (default true), so a version whose bytes changed after commit is refused (ARTIFACT_CORRUPT) rather than
   * served. Only code that verifies by other means, or measures the cost, turns it off.
   */
  verify?: boolean;
}

export interface PruneOptions {
  /** How many of the newest committed versions to keep; `current` is kept in addition when older. */
  keep: number;
}

export interface PruneResult {
  removed: string[];
  kept: string[];
}

/** A versioned, immutable artifact store. */
export interface ArtifactStore {
  /** Where the store lives (a directory, a URL), for messages. */
  readonly location: string;
  /**
   * Starts a new version and takes the store's build lock until it is committed or aborted.
   * @throws SimrecError ARTIFACT_LOCKED when another build is writing
   */
  createVersion(options?: CreateVersionOptions): Promise<VersionWriter>;
  /** The id `current` points at, or null when no version was committed yet. */
  currentVersionId(): Promise<string | null>;
  /** Every version, committed or not, oldest first. */
  listVersions(): Promise<VersionInfo[]>;
  /**
   * Opens a committed version for reading (default: current), verified against its checksums unless
   * `verify: false`.
   * @throws SimrecError ARTIFACT_MISSING when there is no such committed version
   * @throws SimrecError ARTIFACT_CORRUPT when its data does not match its manifest
   */
  openVersion(id?: string, options?: OpenVersionOptions): Promise<VersionReader>;
  /**
   * The check `openVersion` makes by default, on its own, for a caller that opened with `verify: false` and
   * works meanwhile (a server loading the model beside the check). @throws ARTIFACT_CORRUPT
   */
  verifyVersion(id: string): Promise<void>;
  /**
   * Checks, cheaply, that a committed version is still there and readable (a server's readiness check: its
   * files may be deleted under it). @throws ARTIFACT_MISSING when it is gone, ARTIFACT_IO when unreadable
   */
  probe(id: string): Promise<void>;
  /** Points `current` at a committed version (rollback or promotion). */
  activate(id: string): Promise<void>;
  /** Removes old committed versions beyond `keep` and every uncommitted one; never `current`. */
  prune(options: PruneOptions): Promise<PruneResult>;
  /** Releases what the store object holds (not its readers or writers). */
  close(): Promise<void>;
}

/**
 * Writes the entries of one new version. Keys are 1–256 UTF-8 bytes without control characters, each
 * written once. Nothing is visible to readers before `commit`.
 */
export interface VersionWriter {
  readonly id: string;
  putBlob(key: string, bytes: Uint8Array): Promise<void>;
  putTypedArray(key: string, array: StoredArray): Promise<void>;
  putIdMap(key: string, map: IdMap): Promise<void>;
  /** The whole matrix as one binary entry (bulk load). */
  putCsr(key: string, matrix: CsrMatrix): Promise<void>;
  /**
   * The matrix for point lookup: every non-empty row under its own key, plus the whole matrix for bulk
   * loading. A pattern-only matrix stores rows with value 1.
   */
  putSparseRows(key: string, matrix: CsrMatrix): Promise<void>;
  putDense(key: string, matrix: DenseMatrix): Promise<void>;
  /** Small JSON metadata (not for vectors). */
  putJson(key: string, value: unknown): Promise<void>;
  /**
   * Flushes, re-reads and verifies every entry, writes the manifest, then (unless `activate: false`) switches
   * `current` to this version, and releases the build lock.
   * @throws SimrecError ARTIFACT_CORRUPT when verification fails (the version stays uncommitted)
   */
  commit(fields?: ManifestFields, options?: CommitOptions): Promise<Manifest>;
  /** Removes the partial version and releases the build lock. */
  abort(): Promise<void>;
}

/**
 * Reads one committed version. Arrays a reader returns may view the store's memory map: never write to them,
 * and copy what must outlive `close()`.
 */
export interface VersionReader {
  readonly id: string;
  readonly manifest: Manifest;
  /** True once close() ran; every further call throws. */
  readonly closed: boolean;
  has(key: string): boolean;
  entry(key: string): EntryRecord | undefined;
  /** Keys starting with prefix, sorted. */
  keys(prefix?: string): string[];
  blob(key: string): Promise<Uint8Array>;
  typedArray(key: string): Promise<StoredArray>;
  typedArray<D extends DType>(key: string, dtype: D): Promise<DTypeArrays[D]>;
  idMap(key: string): Promise<IdMap>;
  /** A csr or sparse-rows entry as one matrix. */
  csr(key: string): Promise<CsrMatrix>;
  /** Row r of a sparse-rows entry (empty when the row has no entries). @throws NOT_FOUND outside [0, nRows) */
  sparseRow(key: string, row: number): Promise<SparseRow>;
  /** The given rows of a sparse-rows entry, as a matrix with one row per requested row. */
  sparseRows(key: string, rows: ArrayLike<number>): Promise<CsrMatrix>;
  dense(key: string): Promise<DenseMatrix>;
  denseRow(key: string, row: number): Promise<Float32Array>;
  json<T = unknown>(key: string): Promise<T>;
  /** Re-reads every entry and checks sizes and checksums. @throws ARTIFACT_CORRUPT */
  verify(): Promise<void>;
  close(): Promise<void>;
}
