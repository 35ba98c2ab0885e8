/**
 * What the evaluator needs from a model: fit on a train split, then score every catalogue item for a user into a
 * reused buffer. Adapters wrap each family (popularity, SimClusters, hybrid MF) behind this one interface, so
 * `simrec eval` runs them side by side on the same split.
 */
import type { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import { Rng } from '../core/prng.ts';

/** A train split as models see it: users × catalogue. */
export interface TrainData {
  readonly nUsers: number;
  readonly nItems: number;
  /** Train positives, rows sorted by item; values are the pair weights. */
  readonly interactions: CsrMatrix;
  /** Aligned with the entries: Unix seconds of each pair's latest positive event, NaN unknown. */
  readonly ts: Float64Array;
  /** catalogue × features (tags, genres), binary, or null. */
  readonly itemFeatures: CsrMatrix | null;
}

/** Knobs shared by every model; each model reads the ones it has. */
export interface FitOptions {
  seed: number;
  /** Worker threads a model may use for training. */
  threads: number;
  /** Passes over the training data (iterative models). */
  epochs: number;
  /** Embedding dimension (latent-factor models). */
  dim: number;
  onProgress?: (stage: string, done: number, total?: number) => void;
}

export const DEFAULT_FIT_OPTIONS: Readonly<FitOptions> = Object.freeze({
  seed: 42,
  threads: 2,
  epochs: 30,
  dim: 64,
});

export interface Recommender {
  readonly name: string;
  fit(data: TrainData, opts: FitOptions): Promise<void>;
  /**
   * Writes a score for every catalogue item into out (length nItems); higher ranks first. Called once per
   * evaluated user, so it must not allocate per call.
   */
  scoreUser?(user: number, out: Float32Array): void;
  /**
   * The model's top-k for a user (item indices, best first, the user's train positives left out), for models
   * measured by the list they serve rather than by a score per item (SimClusters through its ANN query). A
   * model has scoreUser or rankUser; a ranked model has no AUC and no sampled protocol.
   */
  rankUser?(user: number, k: number): Promise<{ items: Int32Array; scores: Float32Array }>;
  /** Releases workers or native memory, if any. */
  dispose?(): Promise<void> | void;
}

/** What the CLI passes every factory; each reads what concerns it. */
export interface ModelOptions {
  /** A build config file: SimClusters is built with it, as `simrec build --config` would. */
  buildConfigFile?: string;
}

/** A model the CLI can name. */
export interface ModelFactory {
  readonly name: string;
  readonly summary: string;
  /** True when the model cannot run without item features. */
  readonly needsItemFeatures?: boolean;
  create(options?: ModelOptions): Recommender;
}

/**
 * Most popular first: the score of an item is the number of training users with it as a positive. The same list
 * for everyone (minus their own train positives), the baseline any personalised model must beat.
 */
export class PopularityRecommender implements Recommender {
  readonly name = 'popularity';
  private counts: Float32Array = new Float32Array(0);

  async fit(data: TrainData): Promise<void> {
    const counts = new Float32Array(data.nItems);
    const idx = data.interactions.indices;
    for (let k = 0; k < idx.length; k++) counts[idx[k]]++;
    this.counts = counts;
  }

  scoreUser(_user: number, out: Float32Array): void {
    if (out.length !== this.counts.length)
      throw new SimrecError(
        'INTERNAL',
        `popularity: out has ${out.length} items, the model ${this.counts.length}`,
      );
    out.set(this.counts);
  }
}

/**
 * Uniform random scores, seeded per user (the same user gets the same scores every call). The floor of every
 * metric: its expected AUC is 0.5 and its precision@k the share of test positives among the candidates.
 */
export class RandomRecommender implements Recommender {
  readonly name = 'random';
  private nItems = 0;
  private base = new Rng(0);

  async fit(data: TrainData, opts: FitOptions): Promise<void> {
    this.nItems = data.nItems;
    this.base = new Rng(opts.seed);
  }

  scoreUser(user: number, out: Float32Array): void {
    if (out.length !== this.nItems)
      throw new SimrecError('INTERNAL', `random: out has ${out.length} items, the model ${this.nItems}`);
    const rng = this.base.fork(user);
    for (let i = 0; i < out.length; i++) out[i] = rng.next();
  }
}
