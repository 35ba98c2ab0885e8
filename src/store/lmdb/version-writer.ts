/**
 * Writes one version's LMDB file. Transactions skip fsync while building (a crash discards the version
 * anyway); commit closes the file, fsyncs it once, reopens it read-only and verifies every entry against what
 * was written, then writes the manifest and only then switches `current`.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SimrecError } from '../../core/errors.ts';
import { buildManifest, fileChecksums, validateManifestFields } from '../manifest.ts';
import type { CommitOptions, FileRecord, Manifest, ManifestFields } from '../store.ts';
import { EncodingVersionWriter, type RowBatch } from '../writer-base.ts';
import type { DirLock } from './dir-lock.ts';
import { fsyncDir, fsyncFile, ioError, withIo, writeFileAtomic } from './fs-util.ts';
import {
  DATA_FILE,
  LAZY_FILE,
  MANIFEST_FILE,
  openVersionEnv,
  rowKeyBuffer,
  setRow,
  type VersionEnv,
} from './layout.ts';
import { LmdbVersionReader } from './version-reader.ts';

/** What the store hands a writer: where to write, the lock it took, and how to switch `current`. */
export interface WriterContext {
  id: string;
  dir: string;
  createdAt: Date;
  lock: DirLock;
  setCurrent(id: string): void;
  /** Called once the writer has committed, failed or aborted. */
  onDone(): void;
  /** Keys starting with one of these are written to LAZY_FILE (see CreateVersionOptions). */
  lazyPrefixes?: readonly string[];
}

export class LmdbVersionWriter extends EncodingVersionWriter {
  private readonly db: VersionEnv;
  private readonly dataPath: string;
  private readonly lazyPath: string;
  /** Opened on the first entry under a lazy prefix. */
  private lazyDb: VersionEnv | undefined;
  private readonly lazyKeys = new Set<string>();

  constructor(private readonly ctx: WriterContext) {
    super(ctx.id);
    this.dataPath = join(ctx.dir, DATA_FILE);
    this.lazyPath = join(ctx.dir, LAZY_FILE);
    this.db = withIo(this.dataPath, 'create', () => openVersionEnv(this.dataPath, false));
  }

  protected async storeValue(key: string, bytes: Uint8Array): Promise<void> {
    if (this.ctx.lazyPrefixes?.some((p) => key.startsWith(p))) {
      this.lazyDb ??= withIo(this.lazyPath, 'create', () => openVersionEnv(this.lazyPath, false));
      const lazy = this.lazyDb;
      withIo(this.lazyPath, `write entry '${key}' to`, () => lazy.data.putSync(key, bytes));
      this.lazyKeys.add(key);
      return;
    }
    withIo(this.dataPath, `write entry '${key}' to`, () => this.db.data.putSync(key, bytes));
  }

  protected async storeRows(key: string, batch: RowBatch): Promise<void> {
    // A sparse-rows entry keeps its rows beside its head in the main part; a lazy prefix cannot split them.
    if (this.ctx.lazyPrefixes?.some((p) => key.startsWith(p)))
      throw new SimrecError(
        'INTERNAL',
        `sparse-rows entry '${key}' is under a lazy prefix; keep row entries out of them`,
      );
    const { count, rowIds, offsets, bytes } = batch;
    const rowKey = rowKeyBuffer(key);
    const { env, rows } = this.db;
    // One transaction per batch; putSync inside it copies key and value into LMDB at once, so both buffers
    // can be reused for the next row.
    withIo(this.dataPath, `write rows of '${key}' to`, () =>
      env.transactionSync(() => {
        for (let i = 0; i < count; i++)
          rows.putSync(setRow(rowKey, rowIds[i]), bytes.subarray(offsets[i], offsets[i + 1]));
      }),
    );
  }

  async commit(fields: ManifestFields = {}, options: CommitOptions = {}): Promise<Manifest> {
    this.assertOpen();
    validateManifestFields(fields);
    const entries = this.entryList().map((e) => (this.lazyKeys.has(e.key) ? { ...e, file: LAZY_FILE } : e));
    const manifest = buildManifest(this.id, this.ctx.createdAt, fields, entries);
    this.state = 'committing';
    const started = performance.now();
    let committed = false;
    try {
      const parts: { path: string; db: VersionEnv; lazy: boolean }[] = [
        { path: this.dataPath, db: this.db, lazy: false },
      ];
      if (this.lazyDb) parts.push({ path: this.lazyPath, db: this.lazyDb, lazy: true });
      for (const part of parts)
        try {
          await part.db.env.close();
        } catch (e) {
          throw ioError(e, part.path, 'flush');
        }
      withIo(this.dataPath, 'fsync', () => {
        for (const part of parts) fsyncFile(part.path);
        fsyncDir(this.ctx.dir);
      });
      // Hashed before verification reads them: a reader opens read-only, so these bytes are final.
      const files: FileRecord[] = [];
      for (const part of parts)
        try {
          const name = part.lazy ? LAZY_FILE : DATA_FILE;
          files.push({ name, ...(await fileChecksums(part.path)), ...(part.lazy ? { lazy: true } : {}) });
        } catch (e) {
          throw ioError(e, part.path, 'read back');
        }
      manifest.files = files;
      const reader = LmdbVersionReader.open(this.ctx.dir, manifest);
      try {
        reader.verifySync();
      } finally {
        await reader.close();
      }
      manifest.timings['store.commit'] = Math.round((performance.now() - started) * 1000) / 1000;
      const manifestPath = join(this.ctx.dir, MANIFEST_FILE);
      withIo(manifestPath, 'write', () =>
        writeFileAtomic(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`),
      );
      committed = true;
      if (options.activate !== false) {
        if (!this.ctx.lock.isHeld())
          throw new SimrecError(
            'ARTIFACT_LOCKED',
            `the build lock ${this.ctx.lock.path} was taken away during the build; version ${this.id} is committed but not current`,
            { file: this.ctx.lock.path },
          );
        this.ctx.setCurrent(this.id);
      }
      return manifest;
    } catch (e) {
      // A version that never got its manifest is garbage; one that did stays, committed but not current.
      if (!committed) rmSync(this.ctx.dir, { recursive: true, force: true });
      throw e;
    } finally {
      this.finish();
    }
  }

  async abort(): Promise<void> {
    if (this.state === 'done') return;
    if (this.state === 'committing') throw new SimrecError('INTERNAL', `version ${this.id} is committing`);
    this.state = 'done';
    try {
      await this.db.env.close();
      await this.lazyDb?.env.close();
    } finally {
      rmSync(this.ctx.dir, { recursive: true, force: true });
      this.finish();
    }
  }

  private finish(): void {
    this.state = 'done';
    this.ctx.lock.release();
    this.ctx.onDone();
  }
}
