/**
 * The embedded artifact store: a directory of immutable LMDB versions and a `CURRENT` pointer file (layout in
 * layout.ts). Builds, prune and activate take the directory lock; readers take nothing and may live in any
 * number of processes.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SimrecError } from '../../core/errors.ts';
import { parseManifest } from '../manifest.ts';
import type { ArtifactStore, Manifest, PruneOptions, PruneResult, VersionInfo } from '../store.ts';
import { assertVersionId, isVersionId, newVersionId } from '../version-id.ts';
import { DirLock } from './dir-lock.ts';
import { errnoCode, fsyncDir, writeFileAtomic } from './fs-util.ts';
import { CURRENT_FILE, LOCK_FILE, MANIFEST_FILE, VERSIONS_DIR } from './layout.ts';
import { LmdbVersionReader } from './version-reader.ts';
import { LmdbVersionWriter } from './version-writer.ts';

export class LmdbArtifactStore implements ArtifactStore {
  readonly root: string;
  private writer: LmdbVersionWriter | undefined;

  /** A store rooted at dir; nothing is created until the first build. */
  constructor(root: string) {
    this.root = resolve(root);
  }

  /** Factory form of the constructor (for code that receives a store factory by module and name). */
  static open(root: string): LmdbArtifactStore {
    return new LmdbArtifactStore(root);
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

  async createVersion(): Promise<LmdbVersionWriter> {
    if (this.writer)
      throw new SimrecError('ARTIFACT_LOCKED', `${this.root} already has an open build (${this.writer.id})`, {
        file: this.root,
      });
    mkdirSync(this.versionsDir, { recursive: true });
    const lock = DirLock.acquire(join(this.root, LOCK_FILE), 'build');
    try {
      const id = newVersionId(this.versionIds());
      const dir = this.versionDir(id);
      mkdirSync(dir);
      const writer: LmdbVersionWriter = new LmdbVersionWriter({
        id,
        dir,
        createdAt: new Date(),
        lock,
        setCurrent: (v) => this.writeCurrent(v),
        onDone: () => {
          if (this.writer === writer) this.writer = undefined;
        },
      });
      this.writer = writer;
      return writer;
    } catch (e) {
      lock.release();
      throw e;
    }
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

  async openVersion(id?: string): Promise<LmdbVersionReader> {
    if (id !== undefined) {
      assertVersionId(id);
      return LmdbVersionReader.open(this.versionDir(id), this.readManifest(id));
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
        return LmdbVersionReader.open(this.versionDir(current), this.readManifest(current));
      } catch (e) {
        if (attempt < 2 && (e as SimrecError).code === 'ARTIFACT_MISSING' && this.readCurrent() !== current)
          continue;
        throw e;
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
    const lock = DirLock.acquire(join(this.root, LOCK_FILE), purpose);
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
    writeFileAtomic(join(this.root, CURRENT_FILE), `${id}\n`);
  }
}
