/**
 * What the two-stage engine reads from a version beyond what ServingModel loads: the ingested inputs (item
 * authors, creation times and tags, follows, topic follows, the engagement log with its times), the producer
 * similarity graph, items by author (newest first), the version's popularity, the ranker and the strategies.
 * Read once per version (cached by its reader) and shared by every model over it, overlays included.
 */
import { KEYS } from '../artifacts/keys.ts';
import { readRanker } from '../artifacts/ranker.ts';
import { CsrMatrix } from '../core/csr.ts';
import type { IdMap } from '../core/id-map.ts';
import type { ServingModel } from '../query/serving-model.ts';
import type { LogisticModel } from '../ranking/logistic.ts';
import type { VersionReader } from '../store/store.ts';
import { type CoEngagement, coEngagement } from './co-engagement.ts';
import { type Strategy, strategiesOf } from './strategy.ts';

export class VersionData {
  private constructor(
    /** Per version item: the author's user index, −1 none. */
    readonly itemAuthor: Int32Array,
    /** Per version item: creation time (Unix seconds), NaN unknown. */
    readonly itemCreatedTs: Float64Array,
    /** items × topics. */
    readonly itemTags: CsrMatrix | null,
    readonly topics: IdMap | null,
    /** users × users (social follows). */
    readonly follows: CsrMatrix | null,
    /** users × topics. */
    readonly topicFollows: CsrMatrix | null,
    /** users × items engagement log (rows sorted by item, repeats kept) and each entry's time. */
    readonly engagements: CsrMatrix | null,
    readonly engagementTs: Float64Array | null,
    /** producers × producers similarity (SimClusters' first stage), null without SimClusters. */
    readonly similarity: CsrMatrix | null,
    /** author (user index) → that author's items, newest first. */
    readonly authorItems: CsrMatrix,
    /** Distinct users per version item. */
    readonly popularity: Float64Array,
    readonly ranker: LogisticModel | null,
    readonly strategies: Map<string, Strategy>,
  ) {}

  private coEngaged: CoEngagement | null | undefined;

  /**
   * The engagement log as distinct (user, item) pairs, item → users, and each user's distinct item count:
   * what the co-engagement feature walks (features.ts). Built on first use (the ranker's features need it;
   * a version served by fusion never pays for it); null without an engagement log.
   */
  get coEngagement(): CoEngagement | null {
    if (this.coEngaged === undefined)
      this.coEngaged = this.engagements ? coEngagement(this.engagements) : null;
    return this.coEngaged;
  }

  private static readonly cache = new WeakMap<VersionReader, Promise<VersionData>>();

  /**
   * Reads the version's data and builds what its ranker reads on a first request (the co-engagement transpose),
   * so a server can pay for it while the version is prepared, before it serves, instead of in that request.
   */
  static async warm(model: ServingModel): Promise<void> {
    const d = await VersionData.for(model);
    // A ranker trained before the feature existed does not read it (numericIndex would throw for it).
    if (d.ranker?.spec.numericNames.includes('co_engagement')) void d.coEngagement;
  }

  /** The data of the model's version, read on first use. */
  static for(model: ServingModel): Promise<VersionData> {
    const reader = model.versionReader;
    let p = VersionData.cache.get(reader);
    if (!p) {
      p = VersionData.load(reader, model.versionItemCount, model.versionUserCount);
      VersionData.cache.set(reader, p);
      p.catch(() => VersionData.cache.delete(reader));
    }
    return p;
  }

  private static async load(r: VersionReader, nItems: number, nUsers: number): Promise<VersionData> {
    const csr = async (key: string) => (r.has(key) ? r.csr(key) : null);
    const itemAuthor = r.has(KEYS.itemAuthor)
      ? await r.typedArray(KEYS.itemAuthor, 'int32')
      : new Int32Array(nItems).fill(-1);
    const itemCreatedTs = r.has(KEYS.itemCreatedTs)
      ? await r.typedArray(KEYS.itemCreatedTs, 'float64')
      : new Float64Array(nItems).fill(Number.NaN);
    const engagements = await csr(KEYS.engagements);
    const engagementTs = r.has(KEYS.engagementTs) ? await r.typedArray(KEYS.engagementTs, 'float64') : null;
    const popularity = new Float64Array(nItems);
    if (engagements)
      for (let u = 0; u < engagements.nRows; u++) {
        let prev = -1;
        for (let j = engagements.indptr[u]; j < engagements.indptr[u + 1]; j++) {
          const i = engagements.indices[j];
          if (i !== prev && i < nItems) popularity[i]++;
          prev = i;
        }
      }
    return new VersionData(
      itemAuthor,
      itemCreatedTs,
      await csr(KEYS.itemTags),
      r.has(KEYS.topics) ? await r.idMap(KEYS.topics) : null,
      await csr(KEYS.follows),
      await csr(KEYS.topicFollows),
      engagements,
      engagementTs,
      await csr(KEYS.similarity),
      byAuthor(itemAuthor, itemCreatedTs, nUsers),
      popularity,
      await readRanker(r),
      strategiesOf(r.manifest.config),
    );
  }
}

/** author → items, newest first (unknown times last, then by index). */
function byAuthor(author: Int32Array, created: Float64Array, nUsers: number): CsrMatrix {
  let n = nUsers;
  for (let i = 0; i < author.length; i++) if (author[i] >= n) n = author[i] + 1;
  const indptr = new Int32Array(n + 1);
  for (let i = 0; i < author.length; i++) if (author[i] >= 0) indptr[author[i] + 1]++;
  for (let a = 0; a < n; a++) indptr[a + 1] += indptr[a];
  const fill = indptr.slice(0, n);
  const items = new Int32Array(indptr[n]);
  for (let i = 0; i < author.length; i++) if (author[i] >= 0) items[fill[author[i]]++] = i;
  const t = (i: number) => (Number.isNaN(created[i]) ? Number.NEGATIVE_INFINITY : created[i]);
  for (let a = 0; a < n; a++) items.subarray(indptr[a], indptr[a + 1]).sort((x, y) => t(y) - t(x) || x - y);
  return new CsrMatrix(n, author.length, indptr, items, null);
}
