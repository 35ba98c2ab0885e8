/**
 * The extension point of retrieval (issue 14 item 2, DESIGN §7): a candidate source answers "the best items for
 * this subject" from one version, as dense item indices with scores, under one filter shape. SimClusters ANN and
 * dense MF are implementations (query/sources/); the registry (query/sources/registry.ts) builds every source a
 * version can serve. A source is the unit the two-stage recommender merges.
 */
import type { DenseSource } from './dense-model.ts';
import type { QuerySubject } from './serving-model.ts';

/** Whom or what a source retrieves for: any subject a source understands; each rejects the others (400). */
export type CandidateSubject = QuerySubject | DenseSource;

/** One filter shape for every source; item ids are external, unknown ones ignored. */
export interface CandidateFilter {
  /** Never returned (on top of what the source itself excludes: the subject item, a user's engaged items). */
  exclude?: readonly string[];
  /** When given, only these may be returned. */
  allow?: readonly string[];
  /** Age window in hours against `now` (Unix seconds; default the version's data time); sources without item ages ignore it. */
  minAgeHours?: number;
  maxAgeHours?: number;
  now?: number;
}

export interface CandidateList {
  /** Dense item indices of the version, best first. */
  items: Int32Array;
  scores: Float32Array;
  /** What the source did, for answers and metrics (source-specific counters). */
  stats: Record<string, number | string>;
}

export interface CandidateSource {
  /** The registry name (`simclusters`, `dense`). */
  readonly name: string;
  /**
   * At most `limit` items for `subject`, best first; deterministic for a version.
   * @throws SimrecError NOT_FOUND for an unknown subject entity, CONFIG_INVALID for a subject or filter the
   *   source cannot use (naming the field)
   */
  retrieve(subject: CandidateSubject, limit: number, filter?: CandidateFilter): Promise<CandidateList>;
}
