/**
 * The embedded event log: one LMDB environment in `<artifacts>/events/` (layout.ts), shared by every process
 * that serves or imports into that artifact location.
 *
 * Inside it, four named databases:
 *   records      offset (number key) → the record as a msgpack tuple (encodeRecord below)
 *   ids          sha256(eventId) (32 bytes) → offset, for idempotent appends
 *   meta         'start' → first offset held, 'end' → next offset to assign
 *   checkpoints  name → float64 offset (8 bytes, little-endian) · snapshot bytes
 *
 * Durability: the environment is opened without lmdb-js's default `overlappingSync`, under which a write's
 * promise resolves once the transaction is committed (visible) but before it is flushed to disk. Without it,
 * each commit fsyncs before it is reported, so an append resolves only when its batch is on disk.
 *
 * Concurrency: lmdb-js queues asynchronous transaction callbacks and runs every callback queued in one event
 * turn (and those queued while the previous commit was flushing) in one LMDB write transaction, which is one
 * fsync for many batches: group commit. Each batch runs in its own child transaction, so a batch that fails
 * leaves no trace in the others. Offsets are allocated inside the write transaction, which holds LMDB's
 * cross-process write lock, from `meta.end` as last committed by any process: dense and unique however many
 * processes append.
 */
import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Database, open, type RootDatabase } from 'lmdb';
import { SimrecError } from '../../core/errors.ts';
import type { ItemEvent, LoggedRecord, LogRecord, UserEvent } from '../../core/event.ts';
import type { AppendResult, Checkpoint, EventLog, EventLogStats } from '../event-log.ts';
import { fsyncDir, ioError, withIo } from './fs-util.ts';
import { DATA_FILE, EVENTS_DIR } from './layout.ts';

/** Records removed per write transaction by compact (bounds how long one transaction holds the write lock). */
const COMPACT_CHUNK = 10_000;

type Tuple = (string | number | string[] | null)[];

const TARGET_FIELDS = ['itemId', 'producerId', 'topic'] as const;

/**
 * A record as a positional tuple (no field names stored):
 *   user event  [action, userId, target field (0 itemId, 1 producerId, 2 topic), target, ts, weight, eventId?]
 *   item event  [action, itemId, ts, eventId, authorId, createdTs, tags], trailing absent fields dropped
 */
export function encodeRecord(r: LogRecord): Tuple {
  if (r.action === 'item_upsert' || r.action === 'item_delete') {
    const e = r as ItemEvent;
    const t: Tuple = [
      e.action,
      e.itemId,
      e.ts,
      e.eventId ?? null,
      e.authorId ?? null,
      e.createdTs ?? null,
      e.tags ?? null,
    ];
    while (t[t.length - 1] === null) t.pop();
    return t;
  }
  const e = r as UserEvent;
  const f = e.itemId !== undefined ? 0 : e.producerId !== undefined ? 1 : 2;
  const target = f === 0 ? e.itemId : f === 1 ? e.producerId : e.topic;
  const t: Tuple = [e.action, e.userId, f, target ?? null, e.ts, e.weight];
  if (e.eventId !== undefined) t.push(e.eventId);
  return t;
}

/** The inverse of encodeRecord, with the offset added. */
export function decodeRecord(t: Tuple, offset: number): LoggedRecord {
  const action = t[0] as string;
  if (action === 'item_upsert' || action === 'item_delete') {
    const r: ItemEvent & { offset: number } = {
      action,
      itemId: t[1] as string,
      ts: t[2] as number,
      offset,
    };
    if (t[3] != null) r.eventId = t[3] as string;
    if (t[4] != null) r.authorId = t[4] as string;
    if (t[5] != null) r.createdTs = t[5] as number;
    if (t[6] != null) r.tags = t[6] as string[];
    return r;
  }
  const r: UserEvent & { offset: number } = {
    userId: t[1] as string,
    action,
    ts: t[4] as number,
    weight: t[5] as number,
    offset,
  };
  r[TARGET_FIELDS[t[2] as number]] = t[3] as string;
  if (t.length > 6) r.eventId = t[6] as string;
  return r;
}

