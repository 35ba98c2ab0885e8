/**
 * `simrec build`: reads an input directory, runs the offline stages, and writes everything into one new
 * artifact version that becomes current only after it was verified. Stages run in data-flow order and are
 * timed; a failure anywhere aborts the version, so the previous one keeps serving.
 */
import { resolve } from 'node:path';
import { SimrecError } from '../core/errors.ts';
import type { Dataset } from '../data/dataset.ts';
import { loadDataset } from '../data/load.ts';
import { LmdbArtifactStore } from '../store/lmdb/lmdb-store.ts';
import type { ArtifactStore, Manifest, VersionWriter } from '../store/store.ts';
import type { BuildConfig } from './config.ts';
import { KEYS } from './keys.ts';
import { type MfStageSummary, mfStage } from './mf-stage.ts';
import { type SimClustersSummary, simclustersStage } from './simclusters-stage.ts';

export interface BuildOptions {
  /** Input directory (canonical files or a MovieLens directory). */
  data: string;
  /** Artifact root; a new version is written under it. */
  out: string;
  config: BuildConfig;
  /** Progress callback (stage, done, total). */
  onProgress?: (stage: string, done: number, total?: number) => void;
  /** Called once per finished stage with its wall time. */
  onStage?: (stage: string, seconds: number, detail?: Record<string, unknown>) => void;
  /** A store other than the embedded LMDB one (tests, Redis later). */
  store?: ArtifactStore;
  /** Artifact root of a previous build whose KnownFor initialises this one (stable cluster ids). */
  warmStart?: string;
}

export interface BuildResult {
  manifest: Manifest;
  dataset: Dataset;
  /** Seconds per stage, in run order. */
  timings: Record<string, number>;
  simclusters: SimClustersSummary | null;
  mf: MfStageSummary | null;
}

/** Everything one build run shares between stages. */
export interface BuildContext {
  options: BuildOptions;
  config: BuildConfig;
  writer: VersionWriter;
  dataset: Dataset;
  counts: Record<string, number>;
  extra: Record<string, unknown>;
}

