/**
 * The build's ranker stage (issue 16 item 4): a logistic ranker trained on examples that look like serving.
 *
 * 1. A split of the engagement log into a pre-split state and labels, one of two kinds (`ranker.split`,
 *    `auto` by default, decided from the data):
 *    - time: the state cut t₁ (`trainFraction` of the timed engagements before it) and the hold-out cut t₂
 *      (`holdoutFraction` of them at or after it); training labels are the engagements in [t₁, t₂), held-out
 *      labels those from t₂ on. Right when users engage over time (a feed): their past predicts their next.
 *    - user: a per-user random holdout. Sampled users (disjoint training and held-out ones) each lose a seeded
 *      random (1 − trainFraction) of their positive items from the state, and those are the labels. Right when
 *      the times do not order a user's engagements into a past and a future, e.g. ratings entered in one
 *      sitting (MovieLens: most users' ratings span minutes of a 22-year log): a time split then labels mostly
 *      users who did not exist before t₁, so the ranker learns what a stranger is served (popularity) and not
 *      what ranks a known user's candidates, which is what serving asks of it.
 *    `auto` measures the time split's warm share — of the users with a positive engagement in [t₁, t₂), the
 *    share that engaged before t₁ (known to the state) — and takes the time split when at least half are.
 * 2. The pre-split state: the same stages over the state's engagements (InterestedIn, producer, item and topic
 *    embeddings, the cluster indexes; MF when enabled), written to a temporary store and loaded as a
 *    ServingModel, so candidates come from the engine's own sources. The communities (similarity, KnownFor) are
 *    the build's own: their cluster ids are then the ones the ranker's cluster features meet at serving, and
 *    the two most expensive SimClusters stages are not run twice. In the social case they come from follows,
 *    which carry no time; in the catalogue case the held-out co-engagements shape the item clusters (not who
 *    engaged with what), a leak the report's figures include.
 * 3. For each sampled user: the candidates of the config's default strategy minus what its filters drop at
 *    serving (engaged, hidden, own items), the engine's features (recommend/features.ts, the module serving
 *    uses), labelled 1 when the item is one of the user's labels, else 0 (the data carries no impressions;
 *    candidates not engaged with are the negatives). Under the time split, items created after t₁ did not
 *    exist yet and are not candidates. Training keeps every positive and a seeded sample of the negatives, each
 *    sampled negative weighted by (negatives / sampled) so the weighted data is the candidates' own
 *    distribution and the calibrated probabilities mean what they say at serving; evaluation keeps every
 *    candidate.
 * 4. trainLogistic with class weights ('balanced') and L2 (by default chosen by cross-validation over the
 *    training users, ranking/select-l2.ts); logloss, AUC, ECE and a reliability table on the
 *    held-out slice, beside the AUC of the reciprocal-rank fusion the engine uses without a ranker; and the
 *    served lists' quality there (NDCG@10, precision@10 per held-out user, ranked as serving ranks) of the
 *    ranker, of the fusion and of each single source.
 * 5. The guards: examples without both classes on either side (too little data) train nothing, and the stage
 *    reports itself skipped. A ranker whose held-out lists are worse than the fusion's, beyond chance, is not
 *    shipped — the version then scores by fusion, and the report says so (`scoring`, `fallback`). Otherwise the
 *    model and its report are stored in the version (artifacts/ranker.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeInputs } from '../artifacts/inputs.ts';
import { KEYS } from '../artifacts/keys.ts';
import { writeRanker } from '../artifacts/ranker.ts';
import { CsrMatrix } from '../core/csr.ts';
import { Rng } from '../core/prng.ts';
import { ACTION_POSITIVE, type Dataset } from '../data/dataset.ts';
import { ServingModel } from '../query/serving-model.ts';
import { ExampleSet } from '../ranking/examples.ts';
import { FeatureSpec, FeatureVector } from '../ranking/hashing.ts';
import { trainLogistic } from '../ranking/logistic.ts';
import {
  auc,
  calibration,
  type ListQuality,
  listQuality,
  logloss,
  type ReliabilityBin,
} from '../ranking/metrics.ts';
import { selectL2 } from '../ranking/select-l2.ts';
import { generateCandidates } from '../recommend/candidates.ts';
import { Engine } from '../recommend/engine.ts';
import { FEATURES, userFeatures } from '../recommend/features.ts';
import { strategiesOf } from '../recommend/strategy.ts';
import { resolveSubject } from '../recommend/subject.ts';
import type { SimClustersInput } from '../simclusters/pipeline.ts';
import { openArtifactStore } from '../store/open.ts';
import type { VersionWriter } from '../store/store.ts';
import type { BuildConfig } from './config.ts';
import { mfStage } from './mf-stage.ts';
import { simclustersStage } from './simclusters-stage.ts';

export type RankerSplitMode = 'auto' | 'time' | 'user';

export interface RankerStageConfig {
  enabled: boolean;
  split: RankerSplitMode;
  trainFraction: number;
  holdoutFraction: number;
  trainUsers: number;
  evalUsers: number;
  negativesPerUser: number;
  l2: number | 'auto';
  bits: number;
  maxIterations: number;
}

/** `auto` takes the time split when at least this share of its training window's users is known before t₁. */
export const MIN_WARM_SHARE = 0.5;

