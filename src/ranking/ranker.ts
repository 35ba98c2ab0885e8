/**
 * The extension point of ranking: a model that turns one candidate's {@link FeatureVector} into a probability of
 * engagement and says which features moved it. Logistic regression (logistic.ts) is the first implementation; a
 * tree model would be another, over the same vectors.
 */
import type { FeatureSpec, FeatureVector } from './hashing.ts';

/** One feature's share of a score, for explanations. */
export interface FeatureContribution {
  /** Field id in the spec (see FeatureSpec.fieldName). */
  field: number;
  /** The field's name: `mf_score`, `source`, `user_cluster×item_cluster`. */
  name: string;
  /** Weight slot the entry hit. */
  slot: number;
  /** The entry's value (signed for hashed features). */
  value: number;
  /** The model's weight on the slot. */
  weight: number;
  /** weight × value: what the entry added to the logit. */
  contribution: number;
}

export interface Ranker {
  /** `logistic`, … (stored in the serialized header). */
  readonly kind: string;
  /** The features the model reads; a caller builds vectors with this spec. */
  readonly spec: FeatureSpec;
  /** The score before the link function (monotone in predict): enough to order candidates. */
  logit(v: FeatureVector): number;
  /** Probability of engagement in [0, 1]. */
  predict(v: FeatureVector): number;
  /** The k entries with the largest |contribution|, largest first. */
  contributions(v: FeatureVector, k: number): FeatureContribution[];
  /** Bytes a build stores and a server loads back with the kind's deserializer. */
  serialize(): Uint8Array;
}
