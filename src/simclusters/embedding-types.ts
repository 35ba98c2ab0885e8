/**
 * Types and small helpers shared by the SimClusters embedding stages (DESIGN §3.3–§3.6): the KnownFor and
 * engagement-log inputs, time decay, the pair rule for favs and unfavs, row-wise top-k selection and a growable
 * CSR row writer. Inputs are plain typed structures so the same code serves the social case (producers are
 * accounts, favs land on items they authored) and the catalogue case (producers are the items themselves).
 */
import { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import { ACTION_POSITIVE, ACTION_UNFAV } from '../data/dataset.ts';

/** One KnownFor cluster per producer (DESIGN §3.2). */
export interface KnownFor {
  /** Per producer, its cluster in [0, k), or -1 when it has none. */
  readonly cluster: Int32Array;
  /** Per producer, its KnownFor score in [0, 1] (ignored where cluster is -1). */
  readonly score: Float32Array;
  /** Number of clusters. */
  readonly k: number;
}

/** The engagement log's action codes are the data layer's (positive = 0, unfav = 1); one definition. */
export { ACTION_POSITIVE, ACTION_UNFAV };

/**
 * The engagement log: users × items, one stored entry per event (duplicates kept, adjacent in input order, as
 * `CsrMatrix.fromCoo(..., 'keep')` builds it), with per-entry timestamps and actions aligned with the entries.
 * Values are the event weights (null = every event weighs 1).
 */
export interface EngagementLog {
  readonly matrix: CsrMatrix;
  /** Unix seconds per entry; NaN = unknown. */
  readonly ts: Float64Array;
  /** {@link ACTION_POSITIVE} or {@link ACTION_UNFAV} per entry. */
  readonly action: Uint8Array;
}

export const SECONDS_PER_HOUR = 3600;
export const SECONDS_PER_DAY = 86400;

/**
 * 2^(−dt/halfLife). A null half-life means no decay; an unknown (NaN) or negative dt decays nothing, so an event
 * of unknown time counts as fresh rather than vanishing.
 */
export function decayFactor(dt: number, halfLifeSeconds: number | null): number {
  if (halfLifeSeconds === null || !(dt > 0)) return 1;
  // exp is markedly cheaper than a non-integer pow in V8, and exact at whole half-lives.
  return Math.exp(-(dt / halfLifeSeconds) * Math.LN2);
}

/** "now" for a build: the given time, or the latest known event time in the log (NaN when none is known). */
export function resolveNow(log: EngagementLog | null | undefined, now: number | null | undefined): number {
  if (now !== null && now !== undefined) return now;
  if (!log) return Number.NaN;
  let latest = -Infinity;
  const ts = log.ts;
  for (let k = 0; k < ts.length; k++) if (ts[k] > latest) latest = ts[k];
  return latest === -Infinity ? Number.NaN : latest;
}

/**
 * Event order used everywhere: by time with unknown times first, then by position in the log. True when the
 * event (tsA, posA) comes strictly after (tsB, posB).
 */
export function eventAfter(tsA: number, posA: number, tsB: number, posB: number): boolean {
  const a = Number.isNaN(tsA) ? -Infinity : tsA;
  const b = Number.isNaN(tsB) ? -Infinity : tsB;
  return a > b || (a === b && posA > posB);
}

/**
 * The net positive engagement of one (user, item) pair, from its run of log entries [start, end): the sum of
 * weight·2^(−(now−ts)/halfLife) over positive events that come after the pair's last unfav. An unfav therefore
 * removes everything the pair's earlier favs contributed, and a re-fav counts again. Events after `now` (known
 * time) have not happened yet and are ignored; 0 when nothing is left.
 */
export function pairFav(
  log: EngagementLog,
  start: number,
  end: number,
  now: number,
  halfLifeSeconds: number | null,
): number {
  const { ts, action } = log;
  const values = log.matrix.values;
  let unfavTs = -Infinity;
  let unfavPos = -1;
  for (let k = start; k < end; k++) {
    if (action[k] !== ACTION_UNFAV || ts[k] > now) continue;
    if (eventAfter(ts[k], k, unfavTs, unfavPos)) {
      unfavTs = ts[k];
      unfavPos = k;
    }
  }
  let fav = 0;
  for (let k = start; k < end; k++) {
    if (action[k] !== ACTION_POSITIVE || ts[k] > now) continue;
    if (!eventAfter(ts[k], k, unfavTs, unfavPos)) continue;
    fav += (values ? values[k] : 1) * decayFactor(now - ts[k], halfLifeSeconds);
  }
  return fav;
}

/**
 * Reorders ids[0..n) so that its first min(k, n) entries are the k first under `cmp` (a strict total order:
 * negative when a ranks before b) and returns that count. Quickselect with a median-of-three pivot: expected
 * O(n), no allocation, the kept entries are left unordered.
 */
export function selectFirst(
  ids: Int32Array,
  n: number,
  k: number,
  cmp: (a: number, b: number) => number,
): number {
  if (k <= 0 || n <= 0) return 0;
  if (n <= k) return n;
  const target = k - 1;
  let lo = 0;
  let hi = n - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    if (cmp(ids[mid], ids[lo]) < 0) swap(ids, mid, lo);
    if (cmp(ids[hi], ids[lo]) < 0) swap(ids, hi, lo);
    if (cmp(ids[hi], ids[mid]) < 0) swap(ids, hi, mid);
    const pivot = ids[mid];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (cmp(ids[i], pivot) < 0) i++;
      while (cmp(pivot, ids[j]) < 0) j--;
      if (i <= j) {
        swap(ids, i, j);
        i++;
        j--;
      }
    }
    // Hoare partition: [lo, j] ≤ pivot ≤ [i, hi], and anything strictly between equals the pivot.
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  return k;
}

