/**
 * Building, checking and parsing manifests, shared by every backend: the manifest is the one document that
 * says a version is complete, so it is validated when written (bad fields are the caller's mistake,
 * CONFIG_INVALID) and when read (anything off means the version cannot be trusted, ARTIFACT_CORRUPT).
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { xxh3 } from '@node-rs/xxhash';
import { SimrecError } from '../core/errors.ts';
import { CODE_VERSION } from '../core/version.ts';
import type { EntryKind, EntryRecord, FileRecord, InputRecord, Manifest, ManifestFields } from './store.ts';
import { MANIFEST_FORMAT } from './store.ts';
import { isVersionId } from './version-id.ts';

const KINDS: readonly EntryKind[] = ['blob', 'typed-array', 'id-map', 'csr', 'sparse-rows', 'dense', 'json'];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isFiniteNumberRecord(v: unknown, min = -Infinity): v is Record<string, number> {
  return (
    isRecord(v) && Object.values(v).every((x) => typeof x === 'number' && Number.isFinite(x) && x >= min)
  );
}

function isInputRecord(v: unknown): v is InputRecord {
  return (
    isRecord(v) &&
    typeof v.kind === 'string' &&
    typeof v.path === 'string' &&
    Number.isSafeInteger(v.bytes) &&
    (v.bytes as number) >= 0 &&
    typeof v.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(v.sha256) &&
    (v.rows === null || (Number.isSafeInteger(v.rows) && (v.rows as number) >= 0))
  );
}

function isEntryRecord(v: unknown): v is EntryRecord {
  return (
    isRecord(v) &&
    typeof v.key === 'string' &&
    KINDS.includes(v.kind as EntryKind) &&
    Number.isSafeInteger(v.bytes) &&
    typeof v.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(v.sha256) &&
    Array.isArray(v.shape) &&
    v.shape.every((x) => Number.isSafeInteger(x) && x >= 0) &&
    (v.rowKeys === undefined || Number.isSafeInteger(v.rowKeys)) &&
    (v.file === undefined || (typeof v.file === 'string' && /^[A-Za-z0-9._-]+$/.test(v.file)))
  );
}

function isFileRecord(v: unknown): v is FileRecord {
  return (
    isRecord(v) &&
    typeof v.name === 'string' &&
    /^[A-Za-z0-9._-]+$/.test(v.name) &&
    Number.isSafeInteger(v.bytes) &&
    (v.bytes as number) >= 0 &&
    typeof v.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(v.sha256) &&
    Number.isInteger(v.crc32) &&
    (v.crc32 as number) >= 0 &&
    (v.crc32 as number) <= 0xffffffff &&
    (v.xxh3 === undefined || (typeof v.xxh3 === 'string' && /^[0-9a-f]{16}$/.test(v.xxh3))) &&
    (v.lazy === undefined || typeof v.lazy === 'boolean')
  );
}

function jsonRoundTrip(value: unknown, field: string): unknown {
  if (value === undefined) return null;
  try {
    const text = JSON.stringify(value);
    return text === undefined ? null : JSON.parse(text);
  } catch (e) {
    throw new SimrecError(
      'CONFIG_INVALID',
      `manifest ${field} is not JSON-serialisable`,
      { field },
      { cause: e },
    );
  }
}

/** Checks what a build passes to commit. @throws SimrecError CONFIG_INVALID naming the field */
export function validateManifestFields(fields: ManifestFields): void {
  const bad = (field: string, why: string) =>
    new SimrecError('CONFIG_INVALID', `manifest ${field} ${why}`, { field });
  if (!isRecord(fields)) throw bad('fields', 'must be an object');
  const { seed, inputs, counts, stages, timings, extra } = fields;
  if (seed !== undefined && seed !== null && !Number.isSafeInteger(seed))
    throw bad('seed', 'must be an integer');
  if (inputs !== undefined && !(Array.isArray(inputs) && inputs.every(isInputRecord)))
    throw bad('inputs', 'must be a list of {kind, path, bytes, sha256, rows}');
  if (counts !== undefined && !isFiniteNumberRecord(counts)) throw bad('counts', 'must map names to numbers');
  if (stages !== undefined && !(Array.isArray(stages) && stages.every((s) => typeof s === 'string')))
    throw bad('stages', 'must be a list of names');
  if (timings !== undefined && !isFiniteNumberRecord(timings, 0))
    throw bad('timings', 'must map stage names to milliseconds');
  if (extra !== undefined && !isRecord(extra)) throw bad('extra', 'must be an object');
  const { dataTime } = fields;
  if (!(dataTime === undefined || dataTime === null || Number.isFinite(dataTime)))
    throw bad('dataTime', 'must be Unix seconds or null');
}

