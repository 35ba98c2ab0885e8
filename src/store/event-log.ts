/**
 * The event log (DESIGN §9; issue 15): the durable, append-only sequence of user events and catalogue changes
 * that is the source of truth for everything after an artifact version. Every serving process appends to it
 * and applies it, in offset order, to its own overlay; a build absorbs it up to an offset. Records are numbered
 * 0, 1, 2, … in append order, densely and without reuse, across every process appending to one log.
 *
 * This module holds only the backend-neutral contract; `lmdb/lmdb-event-log.ts` implements it on an LMDB
 * environment in the artifact location (`<artifacts>/events/`).
 */
import type { LoggedRecord, LogRecord } from '../core/event.ts';

export interface AppendResult {
  /** Per input record, in input order: its offset, or for a duplicate the offset it already had. */
  offsets: number[];
  /** Records written by this append. */
  appended: number;
  /** Records not written because their eventId was already in the log (or earlier in the same batch). */
  duplicates: number;
}

export interface EventLogStats {
  /** First offset still held (0 until the first compaction). */
  start: number;
  /** Next offset to be assigned: the number of records ever appended. */
  end: number;
  /** Records held (end − start). */
  records: number;
  /** eventIds held for deduplication (those of compacted records are dropped). */
  eventIds: number;
  /** Checkpoints held. */
  checkpoints: number;
  /** Bytes the log takes on disk (the file does not shrink after compaction; freed pages are reused). */
  diskBytes: number;
}

export interface Checkpoint {
  /** The log offset the snapshot covers: every record with offset < this was applied to it. */
  offset: number;
  bytes: Uint8Array;
}

export interface EventLog {
  /** Where the log lives, for messages. */
  readonly location: string;

  /**
   * Appends a batch atomically: every record of it, or (on failure) none. Resolves only once the batch is
   * durable (fsync'd), so whatever resolved survives a crash of the process or the machine.
   *
   * Idempotent on eventId: a record whose eventId the log already holds is not appended again and its existing
   * offset is returned; a later record of the same batch repeating an earlier one's eventId collapses to the
   * first. Records without eventId are always appended. Records are stored as given (validate them first,
   * data/events.ts); appends from any number of processes get dense, unique offsets.
   * @throws SimrecError ARTIFACT_IO when the write fails (disk full, permissions); nothing of the batch is kept
   */
  append(records: readonly LogRecord[]): Promise<AppendResult>;

  /**
   * Records with offset ≥ max(from, start()), ascending, at most `limit`, as last committed by any process.
   * Offsets below start() were compacted: a reader that needs them must compare its position with start().
   */
  read(from: number, limit: number): LoggedRecord[];

  /** The next offset to be assigned (== records ever appended), as last committed by any process. */
  end(): number;

  /** The first offset still held: records below it were compacted away. */
  start(): number;

  /**
   * Drops the records with offset < before (clamped to end()), and their eventIds: a retry of a compacted
   * record's eventId is then appended again, so compact only what no client still retries. Returns how many
   * records were dropped. Durable when it resolves.
   */
  compact(before: number): Promise<number>;

  /**
   * The first offset, at or after start(), whose record's `ts` is ≥ ts (end() when none): every record before
   * it is older than ts, which is what `compact --before DATE` needs. A scan of the held records.
   */
  offsetAtTime(ts: number): number;

  /** Stores (replaces) a named snapshot and the offset it covers; durable when it resolves. */
  putCheckpoint(key: string, bytes: Uint8Array, offset: number): Promise<void>;

  /** The named snapshot, or undefined. */
  getCheckpoint(key: string): Checkpoint | undefined;

  /** start, end and sizes. */
  stats(): EventLogStats;

  /** Waits for pending appends and closes the log; later calls fail. */
  close(): Promise<void>;
}