function swap(a: Int32Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

/**
 * Writes a CSR matrix row by row with one or more parallel Float32 value arrays, growing its buffers by doubling.
 * Callers call {@link ensure}, write `indices[nnz]` and `values[j][nnz]`, bump `nnz`, and close each row with
 * {@link endRow}.
 */
export class CsrRowWriter {
  readonly indptr: Int32Array;
  indices: Int32Array;
  readonly values: Float32Array[];
  nnz = 0;
  private row = 0;

  constructor(
    readonly nRows: number,
    readonly nCols: number,
    initialCapacity = 1024,
    nValueArrays = 1,
  ) {
    this.indptr = new Int32Array(nRows + 1);
    const cap = Math.max(16, initialCapacity);
    this.indices = new Int32Array(cap);
    this.values = [];
    for (let j = 0; j < nValueArrays; j++) this.values.push(new Float32Array(cap));
  }

  /** Makes room for `extra` more entries. */
  ensure(extra: number): void {
    const need = this.nnz + extra;
    if (need <= this.indices.length) return;
    let cap = this.indices.length * 2;
    while (cap < need) cap *= 2;
    const indices = new Int32Array(cap);
    indices.set(this.indices.subarray(0, this.nnz));
    this.indices = indices;
    for (let j = 0; j < this.values.length; j++) {
      const values = new Float32Array(cap);
      values.set(this.values[j].subarray(0, this.nnz));
      this.values[j] = values;
    }
  }

  /** Closes the current row (rows with no entries are closed by calling this too). */
  endRow(): void {
    this.indptr[++this.row] = this.nnz;
  }

  /** The finished matrix over the first value array; closes any rows not yet written as empty. */
  finish(): CsrMatrix {
    return this.finishAll()[0];
  }

  /** One finished matrix per value array, all sharing indptr and indices. */
  finishAll(): CsrMatrix[] {
    while (this.row < this.nRows) this.endRow();
    const indices = this.indices.slice(0, this.nnz);
    return this.values.map(
      (v) => new CsrMatrix(this.nRows, this.nCols, this.indptr, indices, v.slice(0, this.nnz)),
    );
  }
}

/** An empty rows × cols matrix with Float32 values. */
export function emptyEmbedding(nRows: number, nCols: number): CsrMatrix {
  return new CsrMatrix(nRows, nCols, new Int32Array(nRows + 1), new Int32Array(0), new Float32Array(0));
}

// ---------------------------------------------------------------------------------------------------------------
// Validation. Parameters are configuration (CONFIG_INVALID, naming the key); inconsistent shapes between the
// structures a caller hands in are a bug upstream (INTERNAL); impossible values in the data itself are bad rows.

export function checkParam(stage: string, name: string, value: unknown, min: number, integer = false): void {
  const ok =
    typeof value === 'number' &&
    !Number.isNaN(value) &&
    value >= min &&
    (!integer || Number.isInteger(value));
  if (!ok) {
    throw new SimrecError(
      'CONFIG_INVALID',
      `${stage}.${name} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}, got ${String(value)}`,
      { field: `${stage}.${name}` },
    );
  }
}

/** "now": null (= derive from the log) or a finite time in Unix seconds. */
export function checkNow(stage: string, value: unknown): void {
  if (value === null) return;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new SimrecError(
      'CONFIG_INVALID',
      `${stage}.now must be null or a finite Unix time, got ${String(value)}`,
      {
        field: `${stage}.now`,
      },
    );
  }
}