/** Assembles a manifest (fields already validated); entries are sorted by key. */
export function buildManifest(
  id: string,
  createdAt: Date,
  fields: ManifestFields,
  entries: EntryRecord[],
  committedAt: Date = new Date(),
): Manifest {
  const sorted = [...entries].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  let keys = 0;
  let bytes = 0;
  for (const e of sorted) {
    keys += e.kind === 'sparse-rows' ? 1 + (e.rowKeys ?? 0) : 1;
    bytes += e.bytes;
  }
  return {
    format: MANIFEST_FORMAT,
    id,
    createdAt: createdAt.toISOString(),
    committedAt: committedAt.toISOString(),
    codeVersion: CODE_VERSION,
    seed: fields.seed ?? null,
    config: jsonRoundTrip(fields.config, 'config'),
    inputs: fields.inputs ? fields.inputs.map((i) => ({ ...i })) : [],
    counts: { ...fields.counts },
    stages: fields.stages ? [...fields.stages] : [],
    timings: { ...fields.timings },
    extra: (jsonRoundTrip(fields.extra ?? {}, 'extra') as Record<string, unknown>) ?? {},
    dataTime: fields.dataTime ?? null,
    entries: sorted,
    totals: { entries: sorted.length, keys, bytes },
  };
}

/**
 * Parses and checks a stored manifest. `expectedId` guards against a manifest copied into the wrong directory.
 * @throws SimrecError ARTIFACT_CORRUPT
 */
export function parseManifest(text: string, expectedId: string, file?: string): Manifest {
  const bad = (why: string) =>
    new SimrecError('ARTIFACT_CORRUPT', `manifest of ${expectedId} ${why}`, { file });
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new SimrecError(
      'ARTIFACT_CORRUPT',
      `manifest of ${expectedId} is not JSON`,
      { file },
      { cause: e },
    );
  }
  if (!isRecord(m)) throw bad('is not an object');
  if (m.format !== MANIFEST_FORMAT) throw bad(`has unsupported format ${String(m.format)}`);
  if (m.id !== expectedId || !isVersionId(m.id)) throw bad(`names version ${String(m.id)}`);
  for (const f of ['createdAt', 'committedAt', 'codeVersion'] as const)
    if (typeof m[f] !== 'string') throw bad(`lacks ${f}`);
  if (!(m.seed === null || Number.isSafeInteger(m.seed))) throw bad('has a bad seed');
  if (!(Array.isArray(m.inputs) && m.inputs.every(isInputRecord))) throw bad('has bad inputs');
  if (!isFiniteNumberRecord(m.counts)) throw bad('has bad counts');
  if (!(Array.isArray(m.stages) && m.stages.every((s) => typeof s === 'string'))) throw bad('has bad stages');
  if (!isFiniteNumberRecord(m.timings)) throw bad('has bad timings');
  if (!isRecord(m.extra)) throw bad('has bad extra');
  // Versions written before dataTime existed have none: unknown.
  if (m.dataTime === undefined) m.dataTime = null;
  if (!(m.dataTime === null || Number.isFinite(m.dataTime))) throw bad('has a bad dataTime');
  if (!(Array.isArray(m.entries) && m.entries.every(isEntryRecord))) throw bad('has bad entries');
  const seen = new Set<string>();
  for (const e of m.entries as EntryRecord[]) {
    if (seen.has(e.key)) throw bad(`lists ${e.key} twice`);
    seen.add(e.key);
  }
  if (!isRecord(m.totals) || m.totals.entries !== m.entries.length) throw bad('has bad totals');
  if (m.files !== undefined && !(Array.isArray(m.files) && m.files.every(isFileRecord)))
    throw bad('has bad files');
  return m as unknown as Manifest;
}

const READ_CHUNK = 4 << 20;

/**
 * Feeds a file to fn in 4 MiB reads into one reused buffer. Each read is awaited and each chunk's checksum
 * takes about a millisecond, so a server checking a version this way keeps answering health checks meanwhile.
 */
