/**
 * An exclusive lock on a directory, held as a lock file that names its owner. Node has no portable flock, so
 * ownership is the file's existence: it is created complete (written to a temp file, then hard-linked into
 * place, which fails atomically when the lock exists) and removed on release. A lock whose owner process is
 * gone (same host, pid no longer running, e.g. a build that was killed) is stale and taken over; a lock from
 * another host is never presumed stale, since its pid means nothing here.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { SimrecError } from '../../core/errors.ts';
import { errnoCode, writeFileDurable } from './fs-util.ts';

export interface LockOwner {
  pid: number;
  host: string;
  token: string;
  acquiredAt: string;
  purpose: string;
}

function readOwner(path: string): LockOwner | null | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return null;
    throw e;
  }
  try {
    const o = JSON.parse(text) as LockOwner;
    if (typeof o.pid === 'number' && typeof o.host === 'string' && typeof o.token === 'string') return o;
  } catch {
    // fall through: a lock file we cannot read is treated as held, never silently broken
  }
  return 'unreadable';
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return errnoCode(e) === 'EPERM';
  }
}

/** True when the owner is a process on this host that no longer runs. */
export function isStale(owner: LockOwner): boolean {
  return owner.host === hostname() && !processAlive(owner.pid);
}

function lockedError(path: string, owner: LockOwner | 'unreadable'): SimrecError {
  const who =
    owner === 'unreadable'
      ? 'an unreadable lock file'
      : `${owner.purpose} by pid ${owner.pid} on ${owner.host} since ${owner.acquiredAt}`;
  return new SimrecError(
    'ARTIFACT_LOCKED',
    `${path} is held (${who}); if no build is running there, remove the lock file`,
    { file: path },
  );
}

export class DirLock {
  private released = false;

  private constructor(
    readonly path: string,
    readonly owner: LockOwner,
  ) {}

  /**
   * Takes the lock at path, taking over a stale one (after telling onStale whose it was).
   * @throws SimrecError ARTIFACT_LOCKED when a live owner holds it
   */
  static acquire(path: string, purpose: string, onStale?: (owner: LockOwner) => void): DirLock {
    const owner: LockOwner = {
      pid: process.pid,
      host: hostname(),
      token: randomBytes(8).toString('hex'),
      acquiredAt: new Date().toISOString(),
      purpose,
    };
    const tmp = `${path}.${owner.token}.tmp`;
    writeFileDurable(tmp, `${JSON.stringify(owner)}\n`);
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          linkSync(tmp, path);
          return new DirLock(path, owner);
        } catch (e) {
          if (errnoCode(e) !== 'EEXIST') throw e;
        }
        const held = readOwner(path);
        if (held === null) continue; // released between our link and our read
        if (held === 'unreadable' || !isStale(held)) throw lockedError(path, held);
        onStale?.(held);
        DirLock.breakStale(path, held, owner.token);
      }
      throw new SimrecError('ARTIFACT_LOCKED', `${path}: lost the race for the lock repeatedly`, {
        file: path,
      });
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  /**
   * Removes a stale lock so that exactly one contender does so: the file is first renamed aside (atomic; the
   * loser gets ENOENT), then checked to be the stale one we judged. If a fresh lock was taken in between, we
   * moved someone's live lock: it is put back with link, which cannot overwrite a newer one.
   */
  private static breakStale(path: string, stale: LockOwner, token: string): void {
    const aside = `${path}.stale-${token}`;
    try {
      renameSync(path, aside);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return;
      throw e;
    }
    const moved = readOwner(aside);
    if (moved !== null && moved !== 'unreadable' && moved.token !== stale.token) {
      try {
        linkSync(aside, path);
      } catch {
        // a third contender holds it now; ours was taken over by the one that holds it
      }
    }
    rmSync(aside, { force: true });
  }

  /** Whether the lock file still names this holder (someone may have removed it by hand). */
  isHeld(): boolean {
    return !this.released && this.ownsFile();
  }

  /** Removes the lock file if it is still ours; idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.ownsFile()) rmSync(this.path, { force: true });
  }

  private ownsFile(): boolean {
    const now = readOwner(this.path);
    return now !== null && now !== 'unreadable' && now.token === this.owner.token;
  }
}
