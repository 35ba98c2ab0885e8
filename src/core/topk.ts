/**
 * Top-k selection without sorting everything and without allocating per call.
 *
 * One order is used throughout: a higher score ranks first, and equal scores rank the smaller id first. The
 * result is therefore the first k entries of a full sort by that order, whatever order the entries arrive in,
 * so two runs that push the same set in different orders (threads, hash iteration) agree exactly.
 * NaN scores are skipped: they have no place in a total order and would otherwise poison the heap.
 *
 * Both selectors keep a bounded binary min-heap whose root is the *worst* kept entry, so a candidate that does
 * not beat the root is rejected with one comparison, and an accepted one costs O(log k).
 */
import { SimrecError } from './errors.ts';

/** Largest k a {@link TopK} accepts: its buffers are allocated up front (12 bytes per slot). */
export const TOPK_MAX_CAPACITY = 1 << 26;

/**
 * A bounded heap of (id, score) over parallel typed arrays, reused across queries: `reset()`, `push()` many
 * times, `drainSorted()` once. Scores are kept in float64 so pushing float32 or float64 scores loses nothing.
 * Each id should be pushed at most once between resets; the heap does not deduplicate.
 */
export class TopK {
  /** The k this heap keeps. */
  readonly capacity: number;
  private readonly ids: Int32Array;
  private readonly scores: Float64Array;
  private n = 0;

  constructor(k: number) {
    if (!Number.isInteger(k) || k < 0 || k > TOPK_MAX_CAPACITY)
      throw new SimrecError(
        'CONFIG_INVALID',
        `top-k size must be an integer in [0, ${TOPK_MAX_CAPACITY}], got ${k}`,
        {
          field: 'k',
        },
      );
    this.capacity = k;
    this.ids = new Int32Array(k);
    this.scores = new Float64Array(k);
  }

  /** Entries currently kept (≤ capacity). */
  get size(): number {
    return this.n;
  }

  get isFull(): boolean {
    return this.n === this.capacity;
  }

  /**
   * The score a new entry must reach to be kept: the current k-th best score once full (an equal score still
   * enters when its id is smaller than the k-th best's), −Infinity before. Callers use it to prune work early.
   */
  get threshold(): number {
    if (this.n < this.capacity) return Number.NEGATIVE_INFINITY;
    return this.capacity === 0 ? Number.POSITIVE_INFINITY : this.scores[0];
  }

  /** Empties the heap, keeping its buffers. */
  reset(): void {
    this.n = 0;
  }

  /**
   * Offers an entry. Returns whether it was kept (it may still be evicted later). NaN scores are never kept.
   * `id` must be an int32.
   */
  push(id: number, score: number): boolean {
    const ids = this.ids;
    const scores = this.scores;
    const n = this.n;
    if (n < this.capacity) {
      if (Number.isNaN(score)) return false;
      // Sift up: move parents that are better than the new entry down one level.
      let i = n;
      while (i > 0) {
        const p = (i - 1) >> 1;
        const ps = scores[p];
        if (ps < score || (ps === score && ids[p] > id)) break;
        ids[i] = ids[p];
        scores[i] = ps;
        i = p;
      }
      ids[i] = id;
      scores[i] = score;
      this.n = n + 1;
      return true;
    }
    if (n === 0) return false;
    // Full: keep only what beats the worst kept entry (NaN fails both comparisons).
    const rs = scores[0];
    if (!(score > rs || (score === rs && id < ids[0]))) return false;
    siftDown(ids, scores, n, id, score);
    return true;
  }

  /**
   * Writes the kept entries into outIds/outScores (indices 0..count−1) best first — score descending, ties by
   * smaller id — and empties the heap. Returns count. The output arrays must hold at least `size` entries;
   * float32 output rounds the scores, the order is decided on the exact ones.
   */
  drainSorted(outIds: Int32Array, outScores: Float32Array | Float64Array): number {
    const count = this.n;
    if (outIds.length < count || outScores.length < count)
      throw new SimrecError(
        'INTERNAL',
        `TopK.drainSorted: output buffers hold ${Math.min(outIds.length, outScores.length)} entries, need ${count}`,
      );
    const ids = this.ids;
    const scores = this.scores;
    // Heap sort: the root is the worst of what remains, so it fills the output from the back.
    for (let last = count - 1; last >= 0; last--) {
      outIds[last] = ids[0];
      outScores[last] = scores[0];
      if (last > 0) siftDown(ids, scores, last, ids[last], scores[last]);
    }
    this.n = 0;
    return count;
  }

