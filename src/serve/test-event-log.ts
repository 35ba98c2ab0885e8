/**
 * An in-memory EventLog and a counting overlay for the applier and write-route tests (not test files
 * themselves): the log keeps the contract of store/event-log.ts within one process (atomic batches, dedup on
 * eventId, dense offsets, compaction, checkpoints); the overlay records what it was given, so a test can tell
 * what was applied, in which order, from where.
 */
import type { LoggedRecord, LogRecord } from '../core/event.ts';
import type { ServingModel } from '../query/serving-model.ts';
import type { AppendResult, Checkpoint, EventLog, EventLogStats } from '../store/event-log.ts';
import type { AppliedOverlay, OverlayFactory, OverlayStats } from './applier.ts';

export class MemoryEventLog implements EventLog {
  readonly location = 'memory';
  private records: LoggedRecord[] = [];
  private first = 0;
  private readonly ids = new Map<string, number>();
  private readonly checkpoints = new Map<string, Checkpoint>();
  /** When set, the next append fails with it (and writes nothing). */
  failNext: Error | null = null;

  async append(records: readonly LogRecord[]): Promise<AppendResult> {
    if (this.failNext) {
      const e = this.failNext;
      this.failNext = null;
      throw e;
    }
    const offsets: number[] = [];
    let appended = 0;
    let duplicates = 0;
    for (const r of records) {
      const known = r.eventId === undefined ? undefined : this.ids.get(r.eventId);
      if (known !== undefined) {
        offsets.push(known);
        duplicates++;
        continue;
      }
      const offset = this.end();
      this.records.push({ ...r, offset });
      if (r.eventId !== undefined) this.ids.set(r.eventId, offset);
      offsets.push(offset);
      appended++;
    }
    return { offsets, appended, duplicates };
  }

  read(from: number, limit: number): LoggedRecord[] {
    const at = Math.max(from, this.first) - this.first;
    return this.records.slice(at, at + limit);
  }

  end(): number {
    return this.first + this.records.length;
  }

  start(): number {
    return this.first;
  }

  async compact(before: number): Promise<number> {
    const n = Math.max(0, Math.min(before, this.end()) - this.first);
    for (const r of this.records.slice(0, n)) if (r.eventId !== undefined) this.ids.delete(r.eventId);
    this.records = this.records.slice(n);
    this.first += n;
    return n;
  }

  offsetAtTime(ts: number): number {
    const i = this.records.findIndex((r) => r.ts >= ts);
    return i < 0 ? this.end() : this.first + i;
  }

  async putCheckpoint(key: string, bytes: Uint8Array, offset: number): Promise<void> {
    this.checkpoints.set(key, { offset, bytes: bytes.slice() });
  }

  getCheckpoint(key: string): Checkpoint | undefined {
    return this.checkpoints.get(key);
  }

  stats(): EventLogStats {
    return {
      start: this.first,
      end: this.end(),
      records: this.records.length,
      eventIds: this.ids.size,
      checkpoints: this.checkpoints.size,
      diskBytes: 0,
    };
  }

  async close(): Promise<void> {}
}

/** An overlay that only remembers the offsets it applied (in order) and where it started. */
export class RecordingOverlay implements AppliedOverlay {
  appliedOffset: number;
  readonly offsets: number[] = [];

  constructor(
    readonly model: ServingModel,
    from: number,
    readonly restored = false,
  ) {
    this.appliedOffset = from;
  }

  apply(records: readonly LoggedRecord[]): void {
    for (const r of records) {
      if (r.offset <= this.appliedOffset) continue;
      this.offsets.push(r.offset);
      this.appliedOffset = r.offset;
    }
  }

  serialize(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify({ appliedOffset: this.appliedOffset }));
  }

  stats(): OverlayStats {
    return {
      applied: this.offsets.length,
      newItems: 0,
      newUsers: 0,
      itemRows: this.offsets.length,
      usersWithState: 0,
      deletedItems: 0,
    };
  }
}

/** Makes RecordingOverlays; `absorbed` per version (default −1), and every overlay it made, newest last. */
export function recordingOverlays(absorbed: Record<string, number> = {}): OverlayFactory & {
  made: RecordingOverlay[];
} {
  const made: RecordingOverlay[] = [];
  return {
    made,
    async create(model, from) {
      const o = new RecordingOverlay(model, from);
      made.push(o);
      return o;
    },
    async restore(model, bytes) {
      const { appliedOffset } = JSON.parse(new TextDecoder().decode(bytes)) as { appliedOffset: number };
      const o = new RecordingOverlay(model, appliedOffset, true);
      made.push(o);
      return o;
    },
    absorbed: (model) => absorbed[model.version] ?? -1,
  };
}
