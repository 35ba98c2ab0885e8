/**
 * Writes one version's LMDB file. Transactions skip fsync while building (a crash discards the version
 * anyway); commit closes the file, fsyncs it once, reopens it read-only and verifies every entry against what
 * was written, then writes the manifest and only then switches `current`.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SimrecError } from '../../core/errors.ts';
import { buildManifest, fileChecksums, validateManifestFields } from '../manifest.ts';
import type { CommitOptions, Manifest, ManifestFields } from '../store.ts';
import { EncodingVersionWriter, type RowBatch } from '../writer-base.ts';
import type { DirLock } from './dir-lock.ts';
import { fsyncDir, fsyncFile, ioError, withIo, writeFileAtomic } from './fs-util.ts';
import { DATA_FILE, MANIFEST_FILE, openVersionEnv, rowKeyBuffer, setRow, type VersionEnv } from './layout.ts';
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
}

export class LmdbVersionWriter extends EncodingVersionWriter {
  private readonly db: VersionEnv;
  private readonly dataPath: string;

  constructor(private readonly ctx: WriterContext) {
    super(ctx.id);
    this.dataPath = join(ctx.dir, DATA_FILE);
    this.db = withIo(this.dataPath, 'create', () => openVersionEnv(this.dataPath, false));
  }

  protected async storeValue(key: string, bytes: Uint8Array): Promise<void> {
    withIo(this.dataPath, `write entry '${key}' to`, () => this.db.data.putSync(key, bytes));
  }

  protected async storeRows(key: string, batch: RowBatch): Promise<void> {
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
    const manifest = buildManifest(this.id, this.ctx.createdAt, fields, this.entryList());
    this.state = 'committing';
    const started = performance.now();
    let committed = false;
    try {
      try {
        await this.db.env.close();
      } catch (e) {
        throw ioError(e, this.dataPath, 'flush');
      }
      withIo(this.dataPath, 'fsync', () => {
        fsyncFile(this.dataPath);
        fsyncDir(this.ctx.dir);
      });
      // Hashed before verification reads it: a reader opens read-only, so these bytes are final.
      try {
        manifest.files = [{ name: DATA_FILE, ...(await fileChecksums(this.dataPath)) }];
      } catch (e) {
        throw ioError(e, this.dataPath, 'read back');
      }
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
