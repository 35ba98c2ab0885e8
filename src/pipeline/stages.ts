/**
 * The stages of `simrec build` after the ingest, in data-flow order. runBuild runs each one the build asks for;
 * a new stage is a BuildStage (build-stage.ts) and a line here.
 */
import { resolve } from 'node:path';
import { writeInputs } from '../artifacts/inputs.ts';
import type { Dataset } from '../data/dataset.ts';
import { openArtifactStore } from '../store/open.ts';
import type { BuildStage } from './build-stage.ts';
import type { BuildConfig } from './config.ts';
import { mfStage } from './mf-stage.ts';
import { rankerSkipReason, rankerStage } from './ranker-stage.ts';
import { simclustersStage } from './simclusters-stage.ts';

/** The dataset's id maps, matrices and metadata, as every later reader expects them. */
export const STORE_INPUTS: BuildStage = {
  name: 'store-inputs',
  enabled: () => true,
  run: async (ctx) => {
    await ctx.timed('store-inputs', () => writeInputs(ctx.writer, ctx.dataset));
  },
};

/** DESIGN §3: similarity → KnownFor → embeddings → indexes; records its own sub-stages. */
export const SIMCLUSTERS: BuildStage = {
  name: 'simclusters',
  enabled: (ctx) => ctx.config.simclusters.enabled,
  run: async (ctx) => {
    const { options, dataset } = ctx;
    const warm = options.warmStart
      ? openArtifactStore(options.warmStart, { field: 'warm-start' })
      : undefined;
    try {
      const sc = await simclustersStage(dataset, withDataTime(ctx.config, dataset), ctx.writer, {
        dataDir: resolve(options.data),
        warmStart: warm,
        onProgress: options.onProgress,
        onStage: (stage, seconds, detail) => ctx.stageDone(stage, seconds, detail),
      });
      ctx.outputs.simclusters = sc;
      Object.assign(ctx.counts, {
        clusters: sc.k,
        simclustersProducers: sc.producers,
        producersWithKnownFor: sc.producersWithKnownFor,
        usersWithInterestedIn: sc.output.interestedIn.stats.usersWithEmbedding,
        itemsWithEmbedding: sc.output.items?.stats.itemsWithEmbedding ?? 0,
      });
      ctx.extra.simclustersCase = sc.case;
      ctx.extra.clusters = sc.clusters;
      if (sc.truth) ctx.extra.truth = sc.truth;
    } finally {
      await warm?.close();
    }
  },
};

/** DESIGN §5–6: hybrid MF and its dense indexes, from the engagements. */
export const MF: BuildStage = {
  name: 'mf',
  enabled: (ctx) => ctx.config.mf.enabled && ctx.dataset.engagements !== null,
  run: async (ctx) => {
    const mf = await ctx.timed(
      'mf',
      () =>
        mfStage(ctx.dataset, ctx.config.mf, ctx.writer, {
          seed: ctx.config.seed,
          threads: ctx.config.threads,
          onProgress: ctx.options.onProgress,
        }),
      (m) => ({
        fitSeconds: m.fitSeconds,
        denseKind: m.dense.kind,
        recallAt10: m.dense.recall?.recallAtK,
        similarRecallAt10: m.similarDense.recall?.recallAtK,
      }),
    );
    ctx.outputs.mf = mf;
    ctx.counts.mfUsers = mf.users;
    ctx.counts.mfItems = mf.items;
    ctx.extra.mf = { fitSeconds: mf.fitSeconds, dense: mf.dense, similarDense: mf.similarDense };
  },
};

/**
 * Issue 16: the two-stage ranker, trained on a time split or a per-user holdout with the engine's own candidates
 * and features. A configuration it cannot train with (a forced time split without timed engagements) is recorded
 * as skipped (extra.ranker.skipped), not an error.
 */
export const RANKER: BuildStage = {
  name: 'ranker',
  enabled: (ctx) =>
    ctx.config.ranker.enabled &&
    ctx.dataset.engagements !== null &&
    (ctx.config.simclusters.enabled || ctx.config.mf.enabled),
  run: async (ctx) => {
    const skip = rankerSkipReason(ctx.dataset, ctx.config.ranker);
    if (skip) {
      ctx.extra.ranker = { skipped: skip };
      return;
    }
    const r = await ctx.timed(
      'ranker',
      () =>
        rankerStage(
          ctx.dataset,
          ctx.config,
          ctx.writer,
          ctx.outputs.simclusters
            ? {
                similarity: ctx.outputs.simclusters.output.similarity,
                knownFor: ctx.outputs.simclusters.output.knownFor,
              }
            : undefined,
        ),
      (x) =>
        'skipped' in x
          ? { skipped: x.skipped }
          : { auc: x.eval.auc, ece: x.eval.ece, examples: x.train.examples },
    );
    if ('skipped' in r) {
      ctx.extra.ranker = r;
      return;
    }
    ctx.outputs.ranker = r;
    ctx.counts.rankerTrainExamples = r.train.examples;
    ctx.counts.rankerEvalExamples = r.eval.examples;
    ctx.extra.ranker = r;
  },
};

export const BUILD_STAGES: readonly BuildStage[] = [STORE_INPUTS, SIMCLUSTERS, MF, RANKER];

/**
 * The config with the data time as "now" of every decaying SimClusters stage that does not set its own, when
 * the engagements carry timestamps (without them nothing decays, and the stages keep their own rule).
 */
export function withDataTime(config: BuildConfig, d: Dataset): BuildConfig {
  if (d.dataTime === null || !d.engagements || !d.engagements.ts.some((t) => !Number.isNaN(t))) return config;
  const now = d.dataTime;
  const sc = config.simclusters;
  return {
    ...config,
    simclusters: {
      ...sc,
      interestedIn: { ...sc.interestedIn, now: sc.interestedIn?.now ?? now },
      itemEmbeddings: { ...sc.itemEmbeddings, now: sc.itemEmbeddings?.now ?? now },
      topicEmbeddings: { ...sc.topicEmbeddings, now: sc.topicEmbeddings?.now ?? now },
    },
  };
}
