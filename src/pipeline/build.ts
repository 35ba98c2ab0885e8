/**
 * `simrec build`: reads an input directory, runs the offline stages, and writes everything into one new
 * artifact version that becomes current only after it was verified. Stages run in data-flow order and are
 * timed; a failure anywhere aborts the version, so the previous one keeps serving.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { writeInputs } from '../artifacts/inputs.ts';
import type { Dataset } from '../data/dataset.ts';
import { loadDataset } from '../data/load.ts';
import { openArtifactStore } from '../store/open.ts';
import type { ArtifactStore, Manifest, VersionWriter } from '../store/store.ts';
import type { BuildConfig } from './config.ts';
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
  /** Notices about the run that are not errors (e.g. threads capped to the CPU count). */
  onWarning?: (message: string) => void;
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

/**
 * Threads beyond the CPUs the process may use only time-slice the same cores: KnownFor's synchronised sweeps then
 * wait on descheduled workers and ran 10× slower with --threads 16 on 2 cores. Returns the config to run with.
 */
export function capThreads(config: BuildConfig, cpus: number, warn?: (message: string) => void): BuildConfig {
  if (config.threads <= cpus) return config;
  warn?.(`threads ${config.threads} capped to ${cpus}, the CPUs available to this process`);
  return { ...config, threads: cpus };
}

export async function runBuild(options: BuildOptions): Promise<BuildResult> {
  const config = capThreads(options.config, availableParallelism(), options.onWarning);
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
  const store = options.store ?? openArtifactStore(options.out, { field: 'out' });
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
        timeWindow: {
          notBefore: config.ingest.notBefore,
          notAfter: config.ingest.notAfter,
          maxFutureSeconds: config.ingest.maxFutureSeconds,
        },
        requireRelations: true,
        onProgress: options.onProgress,
      }),
    (d) => ({
      users: d.stats.users,
      items: d.stats.items,
      followEdges: d.stats.followEdges,
      engagements: d.stats.engagements,
    }),
  ).catch(abandon);

  const ctx: BuildContext = { options, config, writer, dataset, counts: statCounts(dataset), extra: {} };
  try {
    await timed('store-inputs', () => writeInputs(ctx.writer, ctx.dataset));
    let simclusters: SimClustersSummary | null = null;
    if (config.simclusters.enabled) {
      const warm = options.warmStart
        ? openArtifactStore(options.warmStart, { field: 'warm-start' })
        : undefined;
      try {
        simclusters = await simclustersStage(dataset, withDataTime(config, dataset), writer, {
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
      ctx.extra.clusters = simclusters.clusters;
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
      dataTime: dataset.dataTime,
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

/**
 * The config with the data time as "now" of every decaying SimClusters stage that does not set its own, when
 * the engagements carry timestamps (without them nothing decays, and the stages keep their own rule).
 */
function withDataTime(config: BuildConfig, d: Dataset): BuildConfig {
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

function statCounts(d: Dataset): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [k, v] of Object.entries(d.stats)) if (Number.isFinite(v)) counts[k] = v;
  return counts;
}

function skippedRows(d: Dataset): Record<string, number> {
  return Object.fromEntries(d.inputs.map((f) => [f.kind, f.skippedRows]));
}
