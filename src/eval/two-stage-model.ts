/**
 * The two-stage recommender (recommend/engine.ts) as a model of the split evaluation, measured as it is served:
 * the train positives are built into a version exactly as for the `simclusters` model, but with the build
 * config as it is (file and defaults: MF unless the config turns it off, the ranker stage when the positives carry
 * times), and each user is answered by `recommend` — GET /v1/users/:userId/recommendations — with the default
 * strategy and exploration off (`explore: 0`), so the list is deterministic. The engine leaves the user's
 * engaged items (their train positives) out, as the protocol does; a user the build does not know gets what the
 * server gives them (trending, then the catalogue).
 */
import { SimrecError } from '../core/errors.ts';
import { type BuildConfig, resolveBuildConfig } from '../pipeline/config.ts';
import { recommend } from '../recommend/engine.ts';
import type { FitOptions } from './recommender.ts';
import { type SimClustersModelOptions, SimClustersRecommender, userName } from './simclusters-model.ts';

export class TwoStageRecommender extends SimClustersRecommender {
  constructor(options: SimClustersModelOptions = {}, name = 'two-stage') {
    super(options, name);
  }

  /** The effective build config: file, overrides, then the evaluation's seed and threads; nothing turned off. */
  override buildConfig(opts: Pick<FitOptions, 'seed' | 'threads'>): BuildConfig {
    return resolveBuildConfig(this.options.configFile, {
      ...this.options.overrides,
      seed: opts.seed,
      threads: opts.threads,
      ingest: { format: 'canonical' },
    });
  }

  override async rankUser(user: number, k: number): Promise<{ items: Int32Array; scores: Float32Array }> {
    const m = this.model;
    if (!m) throw new SimrecError('INTERNAL', `${this.name}: rankUser before fit`);
    const r = await recommend(m, { userId: userName(user) }, { limit: k, explore: 0 });
    const items = new Int32Array(r.items.length);
    const scores = new Float32Array(r.items.length);
    for (let j = 0; j < r.items.length; j++) {
      const i = Number(r.items[j].itemId.slice(1));
      if (!(i >= 0 && i < this.nItems))
        throw new SimrecError('INTERNAL', `${this.name}: the build served item ${i} outside the catalogue`);
      items[j] = i;
      scores[j] = r.items[j].score;
    }
    return { items, scores };
  }
}
