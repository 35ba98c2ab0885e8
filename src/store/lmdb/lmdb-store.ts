/**
 * The embedded artifact store: a directory of immutable LMDB versions and a `CURRENT` pointer file (layout in
 * layout.ts). Builds, prune and activate take the directory lock; readers take nothing and may live in any
 * number of processes.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { SimrecError } from '../../core/errors.ts';
import { fileQuickSumOffThread } from '../checksum-thread.ts';
import { fileQuickSum, parseManifest, type QuickSum, quickSumKind, quickSumMatches } from '../manifest.ts';
import type {
  ArtifactStore,
  CreateVersionOptions,
  FileRecord,
  Manifest,
  OpenVersionOptions,
  PruneOptions,
  PruneResult,
  VersionInfo,
} from '../store.ts';
import { assertVersionId, isVersionId, newVersionId } from '../version-id.ts';
import { DirLock, type LockOwner } from './dir-lock.ts';
import { errnoCode, fsyncDir, ioError, withIo, writeFileAtomic } from './fs-util.ts';
import { CURRENT_FILE, DATA_FILE, LOCK_FILE, MANIFEST_FILE, VERSIONS_DIR } from './layout.ts';
import { LmdbVersionReader } from './version-reader.ts';
import { LmdbVersionWriter } from './version-writer.ts';

export interface LmdbStoreOptions {
  /**
   * Where the store reports what it repairs on its own (a dead build's lock taken over, its partial version
   * removed). Default: a `simrec:` line on stderr.
   */
  log?: (message: string) => void;
}

function logToStderr(message: string): void {
  process.stderr.write(`simrec: ${message}\n`);
}

export class LmdbArtifactStore implements ArtifactStore {
  readonly root: string;
  private writer: LmdbVersionWriter | undefined;
  private readonly log: (message: string) => void;

  /** A store rooted at dir; nothing is created until the first build. */
  constructor(root: string, options: LmdbStoreOptions = {}) {
    this.root = resolve(root);
    this.log = options.log ?? logToStderr;
  }

  /** Factory form of the constructor (for code that receives a store factory by module and name). */
  static open(root: string, options?: LmdbStoreOptions): LmdbArtifactStore {
    return new LmdbArtifactStore(root, options);
  }

  get location(): string {
    return this.root;
  }

  private get versionsDir(): string {
    return join(this.root, VERSIONS_DIR);
  }

  private versionDir(id: string): string {
    return join(this.versionsDir, id);
  }

  async createVersion(options: CreateVersionOptions = {}): Promise<LmdbVersionWriter> {
    if (this.writer)
      throw new SimrecError('ARTIFACT_LOCKED', `${this.root} already has an open build (${this.writer.id})`, {
        file: this.root,
      });
    this.ensureDirectory(this.root);
    withIo(this.versionsDir, 'create the versions directory', () =>
      mkdirSync(this.versionsDir, { recursive: true }),
    );
    const lock = this.takeLock('build');
    let dir: string | undefined;
    try {
      this.removeLeftovers();
      const id = newVersionId(this.versionIds());
      dir = this.versionDir(id);
      withIo(dir, 'create version directory', () => mkdirSync(dir as string));
      const writer: LmdbVersionWriter = new LmdbVersionWriter({
        id,
        dir,
        createdAt: new Date(),
        lock,
        setCurrent: (v) => this.writeCurrent(v),
        lazyPrefixes: options.lazyPrefixes,
        onDone: () => {
          if (this.writer === writer) this.writer = undefined;
        },
      });
      this.writer = writer;
      return writer;
    } catch (e) {
      if (dir) rmSync(dir, { recursive: true, force: true });
      lock.release();
      throw ioError(e, dir ?? this.versionsDir, 'start a version in');
    }
  }