/** The cut-off of the held-out list quality the guard compares. */
export const LIST_K = 10;

export interface RankerSplit {
  kind: 'time' | 'user';
  /** Why this kind: the config's choice, or what `auto` measured. */
  reason: string;
  /**
   * Of the users with a positive engagement in the time split's training window, the share that engaged
   * before it; null when not measured (split `user` asked for).
   */
  warmShare: number | null;
}

export interface RankerReport {
  split: RankerSplit;
  /** The time split's cuts; null under the user split. */
  cuts: { state: number; holdout: number } | null;
  users: { train: number; eval: number };
  train: { examples: number; positives: number; negatives: number; iterations: number; converged: boolean };
  eval: {
    examples: number;
    positives: number;
    logloss: number;
    auc: number;
    /** AUC of the sources' reciprocal-rank fusion on the same examples (what serving uses without a ranker). */
    fusionAuc: number;
    ece: number;
    reliability: ReliabilityBin[];
    /**
     * The held-out users' served lists (NDCG@k and precision@k, k = LIST_K), ranked as serving ranks them: by
     * the ranker, by the fusion, and by each single source that returned anything (its own order).
     */
    lists: {
      k: number;
      ranker: ListQuality;
      fusion: ListQuality;
      /** Per held-out user, NDCG@k of the ranker minus the fusion's: mean and standard error (the guard's test). */
      gap: { mean: number; standardError: number; groups: number };
      sources: Record<string, ListQuality>;
    };
  };
  /** The L2 penalty trained with: the config's, or the one cross-validation chose (`grid`: its mean logloss). */
  l2: { chosen: number; mode: 'auto' | 'config'; folds: number; grid: { l2: number; logloss: number }[] };
  /** What the version scores with: the ranker, or the fusion when the guard rejected the ranker. */
  scoring: 'ranker' | 'fusion';
  /** Why the ranker was not shipped; null when it was. */
  fallback: string | null;
  /** Positives of the labels the candidates contained, over all labels of the sampled users. */
  candidateRecall: { train: number; eval: number };
  seconds: { state: number; examples: number; fit: number };
}

function timedCount(d: Dataset): number {
  const e = d.engagements!;
  let timed = 0;
  for (let j = 0; j < e.ts.length; j++) if (!Number.isNaN(e.ts[j])) timed++;
  return timed;
}

/** A stage that found too little to learn from: the version scores by fusion. */
export interface RankerSkipped {
  skipped: string;
}

/**
 * Why the examples cannot train and test a ranker — a side without a positive or without a negative (a data
 * set of a handful of rows) — or null.
 */
