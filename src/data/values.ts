/**
 * The plausibility rules of a single value, shared by file ingestion (validate.ts, readers.ts) and event
 * validation (events.ts). Kept apart from validate.ts so the event path, which runs in every serving process,
 * does not load DuckDB.
 */
import type { TimeWindowOptions } from './dataset.ts';

/**
 * The plausible time range: timestamps outside it are bad rows. `notAfter` is by default the ingest time plus a
 * tolerance, so one far-future timestamp cannot become the model's "now" and decay everything else away.
 */
export interface TimeWindow {
  /** Unix seconds; earlier timestamps are bad. */
  notBefore: number;
  /** Unix seconds; later timestamps are bad. */
  notAfter: number;
  /** How notAfter was set, for messages (`ingest time + 86400 s`). */
  notAfterSource: string;
}

export const DEFAULT_MAX_FUTURE_SECONDS = 86400;

/** The window for an ingest that starts at `ingestTime` (Unix seconds). */
export function resolveTimeWindow(opts: TimeWindowOptions = {}, ingestTime = Date.now() / 1000): TimeWindow {
  const notBefore = opts.notBefore ?? 0;
  if (opts.notAfter !== undefined && opts.notAfter !== null) {
    return { notBefore, notAfter: opts.notAfter, notAfterSource: 'ingest.notAfter' };
  }
  const future = opts.maxFutureSeconds ?? DEFAULT_MAX_FUTURE_SECONDS;
  return {
    notBefore,
    notAfter: Math.floor(ingestTime) + future,
    notAfterSource: `ingest time ${isoTime(Math.floor(ingestTime))} + ${future} s`,
  };
}

/** Unix seconds as ISO-8601 (UTC, no milliseconds when whole), or the number when out of Date's range. */
export function isoTime(ts: number): string {
  const d = new Date(ts * 1000);
  return Number.isNaN(d.getTime()) ? String(ts) : d.toISOString().replace('.000Z', 'Z');
}

/** A weight is a rating or a count: a finite number ≥ 0 (NaN fails too). */
export function isPlausibleWeight(x: number): boolean {
  return x >= 0 && x < Number.POSITIVE_INFINITY;
}
