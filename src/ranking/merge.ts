/**
 * The merge of candidate lists from several named sources into one pool (DESIGN §7, issue 16 item 2): each item
 * once, with its provenance — for every source, its rank (−1 when the source did not return it) and score —
 * and a reciprocal-rank-fusion score as the order to use when no ranker is trained. Reused across requests:
 * the item → entry lookup is a stamped array over the catalogue, so a merge allocates nothing once warm.
 */
import { SimrecError } from '../core/errors.ts';

/** RRF's constant k (Cormack, Clarke & Büttcher 2009): an item at rank r of a source adds 1/(k + r + 1). */
export const RRF_K = 60;

/** At most this many sources: each entry records which ones returned it as bits of an Int32. */
export const MAX_SOURCES = 31;

/** One source's share in an entry, for explanations. */
export interface Provenance {
  source: string;
  /** 0-based rank in that source's list. */
  rank: number;
  score: number;
}

export class CandidateMerger {
  readonly sources: readonly string[];
  /** Entries in the pool. */
  size = 0;
  /** Item index of each entry, in order of first appearance (sources in the order added, each best first). */
  items: Int32Array;
  /** Bit s set when source s returned the entry. */
  sourceMask: Int32Array;
  /** Rank of entry e in source s at [e·sources + s], −1 when absent. */
  ranks: Int32Array;
  /** Score of entry e in source s at [e·sources + s], NaN when absent. */
  scores: Float32Array;
  /** Σ over the sources that returned it of 1/(RRF_K + rank + 1). */
  fused: Float64Array;
  /** Items a source listed twice (the later, worse listing is ignored), since the last reset. */
  duplicatesWithinSources = 0;
  private entryOf: Int32Array;
  private stamps: Uint32Array;
  private stamp = 1;

  /** @param catalogue item indices expected (the lookup grows for larger ones) */
  constructor(sources: readonly string[], catalogue = 0, capacity = 512) {
    if (sources.length === 0 || sources.length > MAX_SOURCES)
      throw new SimrecError(
        'CONFIG_INVALID',
        `a merge needs 1..${MAX_SOURCES} sources, got ${sources.length}`,
        {
          field: 'sources',
        },
      );
    if (new Set(sources).size !== sources.length)
      throw new SimrecError('CONFIG_INVALID', `source names repeat: ${sources.join(', ')}`, {
        field: 'sources',
      });
    this.sources = [...sources];
    const c = Math.max(1, capacity);
    this.items = new Int32Array(c);
    this.sourceMask = new Int32Array(c);
    this.ranks = new Int32Array(c * sources.length);
    this.scores = new Float32Array(c * sources.length);
    this.fused = new Float64Array(c);
    this.entryOf = new Int32Array(catalogue);
    this.stamps = new Uint32Array(catalogue);
  }

  sourceIndex(name: string): number {
    const s = this.sources.indexOf(name);
    if (s < 0)
      throw new SimrecError('CONFIG_INVALID', `unknown candidate source ${JSON.stringify(name)}`, {
        field: 'source',
      });
    return s;
  }

  /** Empties the pool for the next request (O(1) for the item lookup). */
  reset(): void {
    this.size = 0;
    this.duplicatesWithinSources = 0;
    if (this.stamp === 0xffffffff) {
      this.stamps.fill(0);
      this.stamp = 1;
    } else this.stamp++;
  }

  /**
   * Adds source `source`'s list (its first n items, best first, with their scores).
   * @returns entries new to the pool
   */
  add(source: number | string, items: Int32Array, scores: Float32Array, n = items.length): number {
    const s = typeof source === 'string' ? this.sourceIndex(source) : source;
    if (!(s >= 0 && s < this.sources.length))
      throw new SimrecError('INTERNAL', `candidate source index ${s} out of range`);
    if (n > items.length || n > scores.length)
      throw new SimrecError('INTERNAL', `source ${this.sources[s]}: ${n} candidates but shorter arrays`);
    const ns = this.sources.length;
    const bit = 1 << s;
    let added = 0;
    for (let r = 0; r < n; r++) {
      const item = items[r];
      if (!(item >= 0))
        throw new SimrecError('INTERNAL', `source ${this.sources[s]} returned item index ${item}`);
      if (item >= this.stamps.length) this.growLookup(item + 1);
      let e: number;
      if (this.stamps[item] === this.stamp) {
        e = this.entryOf[item];
        if (this.sourceMask[e] & bit) {
          this.duplicatesWithinSources++;
          continue;
        }
      } else {
        if (this.size === this.items.length) this.growPool();
        e = this.size++;
        this.stamps[item] = this.stamp;
        this.entryOf[item] = e;
        this.items[e] = item;
        this.sourceMask[e] = 0;
        this.fused[e] = 0;
        this.ranks.fill(-1, e * ns, (e + 1) * ns);
        this.scores.fill(Number.NaN, e * ns, (e + 1) * ns);
        added++;
      }
      this.sourceMask[e] |= bit;
      this.ranks[e * ns + s] = r;
      this.scores[e * ns + s] = scores[r];
      this.fused[e] += 1 / (RRF_K + r + 1);
    }
    return added;
  }

  /** The pool entry of an item, −1 when no source returned it. */
  entry(item: number): number {
    return item >= 0 && item < this.stamps.length && this.stamps[item] === this.stamp
      ? this.entryOf[item]
      : -1;
  }

  /** Rank of entry e in source s, −1 when absent. */
  rank(e: number, s: number): number {
    return this.ranks[e * this.sources.length + s];
  }

  /** Score of entry e in source s, NaN when absent. */
  score(e: number, s: number): number {
    return this.scores[e * this.sources.length + s];
  }

  /** The sources that returned entry e, in source order (allocates: for explanations). */
  provenance(e: number): Provenance[] {
    const out: Provenance[] = [];
    for (let s = 0; s < this.sources.length; s++)
      if (this.sourceMask[e] & (1 << s))
        out.push({ source: this.sources[s], rank: this.rank(e, s), score: this.score(e, s) });
    return out;
  }

  private growLookup(need: number): void {
    const c = Math.max(need, this.stamps.length * 2, 1024);
    const st = new Uint32Array(c);
    st.set(this.stamps);
    const en = new Int32Array(c);
    en.set(this.entryOf);
    this.stamps = st;
    this.entryOf = en;
  }

  private growPool(): void {
    const c = this.items.length * 2;
    const ns = this.sources.length;
    const items = new Int32Array(c);
    items.set(this.items);
    const mask = new Int32Array(c);
    mask.set(this.sourceMask);
    const ranks = new Int32Array(c * ns);
    ranks.set(this.ranks);
    const scores = new Float32Array(c * ns);
    scores.set(this.scores);
    const fused = new Float64Array(c);
    fused.set(this.fused);
    this.items = items;
    this.sourceMask = mask;
    this.ranks = ranks;
    this.scores = scores;
    this.fused = fused;
  }
}
