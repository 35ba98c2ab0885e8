/**
 * `simrec build`: reads an input directory, runs the offline stages, and writes everything into one new
 * artifact version that becomes current only after it was verified. Stages run in data-flow order and are
 * timed; a failure anywhere aborts the version, so the previous one keeps serving.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { LAZY_PREFIXES } from '../artifacts/keys.ts';
import type { AbsorbStats } from '../data/absorb-events.ts';
import type { Dataset } from '../data/dataset.ts';
import { loadDataset } from '../data/load.ts';
import { openArtifactStore } from '../store/open.ts';
import type { Manifest } from '../store/store.ts';
import { absorbLog, logLocation } from './absorb-log.ts';
import type { BuildContext, BuildOptions, BuildOutputs } from './build-stage.ts';
import type { BuildConfig } from './config.ts';
import { BUILD_STAGES } from './stages.ts';

export type { BuildContext, BuildOptions, BuildOutputs, BuildStage } from './build-stage.ts';

export interface BuildResult extends BuildOutputs {
  manifest: Manifest;
  dataset: Dataset;
  /** Seconds per stage, in run order. */
  timings: Record<string, number>;
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
  const stageDone = (stage: string, seconds: number, detail?: Record<string, unknown>) => {
    timings[stage] = Math.round(seconds * 1000);
    stages.push(stage);
    options.onStage?.(stage, seconds, detail);
  };
  const timed = async <T>(
    stage: string,
    fn: () => Promise<T> | T,
    detail?: (v: T) => Record<string, unknown>,
  ): Promise<T> => {
    const t0 = performance.now();
    const value = await fn();
    stageDone(stage, (performance.now() - t0) / 1000, detail?.(value));
    return value;
  };

  // The output is opened and locked before the inputs are read, so an unusable --out (a file, a full or
  // read-only disk, another build holding the lock) fails at once rather than after the ingest.
  const store = options.store ?? openArtifactStore(options.out, { field: 'out' });
  const writer = await store.createVersion({ lazyPrefixes: LAZY_PREFIXES });
  const abandon = async (e: unknown): Promise<never> => {
    await writer.abort().catch(() => {});
    if (!options.store) await store.close();
    throw e;
  };
  let dataset = await timed(
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

  let absorbedEvents: AbsorbStats | null = null;
  const events = await Promise.resolve()
    .then(() => logLocation(config, options.out, options.events))
    .catch(abandon);
  if (events !== null) {
    const absorbed = await timed(
      'events',
      () => absorbLog(dataset, events, config),
      (a) => ({ ...a.stats }),
    ).catch(abandon);
    dataset = absorbed.dataset;
    absorbedEvents = absorbed.stats;
  }

  const ctx: BuildContext = {
    options,
    config,
    writer,
    dataset,
    counts: statCounts(dataset),
    extra: absorbedEvents ? { events: absorbedEvents } : {},
    outputs: { simclusters: null, mf: null, ranker: null },
    stageDone,
    timed,
  };
  try {
    for (const stage of BUILD_STAGES) if (stage.enabled(ctx)) await stage.run(ctx);
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
      extra: {
        format: dataset.format,
        skippedRows: skippedRows(dataset),
        ...(dataset.inputs.some((f) => (f.signalRows ?? 0) > 0) ? { signalRows: signalRows(dataset) } : {}),
        ...ctx.extra,
      },
      dataTime: dataset.dataTime,
    });
    return {
      manifest,
      dataset,
      timings: Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, v / 1000])),
      ...ctx.outputs,
    };
  } catch (e) {
    await writer.abort().catch(() => {});
    throw e;
  } finally {
    if (!options.store) await store.close();
  }
}

function statCounts(d: Dataset): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [k, v] of Object.entries(d.stats)) if (Number.isFinite(v)) counts[k] = v;
  return counts;
}

function skippedRows(d: Dataset): Record<string, number> {
  return Object.fromEntries(d.inputs.map((f) => [f.kind, f.skippedRows]));
}

/** Engagement rows left out as live signals (impression, hide), by input kind. */
function signalRows(d: Dataset): Record<string, number> {
  return Object.fromEntries(d.inputs.map((f) => [f.kind, f.signalRows ?? 0]));
}
