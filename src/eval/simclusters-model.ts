/**
 * SimClusters as a recommender for offline evaluation, measured as it is served: the train positives are written
 * as a canonical input directory, `runBuild` builds a version from it with the build's config (the stages, their
 * defaults and their order are the build's own, so the evaluation follows any change to them), and each user is
 * answered by ServingModel.candidates — the SimClusters ANN query of POST /v1/candidates/simclusters, with its
 * default parameters (scoring, exact rerank, the user's engaged items excluded). There are no evaluation-only
 * defaults: a config file (`simrec eval --config`) changes the build here exactly as it changes `simrec build`.
 *
 * The served answer is a ranked list, not a score per item, so this model ranks (`rankUser`) and has no AUC.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimrecError } from '../core/errors.ts';
import { runBuild } from '../pipeline/build.ts';
import { type BuildConfig, resolveBuildConfig } from '../pipeline/config.ts';
import { ServingModel } from '../query/serving-model.ts';
import { openArtifactStore } from '../store/open.ts';
import type { ArtifactStore, VersionReader } from '../store/store.ts';
import type { FitOptions, Recommender, TrainData } from './recommender.ts';

export interface SimClustersModelOptions {
  /** A build config file (JSON or YAML, docs/config.md); without one, the build's defaults. */
  configFile?: string;
  /** Overrides on top of the file, as the build's command-line options would give them. */
  overrides?: Record<string, unknown>;
}

/** What the build produced, for reports and tests. */
export interface SimClustersModelStats {
  version: string;
  clusters: number;
  counts: Record<string, number>;
}

/** External ids the evaluation's dense indices get in the build (any names would do; these are readable). */
export const userName = (u: number) => `u${u}`;
export const itemName = (i: number) => `i${i}`;

export class SimClustersRecommender implements Recommender {
  private dir: string | null = null;
  private store: ArtifactStore | null = null;
  private reader: VersionReader | null = null;
  protected model: ServingModel | null = null;
  protected nItems = 0;
  stats: SimClustersModelStats | null = null;

  constructor(
    protected readonly options: SimClustersModelOptions = {},
    readonly name = 'simclusters',
  ) {}

  /** The effective build config: file, overrides, then the evaluation's seed and threads; MF is not trained. */
  buildConfig(opts: Pick<FitOptions, 'seed' | 'threads'>): BuildConfig {
    return resolveBuildConfig(this.options.configFile, {
      ...this.options.overrides,
      seed: opts.seed,
      threads: opts.threads,
      ingest: { format: 'canonical' },
      mf: { enabled: false },
    });
  }

  async fit(data: TrainData, opts: FitOptions): Promise<void> {
    await this.dispose();
    const dir = mkdtempSync(join(tmpdir(), 'simrec-eval-sc-'));
    this.dir = dir;
    writeTrainDir(join(dir, 'data'), data);
    const result = await runBuild({
      data: join(dir, 'data'),
      out: join(dir, 'artifacts'),
      config: this.buildConfig(opts),
      onProgress: opts.onProgress,
    });
    this.store = openArtifactStore(join(dir, 'artifacts'));
    this.reader = await this.store.openVersion(result.manifest.id);
    this.model = await ServingModel.load(this.reader);
    this.nItems = data.nItems;
    this.stats = {
      version: result.manifest.id,
      clusters: result.simclusters?.k ?? 0,
      counts: result.manifest.counts,
    };
  }

  /**
   * The served top-k of a user (dense item indices, best first): empty for a user the build does not know (no
   * train positive) or without an InterestedIn embedding, as the server answers them.
   */
  async rankUser(user: number, k: number): Promise<{ items: Int32Array; scores: Float32Array }> {
    const m = this.model;
    if (!m) throw new SimrecError('INTERNAL', `${this.name}: rankUser before fit`);
    let r: Awaited<ReturnType<ServingModel['candidates']>>;
    try {
      r = await m.candidates({ userId: userName(user) }, { limit: k });
    } catch (e) {
      if (e instanceof SimrecError && e.code === 'NOT_FOUND')
        return { items: new Int32Array(0), scores: new Float32Array(0) };
      throw e;
    }
    const items = Int32Array.from(r.result.items, (i) => Number(m.itemId(i).slice(1)));
    for (const i of items)
      if (!(i >= 0 && i < this.nItems))
        throw new SimrecError('INTERNAL', `${this.name}: the build served item ${i} outside the catalogue`);
    return { items, scores: r.result.scores };
  }

  async dispose(): Promise<void> {
    await this.reader?.close();
    await this.store?.close();
    this.reader = null;
    this.store = null;
    this.model = null;
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }
}

/**
 * The train positives as canonical input: `items.csv` first, listing every catalogue item in index order, so the
 * build gives each item the evaluation's index (ids are numbered in order of first appearance, items before
 * engagements) and tie-breaking by item index agrees; then `engagements.csv` with the pair weights and, when
 * every pair has one, its time.
 */
export function writeTrainDir(dir: string, data: TrainData): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const items = ['item_id'];
  for (let i = 0; i < data.nItems; i++) items.push(itemName(i));
  writeFileSync(join(dir, 'items.csv'), `${items.join('\n')}\n`);
  const m = data.interactions;
  let timed = m.nnz > 0;
  for (let k = 0; k < m.nnz && timed; k++) if (!Number.isFinite(data.ts[k])) timed = false;
  const lines = [timed ? 'user_id,item_id,weight,ts' : 'user_id,item_id,weight'];
  for (let u = 0; u < m.nRows; u++) {
    for (let k = m.indptr[u]; k < m.indptr[u + 1]; k++) {
      const w = m.values ? m.values[k] : 1;
      lines.push(
        timed
          ? `${userName(u)},${itemName(m.indices[k])},${w},${data.ts[k]}`
          : `${userName(u)},${itemName(m.indices[k])},${w}`,
      );
    }
  }
  writeFileSync(join(dir, 'engagements.csv'), `${lines.join('\n')}\n`);
}