async function readChunks(path: string, fn: (chunk: Buffer) => void): Promise<number> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    let bytes = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, READ_CHUNK, null);
      if (bytesRead === 0) return bytes;
      fn(buf.subarray(0, bytesRead));
      bytes += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

/** XXH3-64 as a FileRecord writes it: 16 lowercase hex digits. */
export function xxh3Hex(digest: bigint): string {
  return digest.toString(16).padStart(16, '0');
}

/** Size, SHA-256, CRC-32 and XXH3-64 of a file, as a FileRecord records them at commit (one read). */
export async function fileChecksums(
  path: string,
): Promise<{ bytes: number; sha256: string; crc32: number; xxh3: string }> {
  const hash = createHash('sha256');
  const quick = xxh3.Xxh3.withSeed(0n);
  let crc = 0;
  const bytes = await readChunks(path, (chunk) => {
    hash.update(chunk);
    crc = crc32(chunk, crc);
    quick.update(chunk);
  });
  return { bytes, sha256: hash.digest('hex'), crc32: crc, xxh3: xxh3Hex(quick.digest()) };
}

/** What opening a version compares with a FileRecord: the size and one fast checksum. */
export interface QuickSum {
  bytes: number;
  /** Set when asked for 'xxh3'. */
  xxh3?: string;
  /** Set when asked for 'crc32'. */
  crc32?: number;
}

/** The fast checksum a record is checked with: XXH3-64 when it has one, else CRC-32 (older versions). */
export function quickSumKind(record: FileRecord): 'xxh3' | 'crc32' {
  return record.xxh3 === undefined ? 'crc32' : 'xxh3';
}

/** True when `got` has the record's size and checksum. */
export function quickSumMatches(record: FileRecord, got: QuickSum): boolean {
  if (got.bytes !== record.bytes) return false;
  return record.xxh3 === undefined ? got.crc32 === record.crc32 : got.xxh3 === record.xxh3;
}

/**
 * Size and fast checksum of a file, in this thread: what opening a version checks. Both kinds catch any
 * accidental change with a probability of a miss of 2^-32 (CRC-32: none of up to 32 consecutive bits) or 2^-64;
 * XXH3 runs at memory speed against CRC-32's few GB/s and SHA-256's ~1.5 GB/s, which is the difference
 * between checking a version and not on a server that must start fast.
 */
export async function fileQuickSum(path: string, kind: 'xxh3' | 'crc32'): Promise<QuickSum> {
  const h = quickHasher(kind);
  return h.result(await readChunks(path, h.update));
}

/**
 * {@link fileQuickSum} in this thread, synchronously: for a part checked on the first read of one of its entries,
 * which happens inside synchronous reads.
 */
export function fileQuickSumSync(path: string, kind: 'xxh3' | 'crc32'): QuickSum {
  const h = quickHasher(kind);
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    let bytes = 0;
    for (let n = readSync(fd, buf, 0, READ_CHUNK, null); n > 0; n = readSync(fd, buf, 0, READ_CHUNK, null)) {
      h.update(buf.subarray(0, n));
      bytes += n;
    }
    return h.result(bytes);
  } finally {
    closeSync(fd);
  }
}

/** One streaming fast checksum of either kind: chunks in, then the QuickSum of `bytes` bytes. */
function quickHasher(kind: 'xxh3' | 'crc32'): {
  update(chunk: Uint8Array): void;
  result(bytes: number): QuickSum;
} {
  if (kind === 'xxh3') {
    const h = xxh3.Xxh3.withSeed(0n);
    return {
      update: (chunk) => void h.update(chunk),
      result: (bytes) => ({ bytes, xxh3: xxh3Hex(h.digest()) }),
    };
  }
  let crc = 0;
  return {
    update: (chunk) => {
      crc = crc32(chunk, crc);
    },
    result: (bytes) => ({ bytes, crc32: crc }),
  };
}

/** Size and SHA-256 of an input file, streamed, for the manifest's `inputs`. */
export async function describeInput(
  kind: string,
  path: string,
  rows: number | null = null,
): Promise<InputRecord> {
  let bytes: number;
  try {
    bytes = statSync(path).size;
  } catch (e) {
    throw new SimrecError('INPUT_MISSING', `input ${path} does not exist`, { file: path }, { cause: e });
  }
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return { kind, path, bytes, sha256: hash.digest('hex'), rows };
}
