/**
 * Filters over a merged pool (DESIGN §7, issue 16 item 6). Each takes the pool's items (the first n), a
 * `dropped` array parallel to them — 0 for an entry still in, otherwise the reason code of the first filter that
 * dropped it — marks the entries it drops and returns how many. Entries already dropped are left alone, so the
 * reasons tell a request's stats why each candidate went, and nothing moves in the pool (its provenance rows
 * stay aligned). All are O(n) over flat arrays and stamped sets; none allocates.
 */
import { SimrecError } from '../core/errors.ts';
import type { EngagementCounters } from './counters.ts';
import type { StampCounts, StampSet } from './stamps.ts';

/** Why an entry was dropped (the value written to `dropped`). */
export const DROP = {
  /** In the exclude set: engaged, hidden, denied, or the request's own exclusions. */
  excluded: 1,
  /** Not in the allow set. */
  notAllowed: 2,
  /** Authored by the user. */
  own: 3,
  /** Older than the age window. */
  tooOld: 4,
  /** Newer than the age window. */
  tooNew: 5,
  /** Beyond the per-author cap. */
  authorCap: 6,
  /** Shown to the user more than the allowed number of times. */
  seen: 7,
} as const;

export type DropReason = (typeof DROP)[keyof typeof DROP];

/** Drops the entries whose item is in `exclude`. */
export function excludeItems(items: Int32Array, n: number, dropped: Uint8Array, exclude: StampSet): number {
  let count = 0;
  for (let e = 0; e < n; e++)
    if (dropped[e] === 0 && exclude.has(items[e])) {
      dropped[e] = DROP.excluded;
      count++;
    }
  return count;
}

/** Drops the entries whose item is not in `allow`. */
export function allowOnly(items: Int32Array, n: number, dropped: Uint8Array, allow: StampSet): number {
  let count = 0;
  for (let e = 0; e < n; e++)
    if (dropped[e] === 0 && !allow.has(items[e])) {
      dropped[e] = DROP.notAllowed;
      count++;
    }
  return count;
}

/**
 * Drops the user's own items: those whose author (authorOf[item], −1 for none) is `user`, the user's index
 * among producers (−1 when the user authors nothing, which drops nothing).
 */
export function excludeOwn(
  items: Int32Array,
  n: number,
  dropped: Uint8Array,
  authorOf: Int32Array,
  user: number,
): number {
  if (user < 0) return 0;
  let count = 0;
  for (let e = 0; e < n; e++) {
    const item = items[e];
    if (dropped[e] === 0 && item < authorOf.length && authorOf[item] === user) {
      dropped[e] = DROP.own;
      count++;
    }
  }
  return count;
}

/**
 * Keeps items created between maxAgeHours and minAgeHours before `now` (Unix seconds; either bound may be
 * undefined). An item whose creation time is unknown (NaN, or beyond createdAt) is kept: the window is about
 * freshness, and an item without a date was not shown to be stale.
 */
export function ageWindow(
  items: Int32Array,
  n: number,
  dropped: Uint8Array,
  createdAt: Float64Array,
  now: number,
  window: { minAgeHours?: number; maxAgeHours?: number },
): number {
  const { minAgeHours, maxAgeHours } = window;
  if (!Number.isFinite(now))
    throw new SimrecError('CONFIG_INVALID', `age window: now must be a finite time, got ${now}`, {
      field: 'now',
    });
  for (const [field, v] of [
    ['minAgeHours', minAgeHours],
    ['maxAgeHours', maxAgeHours],
  ] as const)
    if (v !== undefined && !(v >= 0))
      throw new SimrecError('CONFIG_INVALID', `${field} must be ≥ 0, got ${v}`, { field });
  const newest = minAgeHours === undefined ? Number.POSITIVE_INFINITY : now - minAgeHours * 3600;
  const oldest = maxAgeHours === undefined ? Number.NEGATIVE_INFINITY : now - maxAgeHours * 3600;
  let count = 0;
  for (let e = 0; e < n; e++) {
    if (dropped[e] !== 0) continue;
    const item = items[e];
    const ts = item < createdAt.length ? createdAt[item] : Number.NaN;
    if (ts < oldest) {
      dropped[e] = DROP.tooOld;
      count++;
    } else if (ts > newest) {
      dropped[e] = DROP.tooNew;
      count++;
    }
  }
  return count;
}

/** Drops the items shown to the user more than `maxImpressions` times (the user's own counters). */
export function excludeSeen(
  items: Int32Array,
  n: number,
  dropped: Uint8Array,
  seen: EngagementCounters,
  maxImpressions: number,
): number {
  let count = 0;
  for (let e = 0; e < n; e++)
    if (dropped[e] === 0 && seen.impressions(items[e]) > maxImpressions) {
      dropped[e] = DROP.seen;
      count++;
    }
  return count;
}

/**
 * At most `maxPerAuthor` entries per author, keeping the first ones: call it on a pool ordered best first.
 * Items without an author (−1) are not capped. `perAuthor` is cleared here and reused across requests.
 */
export function capPerAuthor(
  items: Int32Array,
  n: number,
  dropped: Uint8Array,
  authorOf: Int32Array,
  maxPerAuthor: number,
  perAuthor: StampCounts,
): number {
  if (!Number.isInteger(maxPerAuthor) || maxPerAuthor < 1)
    throw new SimrecError('CONFIG_INVALID', `maxPerAuthor must be a positive integer, got ${maxPerAuthor}`, {
      field: 'maxPerAuthor',
    });
  perAuthor.clear();
  let count = 0;
  for (let e = 0; e < n; e++) {
    if (dropped[e] !== 0) continue;
    const item = items[e];
    const author = item < authorOf.length ? authorOf[item] : -1;
    if (author < 0) continue;
    if (perAuthor.increment(author) >= maxPerAuthor) {
      dropped[e] = DROP.authorCap;
      count++;
    }
  }
  return count;
}

/**
 * The diversity discount by position: walking a pool ordered best first, the j-th kept item (0-based) of an
 * author has its score multiplied by factor^j. For non-negative scores (probabilities) an author's discounted
 * scores still decrease in j, so sorting by them gives exactly what re-ranking greedily with the discount
 * would. Dropped entries are skipped and do not count. `perAuthor` is cleared here.
 */
export function diversityDiscount(
  items: Int32Array,
  n: number,
  dropped: Uint8Array,
  scores: Float32Array | Float64Array,
  authorOf: Int32Array,
  factor: number,
  perAuthor: StampCounts,
): void {
  if (!(factor >= 0 && factor <= 1))
    throw new SimrecError('CONFIG_INVALID', `diversity factor must be in [0, 1], got ${factor}`, {
      field: 'diversity',
    });
  perAuthor.clear();
  for (let e = 0; e < n; e++) {
    if (dropped[e] !== 0) continue;
    const item = items[e];
    const author = item < authorOf.length ? authorOf[item] : -1;
    if (author < 0) continue;
    const j = perAuthor.increment(author);
    if (j > 0) scores[e] *= factor ** j;
  }
}
