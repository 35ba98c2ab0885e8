/**
 * Hybrid matrix factorization (src/mf, DESIGN §5) behind the evaluation's Recommender interface. Interactions are
 * trained as binary positives, as LightFM's reference figures were (a rating as a sample weight would act as a
 * per-example learning rate and make the figures incomparable); `mf-warp-features` adds the catalogue's item
 * features (tags, genres) beside each item's identity feature.
 */
import { CsrMatrix } from '../core/csr.ts';
import { SimrecError } from '../core/errors.ts';
import { HybridMF } from '../mf/model.ts';
import type { MfParams } from '../mf/params.ts';
import type { FitOptions, Recommender, TrainData } from './recommender.ts';

export class MfRecommender implements Recommender {
  private model: HybridMF | null = null;

  /**
   * @param params MF hyper-parameters; `components` defaults to the evaluation's `dim`.
   * @param useItemFeatures train with the catalogue's item features (the split must have some).
   */
  constructor(
    readonly name: string,
    private readonly params: Partial<MfParams>,
    private readonly useItemFeatures = false,
  ) {}

  async fit(data: TrainData, opts: FitOptions): Promise<void> {
    if (this.useItemFeatures && !data.itemFeatures)
      throw new SimrecError(
        'CONFIG_INVALID',
        `model '${this.name}' needs item features and the split has none`,
        {
          field: 'models',
        },
      );
    const m = data.interactions;
    const binary = new CsrMatrix(m.nRows, m.nCols, m.indptr, m.indices, null);
    const model = new HybridMF({ components: opts.dim, ...this.params });
    await model.fit(
      {
        nUsers: data.nUsers,
        nItems: data.nItems,
        interactions: binary,
        itemFeatures: this.useItemFeatures ? (data.itemFeatures ?? undefined) : undefined,
      },
      {
        epochs: opts.epochs,
        threads: opts.threads,
        seed: opts.seed,
        onProgress: (p) => opts.onProgress?.(`train ${this.name}`, p.epoch, p.epochs),
      },
    );
    this.model = model;
  }

  scoreUser(user: number, out: Float32Array): void {
    if (!this.model) throw new SimrecError('INTERNAL', `${this.name}: scoreUser before fit`);
    if (out.length !== this.model.nItems)
      throw new SimrecError(
        'INTERNAL',
        `${this.name}: out has ${out.length} items, the model ${this.model.nItems}`,
      );
    this.model.scoreUser(user, out);
  }
}
