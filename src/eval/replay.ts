/**
 * `simrec replay` (issue 15 item 6): what real time is worth, measured. A version is built, by `simrec build`'s
 * own stages, on everything before time t; the later events are then replayed in time order through a live
 * overlay (query/live/overlay.ts, what `simrec serve` applies from its event log). Before each engagement is
 * applied, that user's SimClusters candidates are asked for twice — from the live model (version + overlay so
 * far) and from the frozen version — and each counts a hit when the engaged item is in its top k.
 *
 * Only first engagements of a pair are asked about: an item the user already engaged with (before t, or earlier in
 * the replay) is excluded from their candidates by design, so repeats would only measure that rule. A user
 * the frozen version does not know gets no frozen candidates (a miss, as the server would answer); the live model
 * may know them by then (a user folded in from their events). Both figures are over the same queries.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimrecError } from '../core/errors.ts';
import { engagementKind, isItemEvent, type LoggedRecord } from '../core/event.ts';
import { loadDataset } from '../data/load.ts';
import { runBuild } from '../pipeline/build.ts';
import type { BuildConfig } from '../pipeline/config.ts';
import { LiveOverlay } from '../query/live/overlay.ts';
import { ServingModel } from '../query/serving-model.ts';
import { openArtifactStore } from '../store/open.ts';
import { replayCut, splitForReplay } from './replay-split.ts';

export interface ReplayOptions {
  /** Input directory, read with `config.ingest`. */
  data: string;
  config: BuildConfig;
  /** The cut (Unix seconds); default: the time leaving `trainFraction` of the timed engagements before it. */
  at?: number;
  /** Default 0.8. */
  trainFraction?: number;
  /** Default 10. */
  k?: number;
  /** Stop asking after this many queries (the rest of the events are still applied); default all. */
  maxQueries?: number;
  /** Working directory for the split and the version (default: a temporary one, removed afterwards). */
  workDir?: string;
  onProgress?: (stage: string, done: number, total?: number) => void;
}

export interface ReplayScores {
  /** Share of queries whose engaged item was in the top k. */
  hitRate: number;
  /** Mean of 1/rank over queries (0 when not in the top k). */
  mrr: number;
  /** Queries that got a non-empty list. */
  answered: number;
}

export interface ReplayReport {
  at: number;
  k: number;
  version: string;
  clusters: number;
  before: { follows: number; items: number; engagements: number; topicFollows: number };
  /** Records replayed (engagements, unfavs, item upserts). */
  events: number;
  laterItems: number;
  /** Engagements asked about (first engagements of a pair). */
  queries: number;
  /** Engagements not asked about: repeats of a pair, or past maxQueries. */
  notAsked: number;
  live: ReplayScores;
  frozen: ReplayScores;
  /** live hit rate / frozen hit rate (null when frozen is 0). */
  ratio: number | null;
  seconds: { build: number; replay: number };
}

