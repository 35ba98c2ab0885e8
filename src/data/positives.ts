/**
 * Positive interactions, the unit the build's stages, every split and every metric work on: one entry per
 * distinct (user, item) pair the user ended up positive about, with the pair's weight and the time of its latest
 * positive event.
 *
 * An engagement log can repeat pairs and undo them (`action = unfav`). A pair is positive when at least one
 * positive event with weight ≥ `minWeight` comes after the pair's last unfav (events ordered by time, unknown
 * times first, then by position in the log, the order SimClusters uses); its weight is the sum of those events'
 * weights and its time the latest of their times. So "fav, unfav" is not a positive, "fav, unfav, fav" is.
 */
import { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import { ACTION_UNFAV, type Engagements } from './dataset.ts';

/** Positive (user, item) pairs: users × items, rows sorted by item, no repeats. */
export interface Interactions {
  /** Values are the pair weights (never null). */
  readonly matrix: CsrMatrix;
  /** Aligned with the matrix entries: Unix seconds of the pair's latest positive event, NaN when unknown. */
  readonly ts: Float64Array;
}

export interface PositivesOptions {
  /** Positive events lighter than this do not count (ratings below a threshold); default 0. */
  minWeight?: number;
}

/** The positive pairs of an engagement log (see the module comment for the rule). O(nnz), no per-pair objects. */
export function positivesFromEngagements(e: Engagements, opts: PositivesOptions = {}): Interactions {
  const minWeight = opts.minWeight ?? 0;
  if (!Number.isFinite(minWeight))
    throw new SimrecError('CONFIG_INVALID', `minWeight must be finite, got ${minWeight}`, {
      field: 'minWeight',
    });
  const m = e.matrix;
  const { ts, action } = e;
  const values = m.values;
  const nnz = m.nnz;
  const indptr = new Int32Array(m.nRows + 1);
  const indices = new Int32Array(nnz);
  const weights = new Float32Array(nnz);
  const times = new Float64Array(nnz);
  let w = 0;
  for (let u = 0; u < m.nRows; u++) {
    const end = m.indptr[u + 1];
    let start = m.indptr[u];
    while (start < end) {
      const item = m.indices[start];
      let stop = start + 1;
      while (stop < end && m.indices[stop] === item) stop++;
      // The pair's last unfav, in (time, position) order with unknown times first.
      let unfavKey = Number.NEGATIVE_INFINITY;
      let unfavPos = -1;
      for (let k = start; k < stop; k++) {
        if (action[k] !== ACTION_UNFAV) continue;
        const key = Number.isNaN(ts[k]) ? Number.NEGATIVE_INFINITY : ts[k];
        if (key > unfavKey || (key === unfavKey && k > unfavPos)) {
          unfavKey = key;
          unfavPos = k;
        }
      }
      let count = 0;
      let sum = 0;
      let latest = Number.NaN;
      for (let k = start; k < stop; k++) {
        if (action[k] === ACTION_UNFAV) continue;
        const weight = values ? values[k] : 1;
        if (!(weight >= minWeight)) continue;
        const key = Number.isNaN(ts[k]) ? Number.NEGATIVE_INFINITY : ts[k];
        if (unfavPos >= 0 && !(key > unfavKey || (key === unfavKey && k > unfavPos))) continue;
        count++;
        sum += weight;
        if (!Number.isNaN(ts[k]) && !(ts[k] <= latest)) latest = ts[k];
      }
      if (count > 0) {
        indices[w] = item;
        weights[w] = sum;
        times[w] = latest;
        w++;
      }
      start = stop;
    }
    indptr[u + 1] = w;
  }
  return {
    matrix: new CsrMatrix(m.nRows, m.nCols, indptr, indices.slice(0, w), weights.slice(0, w)),
    ts: times.slice(0, w),
  };
}