function eventIdOf(t: Tuple): string | undefined {
  const action = t[0];
  const id = action === 'item_upsert' || action === 'item_delete' ? t[3] : t[6];
  return typeof id === 'string' ? id : undefined;
}

/**
 * crypto.hash (Node ≥ 20.12): the same digest in one call, without a Hash object per eventId, which showed in
 * the profile of the events route (100 ids per batch). Older Node takes createHash.
 */
const oneShotHash = (
  crypto as unknown as { hash?: (algorithm: string, data: string, encoding: 'buffer') => Buffer }
).hash;

/** The ids key of an eventId: a fixed-size digest, since an id of 1024 characters can exceed LMDB's key limit. */
function idKey(eventId: string): Buffer {
  return oneShotHash
    ? oneShotHash('sha256', eventId, 'buffer')
    : createHash('sha256').update(eventId, 'utf8').digest();
}

function checkOffset(v: number, what: string): void {
  if (!Number.isSafeInteger(v) || v < 0)
    throw new SimrecError('CONFIG_INVALID', `${what} must be an integer ≥ 0, got ${v}`, { field: what });
}

export class LmdbEventLog implements EventLog {
  readonly location: string;
  private readonly env: RootDatabase;
  private readonly records: Database<Tuple, number>;
  private readonly ids: Database<number, Buffer>;
  private readonly meta: Database<number, string>;
  private readonly checkpoints: Database<Buffer, string>;
  private closed = false;

  /**
   * Opens (creating when absent) the log in `<root>/events/`.
   * @throws SimrecError ARTIFACT_IO when the directory cannot be created or the environment opened
   */
  constructor(root: string) {
    const dir = join(resolve(root), EVENTS_DIR);
    this.location = dir;
    const created = !existsSync(join(dir, DATA_FILE));
    this.env = withIo(dir, 'open the event log in', () =>
      open({ path: dir, maxDbs: 8, overlappingSync: false, compression: false }),
    );
    try {
      this.records = this.env.openDB<Tuple, number>({ name: 'records' });
      this.ids = this.env.openDB<number, Buffer>({ name: 'ids', keyEncoding: 'binary' });
      this.meta = this.env.openDB<number, string>({ name: 'meta' });
      this.checkpoints = this.env.openDB<Buffer, string>({ name: 'checkpoints', encoding: 'binary' });
    } catch (e) {
      void this.env.close();
      throw ioError(e, dir, 'open the databases of the event log in');
    }
    if (created) {
      // The files LMDB just created must outlive a machine crash too, not only their contents.
      fsyncDir(dir);
      fsyncDir(resolve(root));
    }
  }

  /** Factory form of the constructor (for code that receives a log factory by module and name). */
  static open(root: string): LmdbEventLog {
    return new LmdbEventLog(root);
  }

  private assertOpen(): void {
    if (this.closed)
      throw new SimrecError('INTERNAL', `the event log ${this.location} is closed`, { file: this.location });
  }

  async append(batch: readonly LogRecord[]): Promise<AppendResult> {
    this.assertOpen();
    const n = batch.length;
    if (n === 0) return { offsets: [], appended: 0, duplicates: 0 };
    // Encoding and hashing happen before the transaction, so the write lock is held only for the puts.
    const tuples = new Array<Tuple>(n);
    const keys = new Array<Buffer | null>(n);
    for (let i = 0; i < n; i++) {
      tuples[i] = encodeRecord(batch[i]);
      const id = batch[i].eventId;
      keys[i] = id === undefined ? null : idKey(id);
    }
    try {
      return await this.env.childTransaction(() => {
        let end = this.meta.get('end') ?? 0;
        const offsets = new Array<number>(n);
        let appended = 0;
        for (let i = 0; i < n; i++) {
          const key = keys[i];
          if (key !== null) {
            // Reads inside the transaction see its own writes, so a repeat within the batch finds the first.
            const prev = this.ids.get(key);
            if (prev !== undefined) {
              offsets[i] = prev;
              continue;
            }
            this.ids.putSync(key, end);
          }
          this.records.putSync(end, tuples[i]);
          offsets[i] = end++;
          appended++;
        }
        if (appended > 0) this.meta.putSync('end', end);
        return { offsets, appended, duplicates: n - appended };
      });
    } catch (e) {
      throw ioError(e, this.location, 'append to the event log');
    }
  }