export function tooFewExamples(
  train: { positives: number; negatives: number },
  held: { positives: number; negatives: number },
): string | null {
  if (train.positives > 0 && train.negatives > 0 && held.positives > 0 && held.negatives > 0) return null;
  return (
    `too few examples to train and test a ranker (training ${train.positives} positives, ${train.negatives} ` +
    `negatives; held out ${held.positives} positives, ${held.negatives} negatives): the version scores by fusion`
  );
}

/** Timed engagements the time split needs; `auto` takes the per-user holdout below this. */
export const MIN_TIMED_ENGAGEMENTS = 100;

/** Why the stage cannot train on this data, or null. */
export function rankerSkipReason(d: Dataset, cfg: RankerStageConfig): string | null {
  const e = d.engagements;
  if (!e) return 'no engagements';
  if (!(cfg.trainFraction + cfg.holdoutFraction < 1)) return 'trainFraction + holdoutFraction must be < 1';
  if (cfg.split !== 'time') return null;
  const timed = timedCount(d);
  if (timed < MIN_TIMED_ENGAGEMENTS)
    return `${timed} timed engagements (the time split needs at least ${MIN_TIMED_ENGAGEMENTS})`;
  return null;
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.floor(q * sorted.length)))];
}

/** The dataset with the engagements `keep(user, entry)` accepts, its data time `dataTime`. */
function filterEngagements(
  d: Dataset,
  keep: (u: number, j: number) => boolean,
  dataTime: number | null,
): Dataset {
  const e = d.engagements!;
  const m = e.matrix;
  const indptr = new Int32Array(m.nRows + 1);
  let n = 0;
  for (let u = 0; u < m.nRows; u++) {
    for (let j = m.indptr[u]; j < m.indptr[u + 1]; j++) if (keep(u, j)) n++;
    indptr[u + 1] = n;
  }
  const indices = new Int32Array(n);
  const values = m.values ? new Float32Array(n) : null;
  const ts = new Float64Array(n);
  const action = new Uint8Array(n);
  let w = 0;
  for (let u = 0; u < m.nRows; u++)
    for (let j = m.indptr[u]; j < m.indptr[u + 1]; j++) {
      if (!keep(u, j)) continue;
      indices[w] = m.indices[j];
      if (values && m.values) values[w] = m.values[j];
      ts[w] = e.ts[j];
      action[w] = e.action[j];
      w++;
    }
  return {
    ...d,
    engagements: { matrix: new CsrMatrix(m.nRows, m.nCols, indptr, indices, values), ts, action },
    stats: { ...d.stats, engagements: n },
    dataTime,
  };
}

/** The dataset as it was before t: engagements with ts < t (untimed ones kept), data time t. */
export function datasetBefore(d: Dataset, t: number): Dataset {
  const ts = d.engagements!.ts;
  return filterEngagements(d, (_, j) => !(ts[j] >= t), t);
}

/**
 * The dataset without each user's held-out items (every engagement of such a pair, whatever its action);
 * the data time stays.
 */
export function datasetWithout(d: Dataset, heldOut: ReadonlyMap<number, ReadonlySet<number>>): Dataset {
  const idx = d.engagements!.matrix.indices;
  return filterEngagements(d, (u, j) => !heldOut.get(u)?.has(idx[j]), d.dataTime);
}

/** Users with a positive engagement in [from, to), and their positives there (user → items). */
function windowPositives(d: Dataset, from: number, to: number): Map<number, Set<number>> {
  const e = d.engagements!;
  const m = e.matrix;
  const out = new Map<number, Set<number>>();
  for (let u = 0; u < m.nRows; u++)
    for (let j = m.indptr[u]; j < m.indptr[u + 1]; j++) {
      const t = e.ts[j];
      if (!(t >= from && t < to) || e.action[j] !== ACTION_POSITIVE) continue;
      let s = out.get(u);
      if (!s) out.set(u, (s = new Set()));
      s.add(m.indices[j]);
    }
  return out;
}

/** Of `users`, the share with an engagement before t (untimed engagements count as before); NaN for none. */
function warmShare(d: Dataset, users: Iterable<number>, t: number): number {
  const e = d.engagements!;
  const m = e.matrix;
  let n = 0;
  let warm = 0;
  for (const u of users) {
    n++;
    for (let j = m.indptr[u]; j < m.indptr[u + 1]; j++)
      if (!(e.ts[j] >= t)) {
        warm++;
        break;
      }
  }
  return n > 0 ? warm / n : Number.NaN;
}

