/**
 * Item-based collaborative filtering over the version's engagement log, the ranker's `co_engagement` feature
 * (features.ts): for a subject with items H and a candidate item i,
 *
 *   Σ over i's users v of |v's items ∩ H| / √|v's items|, divided by √|i's users| · √|H|
 *
 * — a cosine between the users of i and the users who share the subject's items. One walk over the users of H
 * per request fills a per-user buffer; each candidate then reads its own users.
 *
 * Both reads are bounded so a request's cost does not grow with the log: at most `maxItems` of H (an even stride
 * over its distinct items), at most `walkBudget` user entries in the walk (shared evenly by those items), and at
 * most `maxCandidateUsers` of a candidate's users. A sampled read stands for the full one (each entry weighted by
 * full / sampled), so the feature estimates the same quantity; below the bounds it is exact.
 */
import { CsrMatrix } from '../core/csr.ts';
import { distinctSorted, evenStride } from '../core/int-sets.ts';
import { lowerBound } from '../core/sparse.ts';

export interface CoEngagement {
  /** items × users, one entry per distinct pair, rows sorted by user. */
  itemUsers: CsrMatrix;
  /** Per user: the distinct items engaged with. */
  userDegree: Float32Array;
}

export interface CoEngagementLimits {
  maxItems: number;
  walkBudget: number;
  maxCandidateUsers: number;
}

export const CO_ENGAGEMENT_LIMITS: CoEngagementLimits = {
  maxItems: 1000,
  walkBudget: 400_000,
  maxCandidateUsers: 1000,
};

/** The log's distinct pairs (its rows are sorted by item, so repeats are adjacent), transposed. */
export function coEngagement(log: CsrMatrix): CoEngagement {
  const indptr = new Int32Array(log.nRows + 1);
  const indices = new Int32Array(log.nnz);
  const userDegree = new Float32Array(log.nRows);
  let n = 0;
  for (let u = 0; u < log.nRows; u++) {
    let prev = -1;
    for (let j = log.indptr[u]; j < log.indptr[u + 1]; j++) {
      const i = log.indices[j];
      if (i === prev) continue;
      indices[n++] = i;
      prev = i;
    }
    indptr[u + 1] = n;
    userDegree[u] = n - indptr[u];
  }
  const distinct = new CsrMatrix(log.nRows, log.nCols, indptr, indices.slice(0, n), null);
  return { itemUsers: distinct.transpose(), userDegree };
}

/** A subject's side of the feature: per user its (estimated) shared-item count over √ its degree. */
export class CoEngagementWalk {
  /** Per version user v: |v's items ∩ H| / √|v's items| (zero for users not touched). */
  private readonly coUser: Float32Array;
  private readonly touched: Int32Array;
  private nTouched = 0;
  /** √|H| over the subject's items the log knows; 0 when there are none (the feature is then 0). */
  private norm = 0;

  constructor(
    private readonly co: CoEngagement,
    private readonly limits: CoEngagementLimits = CO_ENGAGEMENT_LIMITS,
  ) {
    const nUsers = Math.max(1, co.itemUsers.nCols);
    this.coUser = new Float32Array(nUsers);
    this.touched = new Int32Array(nUsers);
  }

  /** Walks the users of the subject's items (any order, repeats allowed; items the log lacks are ignored). */
  set(engaged: ArrayLike<number>): void {
    this.clear();
    const m = this.co.itemUsers;
    const all = distinctSorted(engaged);
    // Items the log lacks (new ones) sort last.
    const n = lowerBound(all, m.nRows);
    if (n === 0) return;
    const items = evenStride(all.subarray(0, n), this.limits.maxItems);
    const perItem = Math.max(1, Math.floor(this.limits.walkBudget / items.length));
    for (let t = 0; t < items.length; t++) {
      const j = items[t];
      const from = m.indptr[j];
      const len = m.indptr[j + 1] - from;
      const cnt = Math.min(len, perItem);
      const w = (n / items.length) * (len / cnt);
      for (let q = 0; q < cnt; q++) {
        const v = m.indices[from + (cnt === len ? q : Math.floor((q * len) / cnt))];
        if (this.coUser[v] === 0) this.touched[this.nTouched++] = v;
        this.coUser[v] += w;
      }
    }
    const deg = this.co.userDegree;
    for (let t = 0; t < this.nTouched; t++) {
      const v = this.touched[t];
      this.coUser[v] /= Math.sqrt(deg[v]);
    }
    this.norm = Math.sqrt(n);
  }

  get active(): boolean {
    return this.norm > 0;
  }

  /** Item i's co-engagement with the subject set last; 0 without a subject or users. */
  of(i: number): number {
    const m = this.co.itemUsers;
    if (this.norm === 0 || i >= m.nRows) return 0;
    const from = m.indptr[i];
    const len = m.indptr[i + 1] - from;
    if (len === 0) return 0;
    const cnt = Math.min(len, this.limits.maxCandidateUsers);
    let s = 0;
    if (cnt === len) for (let k = from; k < from + len; k++) s += this.coUser[m.indices[k]];
    else {
      for (let q = 0; q < cnt; q++) s += this.coUser[m.indices[from + Math.floor((q * len) / cnt)]];
      s *= len / cnt;
    }
    return s / (Math.sqrt(len) * this.norm);
  }

  clear(): void {
    for (let t = 0; t < this.nTouched; t++) this.coUser[this.touched[t]] = 0;
    this.nTouched = 0;
    this.norm = 0;
  }
}
