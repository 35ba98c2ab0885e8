/**
 * The extension point of `simrec build`: a stage after the ingest — its name, whether this build asks for it,
 * and its work on the shared context. runBuild (build.ts) runs the registered stages (stages.ts) in order;
 * adding a stage means one module exporting a BuildStage and one line in the list.
 */
import type { Dataset } from '../data/dataset.ts';
import type { ArtifactStore, VersionWriter } from '../store/store.ts';
import type { BuildConfig } from './config.ts';
import type { MfStageSummary } from './mf-stage.ts';
import type { RankerReport } from './ranker-stage.ts';
import type { SimClustersSummary } from './simclusters-stage.ts';

export interface BuildOptions {
  /** Input directory (canonical files or a MovieLens directory). */
  data: string;
  /** Artifact location (a directory; see openArtifactStore); a new version is written under it. */
  out: string;
  config: BuildConfig;
  /** Progress callback (stage, done, total). */
  onProgress?: (stage: string, done: number, total?: number) => void;
  /** Called once per finished stage with its wall time. */
  onStage?: (stage: string, seconds: number, detail?: Record<string, unknown>) => void;
  /** A store other than the embedded LMDB one (tests, Redis later). */
  store?: ArtifactStore;
  /** Artifact location of a previous build whose KnownFor initialises this one (stable cluster ids). */
  warmStart?: string;
  /**
   * Artifact location whose event log is read as input with the data (`--events`); default: `out`, when
   * `events.absorb` is 'auto' and it has a log. false: no log.
   */
  events?: string | false;
  /** Notices about the run that are not errors (e.g. threads capped to the CPU count). */
  onWarning?: (message: string) => void;
}

/** What the stages leave for the caller beside the stored version. */
export interface BuildOutputs {
  simclusters: SimClustersSummary | null;
  mf: MfStageSummary | null;
  ranker: RankerReport | null;
}

/** Everything one build run shares between stages. */
export interface BuildContext {
  options: BuildOptions;
  /** The effective config (threads capped to the CPUs). */
  config: BuildConfig;
  writer: VersionWriter;
  dataset: Dataset;
  /** Counts and extra entries of the manifest, filled by the stages. */
  counts: Record<string, number>;
  extra: Record<string, unknown>;
  outputs: BuildOutputs;
  /** Records a finished (sub-)stage with its wall time, in run order (manifest `stages` and `timings`). */
  stageDone(name: string, seconds: number, detail?: Record<string, unknown>): void;
  /** Runs fn as the stage `name`, timed and recorded. */
  timed<T>(name: string, fn: () => Promise<T> | T, detail?: (v: T) => Record<string, unknown>): Promise<T>;
}

export interface BuildStage {
  /** The stage's name in logs (a stage may record finer sub-stages of its own through stageDone). */
  readonly name: string;
  /** Whether this build runs the stage (its config section, the data it needs). */
  enabled(ctx: BuildContext): boolean;
  run(ctx: BuildContext): Promise<void>;
}