/** The time split's cuts t₁ (state) and t₂ (hold-out). */
function timeCuts(d: Dataset, cfg: RankerStageConfig): { t1: number; t2: number } {
  const sorted = d.engagements!.ts.filter((t) => !Number.isNaN(t)).sort();
  return { t1: quantile(sorted, cfg.trainFraction), t2: quantile(sorted, 1 - cfg.holdoutFraction) };
}

/** Which split the stage uses on this data, and why (see the module comment). */
export function chooseSplit(d: Dataset, cfg: RankerStageConfig): RankerSplit {
  if (cfg.split === 'user')
    return { kind: 'user', reason: 'ranker.split is user (per-user random holdout)', warmShare: null };
  if (cfg.split === 'auto') {
    // Rating dumps and play counts often carry no time at all: nothing orders them into a past and a future.
    const timed = timedCount(d);
    if (timed < MIN_TIMED_ENGAGEMENTS)
      return {
        kind: 'user',
        reason: `${timed} timed engagements (a time split needs at least ${MIN_TIMED_ENGAGEMENTS}): a per-user random holdout`,
        warmShare: null,
      };
  }
  const { t1, t2 } = timeCuts(d, cfg);
  const share = warmShare(d, windowPositives(d, t1, t2).keys(), t1);
  const pct = `${(100 * (Number.isNaN(share) ? 0 : share)).toFixed(0)}%`;
  if (cfg.split === 'time')
    return { kind: 'time', reason: `ranker.split is time (warm share ${pct})`, warmShare: share };
  if (share >= MIN_WARM_SHARE)
    return {
      kind: 'time',
      reason: `${pct} of the users engaging in the time split's training window engaged before it (≥ ${100 * MIN_WARM_SHARE}%): their past predicts their next engagements`,
      warmShare: share,
    };
  return {
    kind: 'user',
    reason: `only ${pct} of the users engaging in the time split's training window engaged before it (< ${100 * MIN_WARM_SHARE}%): the times do not order users' engagements into a past and a future, so a per-user random holdout`,
    warmShare: Number.isNaN(share) ? null : share,
  };
}

function sample(users: number[], n: number, rng: Rng): number[] {
  const a = users.slice();
  for (let j = 0; j < Math.min(n, a.length); j++) {
    const r = j + rng.int(a.length - j);
    [a[j], a[r]] = [a[r], a[j]];
  }
  return a.slice(0, n).sort((x, y) => x - y);
}

/** One side of the examples: users, their labels, what is known of them beyond the state, the features' now. */
interface Side {
  users: number[];
  positives: Map<number, Set<number>>;
  known: Map<number, Set<number>> | null;
}

interface Plan {
  state: Dataset;
  /** The features' and the state's "now". */
  now: number;
  /** Items created after this did not exist in the state (time split); +∞ otherwise. */
  createdBefore: number;
  train: Side;
  eval: Side;
  cuts: RankerReport['cuts'];
}

function timePlan(d: Dataset, cfg: RankerStageConfig, rng: Rng): Plan {
  const { t1, t2 } = timeCuts(d, cfg);
  const trainPos = windowPositives(d, t1, t2);
  const evalPos = windowPositives(d, t2, Number.POSITIVE_INFINITY);
  return {
    state: datasetBefore(d, t1),
    now: t1,
    createdBefore: t1,
    train: { users: sample([...trainPos.keys()], cfg.trainUsers, rng), positives: trainPos, known: null },
    // At t₂ the training window is known: its engagements are not evaluation candidates.
    eval: { users: sample([...evalPos.keys()], cfg.evalUsers, rng), positives: evalPos, known: trainPos },
    cuts: { state: t1, holdout: t2 },
  };
}