  /**
   * Writes the kept entries into outIds/outScores in no particular order and empties the heap; for callers
   * that rescore the set anyway, where sorting it first would be wasted work. Returns count.
   */
  drainUnordered(outIds: Int32Array, outScores: Float32Array | Float64Array): number {
    const count = this.n;
    if (outIds.length < count || outScores.length < count)
      throw new SimrecError(
        'INTERNAL',
        `TopK.drainUnordered: output buffers hold ${Math.min(outIds.length, outScores.length)} entries, need ${count}`,
      );
    outIds.set(this.ids.subarray(0, count));
    for (let j = 0; j < count; j++) outScores[j] = this.scores[j];
    this.n = 0;
    return count;
  }
}

/** Places (id, score) at the root of the heap ids/scores[0..n) and restores the min-heap order. */
function siftDown(ids: Int32Array, scores: Float64Array, n: number, id: number, score: number): void {
  let i = 0;
  for (;;) {
    let c = 2 * i + 1;
    if (c >= n) break;
    let cs = scores[c];
    const r = c + 1;
    if (r < n) {
      const rsc = scores[r];
      if (rsc < cs || (rsc === cs && ids[r] > ids[c])) {
        c = r;
        cs = rsc;
      }
    }
    // Stop once the worse child is no worse than the entry being placed.
    if (cs > score || (cs === score && ids[c] < id)) break;
    ids[i] = ids[c];
    scores[i] = cs;
    i = c;
  }
  ids[i] = id;
  scores[i] = score;
}

/**
 * The k best positions of a score array, written to outIds[0..count) with their scores in outScores, best
 * first (score descending, ties by smaller position). Returns count = min(k, number of non-NaN candidates).
 *
 * With `candidates`, only positions candidates[0..nCandidates) are considered — the "touched" list of a sparse
 * accumulation — so the cost is O(nCandidates · log k), independent of scores.length; candidates should be
 * distinct. outIds doubles as the heap, so nothing is allocated; it and outScores must hold min(k, n) entries.
 */
export function topKIndices(
  scores: Float32Array | Float64Array,
  k: number,
  outIds: Int32Array,
  outScores: Float32Array | Float64Array,
  candidates?: Int32Array,
  nCandidates: number = candidates ? candidates.length : 0,
): number {
  if (!Number.isInteger(k) || k < 0)
    throw new SimrecError('CONFIG_INVALID', `top-k size must be a non-negative integer, got ${k}`, {
      field: 'k',
    });
  if (candidates && (!Number.isInteger(nCandidates) || nCandidates < 0 || nCandidates > candidates.length))
    throw new SimrecError(
      'INTERNAL',
      `topKIndices: nCandidates ${nCandidates} outside [0, ${candidates.length}] (the candidate list length)`,
    );
  const total = candidates ? nCandidates : scores.length;
  const cap = Math.min(k, total);
  if (outIds.length < cap || outScores.length < cap)
    throw new SimrecError(
      'INTERNAL',
      `topKIndices: output buffers hold ${Math.min(outIds.length, outScores.length)} entries, need ${cap}`,
    );
  if (cap === 0) return 0;
  const heap = outIds;
  const len = scores.length;
  let size = 0;
  // The heap stores positions only and reads scores through them, so the comparisons use the exact input
  // scores even when outScores is float32.
  for (let t = 0; t < total; t++) {
    const id = candidates ? candidates[t] : t;
    if (candidates && (id < 0 || id >= len))
      throw new SimrecError('INTERNAL', `topKIndices: candidate ${id} outside [0, ${len})`);
    const s = scores[id];
    if (Number.isNaN(s)) continue;
    if (size < cap) {
      let i = size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        const pid = heap[p];
        const ps = scores[pid];
        if (ps < s || (ps === s && pid > id)) break;
        heap[i] = pid;
        i = p;
      }
      heap[i] = id;
      continue;
    }
    const root = heap[0];
    const rs = scores[root];
    if (!(s > rs || (s === rs && id < root))) continue;
    siftDownIndirect(heap, scores, size, id, s);
  }
  for (let last = size - 1; last > 0; last--) {
    const worst = heap[0];
    const moved = heap[last];
    heap[last] = worst;
    siftDownIndirect(heap, scores, last, moved, scores[moved]);
  }
  for (let j = 0; j < size; j++) outScores[j] = scores[heap[j]];
  return size;
}

