/**
 * The in-memory form of an input directory that every offline job starts from (DESIGN §2). Ids are dense
 * indices into the id maps; relations are CSR matrices over typed arrays.
 *
 * Id order is deterministic: indices are given out in order of first appearance, reading the files in the
 * order follows → items → engagements → topic_follows, each from its first row to its last and, within a row,
 * left to right. So for users: consumers and producers of follows, then item authors, then engaging users, then
 * topic followers; for items: the items file's order, then items seen only in engagements; for topics: item tags,
 * then followed topics.
 */
import type { CsrMatrix } from '../core/csr.ts';
import type { IdMap } from '../core/id-map.ts';

export const ACTION_POSITIVE = 0;
export const ACTION_UNFAV = 1;

export interface Engagements {
  /** users × items; repeated pairs kept, each row sorted by item and repeats in file order; values = weight. */
  matrix: CsrMatrix;
  /** Aligned with matrix entries (CSR order): Unix seconds, NaN when absent. */
  ts: Float64Array;
  /** Aligned: ACTION_POSITIVE | ACTION_UNFAV. */
  action: Uint8Array;
}

export interface InputFileInfo {
  kind: string;
  path: string;
  bytes: number;
  sha256: string;
  /** Data rows read and kept. */
  rows: number;
  /** Bad rows skipped (only with skipBadRows). */
  skippedRows: number;
  /** Engagement rows left out as live signals (`impression`, `hide`), not engagements; absent when none. */
  signalRows?: number;
}

export interface DatasetStats {
  users: number;
  /** Users with at least one follow. */
  consumers: number;
  /** Users followed by at least one user. */
  producers: number;
  followEdges: number;
  duplicateFollowsMerged: number;
  selfFollowsDropped: number;
  items: number;
  engagements: number;
  positiveEngagements: number;
  unfavEngagements: number;
  engagingUsers: number;
  /** Items with at least one engagement. */
  engagedItems: number;
  topics: number;
  topicFollows: number;
  itemTags: number;
  /** Earliest and latest timestamp over follows, engagements and item creation (Unix seconds); NaN if none. */
  minTs: number;
  maxTs: number;
}

export interface Dataset {
  format: 'canonical' | 'movielens';
  /** One id space: consumers, producers, engagers, item authors, topic followers. */
  users: IdMap;
  items: IdMap;
  /** From topic_follows and item tags (MovieLens: genres). */
  topics: IdMap;
  /** users × users, binary, repeats merged, self-follows dropped. */
  follows: CsrMatrix | null;
  engagements: Engagements | null;
  /** Per item, the author's user index or -1. */
  itemAuthor: Int32Array;
  /** Per item, creation time in Unix seconds, NaN when unknown. */
  itemCreatedTs: Float64Array;
  /** items × topics, binary. */
  itemTags: CsrMatrix | null;
  /** users × topics, binary, repeats merged. */
  topicFollows: CsrMatrix | null;
  inputs: InputFileInfo[];
  stats: DatasetStats;
  /**
   * The data's "now" (Unix seconds): the latest accepted engagement timestamp, or, when engagements carry
   * none, the latest accepted timestamp of any input; null when no input has one. Accepted means inside the
   * plausible window (`LoadOptions.timeWindow`), so one far-future row cannot move it.
   */
  dataTime: number | null;
}

export type InputKind = 'follows' | 'engagements' | 'items' | 'topic_follows';

export const INPUT_KINDS: readonly InputKind[] = ['follows', 'engagements', 'items', 'topic_follows'];

/** Window options as configured (`ingest.notBefore`, `ingest.notAfter`, `ingest.maxFutureSeconds`). */
export interface TimeWindowOptions {
  notBefore?: number;
  /** Fixed upper bound (Unix seconds); null/absent = ingest time + maxFutureSeconds. */
  notAfter?: number | null;
  maxFutureSeconds?: number;
}

/** Progress callback shared by the loaders: stage name, work done, total when known. */
export type ProgressFn = (stage: string, done: number, total?: number) => void;

export interface LoadOptions {
  /** 'auto' (default) picks MovieLens when the directory holds a MovieLens layout and no canonical file. */
  format?: 'canonical' | 'movielens' | 'auto';
  /** Files the job cannot run without; a missing or empty one is an error. */
  require?: InputKind[];
  /** Count, report and skip bad rows instead of failing on the first ones. */
  skipBadRows?: boolean;
  /** MovieLens: keep ratings ≥ this as positive engagements (0, the default, keeps all; weight = rating). */
  minRating?: number;
  onProgress?: ProgressFn;
  /** With skipBadRows: each skipped row as `FILE:LINE: column X: reason` (up to 100 per file), then a count. */
  onWarning?: (message: string) => void;
  /** Plausible timestamps (default: from 1970 to the ingest time + 1 day); others are bad rows. */
  timeWindow?: TimeWindowOptions;
  /**
   * The data must feed a build: at least one follow edge (after self-follows are dropped) or one engagement.
   * Otherwise INPUT_EMPTY (a follows or engagements file is there but gives nothing) or INPUT_MISSING.
   */
  requireRelations?: boolean;
}