export async function runBuild(options: BuildOptions): Promise<BuildResult> {
  const { config } = options;
  const timings: Record<string, number> = {};
  const stages: string[] = [];
  const timed = async <T>(
    stage: string,
    fn: () => Promise<T> | T,
    detail?: (v: T) => Record<string, unknown>,
  ) => {
    const t0 = performance.now();
    const value = await fn();
    const ms = performance.now() - t0;
    timings[stage] = Math.round(ms);
    stages.push(stage);
    options.onStage?.(stage, ms / 1000, detail?.(value));
    return value;
  };

  // The output is opened and locked before the inputs are read, so an unusable --out (a file, a full or
  // read-only disk, another build holding the lock) fails at once rather than after the ingest.
  const store = options.store ?? new LmdbArtifactStore(resolve(options.out));
  const writer = await store.createVersion();
  const abandon = async (e: unknown): Promise<never> => {
    await writer.abort().catch(() => {});
    if (!options.store) await store.close();
    throw e;
  };
  const dataset = await timed(
    'ingest',
    () =>
      loadDataset(resolve(options.data), {
        format: config.ingest.format,
        skipBadRows: config.ingest.skipBadRows,
        minRating: config.ingest.minRating,
        onProgress: options.onProgress,
      }),
    (d) => ({
      users: d.stats.users,
      items: d.stats.items,
      followEdges: d.stats.followEdges,
      engagements: d.stats.engagements,
    }),
  ).catch(abandon);
  if (!dataset.follows && !dataset.engagements) {
    await abandon(
      new SimrecError(
        'INPUT_MISSING',
        `${options.data}: a build needs follows or engagements; neither was found`,
        {
          file: options.data,
        },
      ),
    );
  }

  const ctx: BuildContext = { options, config, writer, dataset, counts: statCounts(dataset), extra: {} };
  try {
    await timed('store-inputs', () => storeInputs(ctx));
    let simclusters: SimClustersSummary | null = null;
    if (config.simclusters.enabled) {
      const warm = options.warmStart ? new LmdbArtifactStore(resolve(options.warmStart)) : undefined;
      try {
        simclusters = await simclustersStage(dataset, config, writer, {
          dataDir: resolve(options.data),
          warmStart: warm,
          onProgress: options.onProgress,
          onStage: (stage, seconds, detail) => {
            timings[stage] = Math.round(seconds * 1000);
            stages.push(stage);
            options.onStage?.(stage, seconds, detail);
          },
        });
      } finally {
        await warm?.close();
      }
      Object.assign(ctx.counts, {
        clusters: simclusters.k,
        simclustersProducers: simclusters.producers,
        producersWithKnownFor: simclusters.producersWithKnownFor,
        usersWithInterestedIn: simclusters.output.interestedIn.stats.usersWithEmbedding,
        itemsWithEmbedding: simclusters.output.items?.stats.itemsWithEmbedding ?? 0,
      });
      ctx.extra.simclustersCase = simclusters.case;
      if (simclusters.truth) ctx.extra.truth = simclusters.truth;
    }
    let mf: MfStageSummary | null = null;
    if (config.mf.enabled && dataset.engagements) {
      mf = await timed(
        'mf',
        () =>
          mfStage(dataset, config.mf, writer, {
            seed: config.seed,
            threads: config.threads,
            onProgress: options.onProgress,
          }),
        (m) => ({
          fitSeconds: m.fitSeconds,
          denseKind: m.dense.kind,
          recallAt10: m.dense.recall?.recallAtK,
          similarRecallAt10: m.similarDense.recall?.recallAtK,
        }),
      );
      ctx.counts.mfUsers = mf.users;
      ctx.counts.mfItems = mf.items;
      ctx.extra.mf = { fitSeconds: mf.fitSeconds, dense: mf.dense, similarDense: mf.similarDense };
    }
    const manifest = await writer.commit({
      seed: config.seed,
      config,
      inputs: dataset.inputs.map((f) => ({
        kind: f.kind,
        path: f.path,
        bytes: f.bytes,
        sha256: f.sha256,
        rows: f.rows,
      })),
      counts: ctx.counts,
      stages,
      timings,
      extra: { format: dataset.format, skippedRows: skippedRows(dataset), ...ctx.extra },
    });
    return {
      manifest,
      dataset,
      timings: Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, v / 1000])),
      simclusters,
      mf,
    };
  } catch (e) {
    await writer.abort().catch(() => {});
    throw e;
  } finally {
    if (!options.store) await store.close();
  }
}

/** Id maps and the ingested relations, so serving and later builds need not re-read the inputs. */
async function storeInputs(ctx: BuildContext): Promise<void> {
  const { writer: w, dataset: d } = ctx;
  await w.putIdMap(KEYS.users, d.users);
  await w.putIdMap(KEYS.items, d.items);
  await w.putIdMap(KEYS.topics, d.topics);
  if (d.follows) await w.putCsr(KEYS.follows, d.follows);
  if (d.engagements) {
    await w.putSparseRows(KEYS.engagements, d.engagements.matrix);
    await w.putTypedArray(KEYS.engagementTs, d.engagements.ts);
    await w.putTypedArray(KEYS.engagementAction, Int32Array.from(d.engagements.action));
  }
  if (d.topicFollows) await w.putCsr(KEYS.topicFollows, d.topicFollows);
  await w.putTypedArray(KEYS.itemAuthor, d.itemAuthor);
  await w.putTypedArray(KEYS.itemCreatedTs, d.itemCreatedTs);
  if (d.itemTags) await w.putCsr(KEYS.itemTags, d.itemTags);
}

function statCounts(d: Dataset): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [k, v] of Object.entries(d.stats)) if (Number.isFinite(v)) counts[k] = v;
  return counts;
}

function skippedRows(d: Dataset): Record<string, number> {
  return Object.fromEntries(d.inputs.map((f) => [f.kind, f.skippedRows]));
}