/** {@link siftDown} for a heap of positions keyed by scores[position]. */
function siftDownIndirect(
  heap: Int32Array,
  scores: Float32Array | Float64Array,
  n: number,
  id: number,
  score: number,
): void {
  let i = 0;
  for (;;) {
    let c = 2 * i + 1;
    if (c >= n) break;
    let cid = heap[c];
    let cs = scores[cid];
    const r = c + 1;
    if (r < n) {
      const rid = heap[r];
      const rsc = scores[rid];
      if (rsc < cs || (rsc === cs && rid > cid)) {
        c = r;
        cid = rid;
        cs = rsc;
      }
    }
    if (cs > score || (cs === score && cid < id)) break;
    heap[i] = cid;
    i = c;
  }
  heap[i] = id;
}

/**
 * Moves the best min(k, n) entries of the parallel arrays ids/scores[0..n) to their front, in no particular
 * order, by quickselect: O(n) expected against a heap's O(n log k), for callers that rescore or rank the
 * selected set anyway. Same order as {@link TopK} (higher score first, ties by smaller id; ids must be
 * distinct), so it selects exactly the set a TopK of capacity k would keep. Scores must not be NaN.
 * Returns min(k, n).
 */
export function selectTop(ids: Int32Array, scores: Float64Array, n: number, k: number): number {
  if (k >= n) return n;
  if (k <= 0) return 0;
  let lo = 0;
  let hi = n - 1;
  // Invariant: the entries before lo are all better than those from lo on, those after hi all worse than
  // those up to hi, and position k − 1 (the k-th best) lies in [lo, hi].
  while (hi > lo) {
    // Median of three as the pivot, so sorted or tied inputs do not degrade to quadratic time.
    const mid = (lo + hi) >>> 1;
    if (better(ids, scores, mid, lo)) swap(ids, scores, mid, lo);
    if (better(ids, scores, hi, lo)) swap(ids, scores, hi, lo);
    if (better(ids, scores, hi, mid)) swap(ids, scores, hi, mid);
    const ps = scores[mid];
    const pid = ids[mid];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (scores[i] > ps || (scores[i] === ps && ids[i] < pid)) i++;
      while (scores[j] < ps || (scores[j] === ps && ids[j] > pid)) j--;
      if (i <= j) {
        swap(ids, scores, i, j);
        i++;
        j--;
      }
    }
    if (k - 1 <= j) hi = j;
    else if (k - 1 >= i) lo = i;
    else break;
  }
  return k;
}

/** Whether entry a ranks before entry b. */
function better(ids: Int32Array, scores: Float64Array, a: number, b: number): boolean {
  return scores[a] > scores[b] || (scores[a] === scores[b] && ids[a] < ids[b]);
}

function swap(ids: Int32Array, scores: Float64Array, a: number, b: number): void {
  const id = ids[a];
  ids[a] = ids[b];
  ids[b] = id;
  const s = scores[a];
  scores[a] = scores[b];
  scores[b] = s;
}

/**
 * Inserts (id, score) into the ranked prefix outIds/outScores[0..n) — score descending, ties by smaller id — by
 * shifting worse entries one place down; the arrays must hold n + 1 entries. For short lists that arrive
 * nearly in order (an ANN backend's answer, a small candidate set), where a heap would cost more.
 */
export function insertRanked(
  outIds: Int32Array,
  outScores: Float32Array,
  n: number,
  id: number,
  score: number,
): void {
  let i = n;
  while (i > 0) {
    const ps = outScores[i - 1];
    if (ps > score || (ps === score && outIds[i - 1] < id)) break;
    outScores[i] = ps;
    outIds[i] = outIds[i - 1];
    i--;
  }
  outIds[i] = id;
  outScores[i] = score;
}