/** A positive number or null (null = "none"/"unlimited"). */
export function checkNullableParam(stage: string, name: string, value: unknown): void {
  if (value === null) return;
  if (typeof value !== 'number' || !(value > 0)) {
    throw new SimrecError(
      'CONFIG_INVALID',
      `${stage}.${name} must be a positive number or null, got ${String(value)}`,
      { field: `${stage}.${name}` },
    );
  }
}

export function checkBoolean(stage: string, name: string, value: unknown): void {
  if (typeof value !== 'boolean') {
    throw new SimrecError('CONFIG_INVALID', `${stage}.${name} must be true or false, got ${String(value)}`, {
      field: `${stage}.${name}`,
    });
  }
}

export function checkChoice<T extends string>(
  stage: string,
  name: string,
  value: unknown,
  choices: readonly T[],
) {
  if (!choices.includes(value as T)) {
    throw new SimrecError(
      'CONFIG_INVALID',
      `${stage}.${name} must be one of ${choices.join(', ')}, got ${String(value)}`,
      { field: `${stage}.${name}` },
    );
  }
}

export function shapeError(what: string, field: string): SimrecError {
  return new SimrecError('INTERNAL', what, { field });
}

export function checkKnownFor(kf: KnownFor, nProducers: number): void {
  if (!Number.isInteger(kf.k) || kf.k < 0)
    throw shapeError(`knownFor.k must be an integer ≥ 0`, 'knownFor.k');
  if (kf.cluster.length !== nProducers || kf.score.length !== nProducers) {
    throw shapeError(
      `knownFor covers ${kf.cluster.length} producers (scores ${kf.score.length}), expected ${nProducers}`,
      'knownFor',
    );
  }
  for (let p = 0; p < nProducers; p++) {
    const c = kf.cluster[p];
    if (c < -1 || c >= kf.k)
      throw shapeError(`knownFor cluster ${c} of producer ${p} outside [-1, ${kf.k})`, 'knownFor');
    if (c >= 0 && !(kf.score[p] >= 0)) {
      throw shapeError(`knownFor score ${kf.score[p]} of producer ${p} is not a number ≥ 0`, 'knownFor');
    }
  }
}

/** Checks the log's alignment, actions, weights, and that rows are sorted (duplicates adjacent). */
export function checkEngagementLog(
  log: EngagementLog,
  nUsers: number,
  nItems: number,
  name = 'engagements',
): void {
  const m = log.matrix;
  if (m.nRows !== nUsers || m.nCols !== nItems) {
    throw shapeError(`${name} is ${m.nRows} × ${m.nCols}, expected ${nUsers} × ${nItems}`, name);
  }
  const nnz = m.nnz;
  if (log.ts.length !== nnz || log.action.length !== nnz) {
    throw shapeError(
      `${name}: ts (${log.ts.length}) and action (${log.action.length}) must have ${nnz} entries`,
      name,
    );
  }
  for (let k = 0; k < nnz; k++) {
    const a = log.action[k];
    if (a !== ACTION_POSITIVE && a !== ACTION_UNFAV) {
      throw new SimrecError('INPUT_BAD_ROW', `${name} entry ${k}: unknown action ${a}`, { field: 'action' });
    }
    const ts = log.ts[k];
    if (ts === Infinity || ts === -Infinity) {
      throw new SimrecError('INPUT_BAD_ROW', `${name} entry ${k}: timestamp is infinite`, { field: 'ts' });
    }
  }
  checkRowsSorted(m, name);
}

/**
 * CSR rows must be sorted by column (duplicates allowed) and in range, and weights finite and ≥ 0 (a cosine or a
 * score over negative or NaN weights would be meaningless, and NaN would spread into every output).
 */
export function checkRowsSorted(m: CsrMatrix, name: string): void {
  if (m.values) {
    for (let k = 0; k < m.values.length; k++) {
      const w = m.values[k];
      if (!(w >= 0) || w === Infinity) {
        throw new SimrecError('INPUT_BAD_ROW', `${name} entry ${k}: weight ${w} is not a finite number ≥ 0`, {
          field: 'weight',
        });
      }
    }
  }
  for (let r = 0; r < m.nRows; r++) {
    let prev = -1;
    for (let k = m.indptr[r]; k < m.indptr[r + 1]; k++) {
      const c = m.indices[k];
      if (c < prev || c >= m.nCols)
        throw shapeError(`${name}: row ${r} is not sorted by column or out of range`, name);
      prev = c;
    }
  }
}