/**
 * The per-user random holdout: users with at least two positive items, split (seeded) into training and
 * held-out users — `trainUsers` and `evalUsers` of them, or shares of the eligible in that proportion when
 * there are fewer —, each losing round((1 − trainFraction) × n) of their n positive items (at least one, at
 * most n − 1) to the labels.
 */
export function userHoldout(
  d: Dataset,
  cfg: Pick<RankerStageConfig, 'trainFraction' | 'trainUsers' | 'evalUsers'>,
  rng: Rng,
): { train: Map<number, Set<number>>; eval: Map<number, Set<number>> } {
  const e = d.engagements!;
  const m = e.matrix;
  const items = new Map<number, number[]>();
  for (let u = 0; u < m.nRows; u++) {
    const s = new Set<number>();
    for (let j = m.indptr[u]; j < m.indptr[u + 1]; j++)
      if (e.action[j] === ACTION_POSITIVE) s.add(m.indices[j]);
    if (s.size >= 2)
      items.set(
        u,
        [...s].sort((a, b) => a - b),
      );
  }
  const eligible = [...items.keys()];
  const want = cfg.trainUsers + cfg.evalUsers;
  const nEval =
    eligible.length >= want ? cfg.evalUsers : Math.round((eligible.length * cfg.evalUsers) / want);
  const nTrain = Math.min(cfg.trainUsers, eligible.length - nEval);
  const picked = sample(eligible, nTrain + nEval, rng);
  // Which picked users train is a second draw, so neither side is biased toward low user indices.
  const order = rng.permutation(picked.length);
  const out = { train: new Map<number, Set<number>>(), eval: new Map<number, Set<number>>() };
  for (let p = 0; p < picked.length; p++) {
    const u = picked[order[p]];
    const own = items.get(u)!;
    const n = own.length;
    const h = Math.min(n - 1, Math.max(1, Math.round((1 - cfg.trainFraction) * n)));
    const held = new Set(sample(own, h, rng));
    (p < nTrain ? out.train : out.eval).set(u, held);
  }
  return out;
}

function userPlan(d: Dataset, cfg: RankerStageConfig, rng: Rng): Plan {
  const h = userHoldout(d, cfg, rng);
  const all = new Map([...h.train, ...h.eval]);
  const now = d.dataTime ?? Number.NaN;
  const users = (m: Map<number, Set<number>>) => [...m.keys()].sort((a, b) => a - b);
  return {
    state: datasetWithout(d, all),
    now,
    createdBefore: Number.POSITIVE_INFINITY,
    train: { users: users(h.train), positives: h.train, known: null },
    eval: { users: users(h.eval), positives: h.eval, known: null },
    cuts: null,
  };
}

/**
 * Runs the stage on a build's dataset and config, storing the model into `out` when it passes the guard;
 * `communities` are the build's similarity and KnownFor, which the pre-split state reuses. Returns the report.
 */