export async function runReplay(options: ReplayOptions): Promise<ReplayReport> {
  const k = options.k ?? 10;
  if (!Number.isInteger(k) || k < 1 || k > 1000)
    throw new SimrecError('CONFIG_INVALID', `k must be an integer in [1, 1000], got ${k}`, { field: 'k' });
  const config = options.config;
  const full = await loadDataset(options.data, {
    format: config.ingest.format,
    skipBadRows: config.ingest.skipBadRows,
    minRating: config.ingest.minRating,
    timeWindow: {
      notBefore: config.ingest.notBefore,
      notAfter: config.ingest.notAfter,
      maxFutureSeconds: config.ingest.maxFutureSeconds,
    },
    requireRelations: true,
  });
  let at = options.at;
  if (at === undefined) {
    const f = options.trainFraction ?? 0.8;
    if (!(f > 0 && f < 1))
      throw new SimrecError('CONFIG_INVALID', `train fraction must be in (0, 1), got ${f}`, {
        field: 'trainFraction',
      });
    try {
      at = replayCut(full, f);
    } catch {
      throw new SimrecError(
        'CONFIG_INVALID',
        `${options.data}: replay needs engagement timestamps; none has one`,
        {
          field: 'data',
        },
      );
    }
  }
  const work = options.workDir ?? mkdtempSync(join(tmpdir(), 'simrec-replay-'));
  const split = splitForReplay(full, at, join(work, 'before'));
  const t0 = performance.now();
  // The before-files are canonical and already filtered (MovieLens ratings below minRating are gone).
  const built = await runBuild({
    data: join(work, 'before'),
    out: join(work, 'artifacts'),
    config: { ...config, ingest: { ...config.ingest, format: 'canonical', minRating: 0 } },
    events: false,
    onProgress: options.onProgress,
  });
  const buildSeconds = (performance.now() - t0) / 1000;
  const store = openArtifactStore(join(work, 'artifacts'));
  const reader = await store.openVersion(built.manifest.id);
  try {
    const frozen = await ServingModel.load(reader);
    const overlay = await LiveOverlay.create(frozen, { engagementActions: config.events.engagementActions });
    const live = overlay.model;
    const seen = new Set<string>();
    const e = full.engagements;
    if (e) {
      // Pairs engaged before the cut, by external id (the version's ids are the before-files' ids).
      const m = e.matrix;
      for (let u = 0; u < m.nRows; u++)
        for (let j = m.indptr[u]; j < m.indptr[u + 1]; j++)
          if (!(e.ts[j] >= at)) seen.add(`${full.users.id(u)}\t${full.items.id(m.indices[j])}`);
    }
    const liveAcc = { hits: 0, rr: 0, answered: 0 };
    const frozenAcc = { hits: 0, rr: 0, answered: 0 };
    const maxQueries = options.maxQueries ?? Number.POSITIVE_INFINITY;
    let queries = 0;
    let notAsked = 0;
    const t1 = performance.now();
    const records = split.records;
    // Each record is applied right after its query, one at a time, through one reused array.
    const one: LoggedRecord[] = [records[0]];
    for (let r = 0; r < records.length; r++) {
      const rec = records[r];
      if (
        !isItemEvent(rec) &&
        rec.itemId !== undefined &&
        engagementKind(rec.action, config.events.engagementActions) === 'positive'
      ) {
        const pair = `${rec.userId}\t${rec.itemId}`;
        if (seen.has(pair) || queries >= maxQueries) notAsked++;
        else {
          queries++;
          await score(live, rec.userId, rec.itemId, k, liveAcc);
          await score(frozen, rec.userId, rec.itemId, k, frozenAcc);
        }
        seen.add(pair);
      }
      one[0] = rec;
      overlay.apply(one);
      if (options.onProgress && r % 1000 === 0) options.onProgress('replay', r, records.length);
    }
    const scores = (a: typeof liveAcc): ReplayScores => ({
      hitRate: queries ? a.hits / queries : 0,
      mrr: queries ? a.rr / queries : 0,
      answered: a.answered,
    });
    const liveScores = scores(liveAcc);
    const frozenScores = scores(frozenAcc);
    return {
      at,
      k,
      version: built.manifest.id,
      clusters: built.simclusters?.clusters.nonEmpty ?? 0,
      before: split.before,
      events: records.length,
      laterItems: split.laterItems,
      queries,
      notAsked,
      live: liveScores,
      frozen: frozenScores,
      ratio: frozenScores.hitRate > 0 ? liveScores.hitRate / frozenScores.hitRate : null,
      seconds: { build: buildSeconds, replay: (performance.now() - t1) / 1000 },
    };
  } finally {
    await reader.close();
    await store.close();
    if (!options.workDir) rmSync(work, { recursive: true, force: true });
  }
}

/** Asks `model` for the user's top k and adds a hit (and 1/rank) when `item` is among them. */
async function score(
  model: ServingModel,
  user: string,
  item: string,
  k: number,
  acc: { hits: number; rr: number; answered: number },
): Promise<void> {
  let items: Int32Array;
  try {
    items = (await model.candidates({ userId: user }, { limit: k })).result.items;
  } catch (e) {
    // An unknown user (or one without an embedding) gets nothing, as the server answers them.
    if (e instanceof SimrecError && (e.code === 'NOT_FOUND' || e.code === 'ARTIFACT_MISSING')) return;
    throw e;
  }
  if (items.length > 0) acc.answered++;
  for (let j = 0; j < items.length; j++)
    if (model.itemId(items[j]) === item) {
      acc.hits++;
      acc.rr += 1 / (j + 1);
      return;
    }
}
