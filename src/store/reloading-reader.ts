/**
 * A long-running handle on a store's current version, for servers. It opens nothing until first used, then
 * watches the `current` pointer (on an interval and on refresh()) and swaps in a newly committed version.
 * Callers lease a reader for the length of one request; a request keeps the version it started with even if a
 * switch happens meanwhile, and a replaced version is closed only when its last lease is released, so no
 * request ever sees half of one version and half of another, or a reader closed under it.
 */
import { SimrecError } from '../core/errors.ts';
import type { ArtifactStore, VersionReader } from './store.ts';

export interface ReloadingReaderOptions {
  /** How often to check `current`, in ms (default 1000; 0 checks only on refresh()). */
  pollMs?: number;
  /** Called after a switch; `from` is null for the first open. */
  onSwitch?: (from: string | null, to: string) => void;
  /** Called with errors of background checks and closes (a version that fails to open keeps the old one). */
  onError?: (error: unknown) => void;
  /**
   * Work to do on a new version before it is switched in (a server builds its model), run beside the
   * version's verification (`store.verifyVersion`, whose checksum runs on a worker thread) instead of after it,
   * so a switch costs about the longer of the two. The version is switched in only when both succeed; the
   * result is handed to every lease of that version as `prepared`. A version whose check or preparation fails
   * is not tried again until `current` names another.
   */
  prepare?: (reader: VersionReader) => Promise<unknown>;
}

/** A reader pinned for one unit of work; release it exactly once (further calls are ignored). */
export interface ReaderLease {
  readonly reader: VersionReader;
  /** What the `prepare` option made of this version (undefined without one). */
  readonly prepared: unknown;
  release(): void;
}

interface Slot {
  reader: VersionReader;
  prepared: unknown;
  leases: number;
  retired: boolean;
}

export class ReloadingReader {
  private slot: Slot | undefined;
  private pending: Promise<boolean> | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly closing = new Set<Promise<void>>();
  private isClosed = false;
  /**
   * The last version that failed verification and why: it is not opened again, nor re-verified on every poll,
   * until `current` names another version.
   */
  private failed: { id: string; error: unknown } | undefined;

  constructor(
    private readonly store: ArtifactStore,
    private readonly options: ReloadingReaderOptions = {},
  ) {}

  /** The version currently served, or null before first use. */
  get versionId(): string | null {
    return this.slot?.reader.id ?? null;
  }

  /** What `prepare` made of the version served now (undefined before first use or without `prepare`). */
  get currentPrepared(): unknown {
    return this.slot?.prepared;
  }

  /** Why `current` is not being served (it failed to open), or null. */
  get failure(): { id: string; error: unknown } | null {
    return this.failed && this.failed.id !== this.slot?.reader.id ? this.failed : null;
  }

  /**
   * Leases the current version's reader, opening it on first use.
   * @throws SimrecError ARTIFACT_MISSING when the store has no current version yet
   */
  async acquire(): Promise<ReaderLease> {
    this.assertOpen();
    if (!this.slot) {
      await this.refresh();
      this.startPolling();
    }
    this.assertOpen();
    const slot = this.slot;
    if (!slot) throw new SimrecError('ARTIFACT_MISSING', `${this.store.location} has no current version`);
    slot.leases++;
    let released = false;
    return {
      reader: slot.reader,
      prepared: slot.prepared,
      release: () => {
        if (released) return;
        released = true;
        slot.leases--;
        this.closeIfIdle(slot);
      },
    };
  }

  /** Runs fn with a leased reader and releases it afterwards, however fn ends. */
  async use<T>(fn: (reader: VersionReader) => T | Promise<T>): Promise<T> {
    const lease = await this.acquire();
    try {
      return await fn(lease.reader);
    } finally {
      lease.release();
    }
  }

  /**
   * Checks `current` now and switches when it moved. Resolves true when it switched. Concurrent calls share
   * one check.
   */
  refresh(): Promise<boolean> {
    this.assertOpen();
    if (!this.pending)
      this.pending = this.check().finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }

  /**
   * Stops watching and closes the reader once the leases out are released. Resolves when every reader no
   * longer leased is closed.
   */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.pending?.catch(() => undefined);
    const slot = this.slot;
    this.slot = undefined;
    if (slot) {
      slot.retired = true;
      this.closeIfIdle(slot);
    }
    await Promise.all([...this.closing]);
  }

  private async check(): Promise<boolean> {
    const id = await this.store.currentVersionId();
    if (id === null) {
      if (this.slot) return false; // never happens through the store's own API; keep serving what we have
      throw new SimrecError('ARTIFACT_MISSING', `${this.store.location} has no committed version yet`, {
        file: this.store.location,
      });
    }
    if (this.slot?.reader.id === id) return false;
    if (this.failed?.id === id) {
      if (this.slot) return false;
      throw this.failed.error;
    }
    let reader: VersionReader;
    let prepared: unknown;
    try {
      reader = await this.store.openVersion(id, { verify: !this.options.prepare });
    } catch (e) {
      // A damaged version stays damaged; anything else (a file briefly unreadable) is tried again next poll.
      if (e instanceof SimrecError && e.code === 'ARTIFACT_CORRUPT') this.failed = { id, error: e };
      throw e;
    }
    if (this.options.prepare) {
      // Both run to the end before the reader may be closed: preparation must not read a closed reader.
      const [check, work] = await Promise.allSettled([
        this.store.verifyVersion(id),
        this.options.prepare(reader),
      ]);
      const error =
        check.status === 'rejected' ? check.reason : work.status === 'rejected' ? work.reason : null;
      if (error !== null) {
        await reader.close();
        // A failed check or preparation is a property of the version's bytes; an I/O error is retried.
        const io = error instanceof SimrecError && error.code === 'ARTIFACT_IO';
        if (!io) this.failed = { id, error };
        throw error;
      }
      prepared = (work as PromiseFulfilledResult<unknown>).value;
    }
    if (this.isClosed) {
      await reader.close();
      return false;
    }
    const old = this.slot;
    this.slot = { reader, prepared, leases: 0, retired: false };
    this.failed = undefined;
    if (old) {
      old.retired = true;
      this.closeIfIdle(old);
    }
    try {
      this.options.onSwitch?.(old ? old.reader.id : null, id);
    } catch (e) {
      // the switch happened; a listener's failure must not make it look as if it had not
      this.report(e);
    }
    return true;
  }

  private closeIfIdle(slot: Slot): void {
    if (!slot.retired || slot.leases > 0 || slot.reader.closed) return;
    const p = slot.reader
      .close()
      .catch((e) => this.report(e))
      .finally(() => this.closing.delete(p));
    this.closing.add(p);
  }

  private startPolling(): void {
    const every = this.options.pollMs ?? 1000;
    if (every <= 0 || this.timer || this.isClosed) return;
    this.timer = setInterval(() => {
      if (!this.isClosed) this.refresh().catch((e) => this.report(e));
    }, every);
    // A watcher must not keep a process alive on its own.
    this.timer.unref();
  }

  private report(e: unknown): void {
    if (this.options.onError) this.options.onError(e);
    else process.emitWarning(`simrec reloading reader: ${(e as Error)?.message ?? String(e)}`);
  }

  private assertOpen(): void {
    if (this.isClosed) throw new SimrecError('INTERNAL', 'the reloading reader is closed');
  }
}