export async function rankerStage(
  d: Dataset,
  config: BuildConfig,
  out: VersionWriter,
  communities: SimClustersInput['communities'],
): Promise<RankerReport | RankerSkipped> {
  const cfg = config.ranker;
  const t0 = performance.now();
  const split = chooseSplit(d, cfg);
  const rng = new Rng(`${config.seed}:ranker`);
  const plan = split.kind === 'time' ? timePlan(d, cfg, rng) : userPlan(d, cfg, rng);

  const work = mkdtempSync(join(tmpdir(), 'simrec-ranker-'));
  const store = openArtifactStore(join(work, 'state'));
  try {
    const pre = plan.state;
    const writer = await store.createVersion();
    try {
      await writeInputs(writer, pre);
      if (config.simclusters.enabled)
        await simclustersStage(pre, stateConfig(config, plan.now), writer, {
          dataDir: work,
          communities,
        });
      if (config.mf.enabled)
        // No dense indexes: the state's dense candidates come from an exact scan of the same vectors.
        await mfStage(pre, config.mf, writer, { seed: config.seed, threads: config.threads, indexes: false });
      await writer.commit({ seed: config.seed, config, dataTime: pre.dataTime });
    } catch (err) {
      await writer.abort().catch(() => {});
      throw err;
    }
    const reader = await store.openVersion(undefined, { verify: false });
    try {
      const model = await ServingModel.load(reader);
      const stateSeconds = (performance.now() - t0) / 1000;
      const r = await examples(model, plan, cfg, config, rng);
      const short = tooFewExamples(r.train.counts(), r.eval.set.counts());
      if (short) return { skipped: short };
      const t3 = performance.now();
      const fitOptions = { positiveWeight: 'balanced' as const, maxIterations: cfg.maxIterations };
      const l2 =
        cfg.l2 === 'auto'
          ? selectL2(r.spec, r.train, r.trainGroups, fitOptions)
          : { l2: cfg.l2, folds: 0, grid: [] };
      const { model: ranker, report } = trainLogistic(r.spec, r.train, { ...fitOptions, l2: l2.l2 });
      const fit = (performance.now() - t3) / 1000;
      const ev = r.eval;
      const n = ev.set.length;
      const preds = new Float64Array(n);
      const v = new FeatureVector();
      for (let i = 0; i < n; i++) {
        v.clear();
        for (let j = ev.set.offsets[i]; j < ev.set.offsets[i + 1]; j++)
          v.push(ev.set.slots[j], ev.set.values[j], 0);
        preds[i] = ranker.predict(v);
      }
      const labels = ev.set.labels.subarray(0, n);
      const cal = calibration(labels, preds, 10);
      const fused = ev.fused.subarray(0, n);
      const items = ev.items.subarray(0, n);
      const lists = listQualities(r.sources, ev, labels, preds, fused, items);
      const fallback = rankerFallback(lists);
      const summary: RankerReport = {
        split,
        cuts: plan.cuts,
        users: { train: plan.train.users.length, eval: plan.eval.users.length },
        train: {
          examples: report.examples,
          positives: report.positives,
          negatives: report.negatives,
          iterations: report.iterations,
          converged: report.converged,
        },
        eval: {
          examples: n,
          positives: ev.set.counts().positives,
          logloss: logloss(labels, preds),
          auc: auc(labels, preds),
          fusionAuc: auc(labels, fused),
          ece: cal.ece,
          reliability: cal.table,
          lists,
        },
        l2: { chosen: l2.l2, mode: cfg.l2 === 'auto' ? 'auto' : 'config', folds: l2.folds, grid: l2.grid },
        scoring: fallback ? 'fusion' : 'ranker',
        fallback,
        candidateRecall: r.recall,
        seconds: { state: stateSeconds, examples: r.seconds, fit },
      };
      if (fallback)
        await out.putJson(KEYS.rankerMeta, { ...summary, training: report, spec: r.spec.toJSON() });
      else await writeRanker(out, ranker, { ...summary, training: report, spec: r.spec.toJSON() });
      return summary;
    } finally {
      await reader.close();
    }
  } finally {
    await store.close();
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The guard: why the ranker must not be shipped — its held-out lists rank worse than the sources' fusion, which
 * the engine falls back to without a ranker, by more than chance: the mean over held-out users of the paired
 * NDCG@k gap (ranker − fusion) is below zero by more than two standard errors. A held-out slice of a few
 * hundred users with one or two relevant items each moves by a hit or two between two good scorings, so a bare
 * comparison of means would throw away a ranker on noise —, or null.
 */
export function rankerFallback(
  lists: Pick<RankerReport['eval']['lists'], 'k' | 'ranker' | 'fusion' | 'gap'>,
): string | null {
  const { mean, standardError } = lists.gap;
  if (!(mean + 2 * standardError < 0)) return null;
  return `the ranker's held-out lists are worse than the sources' fusion (NDCG@${lists.k} ${lists.ranker.ndcg.toFixed(4)} < ${lists.fusion.ndcg.toFixed(4)}, paired gap ${mean.toFixed(4)} ± ${standardError.toFixed(4)}): the version scores by fusion`;
}

/** Mean and standard error of the per-group NDCG@k gap between two scorings (groups with a relevant item). */
export function pairedGap(
  offsets: readonly number[],
  labels: Uint8Array,
  a: Float64Array,
  b: Float64Array,
  relevant: readonly number[],
  k: number,
  tiebreak: Int32Array,
): { mean: number; standardError: number; groups: number } {
  const gaps: number[] = [];
  for (let g = 0; g + 1 < offsets.length; g++) {
    if (!(relevant[g] > 0)) continue;
    const lo = offsets[g];
    const hi = offsets[g + 1];
    const one = (x: Float64Array) =>
      listQuality(
        [0, hi - lo],
        labels.subarray(lo, hi),
        x.subarray(lo, hi),
        [relevant[g]],
        k,
        tiebreak.subarray(lo, hi),
      ).ndcg;
    gaps.push(one(a) - one(b));
  }
  const n = gaps.length;
  if (n === 0) return { mean: Number.NaN, standardError: Number.NaN, groups: 0 };
  const mean = gaps.reduce((x, y) => x + y, 0) / n;
  const variance = n > 1 ? gaps.reduce((x, y) => x + (y - mean) ** 2, 0) / (n - 1) : 0;
  return { mean, standardError: Math.sqrt(variance / n), groups: n };
}

/** The SimClusters config of the pre-split state: decayed to its time like a build whose data ends there. */
function stateConfig(config: BuildConfig, t: number): BuildConfig {
  if (Number.isNaN(t)) return config;
  const sc = config.simclusters;
  return {
    ...config,
    simclusters: {
      ...sc,
      interestedIn: { ...sc.interestedIn, now: sc.interestedIn?.now ?? t },
      itemEmbeddings: { ...sc.itemEmbeddings, now: sc.itemEmbeddings?.now ?? t },
      topicEmbeddings: { ...sc.topicEmbeddings, now: sc.topicEmbeddings?.now ?? t },
    },
  };
}

/** The held-out examples with what the list metrics need beside the features. */
interface EvalExamples {
  set: ExampleSet;
  /** Per example: the fusion score, the item (serving's tie-break), each source's rank (−1 absent). */
  fused: Float64Array;
  items: Int32Array;
  ranks: Int32Array;
  /** Per held-out user with examples: where its examples start (and a last entry: the end), its label count. */
  groups: number[];
  relevant: number[];
}

interface Examples {
  spec: FeatureSpec;
  sources: readonly string[];
  train: ExampleSet;
  /** Where each training user's examples start, and a last entry: the end. */
  trainGroups: number[];
  eval: EvalExamples;
  recall: { train: number; eval: number };
  seconds: number;
}

function listQualities(
  sources: readonly string[],
  ev: EvalExamples,
  labels: Uint8Array,
  preds: Float64Array,
  fused: Float64Array,
  items: Int32Array,
): RankerReport['eval']['lists'] {
  const ns = sources.length;
  const q = (scores: Float64Array) => listQuality(ev.groups, labels, scores, ev.relevant, LIST_K, items);
  const out: RankerReport['eval']['lists'] = {
    k: LIST_K,
    ranker: q(preds),
    fusion: q(fused),
    gap: pairedGap(ev.groups, labels, preds, fused, ev.relevant, LIST_K, items),
    sources: {},
  };
  const own = new Float64Array(preds.length);
  for (let s = 0; s < ns; s++) {
    let any = false;
    for (let i = 0; i < own.length; i++) {
      const r = ev.ranks[i * ns + s];
      own[i] = r >= 0 ? -r : Number.NEGATIVE_INFINITY;
      if (r >= 0) any = true;
    }
    if (any) out.sources[sources[s]] = q(own);
  }
  return out;
}

function grow<T extends Float64Array | Int32Array>(a: T, need: number): T {
  if (a.length >= need) return a;
  const b = new (a.constructor as new (n: number) => T)(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

async function examples(
  model: ServingModel,
  plan: Plan,
  cfg: RankerStageConfig,
  config: BuildConfig,
  rng: Rng,
): Promise<Examples> {
  const t0 = performance.now();
  const spec = new FeatureSpec({ ...FEATURES, bits: cfg.bits });
  const engine = await Engine.for(model, spec);
  const strategy = strategiesOf(config).get('default')!;
  const sf = strategy.filters;
  const train = new ExampleSet(4096, 40);
  const trainGroups = [0];
  const m = engine.merger;
  const ns = m.sources.length;
  const ev: EvalExamples = {
    set: new ExampleSet(4096, 40),
    fused: new Float64Array(4096),
    items: new Int32Array(4096),
    ranks: new Int32Array(4096 * ns),
    groups: [0],
    relevant: [],
  };
  const recall = { train: 0, eval: 0 };
  const created = model.live?.itemCreatedTs ?? engine.data.itemCreatedTs;
  const h = engine.hydrator;
  const negatives: number[] = [];
  let skip = new Uint8Array(512);
  const addEval = (e: number, label: 0 | 1) => {
    const i = ev.set.length;
    ev.fused = grow(ev.fused, i + 1);
    ev.items = grow(ev.items, i + 1);
    ev.ranks = grow(ev.ranks, (i + 1) * ns);
    ev.fused[i] = m.fused[e];
    ev.items[i] = m.items[e];
    for (let s = 0; s < ns; s++) ev.ranks[i * ns + s] = m.ranks[e * ns + s];
    ev.set.add(h.build(m.items[e], m, e, plan.now), label);
  };
  for (const role of ['train', 'eval'] as const) {
    const side = plan[role];
    let found = 0;
    let total = 0;
    for (const u of side.users) {
      const pos = side.positives.get(u)!;
      const known = side.known?.get(u);
      const state = await resolveSubject(model, engine.data, { userId: model.userId(u) });
      const [lists, user] = await Promise.all([
        generateCandidates(model, engine.data, state, strategy),
        userFeatures(model, state),
      ]);
      // From here to the end of the user: synchronous (the engine's buffers).
      engine.merge(lists);
      h.setUser(user);
      // What serving's filters drop is never scored there, so it is no example here.
      const dropped = new Set<number>();
      if (sf.excludeEngaged) for (const i of state.engaged) dropped.add(i);
      if (sf.excludeHidden) for (const i of state.hidden) dropped.add(i);
      if (skip.length < m.size) skip = new Uint8Array(Math.max(m.size, 2 * skip.length));
      for (let e = 0; e < m.size; e++) {
        const i = m.items[e];
        skip[e] =
          (i < created.length && created[i] > plan.createdBefore) ||
          known?.has(i) ||
          dropped.has(i) ||
          (sf.excludeOwn && state.user >= 0 && h.authorOf(i) === state.user)
            ? 1
            : 0;
      }
      total += pos.size;
      negatives.length = 0;
      let userFound = 0;
      for (let e = 0; e < m.size; e++) {
        if (skip[e]) continue;
        const i = m.items[e];
        if (pos.has(i)) {
          userFound++;
          if (role === 'train') train.add(h.build(i, m, e, plan.now), 1);
          else addEval(e, 1);
        } else negatives.push(e);
      }
      found += userFound;
      if (role === 'train') {
        const keep = Math.min(cfg.negativesPerUser, negatives.length);
        const weight = keep > 0 ? negatives.length / keep : 1;
        for (let j = 0; j < keep; j++) {
          const r = j + rng.int(negatives.length - j);
          [negatives[j], negatives[r]] = [negatives[r], negatives[j]];
          const e = negatives[j];
          train.add(h.build(m.items[e], m, e, plan.now), 0, weight);
        }
        if (train.length > trainGroups[trainGroups.length - 1]) trainGroups.push(train.length);
      } else if (ev.set.length > ev.groups[ev.groups.length - 1] || negatives.length > 0) {
        for (const e of negatives) addEval(e, 0);
        ev.groups.push(ev.set.length);
        ev.relevant.push(pos.size);
      }
      h.clearUser();
    }
    recall[role] = total > 0 ? found / total : 0;
  }
  return {
    spec,
    sources: m.sources,
    train,
    trainGroups,
    eval: ev,
    recall,
    seconds: (performance.now() - t0) / 1000,
  };
}