  /** An existing path that is not a directory is the caller's mistake; say so rather than fail in mkdir. */
  private ensureDirectory(path: string): void {
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return;
      throw ioError(e, path, 'inspect');
    }
    if (!isDir)
      throw new SimrecError('ARTIFACT_IO', `artifact directory ${path} exists but is not a directory`, {
        file: path,
      });
  }

  private takeLock(purpose: string): DirLock {
    const path = join(this.root, LOCK_FILE);
    return withIo(path, 'take the lock', () =>
      DirLock.acquire(path, purpose, (dead: LockOwner) =>
        this.log(
          `taking over ${path}: its owner (${dead.purpose} by pid ${dead.pid} since ${dead.acquiredAt}) is no longer running`,
        ),
      ),
    );
  }

  /**
   * Removes what builds that died left behind: uncommitted version directories and temp files of the pointer.
   * Runs under the build lock, so no live build of this store can own any of them.
   */
  private removeLeftovers(): void {
    for (const id of this.versionIds()) {
      const dir = this.versionDir(id);
      if (existsSync(join(dir, MANIFEST_FILE))) continue;
      withIo(dir, 'remove the partial version', () => rmSync(dir, { recursive: true, force: true }));
      this.log(`removed partial version ${id} in ${this.root}, left by a build that did not finish`);
    }
    for (const name of readdirSync(this.root))
      if (name.startsWith(`${CURRENT_FILE}.tmp-`) || name.startsWith(`${LOCK_FILE}.stale-`))
        rmSync(join(this.root, name), { force: true });
  }

  async currentVersionId(): Promise<string | null> {
    return this.readCurrent();
  }

  private readCurrent(): string | null {
    const path = join(this.root, CURRENT_FILE);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return null;
      throw e;
    }
    const id = text.trim();
    if (!isVersionId(id))
      throw new SimrecError('ARTIFACT_CORRUPT', `${path} does not hold a version id`, { file: path });
    return id;
  }

  async listVersions(): Promise<VersionInfo[]> {
    return this.readVersions();
  }

  private readVersions(): VersionInfo[] {
    const current = this.readCurrent();
    return this.versionIds().map((id) => ({
      id,
      committed: existsSync(join(this.versionDir(id), MANIFEST_FILE)),
      current: id === current,
    }));
  }

  async openVersion(id?: string, options: OpenVersionOptions = {}): Promise<LmdbVersionReader> {
    const verify = options.verify !== false;
    if (id !== undefined) {
      assertVersionId(id);
      return await this.openChecked(id, verify);
    }
    // `current` may move (and its old target be pruned) between reading the pointer and the manifest.
    for (let attempt = 0; ; attempt++) {
      const current = this.readCurrent();
      if (current === null)
        throw new SimrecError(
          'ARTIFACT_MISSING',
          existsSync(this.root)
            ? `${this.root} has no committed version yet`
            : `artifact directory ${this.root} does not exist`,
          { file: this.root },
        );
      try {
        return await this.openChecked(current, verify);
      } catch (e) {
        if (attempt < 2 && (e as SimrecError).code === 'ARTIFACT_MISSING' && this.readCurrent() !== current)
          continue;
        throw e;
      }
    }
  }

  /**
   * Opens a version and, unless told not to, checks it against its manifest: the data file's size and fast
   * checksum (XXH3-64; CRC-32 in older versions) recorded at commit when the manifest has them (one streaming
   * pass; on a mismatch the per-entry check names the damaged
   * entry), else every entry and row. @throws ARTIFACT_CORRUPT
   */
  private async openChecked(id: string, verify: boolean): Promise<LmdbVersionReader> {
    const dir = this.versionDir(id);
    const manifest = this.readManifest(id);
    const fileMismatch = verify ? await this.checkFiles(dir, manifest) : null;
    // Checked here, the lazy part need not be checked again on its first read.
    const reader = LmdbVersionReader.open(dir, manifest, {
      lazyChecked: verify && manifest.files !== undefined && fileMismatch === null,
    });
    if (!verify || (manifest.files && fileMismatch === null)) return reader;
    try {
      reader.verifySync();
    } catch (e) {
      void reader.close();
      throw e;
    }
    if (fileMismatch) {
      // Every entry reads back intact, so the damage is in LMDB's own pages; still not what was committed.
      void reader.close();
      throw fileMismatch;
    }
    return reader;
  }

  /**
   * The check {@link openVersion} makes by default, alone: for a caller that opened with `verify: false` and
   * does other work meanwhile (a server loading the version's model). The data file's checksum is computed on a
   * worker thread; a manifest without file checksums falls back to the per-entry check, in this thread.
   * @throws ARTIFACT_CORRUPT naming the damaged entry where it can
   */
  async verifyVersion(id: string): Promise<void> {
    assertVersionId(id);
    const dir = this.versionDir(id);
    const manifest = this.readManifest(id);
    // The lazy part is left to the reader, which checks it when one of its entries is first read.
    const fileMismatch = manifest.files
      ? await this.checkFiles(dir, manifest, fileQuickSumOffThread, (f) => f.lazy !== true)
      : null;
    if (manifest.files && fileMismatch === null) return;
    const reader = LmdbVersionReader.open(dir, manifest);
    try {
      reader.verifySync();
    } finally {
      await reader.close();
    }
    if (fileMismatch) throw fileMismatch;
  }

  /** The first recorded file whose size or checksum differs, as an error; null when all match (or none). */
  private async checkFiles(
    dir: string,
    manifest: Manifest,
    sumOf: (path: string, kind: 'xxh3' | 'crc32') => Promise<QuickSum> = fileQuickSum,
    include: (f: FileRecord) => boolean = () => true,
  ): Promise<SimrecError | null> {
    for (const f of manifest.files ?? []) {
      if (!include(f)) continue;
      const path = join(dir, f.name);
      let got: QuickSum;
      try {
        got = await sumOf(path, quickSumKind(f));
      } catch (e) {
        if (errnoCode(e) === 'ENOENT')
          return new SimrecError('ARTIFACT_CORRUPT', `version ${manifest.id} lacks ${f.name}`, {
            file: path,
          });
        throw ioError(e, path, 'read');
      }
      if (!quickSumMatches(f, got))
        return new SimrecError(
          'ARTIFACT_CORRUPT',
          `version ${manifest.id}: ${path} does not match the checksum recorded at commit`,
          { file: path },
        );
    }
    return null;
  }

  async probe(id: string): Promise<void> {
    assertVersionId(id);
    for (const name of [MANIFEST_FILE, DATA_FILE]) {
      const path = join(this.versionDir(id), name);
      try {
        closeSync(openSync(path, 'r'));
      } catch (e) {
        if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR')
          throw new SimrecError('ARTIFACT_MISSING', `version ${id} is gone: ${path} no longer exists`, {
            file: path,
          });
        throw ioError(e, path, 'open');
      }
    }
  }

  async activate(id: string): Promise<void> {
    assertVersionId(id);
    this.withLock('activate', () => {
      this.readManifest(id);
      this.writeCurrent(id);
    });
  }

  async prune({ keep }: PruneOptions): Promise<PruneResult> {
    if (!Number.isSafeInteger(keep) || keep < 0)
      throw new SimrecError('CONFIG_INVALID', `prune keep must be a non-negative integer, got ${keep}`, {
        field: 'keep',
      });
    return this.withLock('prune', () => {
      const current = this.readCurrent();
      const versions = this.readVersions();
      const committed = versions.filter((v) => v.committed).map((v) => v.id);
      const keepSet = new Set(keep > 0 ? committed.slice(-keep) : []);
      if (current) keepSet.add(current);
      if (this.writer) keepSet.add(this.writer.id);
      const result: PruneResult = { removed: [], kept: [] };
      for (const v of versions) {
        if (keepSet.has(v.id)) {
          result.kept.push(v.id);
          continue;
        }
        const dir = this.versionDir(v.id);
        // Manifest first: a removal cut short leaves an uncommitted directory, never a committed one with
        // missing data.
        rmSync(join(dir, MANIFEST_FILE), { force: true });
        fsyncDir(dir);
        rmSync(dir, { recursive: true, force: true });
        result.removed.push(v.id);
      }
      fsyncDir(this.versionsDir);
      return result;
    });
  }

  async close(): Promise<void> {
    // Nothing is held between calls; open writers and readers are closed by their owners.
  }

  /** Runs fn under the directory lock, or under this store's own open build, which already holds it. */
  private withLock<T>(purpose: string, fn: () => T): T {
    if (this.writer) return fn();
    if (!existsSync(this.root))
      throw new SimrecError('ARTIFACT_MISSING', `artifact directory ${this.root} does not exist`, {
        file: this.root,
      });
    const lock = this.takeLock(purpose);
    try {
      return fn();
    } finally {
      lock.release();
    }
  }

  private versionIds(): string[] {
    try {
      return readdirSync(this.versionsDir).filter(isVersionId).sort();
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return [];
      throw e;
    }
  }

  private readManifest(id: string): Manifest {
    const path = join(this.versionDir(id), MANIFEST_FILE);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
      const why = existsSync(this.versionDir(id)) ? 'is not committed' : 'does not exist';
      throw new SimrecError('ARTIFACT_MISSING', `version ${id} in ${this.root} ${why}`, { file: path });
    }
    return parseManifest(text, id, path);
  }

  private writeCurrent(id: string): void {
    const path = join(this.root, CURRENT_FILE);
    withIo(path, 'switch', () => writeFileAtomic(path, `${id}\n`));
  }
}