  read(from: number, limit: number): LoggedRecord[] {
    this.assertOpen();
    checkOffset(from, 'from');
    checkOffset(limit, 'limit');
    // Another process may have appended since this process's read snapshot was taken.
    this.env.resetReadTxn();
    const first = Math.max(from, this.meta.get('start') ?? 0);
    const out: LoggedRecord[] = [];
    if (limit === 0) return out;
    for (const { key, value } of this.records.getRange({ start: first, limit }))
      out.push(decodeRecord(value, key));
    return out;
  }

  end(): number {
    this.assertOpen();
    this.env.resetReadTxn();
    return this.meta.get('end') ?? 0;
  }

  start(): number {
    this.assertOpen();
    this.env.resetReadTxn();
    return this.meta.get('start') ?? 0;
  }

  async compact(before: number): Promise<number> {
    this.assertOpen();
    checkOffset(before, 'before');
    let dropped = 0;
    for (;;) {
      let n: number;
      try {
        n = await this.env.childTransaction(() => {
          const start = this.meta.get('start') ?? 0;
          const stop = Math.min(before, this.meta.get('end') ?? 0, start + COMPACT_CHUNK);
          if (stop <= start) return 0;
          const entries = [...this.records.getRange({ start, end: stop })];
          for (const { key, value } of entries) {
            const id = eventIdOf(value);
            if (id !== undefined) {
              const k = idKey(id);
              // Only the entry this record made: a later record can never own the same eventId, but be exact.
              if (this.ids.get(k) === key) this.ids.removeSync(k);
            }
            this.records.removeSync(key);
          }
          this.meta.putSync('start', stop);
          return stop - start;
        });
      } catch (e) {
        throw ioError(e, this.location, 'compact the event log');
      }
      if (n === 0) return dropped;
      dropped += n;
    }
  }

  offsetAtTime(ts: number): number {
    this.assertOpen();
    this.env.resetReadTxn();
    const start = this.meta.get('start') ?? 0;
    const end = this.meta.get('end') ?? 0;
    for (const { key, value } of this.records.getRange({ start, end })) {
      const t = value[0] === 'item_upsert' || value[0] === 'item_delete' ? value[2] : value[4];
      if ((t as number) >= ts) return key;
    }
    return end;
  }

  async putCheckpoint(key: string, bytes: Uint8Array, offset: number): Promise<void> {
    this.assertOpen();
    checkOffset(offset, 'offset');
    const buf = Buffer.allocUnsafe(8 + bytes.byteLength);
    buf.writeDoubleLE(offset, 0);
    buf.set(bytes, 8);
    try {
      await this.checkpoints.put(key, buf);
    } catch (e) {
      throw ioError(e, this.location, `write checkpoint '${key}' to`);
    }
  }

  getCheckpoint(key: string): Checkpoint | undefined {
    this.assertOpen();
    this.env.resetReadTxn();
    const buf = this.checkpoints.get(key);
    if (buf === undefined) return undefined;
    if (buf.length < 8)
      throw new SimrecError('ARTIFACT_CORRUPT', `checkpoint '${key}' in ${this.location} is truncated`, {
        file: this.location,
      });
    // A copy: the buffer lmdb-js returns is reused by its next read.
    return { offset: buf.readDoubleLE(0), bytes: new Uint8Array(buf.subarray(8)) };
  }

  stats(): EventLogStats {
    this.assertOpen();
    this.env.resetReadTxn();
    const start = this.meta.get('start') ?? 0;
    const end = this.meta.get('end') ?? 0;
    const count = (stats: unknown) => (stats as { entryCount: number }).entryCount;
    const file = join(this.location, DATA_FILE);
    return {
      start,
      end,
      records: end - start,
      eventIds: count(this.ids.getStats()),
      checkpoints: count(this.checkpoints.getStats()),
      diskBytes: existsSync(file) ? statSync(file).size : 0,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.env.close();
  }
}
