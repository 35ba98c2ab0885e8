/**
 * The models `simrec eval --models` can name, each a factory for a fresh {@link Recommender}.
 */
import { SimrecError } from '../core/errors.ts';
import { MfRecommender } from './mf-model.ts';
import {
  type ModelFactory,
  type ModelOptions,
  PopularityRecommender,
  RandomRecommender,
  type Recommender,
} from './recommender.ts';
import { SimClustersRecommender } from './simclusters-model.ts';
import { TwoStageRecommender } from './two-stage-model.ts';

export const MODEL_FACTORIES: readonly ModelFactory[] = [
  {
    name: 'popularity',
    summary: 'most popular items first (train positives per item), the same list for everyone',
    create: () => new PopularityRecommender(),
  },
  {
    name: 'simclusters',
    summary:
      'SimClusters ANN as served (POST /v1/candidates/simclusters) from a build of the train positives with the build config',
    create: (o) => new SimClustersRecommender({ configFile: o?.buildConfigFile }),
  },
  {
    name: 'two-stage',
    summary:
      'the two-stage recommender as served (GET /v1/users/:userId/recommendations, default strategy, explore 0) from a build of the train positives with the build config as is (MF unless it turns MF off, the ranker when the positives are timed)',
    create: (o) => new TwoStageRecommender({ configFile: o?.buildConfigFile }),
  },
  {
    name: 'mf-warp',
    summary: 'hybrid matrix factorization, WARP loss (identity features only)',
    create: () => new MfRecommender('mf-warp', { loss: 'warp' }),
  },
  {
    name: 'mf-bpr',
    summary: 'hybrid matrix factorization, BPR loss',
    create: () => new MfRecommender('mf-bpr', { loss: 'bpr' }),
  },
  {
    name: 'mf-logistic',
    summary: 'hybrid matrix factorization, logistic loss with sampled negatives',
    create: () => new MfRecommender('mf-logistic', { loss: 'logistic' }),
  },
  {
    name: 'mf-warp-kos',
    summary: 'hybrid matrix factorization, k-OS WARP loss',
    create: () => new MfRecommender('mf-warp-kos', { loss: 'warp-kos' }),
  },
  {
    name: 'mf-warp-features',
    summary: 'hybrid matrix factorization, WARP loss, item features (tags, genres) beside item identities',
    needsItemFeatures: true,
    create: () => new MfRecommender('mf-warp-features', { loss: 'warp' }, true),
  },
  {
    name: 'random',
    summary: 'uniform random scores, seeded: the floor of every metric',
    create: () => new RandomRecommender(),
  },
];

/** Model names, in listing order. */
export function modelNames(factories: readonly ModelFactory[] = MODEL_FACTORIES): string[] {
  return factories.map((f) => f.name);
}

/**
 * Fresh recommenders for the given names, in order. Unknown or repeated names, and models that need item
 * features when there are none, are CONFIG_INVALID.
 */
export function createModels(
  names: readonly string[],
  opts: { hasItemFeatures: boolean } & ModelOptions,
  factories: readonly ModelFactory[] = MODEL_FACTORIES,
): Recommender[] {
  if (names.length === 0)
    throw new SimrecError('CONFIG_INVALID', 'no model to evaluate', { field: 'models' });
  const seen = new Set<string>();
  return names.map((name) => {
    const f = factories.find((x) => x.name === name);
    if (!f)
      throw new SimrecError(
        'CONFIG_INVALID',
        `unknown model '${name}' (expected ${modelNames(factories).join(', ')})`,
        { field: 'models' },
      );
    if (seen.has(name))
      throw new SimrecError('CONFIG_INVALID', `model '${name}' is listed twice`, { field: 'models' });
    seen.add(name);
    if (f.needsItemFeatures && !opts.hasItemFeatures)
      throw new SimrecError(
        'CONFIG_INVALID',
        `model '${name}' needs item features: use a dataset with item tags/genres or pass --item-features FILE`,
        { field: 'models' },
      );
    return f.create({ buildConfigFile: opts.buildConfigFile });
  });
}
